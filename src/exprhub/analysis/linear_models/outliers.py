"""Outlier genes of a robust variance prior and their reduced prior df (Phipson et al. 2016).

Given the prior fitted to the bulk of the genes (scale ``s0^2``, df ``d0``), the rules of
:func:`shrink_outlier_df` are:

* Tail probabilities ``p_g = P(F(d_g, d0) > s_g^2 / s0^2)`` (chi-square on ``d_g`` df over
  ``d_g`` when ``d0`` is infinite).
* The probability that a gene is an outlier, from the proportion of non-outliers among the
  genes at least as extreme: ``prob_g = max(0, 1 - G p_g / (r_g - 1/2))`` with ``r_g`` the
  rank of ``p_g`` (ties averaged) and ``G`` the number of genes.
* These probabilities are made non-increasing in ``p``: with the genes sorted by ``p``, the
  leading genes up to the one where the running mean of ``prob`` is largest all take that
  mean; from there on each gene takes the running minimum of ``prob``.
* ``d0_out`` (:func:`outlier_df`) is the prior df under which the largest ``s_g^2 / s0^2`` is
  unremarkable, and each gene's prior df is ``d0 - prob_g (d0 - d0_out)``: ``d0`` for most
  genes, down towards ``d0_out`` for the most extreme ones.

Reference: B. Phipson, S. Lee, I. J. Majewski, W. S. Alexander, G. K. Smyth (2016), Robust
hyperparameter estimation protects against hypervariable genes and improves power to detect
differential expression, Ann. Appl. Stat. 10(2):946-963.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

__all__ = ["OutlierShrinkage", "outlier_df", "shrink_outlier_df"]


@dataclass(frozen=True)
class OutlierShrinkage:
    """Per-gene tail probabilities, outlier probabilities and shrunk prior df."""

    tail_p_value: np.ndarray
    prob_outlier: np.ndarray
    df2_outlier: float
    df2_shrunk: np.ndarray


def _tail(ratio: np.ndarray, df1: np.ndarray, df2: float) -> np.ndarray:
    if math.isinf(df2):
        return np.asarray(stats.chi2.sf(ratio * df1, df1), dtype=np.float64)
    return np.asarray(stats.f.sf(ratio, df1, df2), dtype=np.float64)


def outlier_df(largest_ratio: float, df1: float, df2: float) -> float:
    """The prior df under which ``largest_ratio`` is the median of ``F(df1, df)``.

    Parameters
    ----------
    largest_ratio
        The largest ``s_g^2 / s0^2``.
    df1
        Its residual df.
    df2
        The prior df of the bulk (the result is never above it).
    """

    def gap(log_df: float) -> float:
        return float(np.log(stats.f.median(df1, math.exp(log_df))) - math.log(largest_ratio))

    high = math.log(df2) if math.isfinite(df2) else math.log(1e6)
    low = math.log(1e-300)
    if gap(high) >= 0:
        return math.exp(high)
    lo = high
    while gap(lo) < 0 and lo > low:
        lo -= 2.0
    if gap(lo) < 0:
        return math.exp(lo)
    return math.exp(optimize.brentq(gap, lo, high, xtol=1e-14, rtol=1e-15))


def shrink_outlier_df(
    ratio: np.ndarray, df1: np.ndarray, df2: float, *, largest_ratio: float | None = None
) -> OutlierShrinkage:
    """Outlier probabilities and shrunk prior df of genes with ``s_g^2 / s0^2 = ratio``.

    Parameters
    ----------
    ratio
        Each gene's variance over its prior variance.
    df1
        Each gene's residual df.
    df2
        The prior df of the bulk of the genes.
    largest_ratio
        The ratio that sets the outlier df (default: the largest of ``ratio``).

    Returns
    -------
    OutlierShrinkage
    """
    ratio = np.asarray(ratio, dtype=np.float64)
    df1 = np.broadcast_to(np.asarray(df1, dtype=np.float64), ratio.shape)
    n = ratio.size
    tail = _tail(ratio, df1, df2)
    rank = stats.rankdata(tail)
    prob = np.maximum(0.0, 1.0 - n * tail / (rank - 0.5))
    order = np.argsort(tail, kind="stable")
    sorted_prob = prob[order]
    running_mean = np.cumsum(sorted_prob) / np.arange(1, n + 1)
    lead = int(np.argmax(running_mean))
    sorted_prob = sorted_prob.copy()
    sorted_prob[: lead + 1] = running_mean[lead]
    monotone = np.empty(n)
    monotone[order] = np.minimum.accumulate(sorted_prob)
    if math.isinf(df2):
        return OutlierShrinkage(tail, prob, math.nan, np.full(n, df2))
    top = int(np.argmax(ratio)) if largest_ratio is None else None
    extreme = float(ratio[top]) if top is not None else float(largest_ratio)  # type: ignore[arg-type]
    df1_top = float(df1[top]) if top is not None else float(np.max(df1))
    d_out = outlier_df(extreme, df1_top, df2)
    shrunk = df2 - monotone * (df2 - d_out)
    return OutlierShrinkage(tail, prob, d_out, shrunk)
