"""Moderated t and F statistics and log-odds: limma's ``eBayes`` (Smyth 2004).

For a fit (coefficients or contrasts) :func:`e_bayes` computes:

* the prior ``d0, s0^2`` and posterior variances ``s~_g^2`` by
  :func:`~exprhub.analysis.linear_models.moderation.squeeze_var` (with ``trend``: the prior
  variance follows average expression; with ``robust``: Phipson et al. 2016);
* ``df_total = min(d_g + d0, sum of all genes' d_g)`` (the cap keeps the moderated t from
  claiming more information than the whole experiment holds);
* moderated ``t = b / (stdev_unscaled * s~_g)`` and two-sided p-values on ``df_total`` df
  (normal when infinite);
* ``B``, the log posterior odds that a coefficient is non-zero (Smyth 2004, section 5): with
  ``r = (v + v0) / v`` (``v = stdev_unscaled^2``, ``v0 = var_prior``) and ``d = d_g + d0``
  (not capped, as in R limma: with an infinite prior df, B takes its limiting form),
  ``B = log(p / (1 - p)) - log(r) / 2 + (1 + d) / 2 * log((t^2 + d) / (t^2 / r + d))``, the
  last term being ``t^2 (1 - 1/r) / 2`` when ``d`` is infinite; ``p = proportion``;
* ``var_prior`` ``v0`` per coefficient (Smyth 2004, section 6.2): the ``ceil(G p / 2)``
  largest ``|t|`` (converted to the largest ``df_total`` by matching tail probabilities) are
  taken as coming from the non-null component of the mixture; for the ``r``-th largest, the
  tail probability it should have under the non-null component is
  ``q_r = ((r - 1/2) / G - (1 - p') P0(|t|)) / p'`` with ``p' = max(ceil(G p / 2) / G, p)`` and
  ``P0`` the null two-sided tail; where ``q_r > P0(|t|)``, ``v0_r = v ((|t| / Q(q_r))^2 - 1)``
  with ``Q`` the two-sided t quantile, else 0. ``v0`` is the mean of the ``v0_r``, each first
  clipped to ``stdev_coef_lim^2 / median(s0^2)``;
* the moderated F statistic over all coefficients,
  :func:`~exprhub.analysis.linear_models.ebayes.moderated_f`, on ``(rank, d_g + d0)`` df (not
  capped either: chi-square when the prior df is infinite, as R limma).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from exprhub.analysis.linear_models.fit import LinearModelFit
from exprhub.analysis.linear_models.moderation import squeeze_var

__all__ = ["ModeratedFit", "e_bayes", "moderated_f", "t_tail"]


@dataclass(frozen=True)
class ModeratedFit:
    """A fit with its empirical Bayes statistics (arrays genes x coefficients or per gene)."""

    fit: LinearModelFit
    t: np.ndarray
    p_value: np.ndarray
    lods: np.ndarray
    s2_post: np.ndarray
    df_total: np.ndarray
    s2_prior: np.ndarray
    df_prior: np.ndarray
    var_prior: np.ndarray
    f: np.ndarray
    f_p_value: np.ndarray
    proportion: float
    trend: bool
    robust: bool

    @property
    def genes(self):  # type: ignore[no-untyped-def]
        """Gene labels."""
        return self.fit.genes

    @property
    def coefficient_names(self) -> list[str]:
        """Coefficient (or contrast) names."""
        return self.fit.coefficient_names


def t_tail(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    """Two-sided tail probability ``P(|T_df| > |t|)``; normal where ``df`` is infinite."""
    t = np.abs(np.asarray(t, dtype=np.float64))
    df = np.broadcast_to(np.asarray(df, dtype=np.float64), t.shape)
    finite = np.isfinite(df)
    if finite.all():
        return 2 * special.stdtr(df, -t)
    out = np.empty_like(t)
    out[finite] = 2 * special.stdtr(df[finite], -t[finite])
    out[~finite] = 2 * special.ndtr(-t[~finite])
    return out


def _t_isf(p: np.ndarray, df: float) -> np.ndarray:
    return stats.norm.isf(p) if math.isinf(df) else stats.t.isf(p, df)


def _var_prior_one(
    t: np.ndarray, stdev: np.ndarray, df: np.ndarray, proportion: float, lim: np.ndarray
) -> float:
    ok = ~np.isnan(t)
    t, stdev, df = np.abs(t[ok]), stdev[ok], df[ok]
    n = t.size
    target = math.ceil(proportion / 2 * n)
    if target < 1:
        return math.nan
    p = max(target / n, proportion)
    max_df = float(np.max(df))
    lower = df < max_df
    if np.any(lower):
        tail = t_tail(t[lower], df[lower]) / 2
        t = t.copy()
        t[lower] = _t_isf(tail, max_df)
    top = np.argpartition(-t, target - 1)[:target] if target < n else np.arange(n)
    order = top[np.argsort(-t[top], kind="stable")]
    t_top = t[order]
    v1 = stdev[order] ** 2
    r = np.arange(1, target + 1)
    p0 = t_tail(t_top, np.full(target, max_df))
    p_target = ((r - 0.5) / n - (1 - p) * p0) / p
    v0 = np.zeros(target)
    pos = p_target > p0
    if np.any(pos):
        q = _t_isf(p_target[pos] / 2, max_df)
        v0[pos] = v1[pos] * ((t_top[pos] / q) ** 2 - 1)
    v0 = np.clip(v0, lim[0], lim[1])
    return float(np.mean(v0))


def moderated_f(
    t: np.ndarray, cov_coefficients: np.ndarray, df_total: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """The moderated F statistic over several coefficients and its p-value.

    ``F = t' R^-1 t / r`` with ``R`` the correlation of ``cov_coefficients`` (its
    pseudo-inverse over the ``r`` eigenvalues above ``1e-8`` times the largest); ``F ~
    F(r, df_total)`` (``chi2_r / r`` when infinite). F is missing where any t is (as R).

    Returns
    -------
    (F, p-value, r)
    """
    t = np.asarray(t, dtype=np.float64)
    sd = np.sqrt(np.diag(cov_coefficients))
    corr = cov_coefficients / np.outer(sd, sd)
    k = t.shape[1]
    if np.all(np.abs(corr - np.eye(k)) < 1e-14):
        f = np.mean(t**2, axis=1)
        rank = k
    else:
        values, vectors = np.linalg.eigh(corr)
        keep = values > values.max() * 1e-8
        rank = int(np.count_nonzero(keep))
        projected = t @ vectors[:, keep]
        f = np.sum(projected**2 / values[keep], axis=1) / rank
    df = np.broadcast_to(np.asarray(df_total, dtype=np.float64), f.shape)
    finite = np.isfinite(df)
    p = np.empty_like(f)
    p[finite] = special.fdtrc(rank, df[finite], f[finite])
    p[~finite] = special.chdtrc(rank, f[~finite] * rank)
    p[np.isnan(f)] = np.nan
    return f, p, rank


def e_bayes(
    fit: LinearModelFit,
    *,
    proportion: float = 0.01,
    stdev_coef_lim: tuple[float, float] = (0.1, 4.0),
    trend: bool = False,
    robust: bool = False,
    winsor_tail_p: tuple[float, float] = (0.05, 0.1),
) -> ModeratedFit:
    """Empirical Bayes moderated statistics for every gene and coefficient.

    Parameters
    ----------
    fit
        From :func:`~exprhub.analysis.linear_models.fit.lm_fit` (optionally
        :func:`~exprhub.analysis.linear_models.contrasts.contrasts_fit`).
    proportion
        Assumed proportion of differentially expressed genes (for ``B``).
    stdev_coef_lim
        Assumed range of the standard deviation of log fold changes of DE genes.
    trend
        Let the prior variance depend on average expression.
    robust
        Robust prior estimation against hypervariable genes.
    winsor_tail_p
        Tail proportions for ``robust``.

    Returns
    -------
    ModeratedFit
    """
    if not 0 < proportion < 1:
        raise ValueError(f"proportion must lie in (0, 1), got {proportion}")
    df = fit.df_residual.astype(np.float64)
    if not np.any(df > 0):
        raise ValueError("no residual degrees of freedom: every gene fits its samples exactly")
    sq = squeeze_var(
        fit.sigma**2,
        df,
        covariate=fit.amean if trend else None,
        robust=robust,
        winsor_tail_p=winsor_tail_p,
    )
    df_pooled = float(np.sum(df[np.isfinite(df)]))
    df_total = np.minimum(df + np.broadcast_to(sq.df_prior, df.shape), df_pooled)
    s2_post = sq.var_post
    with np.errstate(invalid="ignore", divide="ignore"):
        t = fit.coefficients / fit.stdev_unscaled / np.sqrt(s2_post)[:, None]
    p_value = t_tail(t, np.broadcast_to(df_total[:, None], t.shape))

    lim = np.asarray(stdev_coef_lim, dtype=np.float64) ** 2 / float(np.median(sq.var_prior))
    var_prior = np.array(
        [
            _var_prior_one(t[:, j], fit.stdev_unscaled[:, j], df_total, proportion, lim)
            for j in range(t.shape[1])
        ]
    )
    var_prior = np.where(np.isnan(var_prior), 1.0 / float(np.median(sq.var_prior)), var_prior)
    df_unbounded = df + np.broadcast_to(sq.df_prior, df.shape)
    v = fit.stdev_unscaled**2
    t2 = t**2
    d = np.broadcast_to(df_unbounded[:, None], t.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (v + var_prior[None, :]) / v
        kernel = np.where(
            np.isinf(d),
            t2 * (1 - 1 / r) / 2,
            (1 + d) / 2 * np.log((t2 + d) / (t2 / r + d)),
        )
    lods = math.log(proportion / (1 - proportion)) - np.log(r) / 2 + kernel
    f, f_p, _ = moderated_f(t, fit.cov_coefficients, df_unbounded)
    return ModeratedFit(
        fit=fit,
        t=t,
        p_value=p_value,
        lods=lods,
        s2_post=s2_post,
        df_total=df_total,
        s2_prior=sq.var_prior,
        df_prior=sq.df_prior,
        var_prior=var_prior,
        f=f,
        f_p_value=f_p,
        proportion=proportion,
        trend=trend,
        robust=robust,
    )
