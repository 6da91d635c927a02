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

Speed: genes sharing a pattern of observed samples (and no per-value weights) share one QR
factorization, so a matrix without missing values costs one factorization and two matrix
products. Genes with per-value weights are factorized in stacks.

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


def _pattern_groups(observed: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Genes grouped by their pattern of observed samples: (gene rows, sample columns)."""
    n = observed.shape[1]
    complete = observed.all(axis=1)
    groups: list[tuple[np.ndarray, np.ndarray]] = []
    if complete.any():
        groups.append((np.flatnonzero(complete), np.arange(n)))
    partial = np.flatnonzero(~complete)
    if partial.size:
        packed = np.ascontiguousarray(np.packbits(observed[partial], axis=1))
        keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        for k, row in enumerate(first):
            groups.append((partial[inverse == k], np.flatnonzero(observed[partial[row]])))
    return groups


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

    if gene_weights is None:
        for rows, cols in _pattern_groups(observed):
            xw = x[cols] * root_sample_w[cols, None]
            block = y if rows.size == n_genes and cols.size == n else y[np.ix_(rows, cols)]
            yw = block if unit_weights else block * root_sample_w[None, cols]
            coef, sd, r, rank, _ = _pivoted_solve(xw, yw)
            coefficients[rows] = coef
            stdev[rows] = sd[None, :]
            rss[rows] = r
            df[rows] = cols.size - rank
    else:
        root_w = np.sqrt(np.where(observed, gene_weights, 0.0))
        for g in range(n_genes):
            cols = np.flatnonzero(observed[g])
            xw = x[cols] * root_w[g, cols, None]
            yw = (y[g, cols] * root_w[g, cols])[None, :]
            coef, sd, r, rank, _ = _pivoted_solve(xw, yw)
            coefficients[g] = coef[0]
            stdev[g] = sd
            rss[g] = r[0]
            df[g] = cols.size - rank

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
