"""Chunked on-disk store for expression matrices (features x samples).

Each matrix is kept twice in Zarr v3: a feature-major array (rows = features, chunks of
``FEATURE_CHUNKS``) for "one feature across all samples" and a sample-major array (rows =
samples, chunks of ``SAMPLE_CHUNKS``) for "all features of one sample". Both are written on
every append. Data is append-only: new columns go at positions the caller says are beyond the
committed extent, and every chunk file is replaced atomically, so a crash never tears a chunk
that holds committed data. The committed extent (rows, columns) is owned by the caller (SQL);
this module never needs it except as arguments. See docs/store.md for the design and measured
costs.

The arrays' metadata and chunk files are read and written without zarr
(:mod:`~exprhub.storage.array_meta`, :mod:`~exprhub.storage.chunk_writer`); zarr is imported
only by the reads it serves (blocks, many rows or columns at once) and by compaction's reads.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import numpy as np

from exprhub.storage.array_meta import (
    METADATA,
    ArrayMeta,
    array_document,
    group_document,
    metadata_bytes,
)
from exprhub.storage.atomic_store import AtomicFiles, sync_filesystem
from exprhub.storage.chunk_writer import Region, write_regions
from exprhub.storage.errors import HubError
from exprhub.storage.matrix_files import (
    clear_outside,
    compaction_band,
    feature_major_lock,
    read_compacted,
    remove_chunks_from,
    remove_partials,
    write_compacted,
)
from exprhub.storage.matrix_reads import (
    read_block,
    read_cost,
    read_line,
    take_across,
    take_rows,
    top_index,
)

if TYPE_CHECKING:
    import zarr

__all__ = [
    "FEATURE_CHUNKS",
    "LEGACY_FEATURE_CHUNKS",
    "LEGACY_SAMPLE_CHUNKS",
    "SAMPLE_CHUNKS",
    "AtomicFiles",
    "Matrix",
    "MatrixNotFound",
    "MatrixStore",
]

#: Chunk shape of the feature-major array of new matrices: (features, samples).
FEATURE_CHUNKS: tuple[int, int] = (32, 1024)
#: Chunk shape of the sample-major array of new matrices: (samples, features).
SAMPLE_CHUNKS: tuple[int, int] = (16, 2048)
#: Chunk shapes of matrices written in both layouts at every append (before the append tier).
LEGACY_FEATURE_CHUNKS: tuple[int, int] = (16, 8192)
LEGACY_SAMPLE_CHUNKS: tuple[int, int] = (8, 16384)

_BY_FEATURE = "by_feature"
_BY_SAMPLE = "by_sample"
_MARKER_KEY = "exprhub_matrix"
_FORMAT_VERSION = 1
# Matrices with an append tier (the feature-major copy lags behind, see docs/store.md).
_TIERED_FORMAT_VERSION = 2
_MIN_CAPACITY = 16
# Chunk keys of new matrices: c.<i>.<j>, no directory per chunk row to create (matrices made
# before keep c/<i>/<j>; both are read and written).
_CHUNK_KEY_SEPARATOR = "."


class MatrixNotFound(HubError, KeyError):
    """No matrix with the given name is in the store."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "matrix not found"


def _capacity_for(n: int) -> int:
    """Allocated length for ``n`` used cells: the next power of two, at least the minimum."""
    n = max(int(n), _MIN_CAPACITY)
    return 1 << (n - 1).bit_length()


def _encode_name(name: str) -> str:
    if not isinstance(name, str) or not name or name in (".", ".."):
        raise ValueError(f"matrix name must be a non-empty string other than '.'/'..': {name!r}")
    return quote(name, safe=" ()+,-=@[]_~")


