"""The files of one matrix on disk: its chunk files (both key layouts), the mark of compacted
columns of a matrix with an append tier, and the clean-up of chunks beyond a committed extent
(see :class:`exprhub.storage.arrays.Matrix` and docs/store.md)."""

from __future__ import annotations

import errno
import fcntl
import json
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from exprhub.storage.array_meta import METADATA, ArrayMeta
from exprhub.storage.atomic_store import TMP_SUFFIX, AtomicFiles
from exprhub.storage.chunk_writer import Region, write_regions

# Per-matrix file holding how many leading columns the feature-major array holds; absent in
# matrices without an append tier (every column is in both arrays).
_COMPACTED = "compacted.json"


@contextmanager
def feature_major_lock(directory: Path) -> Iterator[None]:
    """Hold, across threads and processes, the lock of the matrix in ``directory`` that
    whatever writes its feature-major array or removes its files takes: compaction,
    ``discard_beyond``, deletion, and an append that resizes the arrays.

    Appends of a matrix with an append tier otherwise write the sample-major array only, so
    they go on while a compaction copies committed columns on another thread; the lock keeps
    a compaction from meeting a resize's temporary file (which it would remove as a leftover)
    and from writing into a matrix that another writer cuts back or deletes.

    The lock is taken on the matrix's group metadata file, written once when the matrix is
    created and never replaced, so the store holds no file for it. Raises FileNotFoundError
    if the matrix is gone, also if it was deleted (or deleted and created again) meanwhile.
    """
    path = directory / METADATA
    with path.open("rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        now, held = os.stat(path), os.fstat(handle.fileno())
        if (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino):
            raise FileNotFoundError(errno.ENOENT, "matrix deleted meanwhile", str(path))
        yield


def chunk_files(array_dir: Path) -> list[tuple[tuple[int, int], Path]]:
    """Chunk files of a 2-d array as ((i, j), path): ``c.<i>.<j>`` (default key encoding with
    '.', matrices created since the flat layout) or ``c/<i>/<j>`` (with '/', older ones)."""
    out: list[tuple[tuple[int, int], Path]] = []
    if not array_dir.is_dir():
        return out
    for entry in os.scandir(array_dir):
        parts = entry.name.split(".")
        numbered = len(parts) == 3 and parts[0] == "c" and parts[1].isdigit() and parts[2].isdigit()
        if numbered and entry.is_file():
            out.append(((int(parts[1]), int(parts[2])), Path(entry.path)))
    base = array_dir / "c"
    if not base.is_dir():
        return out
    for row_dir in os.scandir(base):
        if not row_dir.is_dir() or not row_dir.name.isdigit():
            continue
        for entry in os.scandir(row_dir.path):
            if entry.name.isdigit() and entry.is_file():
                out.append(((int(row_dir.name), int(entry.name)), Path(entry.path)))
    return out


def remove_partials(directory: Path) -> None:
    for dirpath, _, filenames in os.walk(directory):
        for fname in filenames:
            if fname.startswith(".") and fname.endswith(TMP_SUFFIX):
                Path(dirpath, fname).unlink(missing_ok=True)


def read_compacted(directory: Path) -> int | None:
    """Columns held by the feature-major array of a matrix with an append tier, or None for
    a matrix without one."""
    try:
        data = (directory / _COMPACTED).read_bytes()
    except FileNotFoundError:
        return None
    return int(json.loads(data)["by_feature_columns"])


def write_compacted(store: AtomicFiles, directory: Path, columns: int) -> None:
    """Set the mark of compacted columns (atomically)."""
    store.write_file(
        directory / _COMPACTED, json.dumps({"by_feature_columns": int(columns)}).encode()
    )


def remove_chunks_from(array_dir: Path, width: int, column: int) -> None:
    """Delete the chunk files of a feature-major array that start at or beyond ``column``."""
    for (_, j), path in chunk_files(array_dir):
        if j * width >= column:
            path.unlink(missing_ok=True)


def compaction_band(feature_rows: int, sample_rows: int, width: int, dtype: np.dtype[Any]) -> int:
    """Rows copied at a time by a compaction: ~64 MB of values, a whole number of chunks of
    both arrays along the feature axis (so no chunk is written twice)."""
    step = math.lcm(feature_rows, sample_rows)
    return max(step, (2**26 // (width * dtype.itemsize)) // step * step)


def clear_outside(
    arr: ArrayMeta, extent: tuple[int, int], sample_axis: int, store: AtomicFiles
) -> None:
    """Make every cell of ``arr`` outside ``[0, e0) x [0, e1)`` unwritten (NaN).

    Chunks wholly outside the extent are deleted. Of the chunks straddling its edge, only
    those straddling the sample edge are rewritten: appends write whole new samples only, so
    cells beyond the feature edge within committed samples were never written.
    """
    array_dir = arr.directory
    e0, e1 = extent
    c0, c1 = arr.chunks
    s0, s1 = arr.shape
    for (i, j), path in chunk_files(array_dir):
        if i * c0 >= e0 or j * c1 >= e1:
            path.unlink(missing_ok=True)
    end0 = min(-(-e0 // c0) * c0, s0)  # end of the chunk straddling e0
    end1 = min(-(-e1 // c1) * c1, s1)
    nan = np.array(np.nan, dtype=arr.dtype)
    if sample_axis == 1 and e1 < end1 and e0:
        region = Region(arr, (0, e1), np.broadcast_to(nan, (end0, end1 - e1)))
        write_regions([region], store)
    elif sample_axis == 0 and e0 < end0 and e1:
        region = Region(arr, (e0, 0), np.broadcast_to(nan, (end0 - e0, end1)))
        write_regions([region], store)
    for sub in (array_dir / "c").glob("*"):  # chunk-row directories of the '/' layout
        if sub.is_dir() and not any(sub.iterdir()):
            sub.rmdir()
