"""Quantile normalization to a reference target.

Two operations, both on plain numpy arrays:

* :func:`build_target` makes a :class:`QuantileTarget` from sample vectors: the element-wise
  mean of every sample's sorted values (refine.bio's per-organism QN target). It streams, holding
  one running sum, so any number of samples can be folded in.
* :func:`normalize_to_target` maps every column of a genes x samples matrix onto a target,
  reproducing R ``preprocessCore::normalize.quantiles.use.target`` (verified to 1e-9 against
  preprocessCore 1.60 in ``tests/refine/test_qn.py``).

Rules (they are preprocessCore's, stated here so they need not be looked up):

* Missing values are NaN. NaN entries of the target are dropped and the rest sorted; its
  length ``T`` is the number of non-NaN target values.
* Ranks are R's ``rank(ties.method = "average")`` over a column's non-NaN values, so a tie
  group occupying sorted positions ``i..j`` (1-based) has rank ``(i + j) / 2``.
* When a column has no NaN and ``T`` equals the number of rows, a value of integer rank ``r``
  becomes ``target[r]``; a half-integer rank ``r`` (even-sized tie group) becomes
  ``(target[r - 1/2] + target[r + 1/2]) / 2``. Ties therefore get the target *at their average
  rank*, not the mean of the target over the tied ranks.
* Otherwise (the column has NaNs, or ``T`` differs from the number of rows) the column's
  ``n`` observed values are mapped by percentile: rank ``r`` has ``p = (r - 1) / (n - 1)`` and
  the value is the target linearly interpolated at position ``1 + (T - 1) p`` (R quantile type
  7), with positions within ``4 * DBL_EPSILON`` of an integer snapped to it. A column with a
  single observed value gets the largest target value (preprocessCore 1.60 on x86-64 does
  this: its percentile is 0/0).
* NaN entries stay NaN and do not take part; an all-NaN column stays all NaN.

Building a target, a sample with NaNs contributes its observed values interpolated to the
target length by the same type-7 rule (``normalize.quantiles.determine.target``); samples with no
observed value are rejected. The sum runs in sample order, so the same samples in the same order
give a bit-identical target.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

__all__ = [
    "QuantileTarget",
    "build_target",
    "interpolate_sorted",
    "normalize_to_target",
]

_EPS4 = 4 * np.finfo(np.float64).eps
#: Columns sorted at once; bounds the temporary memory to about 3 x rows x block x 8 bytes.
_BLOCK = 64
#: Genes per tile when transposing a block of a row-major matrix.
_TILE = 512


@dataclass(frozen=True)
class QuantileTarget:
    """A versioned reference distribution for quantile normalization.

    Attributes
    ----------
    values
        The target, sorted ascending, float64, no NaN.
    organism
        Organism the target belongs to (e.g. ``"Homo sapiens"``).
    value_kind
        Kind of values it was built from (``"intensity"``, ``"log-ratio"``, ``"rna-seq"``...).
    version
        Caller-chosen version label.
    sample_ids
        Identifiers of the samples that built it, in the order they were summed.
    created
        UTC creation time, ISO 8601.
    sha256
        Hex digest of the values' little-endian float64 bytes followed by the canonical JSON of
        ``organism``, ``value_kind``, ``version`` and ``sample_ids`` (not ``created``), so
        the same inputs give the same hash whenever they are built.
    """

    values: np.ndarray
    organism: str = ""
    value_kind: str = "intensity"
    version: str = "1"
    sample_ids: tuple[str, ...] = ()
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    sha256: str = ""

    def __post_init__(self) -> None:
        values = np.ascontiguousarray(self.values, dtype=np.float64)
        if values.ndim != 1 or values.size == 0:
            raise ValueError("a quantile target must be a non-empty 1-D vector")
        if np.isnan(values).any():
            raise ValueError("a quantile target must not contain NaN")
        if np.any(np.diff(values) < 0):
            raise ValueError("a quantile target must be sorted ascending")
        values.setflags(write=False)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "sample_ids", tuple(self.sample_ids))
        digest = target_digest(
            values, self.organism, self.value_kind, self.version, self.sample_ids
        )
        if self.sha256 and self.sha256 != digest:
            raise ValueError(f"quantile target hash mismatch: stored {self.sha256}, got {digest}")
        object.__setattr__(self, "sha256", digest)

    def __len__(self) -> int:
        return int(self.values.size)

    @property
    def n_samples(self) -> int:
        """Number of samples that built the target (0 when unknown)."""
        return len(self.sample_ids)

    def metadata(self) -> dict[str, object]:
        """JSON-ready description of the target (everything but the values)."""
        return {
            "organism": self.organism,
            "value_kind": self.value_kind,
            "version": self.version,
            "length": len(self),
            "n_samples": self.n_samples,
            "sample_ids": list(self.sample_ids),
            "created": self.created,
            "sha256": self.sha256,
        }


def target_digest(
    values: np.ndarray,
    organism: str,
    value_kind: str,
    version: str,
    sample_ids: Sequence[str],
) -> str:
    """SHA-256 of a target's values and identifying metadata (see :class:`QuantileTarget`)."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(values, dtype="<f8").tobytes())
    meta = {
        "organism": organism,
        "value_kind": value_kind,
        "version": version,
        "sample_ids": list(sample_ids),
    }
    h.update(json.dumps(meta, sort_keys=True, separators=(",", ":")).encode())
    return h.hexdigest()


