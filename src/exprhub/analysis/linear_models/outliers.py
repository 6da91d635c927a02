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
* ``d0_out`` (:func:`outlier_df`) is the prior df under which the largest ratio is
  unremarkable (about the median of ``F(d_g, d0_out)``): two steps of
  ``d <- d log(1/2) / log P(F(d_g, d) > largest ratio)`` from ``d = d0``. Each gene's prior df
  is ``d0 - prob_g (d0 - d0_out)``: ``d0`` for most genes, down towards ``d0_out`` for the
  most extreme ones. With an infinite ``d0`` an outlying gene's prior df is ``(1 - prob_g)``
  times the total residual df of all genes, the others' stays infinite (R limma 3.54 does
  the same).

Reference: B. Phipson, S. Lee, I. J. Majewski, W. S. Alexander, G. K. Smyth (2016), Robust
hyperparameter estimation protects against hypervariable genes and improves power to detect
differential expression, Ann. Appl. Stat. 10(2):946-963.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["OutlierShrinkage", "outlier_df", "shrink_outlier_df"]


@dataclass(frozen=True)
class OutlierShrinkage:
    """Per-gene tail probabilities, outlier probabilities and shrunk prior df.

    ``df2_outlier`` is 0 when the prior df is infinite.
    """

    tail_p_value: np.ndarray
    prob_outlier: np.ndarray
    df2_outlier: float
    df2_shrunk: np.ndarray


def _tail(ratio: np.ndarray, df1: np.ndarray, df2: float) -> np.ndarray:
    if math.isinf(df2):
        return np.asarray(stats.chi2.sf(ratio * df1, df1), dtype=np.float64)
    return np.asarray(stats.f.sf(ratio, df1, df2), dtype=np.float64)


def outlier_df(largest_ratio: float, df1: float, df2: float) -> float:
    """The reduced prior df for the most extreme gene (``df2_outlier``).

    Two steps of ``d <- d log(1/2) / log P(F(df1, d) > largest_ratio)`` from ``d = df2``. A
    step would make the tail probability 1/2 if its logarithm were proportional to ``d`` (as
    it nearly is for small ``d``), so the result is close to the df under which
    ``largest_ratio`` is the median of ``F(df1, d)``; R limma 3.54 takes exactly two steps.

    Parameters
    ----------
    largest_ratio
        The largest ``s_g^2 / s0^2``.
    df1
        Its residual df.
    df2
        The (finite) prior df of the bulk.
    """
    d = df2
    for _ in range(2):
        log_tail = float(stats.f.logsf(largest_ratio, df1, d))
        if not log_tail < 0:
            return d
        d = d * math.log(0.5) / log_tail
    return d


def shrink_outlier_df(ratio: np.ndarray, df1: np.ndarray, df2: float) -> OutlierShrinkage:
    """Outlier probabilities and shrunk prior df of genes with ``s_g^2 / s0^2 = ratio``.

    Parameters
    ----------
    ratio
        Each gene's variance over its prior variance.
    df1
        Each gene's residual df.
    df2
        The prior df of the bulk of the genes.

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
        # no finite prior df to lower: outlying genes get a share of the total residual df
        total = float(np.sum(df1))
        shrunk = np.where(monotone > 0, (1.0 - monotone) * total, math.inf)
        return OutlierShrinkage(tail, prob, 0.0, shrunk)
    top = int(order[0])  # the most extreme gene
    d_out = outlier_df(float(ratio[top]), float(df1[top]), df2)
    shrunk = df2 - monotone * (df2 - d_out)
    return OutlierShrinkage(tail, prob, d_out, shrunk)
