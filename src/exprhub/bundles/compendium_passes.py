"""The passes of a compendium build over a genes x samples Dask array chunked by sample:
missing-value counts, gene means, imputation by iterative SVD and quantile normalization.

Every pass maps each block (all genes x a run of samples) to a small result; results that add
up are summed on the caller's side in block order, so the numbers do not depend on the
scheduler (threads here or a ``dask.distributed`` cluster) and no step holds more than a few
blocks. Nothing ever holds the whole matrix.

Imputation is IterativeSVD as fancyimpute defines it (used by refine.bio's compendia): fill the
missing cells with the gene means, then repeatedly replace them with a rank-k reconstruction of
the filled matrix (rank ``min(2**i, k)`` at iteration ``i``) until the missing cells change by
less than ``tolerance`` (relative, root sum of squares) or ``max_iters`` reconstructions are
done. The reconstruction here is a randomized SVD (Halko, Martinsson & Tropp 2011): a range
finder ``Y = X Omega``, ``Q = qr(Y)``, ``B = Q^T X``, ``svd(B)``, each product one streaming
pass; ``Omega`` starts random and is then the previous right singular vectors, so successive
iterations refine one subspace (subspace iteration) and each costs two passes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from exprhub.refine.qn import QuantileTarget, interpolate_sorted, normalize_to_target

if TYPE_CHECKING:
    import dask.array as da
    from dask.delayed import Delayed

__all__ = [
    "BlockRunner",
    "ImputeResult",
    "LowRank",
    "fill_block",
    "gene_means",
    "impute_iterative_svd",
    "missing_counts",
    "normalized_blocks",
    "quantile_target",
    "sample_missing_counts",
]


class BlockRunner:
    """Runs per-block tasks on a scheduler, a few blocks at a time, results in block order.

    Parameters
    ----------
    client
        A ``distributed.Client``; None runs on local threads.
    workers
        Local threads (without a client).
    batch
        Blocks computed together (bounds the results held at once).
    """

    def __init__(self, client: Any = None, *, workers: int = 2, batch: int = 8) -> None:
        self.client = client
        self.workers = max(1, workers)
        self.batch = max(1, batch)

    def _compute(self, tasks: Sequence[Delayed]) -> list[Any]:
        import dask

        if self.client is not None:
            return list(self.client.compute(list(tasks), sync=True))
        return list(dask.compute(*tasks, scheduler="threads", num_workers=self.workers))

    def stream(self, tasks: Sequence[Delayed]) -> Iterator[Any]:
        """Each task's result, in order."""
        for start in range(0, len(tasks), self.batch):
            yield from self._compute(tasks[start : start + self.batch])

    def fold(self, tasks: Sequence[Delayed]) -> Any:
        """The sum of the tasks' results (arrays, or tuples of arrays), added in order."""
        total: Any = None
        for part in self.stream(tasks):
            if total is None:
                total = part
            elif isinstance(part, tuple):
                total = tuple(a + b for a, b in zip(total, part, strict=True))
            else:
                total = total + part
        return total


def _blocks(x: da.Array) -> list[Delayed]:
    return list(x.to_delayed().ravel())


