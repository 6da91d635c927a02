"""Imputation of a compendium's missing cells by alternating least squares: the fixed point of
iterative SVD (fancyimpute's ``IterativeSVD``, refine.bio's rule) in a few passes over the data.

IterativeSVD fills the missing cells, takes the rank-k truncated SVD of the filled matrix,
puts its values back into the missing cells (observed cells never change) and repeats. At its
fixed point the reconstruction ``L`` of rank k is the truncated SVD of the matrix filled from
``L`` itself, which means that ``L`` fits the observed cells by least squares: for its left
subspace ``U`` (genes x k), each sample's column of ``L`` is ``U c`` with ``c`` the least
squares fit of the sample's observed values on the observed rows of ``U``, and each gene's row
of ``U`` is the least squares fit of the gene's observed values on those coefficients
(Troyanskaya et al. 2001's SVDimpute and Hastie et al. 2015's "softImpute-ALS" with no
penalty describe the same fixed point; the derivation is in docs/compendia.md).

Alternating least squares goes straight for that fixed point. One iteration is one pass over
the blocks (all genes x a run of samples): in each block every sample's coefficients are
solved from the current ``U`` (a k x k system each), and the block adds its share of every
gene's k x k normal equations; after the pass each gene's new row of ``U`` is solved, and
``U`` is orthonormalized. Iterative SVD instead moves the missing cells only part of the way
towards the least squares fit at each step, and each out-of-core reconstruction costs two
passes. Where the fixed point is not unique (docs/compendia.md, "Measured agreement"), no
method converges fast; the measured agreement is in docs/compendia.md.

The start is the leading rank-k subspace of the matrix filled with the gene means (the first
fill of iterative SVD), from a randomized range finder (Halko, Martinsson & Tropp 2011) whose
sketch is taken in the same pass as the gene means, and one power step. The iterations stop
when the imputed cells change by less than ``tolerance`` (relative root sum of squares, as
before) between two successive subspaces, or after ``max_iters`` passes. Nothing holds more than
a few blocks: the state between passes is ``U`` and per gene a k x k matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from exprhub.bundles.compendium_passes import (
    BlockRunner,
    ImputeResult,
    LowRank,
    _split,
    _starts,
    _tasks,
)

if TYPE_CHECKING:
    import dask.array as da

__all__ = ["column_coefficients", "impute_als", "means_and_sketch"]


# ------------------------------------------------------------------------------- per block


def _missing(block: np.ndarray) -> tuple[np.ndarray, Any, np.ndarray, np.ndarray]:
    """The block with zeros in its missing cells, the missing cells as a sparse 0/1 matrix
    (genes x samples) and their coordinates."""
    from scipy import sparse

    rows, cols = np.nonzero(np.isnan(block))
    zeroed = block
    if rows.size:
        zeroed = block.copy(order="K")
        zeroed[rows, cols] = 0.0
    mask = sparse.csr_matrix((np.ones(rows.size), (rows, cols)), shape=block.shape)
    return zeroed, mask, rows, cols


def _outer_rows(matrix: np.ndarray) -> np.ndarray:
    """Row i: the flattened outer product of row i with itself."""
    return np.einsum("ij,ik->ijk", matrix, matrix).reshape(matrix.shape[0], -1)


def column_coefficients(
    zeroed: np.ndarray, mask: Any, U: np.ndarray, UU: np.ndarray | None = None
) -> np.ndarray:
    """Per sample (column) of a block, the least squares coefficients (k x samples) of its
    observed values on the observed rows of ``U``: ``U @ c`` is the sample's fixed-point
    reconstruction. ``zeroed``: the block with zeros in missing cells; ``mask``: its missing
    cells (sparse, 1 where missing); ``UU``: :func:`_outer_rows` of ``U`` when at hand."""
    k = U.shape[1]
    gram = U.T @ U
    systems = np.broadcast_to(gram, (zeroed.shape[1], k, k)).copy()
    if mask.nnz:
        outer = _outer_rows(U) if UU is None else UU
        systems -= np.asarray(mask.T @ outer).reshape(-1, k, k)
    right = (U.T @ zeroed).T[:, :, None]
    return _solve(systems, right)[:, :, 0].T


def _solve(systems: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Batched symmetric ``solve`` with a ridge of 1e-10 of each system's mean diagonal: it
    changes a well-posed answer by about that much (relative), and gives a system without
    enough observed values for rank k (a sample measuring fewer genes than k, or none) its
    minimum-norm fit instead of noise from rounding."""
    k = systems.shape[-1]
    scale = np.trace(systems, axis1=-2, axis2=-1) / k
    ridge = 1e-10 * np.where(scale > 0, scale, 1.0)
    regular = systems + ridge[:, None, None] * np.eye(k)
    return np.linalg.solve(regular, right)


def _sums_and_sketch(block: np.ndarray, omega: np.ndarray) -> tuple[np.ndarray, ...]:
    """Gene sums and counts over observed values; ``Z @ omega`` and ``M @ omega`` (``Z``: the
    block with zeros for missing cells, ``M``: its 0/1 missing mask)."""
    zeroed, mask, _, _ = _missing(block)
    counts = block.shape[1] - np.asarray(mask.sum(axis=1)).ravel()
    return zeroed.sum(axis=1), counts, zeroed @ omega, np.asarray(mask @ omega)


