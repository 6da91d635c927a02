"""Gene-wise linear models: the ``lmFit`` step of Smyth (2004).

For every gene ``g`` with values ``y_g`` (one per sample) and a samples x coefficients design
``X``, :func:`lm_fit` computes by (weighted) least squares:

* ``coefficients``: ``b_g = (X' W_g X)^-1 X' W_g y_g``;
* ``stdev_unscaled``: ``sqrt(diag((X' W_g X)^-1))``, so that the standard error of a
  coefficient is ``sigma_g * stdev_unscaled``;
* ``sigma``: ``sqrt(RSS_g / df_g)`` with the weighted residual sum of squares ``RSS_g``;
* ``df_residual``: ``df_g = n_g - rank(X_g)``, ``n_g`` the gene's observed samples;
* ``amean``: the mean of the gene's observed values (unweighted; limma's ``Amean``);
* ``cov_coefficients``: ``(X' W X)^-1`` of the whole design (sample weights only). Genes with
  missing values or their own weights have a different covariance; like R limma, later steps
  (contrasts, moderated F) combine each gene's own ``stdev_unscaled`` with the correlation of
  this common matrix, exact for complete genes and orthogonal designs, an approximation
  otherwise (limma ``contrasts.fit`` documents the same).

Missing values (NaN) are left out gene by gene: a gene is fitted on its observed samples.
Coefficients that the observed samples cannot estimate (the reduced design is rank deficient,
rank decided by pivoted QR with R's tolerance 1e-7) are NaN; a gene with ``df_g = 0`` has NaN
``sigma``. Weights are positive numbers, either one per sample or one per value (genes x
samples); a zero or NaN weight leaves the value out.

Speed: the genes without missing values (and without per-value weights) share one pivoted QR
factorization of the design, applied in cache-sized blocks; the other genes are factorized in
stacks (one QR per gene, batched), and only a gene whose observed design is close to rank
deficient goes through the pivoted, rank-revealing factorization on its own.

Reference: G. K. Smyth (2004), Linear models and empirical Bayes methods for assessing
differential expression in microarray experiments, Stat. Appl. Genet. Mol. Biol. 3(1):3.
Checked against R limma 3.54 ``lmFit`` in ``tests/analysis/test_limma_agreement.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.linalg.lapack

__all__ = ["LinearModelFit", "lm_fit"]

#: R's default ``qr`` tolerance for deciding the rank.
_RANK_TOL = 1e-7


@dataclass(frozen=True)
class LinearModelFit:
    """Gene-wise least-squares fits (and, after moderation, their statistics).

    Arrays are genes x coefficients or one value per gene, in the order of ``genes`` and
    ``coefficient_names``.
    """

    genes: pd.Index
    coefficient_names: list[str]
    coefficients: np.ndarray
    stdev_unscaled: np.ndarray
    sigma: np.ndarray
    df_residual: np.ndarray
    amean: np.ndarray
    cov_coefficients: np.ndarray
    design: pd.DataFrame
    contrasts: pd.DataFrame | None = None

    def with_contrasts(self, **changes: object) -> LinearModelFit:
        """A copy with some fields replaced."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def coefficient_frame(self) -> pd.DataFrame:
        """The coefficients as a genes x coefficients DataFrame."""
        return pd.DataFrame(self.coefficients, index=self.genes, columns=self.coefficient_names)


def _as_values(values: pd.DataFrame | np.ndarray) -> tuple[np.ndarray, pd.Index, list[str]]:
    if isinstance(values, pd.DataFrame):
        matrix = values.to_numpy(dtype=np.float64)
        return matrix, values.index, [str(c) for c in values.columns]
    matrix = np.asarray(values, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"values must be a genes x samples matrix, got {matrix.ndim} dimensions")
    return matrix, pd.RangeIndex(matrix.shape[0]), [str(i) for i in range(matrix.shape[1])]


def _as_design(design: pd.DataFrame | np.ndarray, n: int) -> pd.DataFrame:
    frame = design if isinstance(design, pd.DataFrame) else pd.DataFrame(np.asarray(design))
    frame = frame.astype(np.float64)
    frame.columns = [str(c) for c in frame.columns]
    if frame.shape[0] != n:
        raise ValueError(f"the design has {frame.shape[0]} rows for {n} samples")
    if not np.isfinite(frame.to_numpy()).all():
        raise ValueError("the design matrix has missing or infinite entries")
    if len(set(frame.columns)) != frame.shape[1]:
        raise ValueError("design column names must be unique")
    return frame


