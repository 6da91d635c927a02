"""Reads of one matrix array: rows, columns and lines read chunk by chunk, and the cost model
that :meth:`exprhub.storage.arrays.Matrix.block` uses to pick the cheaper layout (measured, see
docs/store.md). Lines are read from the chunk files; ``take_rows`` and ``take_across`` read
through zarr arrays, which the caller opens (and imports zarr) only for them."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from typing import TYPE_CHECKING, Any

import numpy as np

from exprhub.storage.array_meta import ArrayMeta
from exprhub.storage.chunk_writer import ChunkCodec

if TYPE_CHECKING:
    import zarr

# Rough cost model used by Matrix.block to pick a layout (measured, see docs/store.md).
_CHUNK_OVERHEAD_S = 0.25e-3
_DECODE_BYTES_PER_S = 1.5e9


def top_index(indices: Sequence[int] | np.ndarray) -> int:
    """One past the largest index (0 if none), for capacity checks."""
    idx = np.asarray(indices, dtype=np.int64)
    return int(idx.max()) + 1 if idx.size else 0


def take_rows(
    arr: zarr.Array, indices: Sequence[int] | np.ndarray, n: int, dtype: np.dtype[Any], what: str
) -> np.ndarray:
    """Rows ``indices`` of ``arr`` over ``[0, n)``, reading each chunk once."""
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if idx.size == 0 or n == 0:
        return np.empty((idx.size, n), dtype=dtype)
    if idx.min() < 0 or idx.max() >= arr.shape[0]:
        bad = idx[(idx < 0) | (idx >= arr.shape[0])][0]
        raise IndexError(f"{what} {bad} is outside [0, {arr.shape[0]})")
    uniq, inverse = np.unique(idx, return_inverse=True)
    if uniq.size == uniq[-1] - uniq[0] + 1:  # contiguous: a plain slice is cheaper
        got = np.asarray(arr[int(uniq[0]) : int(uniq[-1]) + 1, :n])
    else:
        got = np.asarray(arr.get_orthogonal_selection((uniq, slice(0, n))))
    return got if uniq.size == idx.size and np.array_equal(uniq, idx) else got[inverse]


def take_across(
    arr: zarr.Array,
    indices: Sequence[int] | np.ndarray,
    start: int,
    stop: int,
    dtype: np.dtype[Any],
) -> np.ndarray:
    """Columns ``indices`` of ``arr`` over its rows ``[start, stop)``, shape
    (len(indices), stop - start): features of a sample-major array across samples."""
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if idx.size == 0 or stop <= start:
        return np.empty((idx.size, max(stop - start, 0)), dtype=dtype)
    if idx.min() < 0 or idx.max() >= arr.shape[1]:
        bad = idx[(idx < 0) | (idx >= arr.shape[1])][0]
        raise IndexError(f"row {bad} is outside [0, {arr.shape[1]})")
    uniq, inverse = np.unique(idx, return_inverse=True)
    got = np.asarray(arr.get_orthogonal_selection((slice(start, stop), uniq))).T
    return got if uniq.size == idx.size and np.array_equal(uniq, idx) else got[inverse]


def read_line(arr: ArrayMeta, fixed: int, start: int, stop: int, *, fixed_axis: int) -> np.ndarray:
    """``arr[fixed, start:stop]`` (``fixed_axis`` 0) or ``arr[start:stop, fixed]`` (1), read
    chunk file by chunk file without zarr's per-chunk overhead (a row across 100,000 samples
    touches ~100 feature-major chunks; see docs/store.md)."""
    out = np.full(max(stop - start, 0), np.nan, dtype=arr.dtype)
    if stop <= start:
        return out
    codec = ChunkCodec.of(arr)
    if codec is None:
        from exprhub.storage.atomic_store import AtomicFiles
        from exprhub.storage.zarr_store import open_array

        selection = (fixed, slice(start, stop)) if fixed_axis == 0 else (slice(start, stop), fixed)
        array = open_array(AtomicFiles(arr.root, read_only=True), arr.path)
        out[:] = np.asarray(array[selection])
        return out
    directory = arr.directory
    along = 1 - fixed_axis
    width = codec.shape[along]
    outer, inner = divmod(fixed, codec.shape[fixed_axis])

    def read(chunks: range) -> None:
        for j in chunks:
            key = codec.key((outer, j) if fixed_axis == 0 else (j, outer))
            try:
                data = (directory / key).read_bytes()
            except FileNotFoundError:  # never written: NaN
                continue
            chunk = codec.view(data)
            line = chunk[inner] if fixed_axis == 0 else chunk[:, inner]
            lo, hi = max(start, j * width), min(stop, (j + 1) * width)
            out[lo - start : hi - start] = line[lo - j * width : hi - j * width]

    first, last = start // width, (stop - 1) // width + 1
    if last - first < _PARALLEL_READ_CHUNKS or READ_THREADS < 2:
        read(range(first, last))
        return out
    # File reads and blosc decoding release the GIL: the chunks of a long line are shared
    # with a second thread (disjoint parts of ``out``).
    share = [range(first + w, last, READ_THREADS) for w in range(READ_THREADS)]
    pending = [_reader_pool().submit(read, part) for part in share[1:]]
    try:
        read(share[0])
    finally:
        futures_wait(pending)  # nothing writes into ``out`` after this returns
    for future in pending:
        future.result()
    return out


def read_block(arr: ArrayMeta, span0: tuple[int, int], span1: tuple[int, int]) -> np.ndarray:
    """``arr[span0[0]:span0[1], span1[0]:span1[1]]``, read chunk file by chunk file (chunks
    never written are NaN), shared with a second thread (reads and blosc decoding release the
    GIL); through zarr where the chunks are not stored as :class:`ChunkCodec` reads them."""
    (a0, a1), (b0, b1) = span0, span1
    out = np.full((max(a1 - a0, 0), max(b1 - b0, 0)), np.nan, dtype=arr.dtype)
    if out.size == 0:
        return out
    codec = ChunkCodec.of(arr)
    if codec is None:
        from exprhub.storage.atomic_store import AtomicFiles
        from exprhub.storage.zarr_store import open_array

        array = open_array(AtomicFiles(arr.root, read_only=True), arr.path)
        out[:] = np.asarray(array[a0:a1, b0:b1])
        return out
    directory = arr.directory
    h, w = codec.shape
    keys = [
        (i, j) for i in range(a0 // h, (a1 - 1) // h + 1) for j in range(b0 // w, (b1 - 1) // w + 1)
    ]

    def read(part: list[tuple[int, int]]) -> None:
        for i, j in part:
            try:
                data = (directory / codec.key((i, j))).read_bytes()
            except FileNotFoundError:  # never written: NaN
                continue
            chunk = codec.view(data)
            r0, r1 = max(a0, i * h), min(a1, (i + 1) * h)
            c0, c1 = max(b0, j * w), min(b1, (j + 1) * w)
            out[r0 - a0 : r1 - a0, c0 - b0 : c1 - b0] = chunk[
                r0 - i * h : r1 - i * h, c0 - j * w : c1 - j * w
            ]

    if len(keys) < _PARALLEL_READ_CHUNKS or READ_THREADS < 2:
        read(keys)
        return out
    share = [keys[t::READ_THREADS] for t in range(READ_THREADS)]  # disjoint parts of ``out``
    pending = [_reader_pool().submit(read, part) for part in share[1:]]
    try:
        read(share[0])
    finally:
        futures_wait(pending)
    for future in pending:
        future.result()
    return out


#: Threads reading the chunks of one long row (a row across 100,000 samples touches ~100
#: feature-major chunk files plus the tail): the caller's thread and READ_THREADS - 1 others.
READ_THREADS = min(2, os.cpu_count() or 1)
_PARALLEL_READ_CHUNKS = 32
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _reader_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max(READ_THREADS - 1, 1), thread_name_prefix="exprhub-read")
        return _pool


def read_cost(
    chunks: tuple[int, ...], span0: tuple[int, int], span1: tuple[int, int], dtype: np.dtype[Any]
) -> float:
    """Estimated seconds to read ``span0 x span1`` from an array with ``chunks``."""
    n0 = (span0[1] - 1) // chunks[0] - span0[0] // chunks[0] + 1
    n1 = (span1[1] - 1) // chunks[1] - span1[0] // chunks[1] + 1
    chunk_bytes = chunks[0] * chunks[1] * dtype.itemsize
    return n0 * n1 * (_CHUNK_OVERHEAD_S + chunk_bytes / _DECODE_BYTES_PER_S)
