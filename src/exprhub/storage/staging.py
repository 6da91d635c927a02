"""What a write puts outside SQL before it commits, noted on disk so that a crash can be undone,
and the background writing of record data tables.

``.write-in-progress`` (JSON) names the matrices a running write appends to; the append-only
``.write-in-progress.blobs`` log names each table or original file it created. Both exist only
while a write runs, or after a crash (see ``Hub._recover_interrupted_write``).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import OrderedDict, deque
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np

from exprhub.records import Table
from exprhub.storage.blobs import (
    BlobDirectory,
    column_table,
    shares_first_column,
    table_arrays,
    table_to_parquet,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from exprhub.storage.table_process import TableProcess

MARKER = ".write-in-progress"
BLOB_LOG = ".write-in-progress.blobs"
#: Shared first columns remembered by a table queue (a family names one per platform).
_KNOWN_COLUMNS = 8


class Staging:
    """The on-disk note of one write's side effects outside SQL."""

    def __init__(self, home: Path) -> None:
        self.marker = home / MARKER
        self.log_path = home / BLOB_LOG
        self.matrices: list[str] = []
        self.tables: list[str] = []
        self.files: list[str] = []
        self._log: IO[str] | None = None
        self._lock = threading.Lock()

    def matrix(self, name: str) -> None:
        """Note that the write appends to this matrix."""
        if name in self.matrices:
            return
        self.matrices.append(name)
        tmp = self.marker.with_suffix(".tmp")
        tmp.write_text(json.dumps({"matrices": self.matrices}))
        tmp.replace(self.marker)

    def blob(self, kind: str, digest: str) -> None:
        """Note a table (``kind="tables"``) or original file (``"files"``) the write is about
        to create."""
        with self._lock:
            (self.tables if kind == "tables" else self.files).append(digest)
            if self._log is None:
                self._log = self.log_path.open("a", encoding="utf-8")
            self._log.write(f"{kind} {digest}\n")
            self._log.flush()

    def logged_blob(self, kind: str, digest: str) -> None:
        """Note a blob another process created for this write, having noted it in the log."""
        with self._lock:
            (self.tables if kind == "tables" else self.files).append(digest)

    def logged_tables(self) -> list[str]:
        """The tables noted in the log (by this process or another) and in no other list."""
        staged = read_staging(self.marker.parent)
        known = set(self.tables)
        return [d for d in dict.fromkeys(staged[1]) if d not in known] if staged else []

    def close(self) -> None:
        """Forget the note (the write committed, or was undone)."""
        if self._log is not None:
            self._log.close()
            self._log = None
        self.marker.unlink(missing_ok=True)
        self.log_path.unlink(missing_ok=True)


def read_staging(home: Path) -> tuple[list[str], list[str], list[str]] | None:
    """``(matrices, tables, files)`` a crashed write left noted, or None if there is none."""
    marker, log = home / MARKER, home / BLOB_LOG
    if not marker.exists() and not log.exists():
        return None
    try:
        matrices = list(json.loads(marker.read_text()).get("matrices", []))
    except FileNotFoundError:
        matrices = []
    except ValueError:
        matrices = ["*"]
    tables: list[str] = []
    files: list[str] = []
    if log.exists():
        for line in log.read_text(encoding="utf-8").splitlines():
            kind, _, digest = line.partition(" ")
            if len(digest) == 64:
                (tables if kind == "tables" else files).append(digest)
    return matrices, tables, files


class TableQueue:
    """Serializes record data tables to Parquet on a background thread, or in a
    :class:`~exprhub.storage.table_process.TableProcess`, while the caller goes on parsing; at
    most ``depth`` tables wait, which bounds memory. Results come back in submission order.

    A first column stored apart (see :func:`~exprhub.storage.blobs.shares_first_column`) is
    written once per array object: callers that pass the same array object for equal columns
    (the writer does) skip encoding it again.
    """

    def __init__(
        self,
        tables: BlobDirectory,
        staging: Staging,
        depth: int = 4,
        process: TableProcess | None = None,
    ) -> None:
        self.tables = tables
        self.staging = staging
        self.depth = depth
        #: if given, queued tables are stored by this child process instead of a thread
        self.process = process
        self._pool: ThreadPoolExecutor | None = None
        #: (record id, a thread's future, or None for the table process's next reply)
        self._pending: deque[tuple[object, Future[str] | None]] = deque()
        self._done: list[tuple[object, str]] = []
        self._columns: OrderedDict[int, tuple[np.ndarray, str]] = OrderedDict()
        self._lock = threading.Lock()

    def write(self, table: Table, arrow: Mapping[int, pa.Array] | None = None) -> str:
        """Write one table now (on the caller's thread); return its digest.

        ``arrow``: columns (by position) already converted with
        :func:`~exprhub.records.arrow_strings`.
        """
        shared = {0: self._column_blob(table.columns[0])} if shares_first_column(table) else {}
        return self._put(table_to_parquet(table, arrow=arrow, shared=shared))

    def _put(self, data: bytes) -> str:
        return self.tables.put_bytes(data, lambda digest: self.staging.blob("tables", digest))[0]

    def _column_blob(self, column: np.ndarray) -> str:
        with self._lock:
            known = self._columns.get(id(column))
            if known is not None and known[0] is column:
                self._columns.move_to_end(id(column))
                return known[1]
        # stored by an earlier write of this hub (checked once per write: it must be there)
        digest = self.tables.column_blobs.blob(column)
        if digest is None or not self.tables.has(digest):
            digest = self._put(table_to_parquet(column_table(column)))
        with self._lock:
            self._columns[id(column)] = (column, digest)
            while len(self._columns) > _KNOWN_COLUMNS:
                self._columns.popitem(last=False)
        return digest

    def submit(
        self, record_id: object, table: Table, arrow: Mapping[int, pa.Array] | None = None
    ) -> None:
        """Queue the table of a record (``arrow`` as in :meth:`write`); ``record_id`` is
        whatever the caller knows the record by, returned by :meth:`results`."""
        while len(self._pending) >= self.depth:
            self._collect()
        if self.process is not None:
            shared = {0: self._column_blob(table.columns[0])} if shares_first_column(table) else {}
            arrays = table_arrays(table, arrow, shared)
            self.process.send(self.tables, self.staging.log_path, table.names, arrays, shared)
            self._pending.append((record_id, None))
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="exprhub-tables")
        self._pending.append((record_id, self._pool.submit(self.write, table, arrow)))

    def _collect(self) -> None:
        """Wait for the oldest queued table."""
        rid, future = self._pending.popleft()
        if future is not None:
            self._done.append((rid, future.result()))
            return
        assert self.process is not None
        digest, created = self.process.receive()
        if created:
            self.staging.logged_blob("tables", digest)
        self._done.append((rid, digest))

    def column_blobs(self) -> list[tuple[np.ndarray, str]]:
        """``(column, digest)`` of the shared first columns this queue wrote or referred to."""
        with self._lock:
            return list(self._columns.values())

    def results(self) -> list[tuple[object, str]]:
        """``(record id, table digest)`` of every queued table, once all are written."""
        while self._pending:
            self._collect()
        done, self._done = self._done, []
        return done

    def close(self) -> None:
        """Wait for the background thread (errors ignored: the write is being undone)."""
        while self._pending:
            with contextlib.suppress(Exception):  # the write is being undone anyway
                self._collect()
        if self.process is not None:
            self.process.drain()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
