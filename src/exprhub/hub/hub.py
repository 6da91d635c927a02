"""The hub: a directory holding metadata (SQL), expression matrices (chunked arrays), record
data tables and the original files, all written transactionally.

Layout of a hub directory::

    hub.json            marker and format version
    exprhub.sqlite      metadata (unless EXPRHUB_DATABASE_URL names a server database)
    matrices/           chunked expression matrices (see docs/store.md)
    tables/             record data tables, Parquet, by SHA-256
    files/              original input files, by SHA-256
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import CodeType
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select

from exprhub import __version__
from exprhub.hub import schema as s
from exprhub.hub.background_compaction import CompactionQueue
from exprhub.hub.errors import HubError, HubNotFound
from exprhub.hub.feature_lists import FeatureListCache
from exprhub.hub.matrix_queries import MatrixQueries
from exprhub.hub.matrix_writes import MatrixExtent
from exprhub.hub.migrate import current_revision, migrate
from exprhub.hub.writer import HubWriter
from exprhub.records import (
    Annotation,
    Record,
    normalize_accession,
)
from exprhub.storage.arrays import MatrixStore
from exprhub.storage.blobs import BlobDirectory, table_from_parquet
from exprhub.storage.database import DatabaseError, connect, sqlite_url
from exprhub.storage.staging import Staging, read_staging
from exprhub.storage.table_process import TableProcess

HUB_FORMAT = 1
MARKER = "hub.json"
SQLITE_NAME = "exprhub.sqlite"
DEFAULT_HOME = "exprhub-data"

_log = logging.getLogger(__name__)


def default_home() -> Path:
    """The hub directory used when none is given: ``$EXPRHUB_HOME`` or ``./exprhub-data``."""
    return Path(os.environ.get("EXPRHUB_HOME") or DEFAULT_HOME)


class Hub(MatrixQueries):
    """A gene expression hub stored in a directory.

    Parameters
    ----------
    path
        The hub directory (default: ``$EXPRHUB_HOME`` or ``./exprhub-data``).
    database_url
        SQLAlchemy URL of the metadata database (default: ``$EXPRHUB_DATABASE_URL``, else the
        SQLite file in the hub directory).
    create
        Create the hub if it does not exist (otherwise a missing hub raises ``HubNotFound``).
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        database_url: str | None = None,
        create: bool = False,
    ) -> None:
        self.home = Path(path) if path is not None else default_home()
        marker = self.home / MARKER
        if not marker.exists():
            if not create:
                raise HubNotFound(
                    f"no hub at {self.home} (run `exprhub init --home {self.home}` first)"
                )
            self._create_directory()
        else:
            self._check_marker(marker)
        self.database_url = (
            database_url
            or os.environ.get("EXPRHUB_DATABASE_URL")
            or sqlite_url(self.home / SQLITE_NAME)
        )
        try:
            self.engine: Engine = connect(self.database_url)
            migrate(self.engine)
        except DatabaseError as exc:
            raise HubError(str(exc)) from None
        self.store = MatrixStore(self.home / "matrices")
        #: The matrices' feature lists read lately (lists never change).
        self.feature_lists = FeatureListCache()
        # The matrices written by this object's last transactions (the row of each feature,
        # last ID column mapped): saves reading 20,000+ features from SQL and mapping the IDs
        # again for every file when many files of one platform are imported in a row.
        self._written: dict[str, MatrixExtent] = {}
        self.tables = BlobDirectory(self.home / "tables", ".parquet")
        self.files = BlobDirectory(self.home / "files")
        #: While set (see :meth:`tables_in_a_child_process`), the writes of the thread that
        #: set it store record tables through this child process instead of a thread.
        self.table_process: TableProcess | None = None
        self._table_process_thread: int | None = None
        #: While set (see :meth:`compacting_in_background`), compactions made due by writes
        #: run on a kept thread.
        self._compactions: CompactionQueue | None = None

    @classmethod
    def init(cls, path: str | Path | None = None, *, database_url: str | None = None) -> Hub:
        """Create (or open) a hub at ``path``."""
        return cls(path, database_url=database_url, create=True)

    def _create_directory(self) -> None:
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            for sub in ("matrices", "tables", "files"):
                (self.home / sub).mkdir(exist_ok=True)
            marker = {
                "format": HUB_FORMAT,
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "created_by": f"exprhub {__version__}",
            }
            (self.home / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
        except OSError as exc:
            raise HubError(f"cannot create hub at {self.home}: {exc.strerror}") from None

    def _check_marker(self, marker: Path) -> None:
        try:
            data = json.loads(marker.read_text())
        except (OSError, ValueError) as exc:
            raise HubError(f"{marker} is not a readable hub marker: {exc}") from None
        if int(data.get("format", 0)) > HUB_FORMAT:
            raise HubError(
                f"the hub at {self.home} has format {data.get('format')}, newer than this "
                f"exprhub ({HUB_FORMAT}); upgrade exprhub"
            )

    def close(self) -> None:
        """Release database connections (after any compaction running in the background has
        ended; and stop a table process)."""
        if self._compactions is not None:
            self._compactions.wait()
        if self.table_process is not None:
            self.table_process.close()
            self.table_process = None
        self.engine.dispose()

    @contextmanager
    def tables_in_a_child_process(self) -> Iterator[None]:
        """Within the block, the writes of this object encode and store record tables in a
        child process (:class:`~exprhub.storage.table_process.TableProcess`) rather than on a
        thread: the same blobs, and no competition for the GIL with the importing thread.
        Worth its start-up (~0.5 s) for an import of many files."""
        if self.table_process is not None:  # nested, or another thread's: that block owns it
            yield
            return
        self.table_process = TableProcess()
        self._table_process_thread = threading.get_ident()
        try:
            yield
        finally:
            process, self.table_process = self.table_process, None
            self._table_process_thread = None
            if process is not None:  # None if the hub was closed inside the block
                process.close()

    @contextmanager
    def compacting_in_background(self) -> Iterator[None]:
        """Within the block, the compaction that a committed write makes due (a complete
        stripe of 1,024 samples; see docs/store.md) runs on a kept thread while the next
        write goes on, instead of before the write returns. Leaving the block waits for it
        and compacts whatever is still due, so the matrices are then as if every write had
        compacted in turn (after an exception it only waits: the next write compacts).
        Reads are correct throughout: columns not compacted yet are read from the
        sample-major array."""
        if self._compactions is not None:  # nested: the outer block waits
            yield
            return
        self._compactions = CompactionQueue(self._compact_quietly)
        finished = False
        try:
            yield
            finished = True
        finally:
            queue, self._compactions = self._compactions, None
            names = queue.wait()
            if finished:
                for name in names:
                    self._compact_quietly(name)

    def table_process_of_this_thread(self) -> TableProcess | None:
        """The table process a write on this thread uses (None: a table thread)."""
        if self._table_process_thread != threading.get_ident():
            return None
        return self.table_process

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Hub({str(self.home)!r})"

    # ------------------------------------------------------------------ writing
    @contextmanager
    def _write_lock(self) -> Iterator[None]:
        with (self.home / ".write.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextmanager
    def writer(self) -> Iterator[HubWriter]:
        """A transaction: everything written through the yielded writer lands together, or,
        if the block raises, nothing does and the hub is exactly as before."""
        with self._write_lock(), self.engine.connect() as connection:
            self._recover_interrupted_write()
            transaction = connection.begin()
            writer = HubWriter(self, connection)
            try:
                yield writer
                writer.flush()
                transaction.commit()
            except BaseException:
                self._written.clear()
                transaction.rollback()
                writer.undo()
                raise
            finally:
                writer.staging.close()
            written = writer.matrices()
            for extent in written:
                self._written[extent.name] = extent
            for extent in written:
                if not self.store.compaction_due(extent.name, extent.n_columns):
                    continue
                if self._compactions is not None:
                    self._compactions.submit(extent.name)
                else:
                    self._compact_quietly(extent.name, (extent.n_rows, extent.n_columns))

    def known_features(
        self, name: str, matrix_id: int, n_rows: int
    ) -> tuple[dict[str, int], tuple[np.ndarray, np.ndarray] | None] | None:
        """Feature rows of a matrix as this object last committed them (a copy) and the last
        ID column it mapped to rows, if the matrix's SQL row (``matrix_id``, ``n_rows``) still
        says so; None otherwise."""
        known = self._written.get(name)
        if known is None or known.id != matrix_id or known.n_rows != n_rows:
            return None
        return dict(known.features), known.last_ids

    def _compact_quietly(self, name: str, extent: tuple[int, int] | None = None) -> int:
        """Compact the complete stripes of one matrix after a committed write, up to
        ``extent`` (rows, columns), or without it up to the extent committed now (read from
        SQL); a failure is logged, not raised (the write is committed, and reads are correct
        without compaction; the next compaction resumes)."""
        try:
            if extent is None:
                with self.engine.connect() as connection:
                    row = connection.execute(
                        select(s.matrices.c.n_rows, s.matrices.c.n_columns).where(
                            s.matrices.c.name == name
                        )
                    ).first()
                if row is None or not self.store.compaction_due(name, row.n_columns):
                    return 0
                extent = (row.n_rows, row.n_columns)
            return self.store.open(name).compact(*extent)
        except Exception as exc:  # reported, not raised: the committed write stands
            _log.warning("compaction of matrix %r failed (retried later): %s", name, exc)
            return 0

    def compact(self, names: Sequence[str] | None = None) -> dict[str, int]:
        """Copy every committed column of the named matrices (default: all) that is only in
        the append tier into the feature-major layout; return the columns copied per matrix.

        Imports compact complete stripes on their own; this also copies the last, partial
        stripe (useful before a burst of row reads). Safe to interrupt: rerun it.
        """
        with self._write_lock():
            self._recover_interrupted_write()
            with self.engine.connect() as connection:
                query = select(s.matrices.c.name, s.matrices.c.n_rows, s.matrices.c.n_columns)
                if names is not None:
                    query = query.where(s.matrices.c.name.in_(list(names)))
                extents = {r.name: (r.n_rows, r.n_columns) for r in connection.execute(query)}
            missing = sorted(set(names or ()) - set(extents))
            if missing:
                raise HubError(f"no matrix {missing[0]!r} in the hub")
            done = {}
            for name, (n_rows, n_columns) in sorted(extents.items()):
                if self.store.exists(name):
                    matrix = self.store.open(name)
                    done[name] = matrix.compact(n_rows, n_columns, whole=True)
            return done

    def _recover_interrupted_write(self) -> None:
        """After a crash mid-write, cut the matrices it touched back to their committed
        extent (so stale cells beyond it can never surface in a later write) and delete the
        table and original files it created that nothing committed refers to."""
        staged = read_staging(self.home)
        if staged is None:
            return
        names, created_tables, created_files = staged
        if names == ["*"]:
            names = self.store.names()
        with self.engine.connect() as connection:
            extents = {
                r.name: (r.n_rows, r.n_columns)
                for r in connection.execute(
                    select(s.matrices.c.name, s.matrices.c.n_rows, s.matrices.c.n_columns)
                )
            }
            tables = set(created_tables)
            for column in (
                s.records.c.table_ref,
                s.record_history.c.table_ref,
                s.platform_annotations.c.table_ref,
            ):
                if tables:
                    tables -= set(
                        connection.execute(select(column).where(column.in_(tables))).scalars()
                    )
            files = set(created_files)
            if files:
                files -= set(
                    connection.execute(
                        select(s.files.c.sha256).where(s.files.c.sha256.in_(files))
                    ).scalars()
                )
        for name in names:
            if not self.store.exists(name):
                continue
            if name in extents:
                self.store.open(name).discard_beyond(*extents[name])
            else:
                self.store.delete(name)
        for digest in tables:
            self.tables.remove(digest)
        for digest in files:
            self.files.remove(digest)
        Staging(self.home).close()

    def put_records(self, records: Sequence[Record] | Iterator[Record]) -> list[str]:
        """Store records in one transaction; return each record's outcome."""
        with self.writer() as writer:
            return [writer.put(r).value for r in records if r.type is not None]

    def info(self) -> dict[str, Any]:
        """Counts, paths and versions describing the hub, JSON-ready."""
        import numpy
        import sqlalchemy
        import zarr

        url = self.engine.url
        with self.engine.connect() as connection:
            files = connection.execute(select(func.count()).select_from(s.files)).scalar_one()
            matrices = connection.execute(
                select(s.matrices.c.name, s.matrices.c.n_rows, s.matrices.c.n_columns).order_by(
                    s.matrices.c.name
                )
            ).fetchall()
        return {
            "home": str(self.home.resolve()),
            "database": {
                "backend": url.get_backend_name(),
                "url": url.render_as_string(hide_password=True),
                "schema_revision": current_revision(self.engine),
            },
            "paths": {
                "matrices": str((self.home / "matrices").resolve()),
                "tables": str((self.home / "tables").resolve()),
                "files": str((self.home / "files").resolve()),
            },
            "counts": self.counts(),
            "files": int(files),
            "matrices": [{"name": n, "rows": r, "columns": c} for n, r, c in matrices],
            "versions": {
                "exprhub": __version__,
                "hub_format": HUB_FORMAT,
                "sqlalchemy": sqlalchemy.__version__,
                "zarr": zarr.__version__,
                "numpy": numpy.__version__,
            },
        }

    def annotation(self, platform: str, *, table: bool = True) -> Annotation | None:
        """The GEO annotation (``.annot``) stored for a platform, if any."""
        key = normalize_accession(platform)
        with self.engine.connect() as connection:
            row = connection.execute(
                select(s.platform_annotations).where(s.platform_annotations.c.platform_key == key)
            ).first()
        if row is None:
            return None
        document = json.loads(row.document)
        data = (
            table_from_parquet(self.tables.path(row.table_ref)) if table and row.table_ref else None
        )
        return Annotation(
            document["id"],
            [(k, v) for k, v in document["attributes"]],
            [(n, d) for n, d in document["columns"]],
            data,
        )


def commit_code() -> frozenset[CodeType]:
    """Code objects of the hub's commit path: the body of :meth:`Hub.writer` (commit,
    rollback, undo) and the recovery of an interrupted write.

    An exception raised inside them by a signal handler could undo files of a transaction
    that just committed; a handler that stops work by raising checks the frames it
    interrupts against these first.
    """
    codes = {Hub._recover_interrupted_write.__code__}
    body = getattr(Hub.writer, "__wrapped__", None)
    if body is not None:
        codes.add(body.__code__)
    return frozenset(codes)