def interpolate_sorted(sorted_values: np.ndarray, length: int) -> np.ndarray:
    """Resample ascending values to ``length`` points by linear (type-7) interpolation.

    Point ``i`` (0-based) is the quantile at ``i / (length - 1)`` of ``sorted_values``; this is
    how preprocessCore estimates a sample's distribution when it has missing values.
    """
    x = np.asarray(sorted_values, dtype=np.float64)
    n = x.size
    if n == 0:
        raise ValueError("cannot interpolate an empty vector")
    if n == length:
        return x.copy()
    if length == 1:
        return x[:1].copy()
    pct = np.arange(length, dtype=np.float64) / float(length - 1)
    return _interpolate(x, 1.0 + (float(n) - 1.0) * pct)


def _interpolate(table: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Values of ``table`` at 1-based fractional ``position`` (preprocessCore's rounding rules).

    Positions within ``4 * DBL_EPSILON`` of an integer are snapped to it; positions outside
    ``[1, len(table)]`` are clamped; a NaN position (0/0 percentile of a single observed value)
    gives the last entry, as preprocessCore does. ``(1 - f) * a + f * b`` is preprocessCore's
    formula, and gives ``a`` exactly when ``f`` is 0.
    """
    t = table.size
    floor = np.floor(position + _EPS4)
    frac = position - floor
    frac[~(np.abs(frac) > _EPS4)] = 0.0  # also turns NaN fractions into 0
    np.nan_to_num(floor, copy=False, nan=float(t))
    lo = floor.astype(np.intp)
    lo -= 1
    np.clip(lo, 0, t - 1, out=lo)
    hi = lo + 1
    np.minimum(hi, t - 1, out=hi)
    out = table[lo]
    out *= 1.0 - frac
    out += frac * table[hi]
    return out


def build_target(
    columns: Iterable[np.ndarray],
    min_samples: int = 1,
    *,
    length: int | None = None,
    sample_ids: Sequence[str] | None = None,
    organism: str = "",
    value_kind: str = "intensity",
    version: str = "1",
) -> QuantileTarget:
    """Build a quantile target as the mean of the samples' sorted value vectors.

    Parameters
    ----------
    columns
        One 1-D vector per sample (consumed once, so a generator streams). NaNs are missing.
    min_samples
        Fewest samples accepted; fewer raises ``ValueError``.
    length
        Target length; defaults to the length of the first vector. Every sample is brought to
        it by :func:`interpolate_sorted` when its observed values number differently.
    sample_ids
        Identifiers of the samples, in the order of ``columns`` (recorded in the target).
    organism, value_kind, version
        Recorded in the target and its hash.

    Returns
    -------
    QuantileTarget
    """
    total: np.ndarray | None = None
    count = 0
    for index, column in enumerate(columns):
        vec = np.asarray(column, dtype=np.float64).ravel()
        if total is None:
            length = int(length or vec.size)
            if length <= 0:
                raise ValueError("quantile target length must be positive")
            total = np.zeros(length, dtype=np.float64)
        observed = np.sort(vec[~np.isnan(vec)])
        if observed.size == 0:
            name = sample_ids[index] if sample_ids is not None else f"#{index}"
            raise ValueError(f"sample {name} has no observed values")
        total += interpolate_sorted(observed, total.size)
        count += 1
    if total is None or count < max(min_samples, 1):
        raise ValueError(
            f"a quantile target needs at least {max(min_samples, 1)} samples, got {count}"
        )
    ids: tuple[str, ...] = ()
    if sample_ids is not None:
        ids = tuple(str(s) for s in sample_ids)
        if len(ids) != count:
            raise ValueError(f"{len(ids)} sample ids given for {count} samples")
    values = total / count
    # Rounding can break monotonicity by an ulp when samples differ in length; restore it.
    values = np.maximum.accumulate(values)
    return QuantileTarget(
        values=values, organism=organism, value_kind=value_kind, version=version, sample_ids=ids
    )


def _tie_groups(sorted_block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tie groups of ascending rows: ``(i + j, size)`` per group, in row-major order.

    A group occupies 0-based positions ``i..j`` of its row; the average rank (1-based) of its
    members is ``(i + j) / 2 + 1``. Groups never span two rows.
    """
    n = sorted_block.shape[1]
    flat = sorted_block.ravel()
    new = np.empty(flat.size, dtype=bool)
    new[0] = True
    np.not_equal(flat[1:], flat[:-1], out=new[1:])
    new[::n] = True
    starts = np.flatnonzero(new)
    counts = np.diff(starts, append=flat.size)
    return 2 * (starts % n) + counts - 1, counts


class _Workspace(threading.local):
    """Per-thread scratch arrays, reused across blocks to avoid fresh page faults."""

    def __init__(self) -> None:
        self.arrays: dict[tuple[str, tuple[int, ...]], np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
        key = (name, shape)
        array = self.arrays.get(key)
        if array is None:
            if len(self.arrays) > 16:
                self.arrays.clear()
            array = self.arrays[key] = np.empty(shape, dtype=dtype)
        return array


_WS = _Workspace()


def _pack_order(block: np.ndarray, positive: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Sort order of each row of a block (NaNs, if any, positive), and which rows may hold ties.

    Each value's bits are mapped to an order-preserving int64 whose low bits are replaced by the
    value's position; one plain integer sort then yields the permutation (several times faster
    than ``argsort``). Rows where two neighbours share the remaining high bits (ties, or values
    within about ``2**-(52 - log2 n)`` relative) are flagged: their order is checked on the exact
    values afterwards. ``block`` may be a strided view; ``positive`` promises every value > 0.
    """
    b, n = block.shape
    bits = max(1, (n - 1).bit_length())
    low = np.int64((1 << bits) - 1)
    keys = _WS.get("keys", (b, n), np.int64)
    if positive or not np.signbit(block).any():
        np.bitwise_and(block.view(np.int64), ~low, out=keys)
    else:
        raw = (block + 0.0).view(np.int64)  # -0.0 -> +0.0: they are equal, so must tie
        np.right_shift(raw, 63, out=keys)
        np.bitwise_and(keys, np.int64(0x7FFFFFFFFFFFFFFF), out=keys)
        np.bitwise_xor(keys, raw, out=keys)
        np.bitwise_and(keys, ~low, out=keys)
    np.bitwise_or(keys, np.arange(n, dtype=np.int64), out=keys)
    keys.sort(axis=1)
    high = _WS.get("high", (b, n), np.int64)
    np.right_shift(keys, bits, out=high)
    same = _WS.get("same", (b, n - 1), np.bool_)
    np.equal(high[:, 1:], high[:, :-1], out=same)
    flagged: np.ndarray = np.asarray(same.any(axis=1))
    np.bitwise_and(keys, low, out=keys)
    return keys, flagged


def _normalize_complete(
    block: np.ndarray, target: np.ndarray, out: np.ndarray, positive: bool = False
) -> None:
    """Rows of ``block`` (samples) without NaN whose length equals the target's, into ``out``."""
    b = block.shape[0]
    order, flagged = _pack_order(block, positive)
    for i in np.flatnonzero(~flagged):
        out[i][order[i]] = target  # row-wise scatter: faster than one flat np.put
    if not flagged.any():
        return
    rows = np.flatnonzero(flagged)
    whole = rows.size == b
    sub_order = order if whole else order[rows]
    sub = block if whole else block[rows]
    srt = _WS.get("sorted", sub.shape, np.float64)
    for k in range(rows.size):
        np.take(sub[k], sub_order[k], out=srt[k])
    for bad in np.flatnonzero((srt[:, 1:] < srt[:, :-1]).any(axis=1)):
        sub_order[bad] = np.argsort(sub[bad])
        srt[bad] = sub[bad][sub_order[bad]]
    m, counts = _tie_groups(srt)
    values = np.repeat(0.5 * (target[m // 2] + target[(m + 1) // 2]), counts).reshape(srt.shape)
    for k, row in enumerate(rows):
        out[row][sub_order[k]] = values[k]


def _normalize_percentile(block: np.ndarray, target: np.ndarray, out: np.ndarray) -> None:
    """Rows mapped by percentile (they have NaNs, or differ in length from the target).

    ``block`` is scratch: its NaNs are overwritten with the canonical positive NaN so that the
    integer sort puts them last.
    """
    b, n = block.shape
    missing = np.isnan(block)
    block[missing] = np.nan
    n_obs = n - missing.sum(axis=1)
    order, _ = _pack_order(block)
    srt = _WS.get("sorted", (b, n), np.float64)
    for k in range(b):
        np.take(block[k], order[k], out=srt[k])
    with np.errstate(invalid="ignore"):
        disorder = (srt[:, 1:] < srt[:, :-1]).any(axis=1)
    for bad in np.flatnonzero(disorder):
        order[bad] = np.argsort(block[bad])
        srt[bad] = block[bad][order[bad]]
    if (srt[:, 1:] == srt[:, :-1]).any():
        m, counts = _tie_groups(srt)
        sums = np.repeat(m.astype(np.float64), counts).reshape(b, n)
    else:  # no ties: entry i of a sorted row has i + j = 2 i
        sums = np.broadcast_to(np.arange(0.0, 2.0 * n, 2.0), (b, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = (sums / 2.0) / (n_obs.astype(np.float64) - 1.0)[:, None]
    position = 1.0 + (float(target.size) - 1.0) * pct
    values = _interpolate(target, position.ravel()).reshape(b, n)
    values[np.arange(n)[None, :] >= n_obs[:, None]] = np.nan
    for k in range(b):
        out[k][order[k]] = values[k]


def _normalize_block(block: np.ndarray, target: np.ndarray, out: np.ndarray) -> None:
    """Normalize a samples x genes block (one sample per row, scratch) into ``out``."""
    if block.shape[1] != target.size:
        _normalize_percentile(block, target, out)
        return
    mins = block.min(axis=1)  # NaN exactly for rows with a NaN
    has_nan = np.isnan(mins)
    if not has_nan.any():
        _normalize_complete(block, target, out, positive=bool((mins > 0).all()))
        return
    if has_nan.all():
        _normalize_percentile(block, target, out)
        return
    for rows, func in ((~has_nan, _normalize_complete), (has_nan, _normalize_percentile)):
        index = np.flatnonzero(rows)
        part = np.ascontiguousarray(block[index])
        result = np.empty_like(part)
        func(part, target, result)
        out[index] = result


def _default_threads() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    try:
        if os.getloadavg()[0] >= cpus:
            return 1
    except OSError:
        pass
    return max(1, min(cpus, 8))


def normalize_to_target(
    matrix: np.ndarray,
    target: np.ndarray | QuantileTarget,
    *,
    threads: int | None = None,
    block: int = _BLOCK,
) -> np.ndarray:
    """Quantile-normalize every column of ``matrix`` to ``target``.

    Parameters
    ----------
    matrix
        Genes x samples values; NaN marks a missing value.
    target
        The reference distribution (any order; NaNs ignored), or a :class:`QuantileTarget`.
    threads
        Worker threads over column blocks (sorting releases the GIL). Default: the CPUs this
        process may use (at most 8), or 1 when the machine is already busy (1-minute load
        average >= CPU count), where threads only contend. The result never depends on it.
    block
        Columns handled together.

    Returns
    -------
    numpy.ndarray
        A new float64 genes x samples matrix, equal to
        ``preprocessCore::normalize.quantiles.use.target(matrix, target)``. It is laid out
        column-major (Fortran order: each sample contiguous); use ``np.ascontiguousarray`` for
        row-major.
    """
    values = target.values if isinstance(target, QuantileTarget) else target
    tgt = np.asarray(values, dtype=np.float64).ravel()
    tgt = np.sort(tgt[~np.isnan(tgt)])
    if tgt.size == 0:
        raise ValueError("the quantile target has no values")
    x = np.asarray(matrix, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected a genes x samples matrix, got {x.ndim} dimension(s)")
    rows, cols = x.shape
    out_t = np.empty((cols, rows), dtype=np.float64)  # samples x genes; returned transposed
    if rows == 0 or cols == 0:
        return out_t.T
    xt = x.T
    starts = range(0, cols, max(block, 1))

    def work(start: int) -> None:
        stop = min(start + block, cols)
        chunk = _WS.get("chunk", (stop - start, rows), np.float64)
        view = xt[start:stop]
        if view.flags.c_contiguous:
            np.copyto(chunk, view)
        else:  # transposing copy in tiles that stay in cache
            for r in range(0, rows, _TILE):
                np.copyto(chunk[:, r : r + _TILE], view[:, r : r + _TILE])
        _normalize_block(chunk, tgt, out_t[start:stop])

    n_threads = threads or _default_threads()
    if n_threads <= 1 or cols <= block:
        for s in starts:
            work(s)
    else:
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            list(pool.map(work, starts))
    return out_t.T
