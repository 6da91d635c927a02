"""Profile flags: is a probe (or gene) "differentially expressed across <subset type>"?

The test, for each subset type of a DataSet or series and each row of its values:

1. Values are put on the log2 scale first when they look unlogged, by GEO2R's rule on the
   quantiles of all values (0, 25, 50, 75, 99, 100 %): log2 when the 99 % quantile is above
   100, or when the range between the 0 % and 99 % quantiles is above 50 and the 25 %
   quantile is positive. Values <= 0 become missing before the log.
2. A one-way ANOVA across the type's groups (samples in no group left out; missing values
   left out per row): F = (SS between / (k - 1)) / (SS within / (N - k)), p from the F
   distribution with (k - 1, N - k) degrees of freedom. Rows with fewer than two groups
   observed or N - k < 1 get no p.
3. Benjamini-Hochberg FDR over the rows with a p.
4. Flagged when FDR <= ``fdr`` (default 0.05) and the largest minus the smallest group mean
   (log2) is >= ``min_log2_fold`` (default 1, a two-fold change).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "FlagOptions",
    "anova_rows",
    "bh_fdr",
    "flag_table",
    "log2_if_unlogged",
    "looks_unlogged",
]


@dataclass(frozen=True)
class FlagOptions:
    """Thresholds of a flag: BH FDR at most ``fdr`` and a group-mean difference (log2) of at
    least ``min_log2_fold``."""

    fdr: float = 0.05
    min_log2_fold: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.fdr <= 1:
            raise ValueError(f"fdr must be in (0, 1], got {self.fdr}")
        if self.min_log2_fold < 0:
            raise ValueError(f"min_log2_fold must be >= 0, got {self.min_log2_fold}")


def looks_unlogged(values: np.ndarray) -> bool:
    """GEO2R's rule: whether values look like intensities not yet on the log2 scale
    (:func:`exprhub.analysis.value_scale.looks_linear`)."""
    from exprhub.analysis.value_scale import looks_linear

    return looks_linear(values)


def log2_if_unlogged(values: np.ndarray) -> tuple[np.ndarray, bool]:
    """``(values on the log2 scale, whether a log2 was taken)`` by :func:`looks_unlogged`."""
    from exprhub.analysis.value_scale import to_log2

    return to_log2(values, "auto")


def bh_fdr(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaN stays NaN and is not counted): R
    ``p.adjust(p, "BH")``, :func:`exprhub.analysis.linear_models.p_adjust`."""
    from exprhub.analysis.linear_models.tables import p_adjust

    return p_adjust(p, "BH")


@dataclass
class AnovaRows:
    """Per-row results of :func:`anova_rows` (arrays of the matrix's row count)."""

    f: np.ndarray
    p: np.ndarray
    fold: np.ndarray
    means: np.ndarray  # rows x groups
    groups: list[str]


def anova_rows(values: np.ndarray, labels: Sequence[str | None]) -> AnovaRows:
    """One-way ANOVA of each row of ``values`` (rows x samples) across the groups that
    ``labels`` (one per sample, None: in no group) define; missing values left out."""
    from scipy.stats import f as f_distribution

    x = np.asarray(values, dtype=np.float64)
    groups = sorted({g for g in labels if g is not None})
    n_rows = x.shape[0]
    k_all = len(groups)
    sums = np.zeros((n_rows, k_all))
    counts = np.zeros((n_rows, k_all))
    squares = np.zeros((n_rows, k_all))
    for j, group in enumerate(groups):
        columns = [i for i, g in enumerate(labels) if g == group]
        block = x[:, columns]
        observed = np.isfinite(block)
        filled = np.where(observed, block, 0.0)
        counts[:, j] = observed.sum(axis=1)
        sums[:, j] = filled.sum(axis=1)
        squares[:, j] = (filled * filled).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
        n = counts.sum(axis=1)
        k = (counts > 0).sum(axis=1)
        grand = sums.sum(axis=1) / n
        between = np.nansum(counts * (means - grand[:, None]) ** 2, axis=1)
        # SS within per group from sums of squares, centred to limit cancellation
        within = np.nansum(squares - counts * means * means, axis=1)
        within = np.maximum(within, 0.0)
        df1 = k - 1
        df2 = n - k
        f = (between / df1) / (within / df2)
        ok = (df1 >= 1) & (df2 >= 1)
        f = np.where(ok, f, np.nan)
        p = np.full(n_rows, np.nan)
        good = ok & np.isfinite(f)
        p[good] = f_distribution.sf(f[good], df1[good], df2[good])
        fold = np.where(k >= 2, np.nanmax(means, axis=1) - np.nanmin(means, axis=1), np.nan)
    return AnovaRows(f, p, fold, means, groups)


def flag_table(
    features: Sequence[str],
    values: np.ndarray,
    types: Mapping[str, Mapping[str, str]],
    samples: Sequence[str],
    options: FlagOptions | None = None,
):  # -> pandas.DataFrame
    """Flags of every row for every subset type: a DataFrame with columns ``feature``,
    ``subset_type``, ``F``, ``p_value``, ``fdr``, ``log2_fold`` and ``flagged``, rows in
    feature order within each type. ``values`` are rows x ``samples``, already log2."""
    import pandas as pd

    options = options or FlagOptions()
    parts = []
    for kind, members in types.items():
        labels = [members.get(s) for s in samples]
        if len({g for g in labels if g is not None}) < 2:
            continue
        result = anova_rows(values, labels)
        q = bh_fdr(result.p)
        flagged = (q <= options.fdr) & (result.fold >= options.min_log2_fold)
        parts.append(
            pd.DataFrame(
                {
                    "feature": list(features),
                    "subset_type": kind,
                    "F": result.f,
                    "p_value": result.p,
                    "fdr": q,
                    "log2_fold": result.fold,
                    "flagged": np.nan_to_num(flagged, nan=0).astype(bool),
                }
            )
        )
    if not parts:
        return pd.DataFrame(
            columns=["feature", "subset_type", "F", "p_value", "fdr", "log2_fold", "flagged"]
        )
    return pd.concat(parts, ignore_index=True)