def _power_part(
    block: np.ndarray, Q: np.ndarray, means: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``X X^T Q`` and ``Q^T X X^T Q`` of the block filled with the gene means."""
    filled = np.where(np.isnan(block), means[:, None], block)
    W = filled.T @ Q
    return filled @ W, W.T @ W


def _als_part(
    block: np.ndarray,
    U: np.ndarray,
    UU: np.ndarray,
    U_old: np.ndarray | None,
    UU_old: np.ndarray | None,
) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """One block's share of an iteration: every gene's normal equations for the next ``U``
    (the part of all samples, ``C C^T``, and per gene the part of its missing samples, to be
    taken off), the squared change of the imputed cells since ``U_old`` with their squared
    old values, and the block's coefficients (samples x k)."""
    zeroed, mask, rows, cols = _missing(block)
    C = column_coefficients(zeroed, mask, U, UU)
    k = U.shape[1]
    change = np.zeros(1)
    before = np.zeros(1)
    if U_old is not None and rows.size:
        C_old = column_coefficients(zeroed, mask, U_old, UU_old)
        new = np.einsum("ij,ji->i", U[rows], C[:, cols])
        old = np.einsum("ij,ji->i", U_old[rows], C_old[:, cols])
        change[0] = float(np.sum((new - old) ** 2))
        before[0] = float(np.sum(old**2))
    missing_part = (
        np.asarray(mask @ _outer_rows(C.T)) if mask.nnz else np.zeros((block.shape[0], k * k))
    )
    sums = (C @ C.T, missing_part, zeroed @ C.T, change, before)
    return sums, np.ascontiguousarray(C.T)


# ------------------------------------------------------------------------------- passes


def means_and_sketch(
    runner: BlockRunner, x: da.Array, width: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Gene means over observed values (0 for a gene with none) and the randomized range
    sketch ``X_mean_filled @ Omega`` (genes x ``width``; ``Omega`` one seeded Gaussian stream
    over all samples, so it does not depend on the blocks), in one pass."""
    n_samples = x.shape[1]
    omega = np.random.default_rng(seed).standard_normal((n_samples, width))
    parts = _split(omega, _starts(x))
    total, count, sketch, missing = runner.fold(_tasks(x, _sums_and_sketch, per_block=(parts,)))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(count > 0, total / count, 0.0)
    return means, sketch + means[:, None] * missing


def impute_als(
    runner: BlockRunner,
    x: da.Array,
    *,
    rank: int = 10,
    max_iters: int = 200,
    tolerance: float = 3e-3,
    oversample: int = 10,
    seed: int = 0,
    progress: Callable[[int, float | None], None] | None = None,
) -> tuple[ImputeResult, np.ndarray]:
    """Impute the missing cells of ``x`` (genes x samples) at the iterative SVD fixed point
    of rank ``rank``, out of core, by alternating least squares (module docstring).

    Parameters
    ----------
    rank
        Rank of the reconstruction (at most the number of genes and of samples).
    max_iters
        Most iterations (each one pass over the blocks).
    tolerance
        Stop when the imputed cells change by less than this between two iterations
        (root sum of squares of the change over that of the previous values).
    oversample
        Extra columns of the randomized range finder of the start.
    seed
        Seed of the range finder.
    progress
        Called with ``(iteration, relative change)`` after each iteration.

    Returns
    -------
    tuple[ImputeResult, numpy.ndarray]
        The reconstruction to fill missing cells from
        (:func:`~exprhub.bundles.compendium_passes.fill_block`: ``U`` genes x k, ``W``
        samples x k), and the gene means.
    """
    n_genes, n_samples = x.shape
    k = max(1, min(rank, n_genes, n_samples))
    width = max(k, min(k + oversample, n_genes, n_samples))
    means, sketch = means_and_sketch(runner, x, width, seed)
    Q, _ = np.linalg.qr(sketch)
    # one power step, then the leading k directions of the subspace (Rayleigh-Ritz)
    power, gram = runner.fold(_tasks(x, _power_part, Q, means))
    _, vectors = np.linalg.eigh(gram)
    U, _ = np.linalg.qr(power @ vectors[:, ::-1][:, :k])
    U_old: np.ndarray | None = None
    converged = False
    change: float | None = None
    iterations = 0
    fill = LowRank(U, np.zeros((n_samples, k)))
    for _ in range(max(1, max_iters)):
        UU = _outer_rows(U)
        UU_old = _outer_rows(U_old) if U_old is not None else None
        tasks = _tasks(x, _als_part, U, UU, U_old, UU_old)
        totals: Any = None
        coefficients = []
        for sums, C in runner.stream(tasks):
            totals = (
                sums if totals is None else tuple(a + b for a, b in zip(totals, sums, strict=True))
            )
            coefficients.append(C)
        fill = LowRank(U, np.concatenate(coefficients, axis=0))
        iterations += 1
        gram_all, missing_part, right, ssd, norm2 = totals
        if U_old is not None:
            change = float(np.sqrt(ssd[0] / norm2[0])) if norm2[0] > 0 else 0.0
            if progress is not None:
                progress(iterations, change)
            if change < tolerance:
                converged = True
                break
        systems = gram_all[None, :, :] - missing_part.reshape(n_genes, k, k)
        U_new = _solve(systems, right[:, :, None])[:, :, 0]
        U_old, (U, _) = U, np.linalg.qr(U_new)
    return ImputeResult(fill, iterations, converged, change), means
