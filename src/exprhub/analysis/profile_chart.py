"""Profile images (PNG or SVG) drawn with matplotlib, in GEO Profiles' layout: the value in
each sample as bars, the rank percentile as markers on a second axis (0-100), and under
them one coloured band per subset type naming each sample's group. Samples are ordered by
the groups of the first subset type. Needs the ``images`` extra."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MAX_FEATURES", "sample_order", "write_profile_image"]

#: Most features (probes) drawn in one image; a gene with more probes shows its first ones.
MAX_FEATURES = 6
PALETTE = (
    "#4c72b0",
    "#dd8452",
    "#55a868",
    "#c44e52",
    "#8172b3",
    "#937860",
    "#da8bc3",
    "#8c8c8c",
    "#ccb974",
    "#64b5cd",
)


def sample_order(profile: pd.DataFrame) -> list[str]:
    """Samples in display order: grouped by the first subset type's groups (in their order),
    then as read."""
    samples = list(dict.fromkeys(profile["sample"]))
    types: dict[str, list[str]] = profile.attrs.get("subset_types") or {}
    if not types:
        return samples
    first, groups = next(iter(types.items()))
    rank = {g: i for i, g in enumerate(groups)}
    by_sample = dict(zip(profile["sample"], profile[first], strict=False))
    return sorted(samples, key=lambda s: rank.get(by_sample.get(s), len(rank)))  # type: ignore[arg-type]


def write_profile_image(profile: pd.DataFrame, path: Path) -> Path:
    """Write the profile image to ``path`` (``.png`` or ``.svg``).

    Raises
    ------
    ImportError
        When matplotlib (the ``images`` extra) is not installed.
    ValueError
        For another suffix.
    """
    if path.suffix.lower() not in (".png", ".svg"):
        raise ValueError(f"image must be .png or .svg, got {path.name}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("profile images need matplotlib: pip install 'exprhub[images]'") from None
    order = sample_order(profile)
    features = list(dict.fromkeys(profile["feature"]))[:MAX_FEATURES]
    types: dict[str, list[str]] = profile.attrs.get("subset_types") or {}
    n_bands = len(types)
    heights = [3.0] * len(features) + [0.35] * n_bands
    fig, axes = plt.subplots(
        len(features) + n_bands,
        1,
        figsize=(max(6.0, 0.35 * len(order) + 2), sum(heights) + 1.2),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
        sharex=True,
    )
    x = list(range(len(order)))
    for ax, feature in zip(axes[: len(features), 0], features, strict=True):
        rows = profile[profile["feature"] == feature].set_index("sample")
        values = [_number(rows.at[s, "value"]) if s in rows.index else 0.0 for s in order]
        ranks = [_number(rows.at[s, "rank_percentile"]) if s in rows.index else None for s in order]
        ax.bar(x, values, color="#7f9fbf", width=0.8, label="value")
        symbol = rows["symbol"].dropna().iloc[0] if rows["symbol"].notna().any() else ""
        ax.set_ylabel("value")
        ax.set_title(
            f"{profile.attrs.get('accession', '')} / {feature} {symbol}".strip(), loc="left"
        )
        twin = ax.twinx()
        twin.plot(x, ranks, "s", color="#c0392b", markersize=5, label="rank percentile")
        twin.set_ylim(0, 100)
        twin.set_ylabel("rank percentile")
    for ax, (kind, groups) in zip(axes[len(features) :, 0], types.items(), strict=True):
        colour = {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(groups)}
        by_sample = dict(zip(profile["sample"], profile[kind], strict=False))
        for i, sample in enumerate(order):
            group = by_sample.get(sample)
            if group is not None:
                ax.bar(i, 1, width=1.0, color=colour[group], edgecolor="white")
        _label_groups(ax, order, by_sample)
        ax.set_yticks([])
        ax.set_ylabel(kind, rotation=0, ha="right", va="center", fontsize=8)
        ax.set_ylim(0, 1)
    bottom = axes[-1, 0]
    bottom.set_xticks(x)
    bottom.set_xticklabels(order, rotation=90, fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def _label_groups(ax: Any, order: list[str], by_sample: dict[str, Any]) -> None:
    start = 0
    for i in range(1, len(order) + 1):
        if i == len(order) or by_sample.get(order[i]) != by_sample.get(order[start]):
            group = by_sample.get(order[start])
            if group is not None:
                ax.text((start + i - 1) / 2, 0.5, str(group), ha="center", va="center", fontsize=7)
            start = i


def _number(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return out
