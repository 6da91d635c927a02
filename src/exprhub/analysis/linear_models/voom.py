"""Precision weights for RNA-seq read counts (voom), written from Law, Chen, Shi & Smyth (2014),
"voom: precision weights unlock linear model analysis tools for RNA-seq read counts", Genome
Biology 15:R29, and checked against R limma 3.54's ``voom`` (tests/analysis/test_voom.py).

The rules:

* **log-counts per million.** For sample ``j`` with library size ``N_j`` (its total count,
  unless given) and gene ``g``: ``y_gj = log2((r_gj + 0.5) / (N_j + 1) * 1e6)``; the offsets
  keep zero counts finite and the value below every non-zero count's.
* **the mean-variance trend.** The linear model of the design is fitted to ``y``; each gene's
  residual standard deviation ``s_g`` is set against its average log-count ``r~_g = mean_j
  y_gj + mean_j log2(N_j + 1) - log2(1e6)``. A LOWESS curve (span 0.5) of ``sqrt(s_g)`` on
  ``r~_g`` is fitted over the genes with a non-zero count somewhere, and turned into a
  piecewise linear function constant beyond the end points (tied abscissas averaged).
* **weights.** Each observation's fitted log-count, ``l_gj = mu_gj + log2(N_j + 1) -
  log2(1e6)`` with ``mu_gj`` the model's fitted log-cpm, is read on the curve; its weight is
  the curve's value to the power -4 (the inverse of the predicted variance, the curve being a
  square root of a standard deviation).

The log-cpm and the weights then go to :func:`~exprhub.analysis.linear_models.fit.lm_fit`
(``weights=``) and the usual moderation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from exprhub.analysis.linear_models.fit import lm_fit
from exprhub.analysis.linear_models.lowess import lowess

#: The LOWESS span of the mean-variance trend (the paper's and R's default).
SPAN = 0.5


@dataclass(frozen=True)
class VoomResult:
    """log-cpm values (genes x samples) with their precision weights and library sizes."""

    log_cpm: pd.DataFrame
    weights: np.ndarray
    library_sizes: np.ndarray
    trend_x: np.ndarray
    trend_y: np.ndarray


def _trend_function(x: np.ndarray, y: np.ndarray):  # type: ignore[no-untyped-def]
    """Piecewise linear through ``(x, y)`` (sorted; tied x averaged), constant beyond."""
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]
    unique, start = np.unique(xs, return_index=True)
    sums = np.add.reduceat(ys, start)
    counts = np.diff(np.append(start, xs.size))
    means = sums / counts
    return lambda at: np.interp(at, unique, means)


def voom(
    counts: pd.DataFrame,
    design: pd.DataFrame | np.ndarray,
    *,
    library_sizes: np.ndarray | None = None,
    span: float = SPAN,
) -> VoomResult:
    """log-counts per million and precision weights of RNA-seq read counts (the rules: the
    module docstring).

    Parameters
    ----------
    counts
        Genes x samples read counts (non-negative; no missing values).
    design
        Samples x coefficients design matrix, rows in the order of the columns of ``counts``.
    library_sizes
        Per sample (default: the column sums).
    span
        The LOWESS span of the trend.

    Raises
    ------
    ValueError
        For negative or missing counts, fewer than two genes, or library sizes of the wrong
        length.
    """
    values = counts.to_numpy(dtype=np.float64)
    if values.ndim != 2 or values.shape[0] < 2:
        raise ValueError("voom needs a genes x samples matrix of at least two genes")
    if np.isnan(values).any() or (values < 0).any():
        raise ValueError("counts must be non-negative numbers without missing values")
    sizes = values.sum(axis=0) if library_sizes is None else np.asarray(library_sizes, float)
    if sizes.shape != (values.shape[1],):
        raise ValueError(f"library_sizes needs {values.shape[1]} values, got {sizes.size}")
    log_cpm = np.log2((values + 0.5) / (sizes + 1.0) * 1e6)
    frame = pd.DataFrame(log_cpm, index=counts.index, columns=counts.columns)
    fit = lm_fit(frame, design)
    offset = np.log2(sizes + 1.0) - np.log2(1e6)
    mean_log_count = fit.amean + offset.mean()
    root_sd = np.sqrt(fit.sigma)
    expressed = values.sum(axis=1) > 0
    trend_y = lowess(mean_log_count[expressed], root_sd[expressed], f=span)
    trend = _trend_function(mean_log_count[expressed], trend_y)
    x = fit.design.to_numpy(dtype=np.float64)
    fitted_log_cpm = fit.coefficients @ x.T
    fitted_log_count = fitted_log_cpm + offset[np.newaxis, :]
    weights = 1.0 / trend(fitted_log_count) ** 4
    return VoomResult(frame, weights, sizes, mean_log_count[expressed], trend_y)