def _starts(x: da.Array) -> list[tuple[int, int]]:
    bounds = np.cumsum((0, *x.chunks[1]))
    return [(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


def _tasks(
    x: da.Array, func: Callable[..., Any], *args: Any, per_block: Sequence[Any] = ()
) -> list[Delayed]:
    import dask

    shared = [dask.delayed(a, pure=True) if isinstance(a, np.ndarray) else a for a in args]
    out = []
    for j, block in enumerate(_blocks(x)):
        extra = [p[j] for p in per_block]
        out.append(dask.delayed(_on_one_blas_thread, pure=True)(func, block, *extra, *shared))
    return out


_worker_blas_limited = False


def _on_one_blas_thread(func: Callable[..., Any], *args: Any) -> Any:
    """``func(*args)``; on a ``dask.distributed`` worker, first hold BLAS to one thread for
    the rest of the worker's life (the build's own process does so around the whole build),
    so that products sum in the same order everywhere and a cluster gives the same bytes."""
    global _worker_blas_limited
    if not _worker_blas_limited:
        try:
            from distributed import get_worker
            from threadpoolctl import threadpool_limits

            get_worker()
        except (ImportError, ValueError):
            pass
        else:
            threadpool_limits(1, user_api="blas")
            _worker_blas_limited = True
    # arrays that come over the wire may be unaligned, and numpy multiplies those in its own
    # loops instead of BLAS: other roundings
    return func(
        *(np.require(a, requirements="A") if isinstance(a, np.ndarray) else a for a in args)
    )


# ------------------------------------------------------------------------------- missing values


def _gene_missing(block: np.ndarray) -> np.ndarray:
    return np.isnan(block).sum(axis=1).astype(np.int64)


def missing_counts(runner: BlockRunner, x: da.Array) -> np.ndarray:
    """Missing values per gene (row) over all samples."""
    return np.asarray(runner.fold(_tasks(x, _gene_missing)), dtype=np.int64)


def _sample_missing(block: np.ndarray) -> np.ndarray:
    return np.isnan(block).sum(axis=0).astype(np.int64)


def sample_missing_counts(runner: BlockRunner, x: da.Array) -> np.ndarray:
    """Missing values per sample (column) over all genes."""
    parts = list(runner.stream(_tasks(x, _sample_missing)))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _sums(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    observed = ~np.isnan(block)
    return np.where(observed, block, 0.0).sum(axis=1), observed.sum(axis=1).astype(np.float64)


def gene_means(runner: BlockRunner, x: da.Array) -> np.ndarray:
    """Mean of each gene over its observed values (0 for a gene with none)."""
    total, count = runner.fold(_tasks(x, _sums))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = total / count
    return np.where(count > 0, means, 0.0)


# ------------------------------------------------------------------------------- imputation


@dataclass(frozen=True)
class LowRank:
    """A genes x samples matrix ``U @ W.T`` (``U`` genes x r, ``W`` samples x r)."""

    U: np.ndarray
    W: np.ndarray


def _at(U: np.ndarray, W: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``(U @ W.T)[rows, cols]`` without forming the product."""
    return np.einsum("ij,ij->i", U[rows], W[cols])


def fill_block(block: np.ndarray, U: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``block`` with its missing cells taken from ``U @ W.T`` (``W``: the block's samples)."""
    rows, cols = np.nonzero(np.isnan(block))
    if rows.size == 0:
        return block
    out = block.copy(order="K")
    out[rows, cols] = _at(U, W, rows, cols)
    return out


def _split_missing(
    block: np.ndarray, U: np.ndarray, W: np.ndarray
) -> tuple[np.ndarray, Any, np.ndarray, np.ndarray]:
    """The block with zeros for missing cells, and the reconstruction at the missing cells as
    a sparse matrix: their sum is the filled block (missing cells are few, so products with
    the filled block cost about what products with the observed values do)."""
    from scipy import sparse

    rows, cols = np.nonzero(np.isnan(block))
    zeroed = block
    if rows.size:
        zeroed = block.copy(order="K")
        zeroed[rows, cols] = 0.0
    values = _at(U, W, rows, cols)
    return zeroed, sparse.csr_matrix((values, (rows, cols)), shape=block.shape), rows, cols


def _range_part(
    block: np.ndarray,
    W: np.ndarray,
    omega: np.ndarray,
    W_old: np.ndarray | None,
    U: np.ndarray,
    U_old: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``X_filled @ omega`` of one block, and the squared change of its missing cells since
    the previous reconstruction with the squared previous values."""
    zeroed, patch, rows, cols = _split_missing(block, U, W)
    change = np.zeros(1)
    before = np.zeros(1)
    if U_old is not None and W_old is not None and rows.size:
        old = _at(U_old, W_old, rows, cols)
        change[0] = float(np.sum((_at(U, W, rows, cols) - old) ** 2))
        before[0] = float(np.sum(old**2))
    return zeroed @ omega + patch @ omega, change, before


def _project(block: np.ndarray, W: np.ndarray, U: np.ndarray, Q: np.ndarray) -> np.ndarray:
    zeroed, patch, _, _ = _split_missing(block, U, W)
    return Q.T @ zeroed + np.asarray((patch.T @ Q).T)


@dataclass(frozen=True)
class ImputeResult:
    """The imputation's outcome: the final reconstruction and how it got there."""

    factors: LowRank
    iterations: int
    converged: bool
    last_change: float | None


def _split(matrix: np.ndarray, bounds: list[tuple[int, int]]) -> list[np.ndarray]:
    return [np.ascontiguousarray(matrix[a:b]) for a, b in bounds]


def impute_iterative_svd(
    runner: BlockRunner,
    x: da.Array,
    means: np.ndarray,
    *,
    rank: int = 10,
    max_iters: int = 200,
    tolerance: float = 1e-5,
    oversample: int = 10,
    seed: int = 0,
    progress: Callable[[int, float | None], None] | None = None,
) -> ImputeResult:
    """IterativeSVD imputation of the missing cells of ``x`` (genes x samples), out of core.

    Parameters
    ----------
    means
        Gene means: the first fill.
    rank
        Rank of the reconstruction (reached by doubling from 1, as fancyimpute does).
    max_iters
        Most reconstructions.
    tolerance
        Stop when the missing cells change by less than this, relative (root sum of
        squares of the change over that of the previous values).
    oversample
        Extra columns of the randomized range finder.
    seed
        Seed of the random start.
    progress
        Called with ``(iteration, relative change)`` after each check.

    Returns
    -------
    ImputeResult
        The reconstruction to fill missing cells from (:func:`fill_block`).
    """
    n_genes, n_samples = x.shape
    bounds = _starts(x)
    width = max(1, min(rank + oversample, n_genes, n_samples))
    # one stream over all samples, so the start does not depend on the blocks
    omega = np.random.default_rng(seed).standard_normal((n_samples, width))
    current = LowRank(means[:, None].astype(np.float64), np.ones((n_samples, 1)))
    previous: LowRank | None = None
    converged = False
    change: float | None = None
    iterations = 0
    for iteration in range(max(1, max_iters)):
        W_blocks = _split(current.W, bounds)
        old_blocks = _split(previous.W, bounds) if previous is not None else [None] * len(bounds)
        tasks = _tasks(
            x,
            _range_part,
            current.U,
            previous.U if previous is not None else None,
            per_block=(W_blocks, _split(omega, bounds), old_blocks),
        )
        Y, ssd, norm2 = runner.fold(tasks)
        if previous is not None:
            change = float(np.sqrt(ssd[0]) / np.sqrt(norm2[0])) if norm2[0] > 0 else 0.0
            if progress is not None:
                progress(iterations, change)
            if change < tolerance:
                converged = True
                break
        Q, _ = np.linalg.qr(Y)
        parts = list(runner.stream(_tasks(x, _project, current.U, Q, per_block=(W_blocks,))))
        B = np.concatenate(parts, axis=1)
        Ub, S, Vt = np.linalg.svd(B, full_matrices=False)
        r = min(2**iteration, rank, S.size)
        previous, current = (
            current,
            LowRank((Q @ Ub[:, :r]) * S[:r], np.ascontiguousarray(Vt[:r].T)),
        )
        omega = np.ascontiguousarray(Vt.T)
        iterations += 1
    return ImputeResult(current, iterations, converged, change)


# ------------------------------------------------------------------------------- QN


def _filled(block: np.ndarray, W: np.ndarray | None, U: np.ndarray | None) -> np.ndarray:
    return block if U is None or W is None else fill_block(block, U, W)


def _sorted_sum(block: np.ndarray, W: np.ndarray | None, U: np.ndarray | None) -> np.ndarray:
    """Sum over the block's samples of each sample's sorted values (brought to the number of
    genes by preprocessCore's interpolation when a sample has missing values), in order."""
    values = _filled(block, W, U)
    n = values.shape[0]
    total = np.zeros(n, dtype=np.float64)
    for column in values.T:
        observed = np.sort(column[~np.isnan(column)])
        if observed.size:
            total += interpolate_sorted(observed, n)
    return total


def quantile_target(
    runner: BlockRunner, x: da.Array, fill: LowRank | None, *, organism: str, value_kind: str
) -> QuantileTarget:
    """Pass 1 of quantile normalization: the mean of the samples' sorted values (the rule
    of :func:`exprhub.refine.qn.build_target`), after filling from ``fill`` when given."""
    bounds = _starts(x)
    W_blocks = _split(fill.W, bounds) if fill is not None else [None] * len(bounds)
    total = runner.fold(
        _tasks(x, _sorted_sum, fill.U if fill is not None else None, per_block=(W_blocks,))
    )
    values = np.maximum.accumulate(total / x.shape[1])
    return QuantileTarget(
        values=values,
        organism=organism,
        value_kind=value_kind,
        version="compendium",
        created="",
    )


def _output(
    block: np.ndarray, W: np.ndarray | None, U: np.ndarray | None, target: np.ndarray | None
) -> np.ndarray:
    values = _filled(block, W, U)
    if target is not None:
        values = normalize_to_target(values, target, threads=1)
    return np.asarray(values, dtype=np.float32)


def normalized_blocks(
    runner: BlockRunner, x: da.Array, fill: LowRank | None, target: QuantileTarget | None
) -> Iterator[np.ndarray]:
    """Pass 2: each block filled from ``fill`` (when given) and mapped onto ``target`` (when
    given), float32 genes x samples, in sample order."""
    bounds = _starts(x)
    W_blocks = _split(fill.W, bounds) if fill is not None else [None] * len(bounds)
    yield from runner.stream(
        _tasks(
            x,
            _output,
            fill.U if fill is not None else None,
            target.values if target is not None else None,
            per_block=(W_blocks,),
        )
    )
