"""Empirical Bayes moderation of gene-wise variances: limma's ``fitFDist`` and ``squeezeVar``.

Model (Smyth 2004, section 3): a gene's residual variance ``s_g^2`` on ``d_g`` df is ``s0^2``
times an F variable on ``(d_g, d0)`` df; the prior ``1/sigma_g^2 ~ s0^-2 chi2_d0 / d0``. The
posterior variance is ``(d0 s0^2 + d_g s_g^2) / (d0 + d_g)``.

Rules of :func:`fit_f_dist` (moments of the log variances, Smyth 2004 section 6.2):

* Genes with a finite ``s_g^2 >= 0`` and ``d_g > 0`` take part. Variances are floored at
  ``1e-5`` times their median (at 1e-5 when the median is 0) so that logs are finite.
* ``e_g = log s_g^2 - digamma(d_g / 2) + log(d_g / 2)``. Without a covariate, ``m`` is the
  mean of ``e_g`` and ``v = sum (e_g - m)^2 / (G - 1)``. With a covariate (``trend``:
  Phipson et al. 2016, section 2.3) ``m_g`` is the least-squares fit of ``e_g`` on a natural
  cubic regression spline of the covariate with ``df = 1 + [G >= 3] + [G >= 6] + [G >= 30]``
  columns including the intercept, capped at the number of distinct covariate values (R
  ``ns(covariate, df, intercept = TRUE)``: ``df - 2`` interior knots at the covariate's type-7
  quantiles, boundary knots at its range) and ``v = RSS / (G - rank)``.
* ``v' = v - mean(trigamma(d_g / 2))``. If ``v' > 0``, ``d0 = 2 trigamma^-1(v')`` and
  ``s0^2 = exp(m + digamma(d0 / 2) - log(d0 / 2))``; otherwise the data show no extra
  variability between genes: ``d0 = inf`` (every gene gets the prior variance) and ``s0^2``
  is the mean of the variances (``exp(m_g)`` with a covariate).

``robust=True`` in :func:`squeeze_var` uses :func:`~exprhub.analysis.linear_models.robust.
fit_f_dist_robustly` (Phipson et al. 2016): the prior df then differs by gene (outlying genes
get less shrinkage; an infinite prior df stays infinite for all other genes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = [
    "SqueezedVariances",
    "fit_f_dist",
    "natural_spline_basis",
    "squeeze_var",
    "trigamma_inverse",
]


@dataclass(frozen=True)
class SqueezedVariances:
    """Posterior variances and the prior they were shrunk towards.

    ``var_prior`` is one value, or one per gene with a trend; ``df_prior`` one value, or one
    per gene with ``robust``.
    """

    var_post: np.ndarray
    var_prior: np.ndarray
    df_prior: np.ndarray


def trigamma_inverse(x: np.ndarray | float) -> np.ndarray:
    """The ``y > 0`` with ``trigamma(y) = x`` (x > 0), by Newton's method on ``1 / y``."""
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    y = np.full_like(x, np.nan)
    big = x > 1e7
    small = x < 1e-6
    y[big] = 1.0 / np.sqrt(x[big])
    y[small] = 1.0 / x[small]
    mid = (x > 0) & ~big & ~small
    xm = x[mid]
    ym = 0.5 + 1.0 / xm
    for _ in range(100):
        tri = special.polygamma(1, ym)
        step = tri * (1.0 - tri / xm) / special.polygamma(2, ym)
        ym = ym + step
        if np.all(-step / ym < 1e-12):
            break
    y[mid] = ym
    return y


def natural_spline_basis(x: np.ndarray, df: int) -> np.ndarray:
    """``df`` columns spanning the natural cubic splines of R ``ns(x, df, intercept = TRUE)``.

    ``df - 2`` interior knots at the type-7 quantiles ``1/(df-1), 2/(df-1), ...`` of ``x``,
    boundary knots at its range; ``df = 1`` is the constant, ``df = 2`` the straight line. The
    basis differs from R's B-spline one, the space (hence any least-squares fit) is the same.
    """
    x = np.asarray(x, dtype=np.float64)
    if df <= 1:
        return np.ones((x.size, 1))
    lo, hi = float(np.min(x)), float(np.max(x))
    span = hi - lo if hi > lo else 1.0
    u = (x - lo) / span
    interior = np.quantile(u, np.arange(1, df - 1) / (df - 1)) if df > 2 else np.empty(0)
    knots = np.concatenate([[0.0], interior, [1.0]])
    columns = [np.ones_like(u), u]
    last = knots[-1]

    def d(k: float) -> np.ndarray:
        return (np.maximum(u - k, 0.0) ** 3 - np.maximum(u - last, 0.0) ** 3) / (last - k)

    d_last = d(knots[-2])
    for k in knots[:-2]:
        columns.append(d(k) - d_last)
    return np.column_stack(columns)


def _spline_df(n: int, covariate: np.ndarray) -> int:
    df = 1 + int(n >= 3) + int(n >= 6) + int(n >= 30)
    return max(1, min(df, np.unique(covariate).size))


