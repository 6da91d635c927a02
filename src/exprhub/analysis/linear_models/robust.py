"""Robust estimation of the variance prior against hypervariable genes (Phipson et al. 2016).

Rules of :func:`fit_f_dist_robustly` (the prior of
:mod:`~exprhub.analysis.linear_models.moderation`, estimated so that a few genes with
outlying variances cannot drag it):

* ``z_g = log s_g^2`` (variances floored as in ``fit_f_dist``). With a covariate, ``z_g`` is
  first replaced by its residual from a LOWESS trend on the covariate
  (:func:`~exprhub.analysis.linear_models.lowess.lowess`, span 0.4, 3 robustness
  iterations), which is added back to the prior variance.
* The ``z_g`` are Winsorized at their type-7 quantiles ``winsor_tail_p[0]`` and
  ``1 - winsor_tail_p[1]``; ``m_w`` is the mean and ``v_w`` the variance (``n - 1``
  denominator) of the Winsorized values.
* For a candidate ``d0``, the Winsorized mean ``mu(d0)`` and variance ``sigma^2(d0)`` of
  ``log F(d, d0)`` (Winsorized at its own quantiles with the same tail probabilities) are
  integrals, computed by adaptive quadrature; ``d`` is the median residual df (genes with
  other df have ``log(d_g/2) - digamma(d_g/2)`` minus the same at ``d`` added to ``z_g``;
  with such genes, i.e. missing values, the prior differs from R's, whose rule for mixed df is
  not known here: see docs/analysis.md).
  ``sigma^2`` falls as ``d0`` grows: ``d0`` solves ``sigma^2(d0) = v_w``, infinite when
  ``v_w`` is at most the limit ``sigma^2(inf)`` (of ``log chi2_d / d``). ``d0`` is never
  below the ordinary estimate of ``fit_f_dist`` (Winsorizing may only remove variability; R
  limma does the same). Then ``s0^2 = exp(m_w - mu(d0))`` (times the trend).
* Outliers: the upper tail probability ``p_g = P(F(d, d0) > s_g^2 / s0^2)``; with ``p`` sorted
  increasingly, ``pi_(r) = min(1, max_{k <= r} G p_(k) / k)`` estimates the probability that
  a gene is not an outlier (1 for most genes). Outlying genes get a smaller prior df,
  ``d0_g = pi_g d0 + (1 - pi_g) d0_out``, where ``d0_out`` is the prior df under which the
  largest variance is the median of its scaled F distribution (an outlier is believed less).

Agreement with R limma 3.54 ``eBayes(robust = TRUE)``: ``d0`` and ``s0^2`` of the bulk agree
to 1e-9 and the genes flagged as outliers are the same (``tests/analysis``); the shrunk df of
flagged genes follow the rule above, which is written from the paper's description and not
R's exact rule, so their moderated t differ from R's (by the amounts in docs/analysis.md).

Reference: B. Phipson, S. Lee, I. J. Majewski, W. S. Alexander, G. K. Smyth (2016), Robust
hyperparameter estimation protects against hypervariable genes and improves power to detect
differential expression, Ann. Appl. Stat. 10(2):946-963.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, optimize, special, stats

from exprhub.analysis.linear_models.lowess import lowess
from exprhub.analysis.linear_models.moderation import fit_f_dist

#: Span of the LOWESS trend of the log variances (R limma's, found by comparing results).
_TREND_SPAN = 0.4

__all__ = ["fit_f_dist_robustly", "winsorized_log_f_moments"]


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


def fit_f_dist_robustly(
    x: np.ndarray,
    df1: np.ndarray,
    *,
    covariate: np.ndarray | None = None,
    winsor_tail_p: tuple[float, float] = (0.05, 0.1),
) -> tuple[np.ndarray, np.ndarray]:
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
    (scale, df2)
        ``scale`` (one value, or one per gene with a covariate) and ``df2`` per gene.
    """
    x = np.asarray(x, dtype=np.float64)
    d = np.broadcast_to(np.asarray(df1, dtype=np.float64), x.shape)
    ok = np.isfinite(x) & np.isfinite(d) & (d > 1e-15) & (x > -1e-15)
    if covariate is not None:
        ok &= np.isfinite(np.asarray(covariate, dtype=np.float64))
    n = int(np.count_nonzero(ok))
    if n < 3:
        scale, df_common = fit_f_dist(x, d, covariate)
        return scale, np.full(x.shape, df_common)
    xo = np.maximum(x[ok], 0.0)
    median = float(np.median(xo)) or 1.0
    d_common = float(np.median(d[ok]))
    z = np.log(np.maximum(xo, 1e-5 * median))
    if np.any(d[ok] != d_common):
        # put log variances on other df onto the median df's scale (Smyth's e_g correction)
        def shift(v: np.ndarray) -> np.ndarray:
            return np.log(v / 2) - special.digamma(v / 2)

        z = z + shift(d[ok]) - shift(np.array([d_common]))[0]
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
    _, d0_ordinary = fit_f_dist(x, d, covariate)
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
    ratio = xo / scale_ok
    dok = d[ok]
    tail = stats.chi2.sf(ratio * dok, dok) if math.isinf(d0) else stats.f.sf(ratio, dok, d0)
    order = np.argsort(tail, kind="stable")
    ranks = np.arange(1, n + 1)
    not_outlier = np.empty(n)
    not_outlier[order] = np.minimum(1.0, np.maximum.accumulate(n * tail[order] / ranks))
    df2: np.ndarray = np.full(x.shape, d0)
    if np.any(not_outlier < 1):
        extreme = float(np.max(ratio))
        d_out = _outlier_df(extreme, d_common, d0)
        shrunk = np.where(
            not_outlier < 1,
            not_outlier * (d0 if math.isfinite(d0) else 1e300) + (1 - not_outlier) * d_out,
            d0,
        )
        df2[ok] = np.minimum(shrunk, d0)
    return scale, df2


def _outlier_df(extreme: float, df1: float, d0: float) -> float:
    """The prior df under which ``extreme`` is the median of ``F(df1, df)``."""

    def gap(log_df: float) -> float:
        return float(stats.f.median(df1, math.exp(log_df)) - extreme)

    high = math.log(d0) if math.isfinite(d0) else math.log(1e6)
    low = math.log(1e-6)
    if gap(high) >= 0:
        return math.exp(high)
    if gap(low) <= 0:
        return math.exp(low)
    return math.exp(optimize.brentq(gap, low, high, xtol=1e-12))
