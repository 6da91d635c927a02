"""Robust estimation of the variance prior against hypervariable genes (Phipson et al. 2016).

Rules of :func:`fit_f_dist_robustly` (the prior of
:mod:`~exprhub.analysis.linear_models.moderation`, estimated so that a few genes with
outlying variances cannot drag it):

* Variances below ``1e-12`` times their median are raised to it. The ordinary moment fit
  (:func:`~exprhub.analysis.linear_models.moderation.fit_f_dist`, scale ``s_o^2``, df
  ``d_o``) is computed first.
* ``z_g = log s_g^2``. When genes have different residual df (missing values), each
  variance is first moved onto the largest df ``d`` by matching probabilities under the
  ordinary fit: ``z_g = log(s_o^2 Q(P(s_g^2 / s_o^2; d_g, d_o); d, d_o))`` with ``P`` and ``Q``
  the F distribution function and quantile (chi-square on ``d`` df over ``d`` when ``d_o`` is
  infinite). With a covariate, ``z_g`` is replaced by its residual from a LOWESS trend on the
  covariate (:func:`~exprhub.analysis.linear_models.lowess.lowess`, span 0.4, 3 robustness
  iterations), which is added back to the prior variance.
* The ``z_g`` are Winsorized at their type-7 quantiles ``winsor_tail_p[0]`` and
  ``1 - winsor_tail_p[1]``; ``m_w`` is the mean and ``v_w`` the variance (``n - 1``
  denominator) of the Winsorized values.
* For a candidate ``d0``, the Winsorized mean ``mu(d0)`` and variance ``sigma^2(d0)`` of
  ``log F(d, d0)`` (Winsorized at its own quantiles with the same tail probabilities) are
  integrals, computed by adaptive quadrature. ``sigma^2`` falls as ``d0`` grows: ``d0`` solves
  ``sigma^2(d0) = v_w``, infinite when ``v_w`` is at most the limit ``sigma^2(inf)`` (of
  ``log chi2_d / d``). ``d0`` is never below ``d_o`` (Winsorizing may only remove
  variability; R limma does the same). Then ``s0^2 = exp(m_w - mu(d0))`` (times the trend).
* Outlying genes and their reduced prior df:
  :func:`~exprhub.analysis.linear_models.outliers.shrink_outlier_df` on
  ``exp(z_g) / s0^2`` with ``d`` residual df.

Agreement with R limma 3.54 ``fitFDistRobustly`` and ``eBayes(robust = TRUE)``: every
returned component and every statistic, with and without trend and missing values, to 1e-8
or better (``tests/analysis/test_limma_agreement.py``; figures in docs/analysis.md).

Reference: B. Phipson, S. Lee, I. J. Majewski, W. S. Alexander, G. K. Smyth (2016), Robust
hyperparameter estimation protects against hypervariable genes and improves power to detect
differential expression, Ann. Appl. Stat. 10(2):946-963.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize, stats

from exprhub.analysis.linear_models.lowess import lowess
from exprhub.analysis.linear_models.moderation import fit_f_dist
from exprhub.analysis.linear_models.outliers import shrink_outlier_df

#: Span of the LOWESS trend of the log variances (R limma's, found by comparing results).
_TREND_SPAN = 0.4

#: Variances below this fraction of the median are raised to it before taking logs (R limma's
#: offset in the robust fit, found by comparing results; the ordinary fit uses 1e-5).
_SMALL_VARIANCE = 1e-12

__all__ = ["RobustFDist", "fit_f_dist_robustly", "winsorized_log_f_moments"]


def winsorized_log_f_moments(
    df1: float, df2: float, tail_p: tuple[float, float]
) -> tuple[float, float]:
    """Mean and variance of ``log F(df1, df2)`` Winsorized at its ``tail_p`` quantiles."""
    lower_p, upper_p = tail_p
    if math.isinf(df2):
        ql, qh = stats.chi2.ppf([lower_p, 1 - upper_p], df1) / df1

        def density(u: float) -> float:
            return float(stats.chi2.pdf(math.exp(u) * df1, df1) * df1 * math.exp(u))
    else:
        ql, qh = stats.f.ppf([lower_p, 1 - upper_p], df1, df2)

        def density(u: float) -> float:
            return float(stats.f.pdf(math.exp(u), df1, df2) * math.exp(u))

    a, b = math.log(ql), math.log(qh)
    opts = {"epsabs": 1e-14, "epsrel": 1e-13, "limit": 200}
    mean = integrate.quad(lambda u: u * density(u), a, b, **opts)[0] + lower_p * a + upper_p * b  # type: ignore[arg-type]
    var = (
        integrate.quad(lambda u: (u - mean) ** 2 * density(u), a, b, **opts)[0]  # type: ignore[arg-type]
        + lower_p * (a - mean) ** 2
        + upper_p * (b - mean) ** 2
    )
    return mean, var


@dataclass(frozen=True)
class RobustFDist:
    """A scaled F distribution fitted robustly, with per-gene outlier diagnostics.

    ``scale`` is one value, or one per gene with a covariate; ``df2`` the prior df of the bulk
    of the genes; ``df2_shrunk`` each gene's prior df (``df2`` except for outlying genes);
    ``df2_outlier`` the df of an extreme outlier (0 when ``df2`` is infinite, NaN with fewer
    than 3 usable genes).
    """

    scale: np.ndarray
    df2: float
    df2_shrunk: np.ndarray
    tail_p_value: np.ndarray
    prob_outlier: np.ndarray
    df2_outlier: float


def _common_df_log_variances(
    x: np.ndarray, d: np.ndarray, common: float, scale: np.ndarray, df2: float
) -> np.ndarray:
    """Log variances moved onto ``common`` residual df by matching F probabilities."""
    ratio = x / scale
    if math.isinf(df2):
        lower = stats.chi2.cdf(ratio * d, d)
        upper = stats.chi2.sf(ratio * d, d)
        moved = (
            np.where(
                lower < 0.5,
                stats.chi2.ppf(lower, common),
                stats.chi2.isf(upper, common),
            )
            / common
        )
    else:
        lower = stats.f.cdf(ratio, d, df2)
        upper = stats.f.sf(ratio, d, df2)
        moved = np.where(
            lower < 0.5, stats.f.ppf(lower, common, df2), stats.f.isf(upper, common, df2)
        )
    return np.log(scale * moved)


def fit_f_dist_robustly(
    x: np.ndarray,
    df1: np.ndarray,
    *,
    covariate: np.ndarray | None = None,
    winsor_tail_p: tuple[float, float] = (0.05, 0.1),
) -> RobustFDist:
    """Robust scale and gene-wise second df of a scaled F distribution fitted to ``x``.

    Parameters
    ----------
    x
        Sample variances, one per gene.
    df1
        Their degrees of freedom.
    covariate
        Optional covariate for a trended scale.
    winsor_tail_p
        Lower and upper tail proportions to Winsorize.

    Returns
    -------
    RobustFDist
    """
    x = np.asarray(x, dtype=np.float64)
    d = np.broadcast_to(np.asarray(df1, dtype=np.float64), x.shape)
    ok = np.isfinite(x) & np.isfinite(d) & (d > 1e-15) & (x > -1e-15)
    if covariate is not None:
        ok &= np.isfinite(np.asarray(covariate, dtype=np.float64))
    n = int(np.count_nonzero(ok))
    scale_ordinary, d0_ordinary = fit_f_dist(x, d, covariate)
    if n < 3:
        nan = np.full(x.shape, np.nan)
        return RobustFDist(
            scale_ordinary, d0_ordinary, np.full(x.shape, d0_ordinary), nan, nan, math.nan
        )
    xo = np.maximum(x[ok], 0.0)
    median = float(np.median(xo)) or 1.0
    xo = np.maximum(xo, _SMALL_VARIANCE * median)
    dok = d[ok]
    d_common = float(np.max(dok))
    if np.any(dok != d_common) and not math.isnan(d0_ordinary):
        # genes on fewer residual df: the log variance with the same F probability on the
        # largest df, under the ordinary (non-robust) fit
        ordinary = np.broadcast_to(scale_ordinary, x.shape)[ok]
        z = _common_df_log_variances(xo, dok, d_common, ordinary, d0_ordinary)
    else:
        z = np.log(xo)
    trend = np.zeros(n)
    if covariate is not None:
        c = np.asarray(covariate, dtype=np.float64)[ok]
        trend = lowess(c, z, f=_TREND_SPAN)
    resid = z - trend
    lower_p, upper_p = winsor_tail_p
    lo, hi = np.quantile(resid, [lower_p, 1 - upper_p])
    winsorized = np.clip(resid, lo, hi)
    m_w = float(np.mean(winsorized))
    v_w = float(np.var(winsorized, ddof=1))
    limit = winsorized_log_f_moments(d_common, math.inf, winsor_tail_p)[1]
    if v_w <= limit:
        d0 = math.inf
    else:

        def gap(log_d0: float) -> float:
            return winsorized_log_f_moments(d_common, math.exp(log_d0), winsor_tail_p)[1] - v_w

        high = math.log(1e3)
        while gap(high) > 0 and high < math.log(1e12):
            high += math.log(1e3)
        low = math.log(1e-3)
        d0 = math.inf if gap(high) > 0 else math.exp(optimize.brentq(gap, low, high, xtol=1e-14))
    # Winsorizing removes outliers, so it may only raise the prior df: never below the
    # ordinary moment estimate (R limma behaves so, e.g. when variances are spread widely)
    if not math.isnan(d0_ordinary):
        d0 = max(d0, d0_ordinary)
    mu = winsorized_log_f_moments(d_common, d0, winsor_tail_p)[0]
    log_scale = m_w - mu
    if covariate is None:
        scale = np.array([math.exp(log_scale)])
        scale_ok = np.full(n, scale[0])
    else:
        scale_ok = np.exp(trend + log_scale)
        scale = np.full(x.shape, np.nan)
        scale[ok] = scale_ok
        if not ok.all():
            c_all = np.asarray(covariate, dtype=np.float64)
            order = np.argsort(c)
            scale[~ok] = np.interp(c_all[~ok], c[order], scale_ok[order])
    # tail probabilities on the common df (the log variances as moved above)
    outliers = shrink_outlier_df(np.exp(z) / scale_ok, np.full(n, d_common), d0)
    tail = np.full(x.shape, np.nan)
    prob = np.full(x.shape, np.nan)
    shrunk = np.full(x.shape, d0)
    tail[ok] = outliers.tail_p_value
    prob[ok] = outliers.prob_outlier
    shrunk[ok] = outliers.df2_shrunk
    return RobustFDist(scale, d0, shrunk, tail, prob, outliers.df2_outlier)
