"""The analysis charts as PNG or SVG images, drawn with matplotlib (the ``images`` extra):
cluster heatmaps with dendrograms, box plots, PCA, volcano and mean-difference plots.

The same charts as interactive plotly figures: ``exprhub.analysis.charts``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from exprhub.analysis.charts import (
    DOWN,
    FLAT,
    PALETTE,
    UP,
    _groups,
    check_top_table,
    dendrogram_segments,
    row_zscores,
    significance,
)

if TYPE_CHECKING:
    import pandas as pd

    from exprhub.analysis.clustering import ClusterResult
    from exprhub.analysis.distributions import PcaResult

#: Image formats written.
IMAGE_FORMATS = ("png", "svg")
#: Most samples a heatmap image labels by name.
MAX_LABELLED_SAMPLES = 100


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ImportError(
            "images need matplotlib: install the images extra (pip install 'exprhub[images]')"
        ) from None
    matplotlib.use("Agg", force=False)
    from matplotlib import pyplot

    return pyplot


def image_format(path: str | Path | None, format: str | None = None) -> str:
    """The image format of ``format`` or of ``path``'s suffix (``png`` or ``svg``).

    Raises
    ------
    ValueError
        For another format.
    """
    name = (format or (Path(path).suffix.lstrip(".") if path else "") or "png").lower()
    if name not in IMAGE_FORMATS:
        raise ValueError(f"image format must be png or svg; got {name!r}")
    return name


def _finish(
    figure: Any, path: str | Path | None, format: str | None, *, tight: bool = True
) -> bytes:
    """Render ``figure``, write it to ``path`` when given, return its bytes (``tight``:
    trimmed to what is drawn, which renders the figure twice)."""
    pyplot = _pyplot()
    kind = image_format(path, format)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=kind, dpi=100, bbox_inches="tight" if tight else None)
    pyplot.close(figure)
    data = buffer.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def heatmap_image(
    result: ClusterResult,
    path: str | Path | None = None,
    *,
    format: str | None = None,
    title: str | None = None,
    annotate: str | None = None,
) -> bytes:
    """The cluster heatmap as an image (row z-scores, dendrograms of the trees, a bar of the
    k-means clusters; with ``annotate``, a strip colouring the samples by that field of
    ``result.annotations``); written to ``path`` when given. Returns the image's bytes."""
    from matplotlib.collections import LineCollection
    from scipy.cluster.hierarchy import leaves_list

    from exprhub.analysis.charts import _cluster_title, sample_groups

    groups = sample_groups(result, annotate)
    pyplot = _pyplot()
    values = result.values
    n_genes, n_samples = values.shape
    figure = pyplot.figure(figsize=(max(6.0, min(16.0, 2.5 + 0.09 * n_samples)), 9.0))
    labelled = n_genes <= 80
    strip = 1 if groups is not None else 0  # the annotation strip's row
    grid = figure.add_gridspec(
        2 + strip,
        4,
        width_ratios=[1.2, 6, 1.1 if labelled else 0.05, 0.2],  # room for the gene names
        height_ratios=[1.2, 0.25, 6] if strip else [1.2, 6],
        wspace=0.02,
        hspace=0.02,
        left=0.02,
        right=0.92,
        top=0.9,
        bottom=0.14,
    )
    heat = figure.add_subplot(grid[1 + strip, 1])
    image = heat.imshow(
        row_zscores(values.to_numpy()),
        aspect="auto",
        interpolation="nearest",
        cmap="RdBu_r",
        vmin=-3,
        vmax=3,
    )
    if n_samples <= MAX_LABELLED_SAMPLES:
        heat.set_xticks(range(n_samples))
        heat.set_xticklabels(
            [str(c) for c in values.columns], rotation=90, fontsize=max(4, min(8, 600 // n_samples))
        )
    else:  # unreadable at this size, and each tick label costs layout time: order in the TSV
        heat.set_xticks([])
        heat.set_xlabel(f"{n_samples} samples (order: the assignments table)")
    if labelled:
        heat.set_yticks(range(n_genes))
        heat.set_yticklabels([str(g) for g in values.index], fontsize=6)
        heat.yaxis.tick_right()
    else:
        heat.set_yticks([])
    top = figure.add_subplot(grid[0, 1], sharex=heat)
    left = figure.add_subplot(grid[1 + strip, 0], sharey=heat)
    for axis in (top, left):
        axis.set_axis_off()
    if result.column_linkage is not None and len(result.column_linkage):
        segments = dendrogram_segments(result.column_linkage, leaves_list(result.column_linkage))
        top.add_collection(LineCollection(list(segments), colors="#444", linewidths=0.7))
        top.set_ylim(0, float(result.column_linkage[:, 2].max()) * 1.05 or 1.0)
    if result.row_linkage is not None and len(result.row_linkage):
        segments = dendrogram_segments(result.row_linkage, leaves_list(result.row_linkage))
        left.add_collection(
            LineCollection(list(segments[:, :, ::-1]), colors="#444", linewidths=0.5)
        )
        left.set_xlim(float(result.row_linkage[:, 2].max()) * 1.05 or 1.0, 0)
    elif result.row_clusters is not None:
        colours = np.array([_rgb(PALETTE[(c - 1) % len(PALETTE)]) for c in result.row_clusters])
        left.imshow(colours[:, None, :], aspect="auto", interpolation="nearest")
        left.set_xlim(-0.5, 0.5)
    if result.column_clusters is not None and result.row_linkage is None:
        colours = np.array([_rgb(PALETTE[(c - 1) % len(PALETTE)]) for c in result.column_clusters])
        top.imshow(colours[None, :, :], aspect="auto", interpolation="nearest")
    if groups is not None:
        names = sorted(set(groups))
        band = figure.add_subplot(grid[1, 1], sharex=heat)
        band.imshow(
            np.array([[_rgb(PALETTE[names.index(g) % len(PALETTE)]) for g in groups]]),
            aspect="auto",
            interpolation="nearest",
        )
        band.set_yticks([0])
        band.set_yticklabels([str(annotate)], fontsize=7)
        band.tick_params(axis="x", bottom=False, labelbottom=False)
        handles = [
            pyplot.Rectangle((0, 0), 1, 1, color=PALETTE[n % len(PALETTE)])
            for n in range(len(names))
        ]
        figure.legend(
            handles, names, title=str(annotate), fontsize=7, title_fontsize=8,
            loc="upper left", bbox_to_anchor=(0.01, 0.9),
        )  # fmt: skip
    bar = figure.add_subplot(grid[1 + strip, 3])
    figure.colorbar(image, cax=bar, label="row z-score")
    figure.suptitle(title or _cluster_title(result).replace(": ", "\n", 1), fontsize=10)
    return _finish(figure, path, format, tight=False)  # margins set above: one render


def _rgb(colour: str) -> tuple[float, float, float]:
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def box_image(
    stats: pd.DataFrame,
    groups: pd.Series | None = None,
    path: str | Path | None = None,
    *,
    format: str | None = None,
    title: str | None = None,
) -> bytes:
    """Box plots per sample (Tukey, no outlier points) coloured by ``groups``."""
    pyplot = _pyplot()
    keys = [str(k) for k in stats.index]
    labels = _groups(keys, groups)
    names = sorted(set(labels))
    order = sorted(range(len(keys)), key=lambda i: names.index(labels[i]))
    boxes = [
        {
            "label": keys[i],
            "whislo": stats["lower_whisker"].iloc[i],
            "q1": stats["q1"].iloc[i],
            "med": stats["median"].iloc[i],
            "q3": stats["q3"].iloc[i],
            "whishi": stats["upper_whisker"].iloc[i],
            "fliers": [],
        }
        for i in order
    ]
    figure, axis = pyplot.subplots(figsize=(max(6.0, min(18.0, 1.5 + 0.35 * len(keys))), 4.8))
    drawn = axis.bxp(boxes, showfliers=False, patch_artist=True, medianprops={"color": "black"})
    for patch, i in zip(drawn["boxes"], order, strict=False):
        patch.set_facecolor(PALETTE[names.index(labels[i]) % len(PALETTE)])
    axis.tick_params(axis="x", labelrotation=90, labelsize=7)
    axis.set_ylabel("log2 value" if stats.attrs.get("log2_applied") else "value")
    if groups is not None:
        handles = [
            pyplot.Rectangle((0, 0), 1, 1, color=PALETTE[n % len(PALETTE)])
            for n in range(len(names))
        ]
        axis.legend(
            handles,
            names,
            title=str(groups.name or ""),
            fontsize=7,
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
        )
    axis.set_title(title or "Value distribution per sample", fontsize=10)
    return _finish(figure, path, format)


def pca_image(
    result: PcaResult,
    path: str | Path | None = None,
    *,
    format: str | None = None,
    title: str | None = None,
) -> bytes:
    """Samples on PC1 and PC2, coloured by ``result.color``."""
    pyplot = _pyplot()
    table = result.frame()
    keys = [str(k) for k in table.index]
    groups = table[result.color] if result.color and result.color in table else None
    labels = _groups(keys, groups)
    second = "PC2" if "PC2" in table else "PC1"
    ratio = result.explained_variance_ratio
    figure, axis = pyplot.subplots(figsize=(7.0, 5.5))
    for n, group in enumerate(sorted(set(labels))):
        rows = [i for i, g in enumerate(labels) if g == group]
        axis.scatter(
            table["PC1"].iloc[rows],
            table[second].iloc[rows],
            s=40,
            color=PALETTE[n % len(PALETTE)],
            label=group,
        )
    if len(keys) <= 40:
        for key, x, y in zip(keys, table["PC1"], table[second], strict=False):
            axis.annotate(key, (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
    axis.set_xlabel(f"PC1 ({100 * ratio[0]:.1f} %)")
    axis.set_ylabel(f"{second} ({100 * ratio[min(1, len(ratio) - 1)]:.1f} %)")
    axis.legend(title=result.color, fontsize=7)
    axis.set_title(title or "Principal components of the samples", fontsize=10)
    return _finish(figure, path, format)


def _de_image(
    table: pd.DataFrame,
    x: np.ndarray,
    y: np.ndarray,
    adj_p_value: float,
    log_fc: float,
    labels: tuple[str, str, str],
    path: str | Path | None,
    format: str | None,
) -> bytes:
    pyplot = _pyplot()
    calls = significance(table, adj_p_value=adj_p_value, log_fc=log_fc)
    figure, axis = pyplot.subplots(figsize=(7.0, 5.5))
    for call, colour in (("not significant", FLAT), ("down", DOWN), ("up", UP)):
        rows = calls == call
        axis.scatter(x[rows], y[rows], s=5, color=colour, label=f"{call} ({int(rows.sum())})")
    axis.set_xlabel(labels[0])
    axis.set_ylabel(labels[1])
    axis.set_title(labels[2], fontsize=10)
    axis.legend(fontsize=7, markerscale=2)
    return _finish(figure, path, format)


def volcano_image(
    table: pd.DataFrame,
    path: str | Path | None = None,
    *,
    format: str | None = None,
    adj_p_value: float = 0.05,
    log_fc: float = 1.0,
    title: str | None = None,
) -> bytes:
    """Volcano plot of a limma-style top table (see ``charts.volcano_figure``)."""
    check_top_table(table)
    x = table["logFC"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore"):
        y = -np.log10(table["P.Value"].to_numpy(dtype=np.float64))
    heading = title or f"Volcano plot (adj.P.Val <= {adj_p_value:g}, |logFC| >= {log_fc:g})"
    labels = ("log2 fold change", "-log10 P.Value", heading)
    return _de_image(table, x, y, adj_p_value, log_fc, labels, path, format)


def ma_image(
    table: pd.DataFrame,
    path: str | Path | None = None,
    *,
    format: str | None = None,
    adj_p_value: float = 0.05,
    log_fc: float = 1.0,
    title: str | None = None,
) -> bytes:
    """Mean-difference plot of a limma-style top table (see ``charts.ma_figure``)."""
    check_top_table(table)
    x = table["AveExpr"].to_numpy(dtype=np.float64)
    y = table["logFC"].to_numpy(dtype=np.float64)
    labels = ("average log2 expression", "log2 fold change", title or "Mean-difference plot")
    return _de_image(table, x, y, adj_p_value, log_fc, labels, path, format)
