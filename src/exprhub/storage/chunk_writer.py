"""Writing a rectangular region of a matrix array chunk by chunk.

Zarr's own ``array[region] = values`` costs ~1.7 ms per chunk on a 2-core VM, most of it
Python and asyncio overhead rather than encoding or I/O; the first append to a platform's
feature-major array touches one chunk per 16 features (3,418 for 54,675 probes), so that
overhead dominated an import. Here each touched chunk is assembled with
numpy, encoded with the array's own codecs (``bytes`` + ``blosc``, through numcodecs) and
written by the store's atomic file writer. The files are byte-identical to the ones zarr writes
for the same values (tested), so zarr reads them. The arrays are described by their metadata
(:class:`~exprhub.storage.array_meta.ArrayMeta`): nothing here imports zarr.

Arrays with other codecs, key encodings or fill values are written through zarr (imported
then).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numcodecs import Blosc, blosc

from exprhub.storage.array_meta import ArrayMeta
from exprhub.storage.atomic_store import AtomicFiles

# Blosc's own threads (used by default on the main thread) cost more than they save on the
# chunks of this store (64-256 KB) and compete with the chunk threads: off for the process.
blosc.use_threads = False

_SHUFFLE = {"noshuffle": Blosc.NOSHUFFLE, "shuffle": Blosc.SHUFFLE, "bitshuffle": Blosc.BITSHUFFLE}

#: Threads writing the chunks of one call. Encoding and file-system calls run without the GIL,
#: so two threads write a 54,675-probe stripe ~1.6 x faster when a second core is free (2-core
#: VM; no gain when other work keeps it busy).
WRITE_THREADS = min(2, os.cpu_count() or 1)
#: Fewer chunks than this per thread are written on the caller's thread alone.
_CHUNKS_PER_THREAD = 64


@dataclass(frozen=True)
class ChunkCodec:
    """Encoder and decoder of one array's chunks (``bytes`` little-endian, then ``blosc``)."""

    blosc: Blosc
    dtype: np.dtype[Any]
    shape: tuple[int, ...]
    key: Callable[[tuple[int, ...]], str]

    @classmethod
    def of(cls, array: ArrayMeta) -> ChunkCodec | None:
        """The codec of ``array``, or None if its chunks are not stored the way this module
        writes them (then the caller goes through zarr). Empty chunks are taken as not stored
        (zarr's default, ``write_empty_chunks`` off: the setting is not in the metadata)."""
        meta = array.document
        codecs = meta.get("codecs")
        encoding = meta.get("chunk_key_encoding")
        if (
            not isinstance(codecs, list)
            or len(codecs) != 2
            or not isinstance(encoding, dict)
            or encoding.get("name") != "default"
            or meta.get("storage_transformers") not in (None, [])
            or array.dtype.kind != "f"
            or meta.get("fill_value") != "NaN"
            or len(array.chunks) != 2
        ):
            return None
        first, second = codecs
        if not isinstance(first, dict) or not isinstance(second, dict):
            return None
        endian = (first.get("configuration") or {}).get("endian", "little")
        config = second.get("configuration") or {}
        if (
            first.get("name") != "bytes"
            or endian not in ("little", None)
            or second.get("name") != "blosc"
            or config.get("shuffle") not in _SHUFFLE
        ):
            return None
        separator = (encoding.get("configuration") or {}).get("separator", "/")
        if separator not in ("/", "."):
            return None
        codec = Blosc(
            cname=config["cname"],
            clevel=int(config["clevel"]),
            shuffle=_SHUFFLE[config["shuffle"]],
            blocksize=int(config.get("blocksize") or 0),
            typesize=int(config.get("typesize") or array.dtype.itemsize),
        )

        def key(index: tuple[int, ...]) -> str:
            return separator.join(("c", *map(str, index)))

        return cls(codec, array.dtype.newbyteorder("<"), tuple(array.chunks), key)

    def encode(self, chunk: np.ndarray) -> bytes:
        """The stored bytes of a chunk."""
        return bytes(self.blosc.encode(np.ascontiguousarray(chunk, dtype=self.dtype)))

    def view(self, data: bytes) -> np.ndarray:
        """A read-only chunk from its stored bytes."""
        raw = self.blosc.decode(data)
        return np.frombuffer(raw, dtype=self.dtype).reshape(self.shape)

    def decode(self, data: bytes) -> np.ndarray:
        """A writable chunk from its stored bytes."""
        raw = self.blosc.decode(data)
        return np.frombuffer(raw, dtype=self.dtype).reshape(self.shape).copy()


@dataclass(frozen=True)
class Region:
    """``values`` to be written into ``array`` with its first cell at ``origin``.

    ``uncommitted_from``: chunks starting at or beyond these indices (along either axis) hold
    no committed cell, so no reader or recovery reads them before the write commits; their
    files are written in place instead of replaced atomically. None: every chunk file is
    replaced atomically.
    """

    array: ArrayMeta
    origin: tuple[int, int]
    values: np.ndarray
    uncommitted_from: tuple[int, int] | None = None