class MatrixStore:
    """A directory of named matrices.

    Parameters
    ----------
    root
        Directory holding the matrices; created on demand.
    fsync
        Whether chunk writes are fsynced (durability across power loss, slower).
    feature_chunks, sample_chunks
        Chunk shapes of matrices created from now on (existing matrices keep theirs); by
        default :data:`FEATURE_CHUNKS` and :data:`SAMPLE_CHUNKS`, or the legacy shapes when
        ``append_tier`` is off.
    append_tier
        Whether matrices created from now on have an append tier: appends write only the
        sample-major array, and :meth:`Matrix.compact` copies columns into the feature-major
        one later. Without it every append writes both arrays (existing matrices keep the way
        they were created with).
    """

    def __init__(
        self,
        root: Path,
        *,
        fsync: bool = False,
        feature_chunks: tuple[int, int] | None = None,
        sample_chunks: tuple[int, int] | None = None,
        append_tier: bool = True,
    ) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self.append_tier = append_tier
        self.feature_chunks = feature_chunks or (
            FEATURE_CHUNKS if append_tier else LEGACY_FEATURE_CHUNKS
        )
        self.sample_chunks = sample_chunks or (
            SAMPLE_CHUNKS if append_tier else LEGACY_SAMPLE_CHUNKS
        )
        self._store: AtomicFiles | None = None

    def _reader(self) -> AtomicFiles:
        if self._store is None:
            self.root.mkdir(parents=True, exist_ok=True)
            self._store = AtomicFiles(self.root, read_only=True)
        return self._store

    def names(self) -> list[str]:
        """Names of all complete matrices, sorted."""
        if not self.root.is_dir():
            return []
        out = []
        for entry in os.scandir(self.root):
            if entry.is_dir() and not entry.name.startswith(".") and self._complete(entry.name):
                out.append(unquote(entry.name))
        return sorted(out)

    def _complete(self, key: str) -> bool:
        try:
            meta = json.loads((self.root / key / METADATA).read_bytes())
        except (FileNotFoundError, NotADirectoryError, ValueError):
            return False
        return isinstance(meta, dict) and _MARKER_KEY in meta.get("attributes", {})

    def exists(self, name: str) -> bool:
        """Whether a complete matrix called ``name`` exists."""
        return self._complete(_encode_name(name))

    def open(self, name: str, *, create: bool = False, dtype: str = "float32") -> Matrix:
        """Open matrix ``name``, creating it (empty) if ``create`` and it is missing.

        ``dtype`` (a float type; NaN marks missing values) applies only on creation; opening an
        existing matrix of another dtype with ``create=True`` raises ValueError.
        """
        key = _encode_name(name)
        want = np.dtype(dtype)
        if want.kind != "f":
            raise ValueError(f"matrix {name!r}: dtype must be a float type, got {want}")
        if not self._complete(key):
            if not create:
                raise MatrixNotFound(f"{self.root}: no matrix named {name!r}")
            self._create(key, name, want)
        matrix = Matrix(self, key, name)
        if create and matrix.dtype != want:
            raise ValueError(f"matrix {name!r} exists with dtype {matrix.dtype}, not {want}")
        return matrix

    def _create(self, key: str, name: str, dtype: np.dtype[Any]) -> None:
        directory = self.root / key
        if directory.exists():  # left over by an interrupted create
            shutil.rmtree(directory)
        files = AtomicFiles(self.root, fsync=self.fsync)
        if not (self.root / METADATA).exists():  # the store's root group, as zarr makes it
            files.write_file(self.root / METADATA, metadata_bytes(group_document({})))
        cap = _capacity_for(0)
        for sub, chunks in ((_BY_FEATURE, self.feature_chunks), (_BY_SAMPLE, self.sample_chunks)):
            document = array_document(
                (cap, cap), chunks, dtype, separator=_CHUNK_KEY_SEPARATOR, cname="lz4", clevel=5
            )
            ArrayMeta.of(self.root, directory / sub, document).write(files)
        version = _FORMAT_VERSION
        if self.append_tier:
            write_compacted(files, directory, 0)
            version = _TIERED_FORMAT_VERSION
        # The marker attribute is written last: it makes the matrix complete.
        marker = group_document({_MARKER_KEY: {"name": name, "version": version}})
        files.write_file(directory / METADATA, metadata_bytes(marker))

    def compaction_due(self, name: str, n_columns: int) -> bool:
        """Whether matrix ``name`` has a complete stripe of committed columns (``n_columns``)
        that :meth:`Matrix.compact` would copy; cheap (two small files read)."""
        directory = self.root / _encode_name(name)
        done = read_compacted(directory)
        if done is None:
            return False
        try:
            meta = json.loads((directory / _BY_FEATURE / METADATA).read_bytes())
            width = int(meta["chunk_grid"]["configuration"]["chunk_shape"][1])
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            return True  # let compact() decide (and report what is wrong)
        return n_columns // width * width > done

    def delete(self, name: str) -> None:
        """Delete matrix ``name`` (it disappears atomically, then its files are removed)."""
        key = _encode_name(name)
        directory = self.root / key
        if not directory.exists():
            raise MatrixNotFound(f"{self.root}: no matrix named {name!r}")
        trash = self.root / f".deleted-{uuid.uuid4().hex}"
        if self._complete(key):
            with feature_major_lock(directory):  # not while it is compacted
                directory.rename(trash)
        else:  # created in part: nothing else uses it
            directory.rename(trash)
        shutil.rmtree(trash, ignore_errors=True)


