"""Content-addressed files inside a hub: original input files and record data tables.

Both are written to a temporary name and renamed into place, keyed by SHA-256, so a file is
either fully present or absent. Writers remember what they created so a failed transaction
can remove it again.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from exprhub.records import Table, arrow_strings, strings_equal

if TYPE_CHECKING:
    import pyarrow as pa

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _atomic_write(target: Path, data: bytes) -> None:
    made_folder = _make_folder(target.parent)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except BaseException:
        _drop_folder(target.parent, made_folder)
        raise


def _make_folder(folder: Path) -> bool:
    """Create ``folder`` (and its parents) if missing; whether it was created."""
    if folder.is_dir():
        return False
    folder.mkdir(parents=True, exist_ok=True)
    return True


def _drop_folder(folder: Path, made: bool) -> None:
    """Remove ``folder`` after a failed write if that write created it and it is empty."""
    if made:
        with contextlib.suppress(OSError):
            folder.rmdir()


#: Distinct first columns a hub remembers (the platforms being imported lately).
_RECENT_COLUMNS = 4
#: Shared first columns whose blob digests a hub remembers.
_KNOWN_BLOBS = 8


class ColumnBlobs:
    """The first columns (probe IDs) of a hub's recent tables, one array object per distinct
    column, and the blobs committed writes stored them in (see :func:`shares_first_column`).

    The samples of a platform repeat its probe IDs: mapping equal columns to one object lets
    the row mapping and the shared-column blob be reused by identity after one comparison per
    table, across the transactions of a hub. A blob is remembered only once the write that
    stored it has flushed, forgotten if that write is undone, and checked to exist once by
    each write that refers to it.
    """

    def __init__(self) -> None:
        self._recent: list[np.ndarray] = []
        self._blobs: OrderedDict[int, tuple[np.ndarray, str]] = OrderedDict()
        self._lock = threading.Lock()

    def canonical(self, column: np.ndarray) -> np.ndarray:
        """The remembered array equal to ``column``, or ``column`` itself (now remembered)."""
        for i, known in enumerate(self._recent):
            if known is column or (
                known.shape == column.shape
                and known.dtype == column.dtype
                and (len(column) == 0 or (known[0] == column[0] and known[-1] == column[-1]))
                and strings_equal(known, column)
            ):
                self._recent.insert(0, self._recent.pop(i))
                return known
        self._recent.insert(0, column)
        del self._recent[_RECENT_COLUMNS:]
        return column

    def blob(self, column: np.ndarray) -> str | None:
        """The digest of the blob remembered for this array object, or None."""
        with self._lock:
            known = self._blobs.get(id(column))
            return known[1] if known is not None and known[0] is column else None

    def remember(self, blobs: Iterable[tuple[np.ndarray, str]]) -> None:
        """Remember ``(column, digest)`` pairs a write has stored."""
        with self._lock:
            for column, digest in blobs:
                self._blobs[id(column)] = (column, digest)
                self._blobs.move_to_end(id(column))
            while len(self._blobs) > _KNOWN_BLOBS:
                self._blobs.popitem(last=False)

    def forget(self, digests: Iterable[str]) -> None:
        """Forget the blobs with these digests (an undone write removed them)."""
        gone = set(digests)
        with self._lock:
            for key in [k for k, (_, d) in self._blobs.items() if d in gone]:
                del self._blobs[key]


class BlobDirectory:
    """A directory of files named by their SHA-256 (``ab/abcdef....ext``)."""

    def __init__(self, root: Path, suffix: str = "") -> None:
        self.root = root
        self.suffix = suffix
        #: Shared first columns stored in this directory (used for table blobs).
        self.column_blobs = ColumnBlobs()

    def path(self, digest: str) -> Path:
        """Where the blob with this digest lives."""
        return self.root / digest[:2] / f"{digest}{self.suffix}"

    def has(self, digest: str) -> bool:
        """Whether the blob is present."""
        return self.path(digest).exists()

    def put_bytes(
        self, data: bytes, before_create: Callable[[str], None] | None = None
    ) -> tuple[str, bool]:
        """Store bytes; return ``(digest, created)``.

        ``before_create`` is called with the digest when the blob is not there yet, before
        it is written (a write notes what it creates first, so that a crash right after
        leaves nothing unnoted behind).
        """
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest, False
        if before_create is not None:
            before_create(digest)
        _atomic_write(target, data)
        return digest, True

    def put_file(
        self, source: Path, before_create: Callable[[str], None] | None = None
    ) -> tuple[str, bool]:
        """Copy a file in; return ``(digest, created)`` (``before_create`` as in
        :meth:`put_bytes`)."""
        digest = sha256_file(source)
        target = self.path(digest)
        if target.exists():
            return digest, False
        if before_create is not None:
            before_create(digest)
        made_folder = _make_folder(target.parent)
        try:
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            os.close(fd)
            try:
                shutil.copyfile(source, tmp)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except BaseException:
            _drop_folder(target.parent, made_folder)
            raise
        return digest, True

    def remove(self, digest: str) -> None:
        """Delete a blob if present, the temporary files of writes cut short in its ``ab/``
        folder, and the folder if that is left empty (so undoing a failed write leaves
        nothing behind). Called under the hub's write lock: no other write is under way."""
        path = self.path(digest)
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # the folder is gone
            for partial in path.parent.glob(".tmp-*"):
                partial.unlink(missing_ok=True)
        # Writes hold the hub's write lock, so no other writer is filling this folder now.
        with contextlib.suppress(OSError):  # not empty (other blobs), or already gone
            path.parent.rmdir()

    def count(self) -> int:
        """Number of blobs stored."""
        if not self.root.exists():
            return 0
        return sum(1 for p in self.root.glob(f"*/*{self.suffix}") if not p.name.startswith("."))