#: Genes per block when forming residuals (keeps a block in cache).
_BLOCK = 1024


def _pivoted_solve(
    x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, np.ndarray]:
    """Least squares of every row of ``y`` (genes x n) on ``x`` (n x p).

    Returns coefficients (genes x p, NaN where not estimable), unscaled sds (p), residual sums
    of squares (genes), the rank and the unscaled covariance (p x p, NaN where not
    estimable).
    """
    n, p = x.shape
    k = y.shape[0]
    coef = np.full((k, p), np.nan)
    unscaled = np.full((p, p), np.nan)
    if n == 0:
        return coef, np.full(p, np.nan), np.full(k, np.nan), 0, unscaled
    q, r, piv = scipy.linalg.qr(x, mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int(np.count_nonzero(diag > _RANK_TOL * diag[0])) if diag.size and diag[0] > 0 else 0
    if rank == 0:
        return coef, np.full(p, np.nan), np.einsum("ij,ij->i", y, y), 0, unscaled
    q1 = np.ascontiguousarray(q[:, :rank])
    r_inv, info = scipy.linalg.lapack.dtrtri(np.asfortranarray(r[:rank, :rank]), lower=0)
    if info != 0:
        raise np.linalg.LinAlgError(f"triangular inverse failed (LAPACK info {info})")
    rss = np.empty(k)
    estimates = np.empty((k, rank))
    for start in range(0, k, _BLOCK):
        block = y[start : start + _BLOCK]
        qty = block @ q1
        resid = block - qty @ q1.T
        rss[start : start + _BLOCK] = np.einsum("ij,ij->i", resid, resid)
        estimates[start : start + _BLOCK] = qty @ r_inv.T
    coef[:, piv[:rank]] = estimates
    cov = r_inv @ r_inv.T
    unscaled[np.ix_(piv[:rank], piv[:rank])] = cov
    return coef, np.sqrt(np.diag(unscaled)), rss, rank, unscaled


def _stacked_solve(
    x: np.ndarray, yw: np.ndarray, root_w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weighted least squares of each row of ``yw`` (already times ``root_w``) on ``x``, each
    gene with its own row weights ``root_w`` (0 = left out), by stacked QR factorizations.

    Returns coefficients, unscaled sds, residual sums of squares and whether the gene's design
    is clearly of full rank (the others need the pivoted, rank-revealing solve).
    """
    k = yw.shape[0]
    p = x.shape[1]
    coef = np.full((k, p), np.nan)
    stdev = np.full((k, p), np.nan)
    rss = np.full(k, np.nan)
    full = np.zeros(k, dtype=bool)
    for start in range(0, k, _BLOCK):
        stop = min(k, start + _BLOCK)
        weights = root_w[start:stop]
        enough = np.count_nonzero(weights > 0, axis=1) >= p
        xs = x[None, :, :] * weights[:, :, None]
        q, r = np.linalg.qr(xs)
        diag = np.abs(np.diagonal(r, axis1=1, axis2=2))
        scale = np.linalg.norm(xs, axis=1).max(axis=1)
        ok = enough & (diag.min(axis=1) > _RANK_TOL * np.maximum(scale, 1e-300) * 10)
        idx = np.flatnonzero(ok)
        if idx.size:
            qty = np.einsum("gnp,gn->gp", q[idx], yw[start:stop][idx])
            r_inv = np.linalg.inv(r[idx])
            est = np.einsum("gij,gj->gi", r_inv, qty)
            resid = yw[start:stop][idx] - np.einsum("gnp,gp->gn", xs[idx], est)
            coef[start + idx] = est
            stdev[start + idx] = np.sqrt(np.einsum("gij,gij->gi", r_inv, r_inv))
            rss[start + idx] = np.einsum("gn,gn->g", resid, resid)
            full[start + idx] = True
    return coef, stdev, rss, full


def lm_fit(
    values: pd.DataFrame | np.ndarray,
    design: pd.DataFrame | np.ndarray,
    *,
    weights: np.ndarray | pd.DataFrame | pd.Series | None = None,
) -> LinearModelFit:
    """Fit a linear model to every gene (row) of a genes x samples matrix.

    Parameters
    ----------
    values
        Genes x samples (log-scale expression); NaN = missing.
    design
        Samples x coefficients design matrix, rows in the order of the value columns.
    weights
        Optional positive weights: one per sample, or one per value (genes x samples).

    Returns
    -------
    LinearModelFit
        Coefficients, unscaled standard deviations, residual sd and df, average expression.
    """
    y, genes, _samples = _as_values(values)
    n_genes, n = y.shape
    frame = _as_design(design, n)
    x = frame.to_numpy()
    p = x.shape[1]
    observed = ~np.isnan(y)
    gene_weights: np.ndarray | None = None
    sample_w = np.ones(n)
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim == 1 and w.shape[0] == n:
            sample_w = w
        elif w.shape == y.shape:
            gene_weights = w
        else:
            raise ValueError(f"weights must have {n} values or the shape {y.shape}, got {w.shape}")
        if np.any(w[~np.isnan(w)] < 0):
            raise ValueError("weights must not be negative")
    sample_ok = ~np.isnan(sample_w) & (sample_w > 0)
    observed &= sample_ok[None, :]
    if gene_weights is not None:
        observed &= ~np.isnan(gene_weights) & (gene_weights > 0)

    coefficients = np.full((n_genes, p), np.nan)
    stdev = np.full((n_genes, p), np.nan)
    rss = np.full(n_genes, np.nan)
    df = np.zeros(n_genes)
    root_sample_w = np.sqrt(np.where(sample_ok, sample_w, 0.0))
    unit_weights = bool(np.all(root_sample_w == 1.0))

    complete = observed.all(axis=1) if gene_weights is None else np.zeros(n_genes, dtype=bool)
    if complete.any():
        rows = np.flatnonzero(complete)
        xw = x * root_sample_w[:, None]
        block = y if rows.size == n_genes else y[rows]
        coef, sd, r, rank, _ = _pivoted_solve(xw, block if unit_weights else block * root_sample_w)
        coefficients[rows], stdev[rows], rss[rows], df[rows] = coef, sd[None, :], r, n - rank
    rest = np.flatnonzero(~complete)
    if rest.size:
        if gene_weights is None:
            root_w = np.where(observed[rest], root_sample_w[None, :], 0.0)
        else:
            root_w = np.sqrt(np.where(observed[rest], gene_weights[rest], 0.0))
        yw = np.where(observed[rest], y[rest], 0.0) * root_w
        coef, sd, r, full = _stacked_solve(x, yw, root_w)
        done = rest[full]
        coefficients[done], stdev[done], rss[done] = coef[full], sd[full], r[full]
        df[done] = np.count_nonzero(root_w[full] > 0, axis=1) - p
        for g, weights_g in zip(rest[~full], root_w[~full], strict=True):
            cols = np.flatnonzero(weights_g > 0)
            one = (y[g, cols] * weights_g[cols])[None, :]
            coef_g, sd_g, r_g, rank, _ = _pivoted_solve(x[cols] * weights_g[cols, None], one)
            coefficients[g], stdev[g], rss[g], df[g] = coef_g[0], sd_g, r_g[0], cols.size - rank

    with np.errstate(invalid="ignore", divide="ignore"):
        sigma = np.where(df > 0, np.sqrt(rss / np.where(df > 0, df, 1.0)), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        if observed.all():
            amean = y.mean(axis=1)
        else:
            counts = np.count_nonzero(~np.isnan(y), axis=1)
            amean = np.where(counts > 0, np.nansum(y, axis=1) / np.maximum(counts, 1), np.nan)
    xw_all = x[sample_ok] * root_sample_w[sample_ok, None]
    _, _, _, _, cov = _pivoted_solve(xw_all, np.zeros((0, xw_all.shape[0])))
    return LinearModelFit(
        genes=genes,
        coefficient_names=list(frame.columns),
        coefficients=coefficients,
        stdev_unscaled=stdev,
        sigma=sigma,
        df_residual=df,
        amean=amean,
        cov_coefficients=cov,
        design=frame,
    )