class Matrix:
    """One matrix, readable by feature or by sample.

    Cells never written read as NaN. Reads take the committed extent from the caller. Reads are
    safe from many threads; writes are serialised per object (the hub serialises writers),
    except that a compaction may run beside an append (see :meth:`compact`).
    """

    def __init__(self, store: MatrixStore, key: str, name: str) -> None:
        self.name = name
        self._store = store
        self._key = key
        self._dir = store.root / key
        self._write_lock = threading.Lock()
        self._meta_lock = threading.Lock()
        self._stamp = self._metadata_stamp()
        self._fm, self._sm = self._read_arrays()
        # Both arrays opened through zarr, for the reads zarr serves (see _zarr_arrays).
        self._zarr: tuple[zarr.Array, zarr.Array] | None = None
        self.dtype: np.dtype[Any] = self._fm.dtype
        #: Whether the matrix has an append tier (see :meth:`compact`).
        self.tiered = read_compacted(self._dir) is not None

    # ------------------------------------------------------------------ internals

    def _read_arrays(self) -> tuple[ArrayMeta, ArrayMeta]:
        root = self._store.root
        return (
            ArrayMeta.read(root, self._dir / _BY_FEATURE),
            ArrayMeta.read(root, self._dir / _BY_SAMPLE),
        )

    def _refresh(self) -> None:
        stamp = self._metadata_stamp()
        fm, sm = self._read_arrays()
        with self._meta_lock:
            self._fm, self._sm, self._stamp, self._zarr = fm, sm, stamp, None

    def _zarr_arrays(self) -> tuple[zarr.Array, zarr.Array]:
        """The feature- and sample-major arrays opened through zarr (imported on first use),
        at least as large as the arrays this object knows of."""
        arrays = self._zarr
        if arrays is None:
            from exprhub.storage.zarr_store import open_array

            reader = self._store._reader()
            arrays = (
                open_array(reader, f"{self._key}/{_BY_FEATURE}"),
                open_array(reader, f"{self._key}/{_BY_SAMPLE}"),
            )
            with self._meta_lock:
                if self._zarr is None:
                    self._zarr = arrays
        return arrays

    def _metadata_stamp(self) -> tuple[int, ...]:
        """Identity of both arrays' metadata files (every rewrite replaces the file: a new
        inode), to tell whether the arrays this object holds are still current."""
        stamp: list[int] = []
        for sub in (_BY_FEATURE, _BY_SAMPLE):
            try:
                st = os.stat(self._dir / sub / METADATA)
            except FileNotFoundError:
                stamp += [0, 0, 0]
                continue
            stamp += [st.st_ino, st.st_mtime_ns, st.st_size]
        return tuple(stamp)

    def _arrays(self, n_rows: int = 0, n_columns: int = 0) -> tuple[ArrayMeta, ArrayMeta]:
        """Reader arrays, refreshed if the request is beyond the capacity we know of."""
        fm, sm = self._fm, self._sm
        if n_rows > min(fm.shape[0], sm.shape[1]) or n_columns > min(fm.shape[1], sm.shape[0]):
            self._refresh()
            fm, sm = self._fm, self._sm
            rows, cols = min(fm.shape[0], sm.shape[1]), min(fm.shape[1], sm.shape[0])
            if n_rows > rows or n_columns > cols:
                raise IndexError(
                    f"matrix {self.name!r}: extent ({n_rows}, {n_columns}) is beyond "
                    f"capacity ({rows}, {cols})"
                )
        return fm, sm

    @property
    def capacity(self) -> tuple[int, int]:
        """Allocated (rows, columns)."""
        fm, sm = self._fm, self._sm
        return min(fm.shape[0], sm.shape[1]), min(fm.shape[1], sm.shape[0])

    @staticmethod
    def _check_index(i: int, limit: int, what: str) -> int:
        i = int(i)
        if not 0 <= i < limit:
            raise IndexError(f"{what} {i} is outside [0, {limit})")
        return i

    # ------------------------------------------------------------------ writes

    def append_columns(self, start_column: int, values: np.ndarray) -> None:
        """Write ``values`` (rows x k) at columns ``[start_column, start_column + k)``.

        ``start_column`` must be the committed column count (or beyond): committed cells are
        never rewritten with other values. Rows beyond the capacity grow it (geometrically) in
        both layouts; rows of these columns not covered by ``values`` stay NaN. On failure the
        exception propagates after all writes of this call have stopped; the caller then
        restores the committed extent with :meth:`discard_beyond`.

        ``values`` may be the transpose of a C-ordered (k x rows) array (samples assembled one
        by one): the sample-major layout is then written without a copy.

        In a matrix with an append tier only the sample-major array is written (a cost in
        proportion to ``values``); :meth:`compact` copies the columns into the feature-major
        array later, and reads take the columns not compacted yet from the sample-major one.

        Chunks wholly beyond ``start_column`` hold no committed cell and are written in place,
        not atomically: until the caller commits, nobody should read them.
        """
        data = np.asarray(values)
        if data.ndim != 2:
            raise ValueError(f"matrix {self.name!r}: values must be 2-d, got shape {data.shape}")
        if start_column < 0:
            raise ValueError(f"matrix {self.name!r}: start_column {start_column} is negative")
        data = data.astype(self.dtype, copy=False)
        n, k = data.shape
        if k == 0 and n == 0:
            return
        with self._write_lock:
            if self._metadata_stamp() != self._stamp:  # resized by another object
                self._refresh()
            writer = AtomicFiles(self._store.root, fsync=self._store.fsync)
            fm, sm = self._fm, self._sm
            resized = False
            try:
                rows = max(fm.shape[0], sm.shape[1], n)
                cols = max(fm.shape[1], sm.shape[0], start_column + k)
                if rows > fm.shape[0] or cols > fm.shape[1] or (cols, rows) != sm.shape:
                    rows, cols = _capacity_for(rows), _capacity_for(cols)
                    fm, sm = fm.resized((rows, cols)), sm.resized((cols, rows))
                    with feature_major_lock(self._dir):
                        fm.write(writer)
                        sm.write(writer)
                    resized = True
                if n and k:
                    # Chunks wholly beyond start_column (so beyond the committed extent)
                    # are written in place: discard_beyond deletes them unread.
                    beyond = sys.maxsize
                    regions = [
                        Region(
                            sm,
                            (start_column, 0),
                            np.ascontiguousarray(data.T),
                            uncommitted_from=(start_column, beyond),
                        )
                    ]
                    if not self.tiered:  # the feature-major copy is written now, not compacted
                        regions.append(
                            Region(
                                fm, (0, start_column), data, uncommitted_from=(beyond, start_column)
                            )
                        )
                    write_regions(regions, writer)
            except BaseException:
                writer.fence()
                self._refresh()
                raise
            if resized:
                self._refresh()

    def discard_beyond(self, n_rows: int, n_columns: int) -> None:
        """Restore the matrix to the committed extent ``(n_rows, n_columns)``.

        Every cell outside the extent becomes unwritten (NaN), leftover temporary files are
        removed and the capacity returns to the one the extent implies, so the matrix is as it
        was before a failed transaction. Call it after any failed or interrupted append (also
        on start-up after a crash) before appending again. Cost: deleting the chunks of the new
        samples plus rewriting the chunks that straddle the committed sample edge.
        """
        if n_rows < 0 or n_columns < 0:
            raise ValueError(f"matrix {self.name!r}: negative extent ({n_rows}, {n_columns})")
        with self._write_lock, feature_major_lock(self._dir):
            writer = AtomicFiles(self._store.root, fsync=self._store.fsync)
            try:
                fm, sm = self._read_arrays()
                remove_partials(self._dir)
                new_rows, new_cols = _capacity_for(n_rows), _capacity_for(n_columns)
                compacted = read_compacted(self._dir)
                if compacted is not None and compacted > n_columns:  # cut below the mark
                    write_compacted(writer, self._dir, n_columns)
                    clear_outside(fm, (n_rows, n_columns), 1, writer)
                elif compacted is not None:
                    # Only compaction writes the feature-major array, and only committed
                    # columns: what lies beyond its mark is a leftover nobody reads.
                    remove_chunks_from(self._dir / _BY_FEATURE, fm.chunks[1], compacted)
                for arr, extent, new_shape, axis in (
                    (fm, (n_rows, n_columns), (new_rows, new_cols), 1),
                    (sm, (n_columns, n_rows), (new_cols, new_rows), 0),
                ):
                    if compacted is None or arr is sm:
                        clear_outside(arr, extent, axis, writer)
                    # Growing metadata only: shrinking was done by clear_outside.
                    arr.resized(new_shape).write(writer)
            except BaseException:
                writer.fence()
                raise
            finally:
                self._refresh()

    def compact(self, n_rows: int, n_columns: int, *, whole: bool = False) -> int:
        """Copy committed columns not yet in the feature-major array into it; return how
        many were copied.

        ``(n_rows, n_columns)`` is the committed extent. Without ``whole`` only complete
        stripes of the feature-major chunk width are copied (each chunk file is then written
        once, never rewritten); with it every committed column is. Matrices without an
        append tier hold every column in both arrays already (0 is returned).

        Crash safety: the chunks are written first (those holding columns compacted before
        are replaced atomically, the others written in place), flushed to disk, and only then
        is the mark of compacted columns moved, atomically; until it moves, reads take these
        columns from the sample-major array. An interrupted compaction leaves files beyond
        the mark, which the next compaction (or :meth:`discard_beyond`) deletes unread.

        It may run while another thread or process appends to the matrix (it holds the
        matrix's :func:`~exprhub.storage.matrix_files.feature_major_lock`; those appends write
        the sample-major array only). ``(n_rows, n_columns)`` must be committed all the same.
        """
        if n_rows < 0 or n_columns < 0:
            raise ValueError(f"matrix {self.name!r}: negative extent ({n_rows}, {n_columns})")
        if not self.tiered:
            return 0
        with self._write_lock, feature_major_lock(self._dir):
            done = read_compacted(self._dir) or 0
            width = self._fm.chunks[1]
            target = n_columns if whole else n_columns // width * width
            if target <= done:
                return 0
            writer = AtomicFiles(self._store.root, fsync=self._store.fsync)
            try:
                fm, sm = self._read_arrays()
                if n_rows > fm.shape[0] or target > fm.shape[1]:
                    raise IndexError(
                        f"matrix {self.name!r}: extent ({n_rows}, {n_columns}) is beyond "
                        f"capacity {fm.shape}"
                    )
                directory = self._dir / _BY_FEATURE
                remove_partials(directory)
                remove_chunks_from(directory, width, done)
                beyond = sys.maxsize
                band = compaction_band(fm.chunks[0], sm.chunks[1], width, self.dtype)
                start = done
                while start < target:
                    stop = min((start // width + 1) * width, target)
                    for r0 in range(0, n_rows, band):
                        r1 = min(r0 + band, n_rows)
                        values = read_block(sm, (start, stop), (r0, r1))
                        region = Region(fm, (r0, start), values.T, uncommitted_from=(beyond, done))
                        write_regions([region], writer)
                    start = stop
                sync_filesystem(directory)
                write_compacted(writer, self._dir, target)
            except BaseException:
                writer.fence()
                raise
            finally:
                self._refresh()
        return target - done

    def feature_columns(self, n_columns: int) -> int:
        """How many of the first ``n_columns`` columns the feature-major array holds (the
        rest are read from the sample-major one)."""
        compacted = read_compacted(self._dir) if self.tiered else None
        return n_columns if compacted is None else min(compacted, n_columns)

    # ------------------------------------------------------------------ reads

    def row(self, i: int, n_columns: int) -> np.ndarray:
        """Feature ``i`` across columns ``[0, n_columns)``."""
        fm, sm = self._arrays(max(int(i) + 1, 0), n_columns)
        i = self._check_index(i, fm.shape[0], "row")
        split = self.feature_columns(n_columns)
        out = np.empty(n_columns, dtype=self.dtype)
        out[:split] = read_line(fm, i, 0, split, fixed_axis=0)
        out[split:] = read_line(sm, i, split, n_columns, fixed_axis=1)
        return out

    def rows(self, indices: Sequence[int] | np.ndarray, n_columns: int) -> np.ndarray:
        """Features ``indices`` across columns ``[0, n_columns)``, shape (len(indices), n)."""
        self._arrays(top_index(indices), n_columns)
        fm, sm = self._zarr_arrays()
        split = self.feature_columns(n_columns)
        head = take_rows(fm, indices, split, self.dtype, "row")
        if split == n_columns:
            return head
        tail = take_across(sm, indices, split, n_columns, self.dtype)
        return np.concatenate([head, tail], axis=1)

    def column(self, j: int, n_rows: int) -> np.ndarray:
        """Sample ``j``, rows ``[0, n_rows)``."""
        _, sm = self._arrays(n_rows, max(int(j) + 1, 0))
        j = self._check_index(j, sm.shape[0], "column")
        return read_line(sm, j, 0, n_rows, fixed_axis=0)

    def columns(self, indices: Sequence[int] | np.ndarray, n_rows: int) -> np.ndarray:
        """Samples ``indices``, rows ``[0, n_rows)``, shape (n_rows, len(indices))."""
        return np.ascontiguousarray(self.columns_by_sample(indices, n_rows).T)

    def columns_by_sample(self, indices: Sequence[int] | np.ndarray, n_rows: int) -> np.ndarray:
        """Samples ``indices``, rows ``[0, n_rows)``, one sample per row: shape
        (len(indices), n_rows), the transpose of :meth:`columns` without its copy."""
        self._arrays(n_rows, top_index(indices))
        _, sm = self._zarr_arrays()
        return take_rows(sm, indices, n_rows, self.dtype, "column")

    def block(self, rows: slice, cols: slice) -> np.ndarray:
        """Rectangular region ``[rows, cols]`` read from whichever layout is cheaper.

        Open slice ends are bounded by the capacity; steps are not supported. While another
        writer appends, chunks beyond the committed extent may be half-written (see
        ``append_columns``): read only the committed extent then.
        """
        if rows.step not in (None, 1) or cols.step not in (None, 1):
            raise ValueError(f"matrix {self.name!r}: block slices must have step 1")
        cap_r, cap_c = self.capacity
        r0, r1 = rows.start or 0, cap_r if rows.stop is None else rows.stop
        c0, c1 = cols.start or 0, cap_c if cols.stop is None else cols.stop
        if min(r0, r1, c0, c1) < 0:
            raise ValueError(f"matrix {self.name!r}: negative block bounds {rows}, {cols}")
        r1, c1 = max(r0, r1), max(c0, c1)
        fm_meta, sm_meta = self._arrays(r1, c1)
        if r1 == r0 or c1 == c0:
            return np.empty((r1 - r0, c1 - c0), dtype=self.dtype)
        fm, sm = self._zarr_arrays()
        split = min(max(self.feature_columns(c1), c0), c1)
        if split < c1:  # columns not compacted are read from the sample-major array
            tail = np.asarray(sm[split:c1, r0:r1]).T
            if split == c0:
                return np.ascontiguousarray(tail)
            head = self.block(slice(r0, r1), slice(c0, split))
            return np.concatenate([head, tail], axis=1)
        if read_cost(fm_meta.chunks, (r0, r1), (c0, c1), self.dtype) <= read_cost(
            sm_meta.chunks, (c0, c1), (r0, r1), self.dtype
        ):
            return np.asarray(fm[r0:r1, c0:c1])
        return np.ascontiguousarray(np.asarray(sm[c0:c1, r0:r1]).T)

    def nbytes_on_disk(self) -> int:
        """Bytes used by this matrix's files."""
        total = 0
        for dirpath, _, filenames in os.walk(self._dir):
            for fname in filenames:
                with contextlib.suppress(FileNotFoundError):  # replaced meanwhile
                    total += os.path.getsize(os.path.join(dirpath, fname))
        return total

    def __repr__(self) -> str:
        return f"Matrix({self.name!r}, dtype={self.dtype}, capacity={self.capacity})"