def _per_unique(func, values: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """``func`` applied once per distinct value (degrees of freedom repeat across genes)."""
    unique, inverse = np.unique(values, return_inverse=True)
    return np.asarray(func(unique))[inverse.reshape(values.shape)]


def _log_variances(x: np.ndarray, df1: np.ndarray) -> np.ndarray:
    x = np.maximum(x, 0.0)
    m = float(np.median(x))
    if m == 0:
        m = 1.0
    x = np.maximum(x, 1e-5 * m)
    return np.log(x) + _per_unique(lambda d: np.log(d / 2) - special.digamma(d / 2), df1)


def fit_f_dist(
    x: np.ndarray, df1: np.ndarray | float, covariate: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Scale and second df of a scaled F distribution fitted to ``x`` by moments of logs.

    Parameters
    ----------
    x
        Sample variances (one per gene).
    df1
        Their degrees of freedom (one value or one per gene).
    covariate
        Optional covariate (e.g. average expression): the scale then varies smoothly with it.

    Returns
    -------
    (scale, df2)
        ``scale`` is one value per gene with a covariate, else a 1-element array; ``df2`` may
        be ``inf``.
    """
    x = np.asarray(x, dtype=np.float64)
    d = np.broadcast_to(np.asarray(df1, dtype=np.float64), x.shape)
    ok = np.isfinite(x) & np.isfinite(d) & (d > 1e-15) & (x > -1e-15)
    if covariate is not None:
        covariate = np.asarray(covariate, dtype=np.float64)
        ok &= np.isfinite(covariate)
    n = int(np.count_nonzero(ok))
    if n == 0:
        return np.full(1 if covariate is None else x.shape[0], np.nan), np.nan
    e = _log_variances(x[ok], d[ok])
    if covariate is None:
        mean = np.array([e.mean()])
        var = float(np.sum((e - mean[0]) ** 2) / (n - 1)) if n > 1 else 0.0
        mean_all = mean
    else:
        c = covariate[ok]
        basis = natural_spline_basis(c, _spline_df(n, c))
        coef, _, rank, _ = np.linalg.lstsq(basis, e, rcond=None)
        fitted = basis @ coef
        var = float(np.sum((e - fitted) ** 2) / (n - rank)) if n > rank else 0.0
        mean_all = np.full(x.shape[0], np.nan)
        mean_all[ok] = fitted
        if not ok.all():
            mean_all[~ok] = np.interp(covariate[~ok], np.sort(c), fitted[np.argsort(c)])
    var -= float(np.mean(_per_unique(lambda v: special.polygamma(1, v / 2), d[ok])))
    if var > 0:
        df2 = float(2 * trigamma_inverse(var)[0])
        scale = np.exp(mean_all + special.digamma(df2 / 2) - np.log(df2 / 2))
    elif covariate is None:
        # no variability beyond sampling: the prior variance is the mean variance
        df2 = np.inf
        scale = np.array([float(np.mean(np.maximum(x[ok], 0.0)))])
    else:
        df2 = np.inf
        scale = np.exp(mean_all)
    return scale, df2


def squeeze_var(
    var: np.ndarray,
    df: np.ndarray | float,
    *,
    covariate: np.ndarray | None = None,
    robust: bool = False,
    winsor_tail_p: tuple[float, float] = (0.05, 0.1),
) -> SqueezedVariances:
    """Shrink gene-wise variances towards a fitted prior (limma ``squeezeVar``).

    Parameters
    ----------
    var
        Residual variances, one per gene (NaN where a gene has no residual df).
    df
        Their residual degrees of freedom.
    covariate
        Average expression (or another covariate) for a prior that trends with it.
    robust
        Estimate the prior robustly against outlying variances (Phipson et al. 2016).
    winsor_tail_p
        Lower and upper tail proportions Winsorized by the robust estimate.

    Returns
    -------
    SqueezedVariances
    """
    var = np.asarray(var, dtype=np.float64)
    d = np.broadcast_to(np.asarray(df, dtype=np.float64), var.shape).astype(np.float64)
    if robust:
        from exprhub.analysis.linear_models.robust import fit_f_dist_robustly

        robust_fit = fit_f_dist_robustly(var, d, covariate=covariate, winsor_tail_p=winsor_tail_p)
        scale = robust_fit.scale
        df_prior = np.asarray(robust_fit.df2_shrunk, dtype=np.float64)
    else:
        scale, df0 = fit_f_dist(var, d, covariate=covariate)
        df_prior = np.array([df0])
    var_prior = np.asarray(scale, dtype=np.float64)
    vp = np.broadcast_to(var_prior, var.shape)
    d0 = np.broadcast_to(df_prior, var.shape)
    safe_var = np.where(d > 0, np.nan_to_num(var, nan=0.0), 0.0)
    with np.errstate(invalid="ignore"):
        post = np.where(
            np.isinf(d0), vp, (d * safe_var + np.where(np.isinf(d0), 0.0, d0) * vp) / (d + d0)
        )
    return SqueezedVariances(var_post=post, var_prior=var_prior, df_prior=df_prior)