# One chunk to write: codec, region, names of the stored chunk files (if listed), chunk index.
_Task = tuple[ChunkCodec, Region, frozenset[str] | None, int, int]


def write_regions(regions: Sequence[Region], store: AtomicFiles) -> None:
    """Write each region into its array, replacing every touched chunk file atomically.

    Cells of a touched chunk outside the region keep their stored values; a chunk left
    entirely NaN is deleted rather than stored (as zarr does with ``write_empty_chunks``
    off). The regions must lie within the arrays' shapes. Large writes are shared among
    :data:`WRITE_THREADS` threads; when a chunk fails the others stop, and the exception
    propagates once every thread has.
    """
    tasks: list[_Task] = []
    for region in regions:
        n, k = region.values.shape
        if n == 0 or k == 0:
            continue
        codec = ChunkCodec.of(region.array)
        if codec is None:
            from exprhub.storage.zarr_store import open_array

            o0, o1 = region.origin
            open_array(store, region.array.path)[o0 : o0 + n, o1 : o1 + k] = region.values
            continue
        c0, c1 = codec.shape
        rows = range(region.origin[0] // c0, (region.origin[0] + n - 1) // c0 + 1)
        cols = range(region.origin[1] // c1, (region.origin[1] + k - 1) // c1 + 1)
        stored = _stored_keys(region.array.directory, codec)
        tasks += [(codec, region, stored, i, j) for i in rows for j in cols]
    workers = min(WRITE_THREADS, len(tasks) // _CHUNKS_PER_THREAD)
    if workers <= 1:
        for task in tasks:
            _write_chunk(store, *task)
        return
    failures: list[BaseException] = []

    def work(share: list[_Task]) -> None:
        try:
            for task in share:
                if failures:
                    return
                _write_chunk(store, *task)
        except BaseException as exc:
            failures.append(exc)

    threads = [
        threading.Thread(target=work, args=(tasks[w::workers],), name=f"exprhub-chunks-{w}")
        for w in range(workers)
    ]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException as exc:  # interrupted while waiting: stop the others, then leave
        failures.append(exc)
        for thread in threads:
            thread.join()
        raise
    if failures:
        raise failures[0]


def _stored_keys(directory: Path, codec: ChunkCodec) -> frozenset[str] | None:
    """Names of the chunk files in ``directory`` when chunk keys are flat (``c.<i>.<j>``), so
    that chunks not stored yet are not looked for one by one; None for nested keys."""
    if "/" in codec.key((0, 0)):
        return None
    try:
        return frozenset(os.listdir(directory))
    except FileNotFoundError:
        return frozenset()


def _write_chunk(
    store: AtomicFiles,
    codec: ChunkCodec,
    region: Region,
    stored_keys: frozenset[str] | None,
    i: int,
    j: int,
) -> None:
    shape = region.array.shape
    c0, c1 = codec.shape
    top, left = i * c0, j * c1
    o0, o1 = region.origin
    # The part of the region inside this chunk, and the chunk's part inside the array.
    r0, r1 = max(o0, top), min(o0 + region.values.shape[0], top + c0)
    k0, k1 = max(o1, left), min(o1 + region.values.shape[1], left + c1)
    in_rows, in_cols = min(top + c0, shape[0]) - top, min(left + c1, shape[1]) - left
    complete = r0 == top and r1 - top == in_rows and k0 == left and k1 - left == in_cols
    key = codec.key((i, j))
    path = region.array.directory / key
    stored = None
    if not complete and (stored_keys is None or key in stored_keys):
        with contextlib.suppress(FileNotFoundError):
            stored = path.read_bytes()
    part = region.values[r0 - o0 : r1 - o0, k0 - o1 : k1 - o1]
    inside = (slice(r0 - top, r1 - top), slice(k0 - left, k1 - left))
    if stored is not None:
        chunk = codec.decode(stored)
        chunk[inside] = part
        data = None if bool(np.isnan(chunk).all()) else codec.encode(chunk)
    elif bool(np.isnan(part).all()):
        data = None
    else:
        # A chunk of fill (NaN) plus the part: kept per thread and reset after encoding, so
        # the mostly-empty chunks of a new stripe cost no allocation.
        scratch = _scratch(codec)
        try:
            scratch[inside] = part
            data = codec.encode(scratch)
        finally:
            scratch[inside] = np.nan
    fresh = region.uncommitted_from
    if data is None:
        store.remove_file(path)
    elif fresh is not None and (top >= fresh[0] or left >= fresh[1]):
        store.write_new_file(path, data)
    else:
        store.write_file(path, data)


_local = threading.local()


def _scratch(codec: ChunkCodec) -> np.ndarray:
    """This thread's all-NaN chunk buffer of the codec's shape and dtype."""
    buffers: dict[tuple[tuple[int, ...], str], np.ndarray] = _local.__dict__.setdefault(
        "buffers", {}
    )
    key = (codec.shape, codec.dtype.str)
    buffer = buffers.get(key)
    if buffer is None:
        buffer = buffers[key] = np.full(codec.shape, np.nan, dtype=codec.dtype)
    return buffer