#: A table of at least this many rows (and two or more columns) keeps its first column - the
#: row IDs of a GEO table, the same in every sample of a platform and in the platform itself -
#: in a blob of its own, which every table with that first column refers to.
SHARED_COLUMN_MIN_ROWS = 1000

_NAMES_KEY = b"exprhub.names"
_SHARED_KEY = b"exprhub.shared"


def shares_first_column(table: Table) -> bool:
    """Whether :func:`table_to_parquet` stores the first column of ``table`` apart."""
    return table.n_cols >= 2 and table.n_rows >= SHARED_COLUMN_MIN_ROWS


def column_table(column: np.ndarray) -> Table:
    """The one-column table whose blob holds a shared column (its name is kept elsewhere)."""
    return Table([""], [column])


def table_to_parquet(
    table: Table,
    *,
    arrow: Mapping[int, pa.Array] | None = None,
    shared: Mapping[int, str] | None = None,
) -> bytes:
    """Serialize a table (names may repeat) to Parquet bytes, deterministically.

    Parameters
    ----------
    table
        The table.
    arrow
        Columns (by position) the caller already has as :func:`arrow_strings`.
    shared
        Columns (by position) stored in another blob of the same directory, as the only
        column of a :func:`column_table`: the SHA-256 of that blob is recorded instead of
        the values.
    """
    shared = shared or {}
    return arrays_to_parquet(table.names, table_arrays(table, arrow, shared), shared)


def table_arrays(
    table: Table, arrow: Mapping[int, pa.Array] | None, shared: Mapping[int, str]
) -> dict[int, pa.Array]:
    """The columns of ``table`` that :func:`table_to_parquet` stores itself, as Arrow string
    arrays by position: those not in ``shared``, taken from ``arrow`` where given there."""
    arrow = arrow or {}
    return {
        i: arrow[i] if i in arrow else arrow_strings(table.columns[i])
        for i in range(table.n_cols)
        if i not in shared
    }


def arrays_to_parquet(
    names: list[str], arrays: Mapping[int, pa.Array], shared: Mapping[int, str]
) -> bytes:
    """The Parquet bytes :func:`table_to_parquet` writes for a table with these column
    ``names``, given its columns as Arrow string arrays (by position) except the ``shared``
    ones (by position: the digest of the blob holding each)."""
    import pyarrow as pa  # imported on first use (the table thread of an import)
    import pyarrow.parquet as pq

    positions = sorted(arrays)
    metadata = {_NAMES_KEY: json.dumps(names).encode()}
    if shared:
        metadata[_SHARED_KEY] = json.dumps({str(i): shared[i] for i in sorted(shared)}).encode()
    frame = pa.Table.from_arrays(
        [arrays[i] for i in positions], names=[f"c{i}" for i in positions]
    ).replace_schema_metadata(metadata)
    buffer = io.BytesIO()
    # Dictionary encoding is slower and larger for the mostly-unique cells of GEO tables.
    pq.write_table(frame, buffer, compression="zstd", use_dictionary=False, write_statistics=False)
    return buffer.getvalue()


def table_from_parquet(path: Path) -> Table:
    """Read a table written by :func:`table_to_parquet` (shared columns are read from their
    blobs, next to ``path`` in the same blob directory)."""
    import pyarrow.parquet as pq

    frame = pq.read_table(path)
    meta = frame.schema.metadata or {}
    names = json.loads(meta[_NAMES_KEY])
    shared = json.loads(meta.get(_SHARED_KEY, b"{}"))
    stored = iter(frame.columns)
    columns = []
    for i in range(len(names)):
        digest = shared.get(str(i))
        if digest is None:
            values = next(stored).to_numpy(zero_copy_only=False)
            columns.append(values.astype(np.dtypes.StringDType()))
        else:
            blob = path.parent.parent / digest[:2] / f"{digest}{path.suffix}"
            columns.append(table_from_parquet(blob).columns[0])
    return Table(names, columns)


def table_blob_header(path: Path) -> tuple[list[str], list[str]]:
    """The column names of a table blob written by :func:`table_to_parquet` and the SHA-256
    of every blob it refers to for a shared column (read from the Parquet footer only)."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    names = json.loads(meta.get(_NAMES_KEY, b"[]"))
    shared = json.loads(meta.get(_SHARED_KEY, b"{}"))
    return list(names), [str(digest) for digest in shared.values()]
