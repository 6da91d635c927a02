"""Transactional writes into a hub.

A :class:`HubWriter` lives inside ``Hub.writer()``: records, their data tables, original files
and matrix columns written through it become visible together when the block ends, or not at
all. SQL is the commit point; array columns are appended beyond the committed extent and
table/original files are content-addressed, so undoing a failed write means rolling back SQL,
cutting matrices back to their committed extent and deleting the files this writer created.

The matrix side (buffers of new columns, their SQL rows, undo) is
:mod:`exprhub.hub.matrix_writes`; :class:`HubWriter` is its one public face
(:meth:`HubWriter.matrix`, :meth:`HubWriter.add_column`, :meth:`HubWriter.deactivate_columns`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Connection, Row, bindparam, delete, insert, select, update

from exprhub.hub import schema as s
from exprhub.hub.kept_file import KeptFile
from exprhub.hub.matrix_writes import (
    MatrixBuffer,
    MatrixExtent,
    MatrixWrites,
    dataset_matrix_name,
    inserted_id,
    submitted_matrix_name,
)
from exprhub.hub.record_rows import record_document, record_organisms, record_relations
from exprhub.hub.table_versions import (
    INCOMPLETE_TABLE,
    completes_stored_table,
    incomplete_table_conflict,
)
from exprhub.records import (
    Annotation,
    DataSet,
    Platform,
    Record,
    RecordType,
    Sample,
    Series,
    Table,
    arrow_strings,
    normalize_accession,
    to_float_uses_arrow,
)
from exprhub.records.table import ValueTally, to_stored_float
from exprhub.storage.blobs import shares_first_column
from exprhub.storage.bulk import RowBuffer
from exprhub.storage.staging import Staging, TableQueue

if TYPE_CHECKING:
    import pyarrow as pa

    from exprhub.hub.hub import Hub

_RECORD_ROW = select(s.records).where(
    s.records.c.type == bindparam("type"), s.records.c.key == bindparam("key")
)
#: Keys looked up at once when a series announces its samples (bound by SQL's parameter limits).
_PREFETCH_KEYS = 500


#: A record not looked up in advance (see ``HubWriter._expect_rows``).
_UNKNOWN: Any = object()


class PutOutcome(StrEnum):
    """What storing one record did."""

    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    TABLE_ATTACHED = "table-attached"
    TABLE_COMPLETED = "table-completed"
    OLDER = "older-kept-newer"


#: Outcomes of a put that write the record's row with ``updated_at`` = the writer's ``now``.
_STAMPED = frozenset(
    {
        PutOutcome.ADDED,
        PutOutcome.UPDATED,
        PutOutcome.TABLE_ATTACHED,
        PutOutcome.TABLE_COMPLETED,
    }
)


class _NewRecord:
    """A record put as new whose ``INSERT`` has not been sent yet (``id`` is None until it
    is); also the key its queued table is known by."""

    __slots__ = ("id", "record", "row", "source")

    def __init__(self, record: Record, row: dict[str, Any], source: str | KeptFile | None):
        self.record = record
        self.row = row
        self.source = source
        self.id: int | None = None


def _record_id(key: object) -> int:
    """The record ID a queued table was submitted with (directly, or as a new record)."""
    record_id = key.id if isinstance(key, _NewRecord) else key
    assert isinstance(record_id, int)
    return record_id


class HubWriter:
    """Writes records into a hub inside one transaction (see ``Hub.writer()``)."""

    def __init__(self, hub: Hub, connection: Connection) -> None:
        self.hub = hub
        self._connection = connection
        #: New records waiting for their ``INSERT`` (see :meth:`_insert_new_records`).
        self._new_records: list[_NewRecord] = []
        self.now = datetime.now(UTC)
        self.staging = Staging(hub.home)
        self._tables = TableQueue(
            hub.tables, self.staging, process=hub.table_process_of_this_thread()
        )
        self._ids = hub.tables.column_blobs
        self._rows = RowBuffer(connection)
        self._matrices = MatrixWrites(hub, connection, self.staging)
        self._kept: list[KeptFile] = []
        self.outcomes: list[tuple[str, str, PutOutcome]] = []
        #: ``(record key, column, tally)`` of value columns holding cells that are neither
        #: numbers nor missing-value tokens (stored as NaN), for the import to report.
        self.value_tallies: list[tuple[str, str, ValueTally]] = []
        #: One line per record whose stored table was kept over an incomplete one (see
        #: :func:`incomplete_table_conflict`), for the import to report.
        self.conflicts: list[str] = []
        self._pending_conflicts: list[tuple[str, str, int, str, str | KeptFile | None]] = []
        #: Stored rows (None: no record) of records this transaction is expected to put, read
        #: in one query when a series names its samples; an entry is used once, by the put of
        #: that record, so it never outlives a write of the record by this transaction.
        self._expected_rows: dict[tuple[str, str], Row[Any] | None] = {}
        self._put_keys: set[tuple[str, str]] = set()

    @property
    def connection(self) -> Connection:
        """The transaction's connection, with every record put so far inserted."""
        if self._new_records:
            self._insert_new_records()
        return self._connection

    # ---------------------------------------------------------------- files
    def keep_file(self, path: Path, *, name: str | None = None, format: str | None = None) -> str:
        """Keep an original input file in the hub by checksum; return its SHA-256."""
        digest = self._copy_file(path)
        self._register_file(path, digest, name, format)
        return digest

    def keep_file_in_background(
        self, path: Path, *, name: str | None = None, format: str | None = None
    ) -> KeptFile:
        """Like :meth:`keep_file`, but hashed and copied on another thread while the caller
        goes on (records put with the returned handle as ``source_sha256`` get the digest
        once it is known, at the latest when the write ends)."""
        kept = KeptFile(path, name, format, self._copy_file)
        self._kept.append(kept)
        return kept

    def _copy_file(self, path: Path) -> str:
        return self.hub.files.put_file(path, lambda digest: self.staging.blob("files", digest))[0]

    def _register_file(self, path: Path, digest: str, name: str | None, format: str | None) -> None:
        exists = self.connection.execute(
            select(s.files.c.sha256).where(s.files.c.sha256 == digest)
        ).first()
        if not exists:
            self.connection.execute(
                insert(s.files).values(
                    sha256=digest,
                    size=path.stat().st_size,
                    name=name or path.name,
                    format=format,
                    imported_at=self.now,
                )
            )

    def _settle_kept_files(self) -> None:
        """Wait for files kept in the background; register them and fill in the digest of
        the records stored before it was known."""
        for kept in self._kept:
            digest = kept.digest()
            self._register_file(kept.path, digest, kept.name, kept.format)
            if kept.waiting:
                self.connection.execute(
                    update(s.records)
                    .where(s.records.c.id == bindparam("rid"))
                    .values(source_sha256=digest),
                    [{"rid": rid} for rid in kept.waiting],
                )
                kept.waiting.clear()
        self._kept.clear()

    # ---------------------------------------------------------------- records
    def put(self, record: Record, *, source_sha256: str | KeptFile | None = None) -> PutOutcome:
        """Store one record (with its table and matrix values); report what happened.

        A record already present is replaced only by one with a newer ``last_update_date``
        (the old version goes to the history). For the same date the stored record is kept;
        a data table the stored version lacks is attached, and one with more rows than a
        stored table that is incomplete (fewer rows than declared) replaces it as a new
        version (the old one goes to the history; outcome ``table-completed``). A newer
        version whose table is
        incomplete (fewer rows than it declares) keeps the stored table if that has more rows:
        the conflict is recorded (:meth:`~exprhub.hub.Hub.conflicts`) and listed in
        :attr:`conflicts`.
        """
        if record.type is None:
            raise ValueError(f"{type(record).__name__} records are not stored in the hub")
        key = record.key
        rtype = record.type.value
        self._put_keys.add((rtype, key))
        row = self._expected_rows.pop((rtype, key), _UNKNOWN)
        if row is _UNKNOWN:
            row = self.connection.execute(_RECORD_ROW, {"type": rtype, "key": key}).first()
        if row is None:
            self._add(record, source_sha256)
            outcome = PutOutcome.ADDED
        else:
            new_date = record.last_update_date
            old_date = row.last_update_date
            newer = new_date is not None and (old_date is None or new_date > old_date)
            completes = (
                not newer
                and new_date == old_date
                and completes_stored_table(record, row.table_rows)
            )
            if newer or completes:
                self._rows.flush()  # the old version is read, then deleted with its rows
                self._archive(row)
                self.connection.execute(delete(s.records).where(s.records.c.id == row.id))
                record_id = self._insert(record, source_sha256, version=row.version + 1)
                conflict = incomplete_table_conflict(record, row.table_rows, row.version)
                if conflict is None:
                    self._store_table(record, record_id)
                else:
                    self._keep_stored_table(record_id, row)
                    self._record_conflict(record, row.version + 1, conflict, source_sha256)
                outcome = PutOutcome.UPDATED if newer else PutOutcome.TABLE_COMPLETED
            elif old_date is not None and new_date is not None and new_date < old_date:
                outcome = PutOutcome.OLDER
            elif row.table_ref is None and record.table is not None:
                self._attach_table(row.id, record.table)
                self._store_table(record, row.id)
                outcome = PutOutcome.TABLE_ATTACHED
            else:
                outcome = PutOutcome.UNCHANGED
        self.outcomes.append((rtype, key, outcome))
        if isinstance(record, Series):
            self._expect_rows(RecordType.SAMPLE.value, record.sample_ids)
        return outcome

    def updated_now(self, rtype: str) -> set[str]:
        """Keys of the records of type ``rtype`` this transaction stored, replaced or gave a
        table: their ``updated_at`` is already :attr:`now`."""
        return {key for t, key, outcome in self.outcomes if t == rtype and outcome in _STAMPED}

    def _expect_rows(self, rtype: str, keys: list[str]) -> None:
        """Read the stored rows of records of type ``rtype`` the transaction is about to put
        (a family file's samples follow its series), one query instead of one per record."""
        wanted = [
            k
            for k in dict.fromkeys(keys)
            if (rtype, k) not in self._expected_rows and (rtype, k) not in self._put_keys
        ]
        for i in range(0, len(wanted), _PREFETCH_KEYS):
            chunk = wanted[i : i + _PREFETCH_KEYS]
            found = {
                row.key: row
                for row in self.connection.execute(
                    select(s.records).where(s.records.c.type == rtype, s.records.c.key.in_(chunk))
                )
            }
            for key in chunk:
                self._expected_rows[(rtype, key)] = found.get(key)

    def _add(self, record: Record, source: str | KeptFile | None) -> None:
        """Put a record not stored yet: its ``INSERT`` waits to be sent with those of the
        next records (a family file's samples), its table is queued now."""
        new = _NewRecord(record, self._record_row(record, source, version=1), source)
        self._new_records.append(new)
        self._store_table(record, new)

    def _insert_new_records(self) -> None:
        """Insert the waiting new records in one statement, then their attribute rows."""
        new, self._new_records = self._new_records, []
        ids = {
            (row.type, row.key): row.id
            for row in self._connection.execute(
                insert(s.records).returning(s.records.c.id, s.records.c.type, s.records.c.key),
                [n.row for n in new],
            )
        }
        for n in new:
            n.id = ids[(n.row["type"], n.row["key"])]
            self._record_rows(n.record, n.id, n.source, n.row["source_sha256"])

    def _insert(self, record: Record, source: str | KeptFile | None, *, version: int) -> int:
        row = self._record_row(record, source, version=version)
        record_id = inserted_id(self.connection.execute(insert(s.records), row))
        self._record_rows(record, record_id, source, row["source_sha256"])
        return record_id

    def _record_row(
        self, record: Record, source: str | KeptFile | None, *, version: int
    ) -> dict[str, Any]:
        """The ``records`` row of a record."""
        assert record.type is not None
        organisms = record_organisms(record)
        source_sha256 = source.digest_if_known() if isinstance(source, KeptFile) else source
        return {
            "type": record.type.value,
            "key": record.key,
            "sort_key": s.listing_sort_key(record.key),
            "accession": record.accession,
            "title": record.title,
            "status": record.status,
            "submission_date": record.submission_date,
            "last_update_date": record.last_update_date,
            "release_date": record.release_date,
            "organisms": "; ".join(organisms) if organisms else None,
            "version": version,
            "source_sha256": source_sha256,
            "table_ref": None,  # set at flush, once the table is written in the background
            "table_rows": record.table.n_rows if record.table is not None else None,
            "table_cols": record.table.n_cols if record.table is not None else None,
            "created_at": self.now,
            "updated_at": self.now,
        }

    def _record_rows(
        self,
        record: Record,
        record_id: int,
        source: str | KeptFile | None,
        source_sha256: str | None,
    ) -> None:
        """Buffer the attribute, column, relation and characteristic rows of a record."""
        if source_sha256 is None and isinstance(source, KeptFile):
            source.waiting.append(record_id)
        rows = self._rows
        for i, (k, v) in enumerate(record.attributes):
            rows.add(s.attributes, (record_id, i, k, v))
        for i, (n, d) in enumerate(record.columns):
            rows.add(s.columns, (record_id, i, n, d))
        for i, (k, t) in enumerate(record_relations(record)):
            rows.add(s.relations, (record_id, k, t, i))
        if isinstance(record, Sample):
            for ch in range(1, record.channel_count + 1):
                for i, (k, v) in enumerate(record.characteristics(ch)):
                    rows.add(s.characteristics, (record_id, ch, i, k[:255], v))
        rows.flush_if_full()

    def _archive(self, row: object) -> None:
        record = self.hub._load(row, table=False, connection=self.connection)
        self.connection.execute(
            insert(s.record_history).values(
                type=row.type,  # type: ignore[attr-defined]
                key=row.key,  # type: ignore[attr-defined]
                version=row.version,  # type: ignore[attr-defined]
                last_update_date=row.last_update_date,  # type: ignore[attr-defined]
                replaced_at=self.now,
                document=record_document(record),
                table_ref=row.table_ref,  # type: ignore[attr-defined]
            )
        )

    def _keep_stored_table(self, record_id: int, row: object) -> None:
        """Give the new version of a record the table of the version it replaces (whose
        matrix values stay current, as they were)."""
        self.connection.execute(
            update(s.records)
            .where(s.records.c.id == record_id)
            .values(
                table_ref=row.table_ref,  # type: ignore[attr-defined]
                table_rows=row.table_rows,  # type: ignore[attr-defined]
                table_cols=row.table_cols,  # type: ignore[attr-defined]
            )
        )

    def _record_conflict(
        self, record: Record, version: int, message: str, source: str | KeptFile | None
    ) -> None:
        """Remember a conflict for the ``record_conflicts`` table (written at flush, once the
        source file's digest is known) and for the import's summary."""
        assert record.type is not None
        self.conflicts.append(message)
        self._pending_conflicts.append((record.type.value, record.key, version, message, source))

    def _write_conflicts(self) -> None:
        for rtype, key, version, message, source in self._pending_conflicts:
            self.connection.execute(
                insert(s.record_conflicts).values(
                    type=rtype,
                    key=key,
                    version=version,
                    kind=INCOMPLETE_TABLE,
                    message=message,
                    source_sha256=source.digest() if isinstance(source, KeptFile) else source,
                    recorded_at=self.now,
                )
            )
        self._pending_conflicts.clear()

    def _attach_table(self, record_id: int, table: Table) -> None:
        self.connection.execute(
            update(s.records)
            .where(s.records.c.id == record_id)
            .values(table_rows=table.n_rows, table_cols=table.n_cols, updated_at=self.now)
        )

    def put_annotation(self, annotation: Annotation) -> PutOutcome:
        """Store a GEO platform annotation (``.annot``); a newer annotation date replaces it."""
        platform = annotation.platform_id or normalize_accession(annotation.id)
        if not platform:
            raise ValueError("the annotation names no platform (!Annotation_platform is missing)")
        annotation_date = annotation.get("date")
        row = self.connection.execute(
            select(s.platform_annotations).where(s.platform_annotations.c.platform_key == platform)
        ).first()
        if row is not None and (row.annotation_date or "") >= (annotation_date or ""):
            outcome = PutOutcome.UNCHANGED
        else:
            if row is not None:
                self.connection.execute(
                    delete(s.platform_annotations).where(
                        s.platform_annotations.c.platform_key == platform
                    )
                )
            table_ref = (
                self._tables.write(annotation.table) if annotation.table is not None else None
            )
            self.connection.execute(
                insert(s.platform_annotations).values(
                    platform_key=platform,
                    annotation_date=annotation_date,
                    document=record_document(annotation),
                    table_ref=table_ref,
                    imported_at=self.now,
                )
            )
            outcome = PutOutcome.ADDED if row is None else PutOutcome.UPDATED
        self.outcomes.append(("ANNOT", platform, outcome))
        return outcome

    # ---------------------------------------------------------------- matrices
    def _store_table(self, record: Record, record_id: int | _NewRecord) -> None:
        """Queue the record's table for writing and add its values to matrices."""
        table = record.table
        if table is None:
            return
        if table.n_cols:
            ids = self._ids.canonical(table.columns[0])
            if ids is not table.columns[0]:
                table = Table(table.names, [ids, *table.columns[1:]])
        arrow = self._store_values(record, table)
        # Converted to Arrow here rather than on the table thread: right after the parse the
        # strings are still in the CPU's caches, and the conversion (C holding the GIL) no
        # longer keeps this thread waiting for the GIL (measured: less CPU in all, the same or
        # a higher rate; bench/README.md, "Importing many series").
        for position in range(1 if shares_first_column(table) else 0, table.n_cols):
            if position not in arrow:
                arrow[position] = arrow_strings(table.columns[position])
        self._tables.submit(record_id, table, arrow)

    def _store_values(self, record: Record, table: Table) -> dict[int, pa.Array]:
        """Add the table's value columns to matrices; return the columns converted to Arrow
        on the way (by position), for the table writer to reuse."""
        converted: dict[int, pa.Array] = {}

        def values(name: str) -> np.ndarray:
            position = table.index_of(name)
            tally = ValueTally()
            arrow = None
            if to_float_uses_arrow():  # else the table writer converts it on its own thread
                if position not in converted:
                    converted[position] = arrow_strings(table.columns[position])
                arrow = converted[position]
            out = to_stored_float(table.columns[position], arrow=arrow, tally=tally)
            if tally.problems:
                self.value_tallies.append((record.key, name, tally))
            return out

        if table.n_cols == 0:
            return converted
        if isinstance(record, Platform):
            state = self.matrix(submitted_matrix_name(record.key), "submitted", record.key)
            state.rows_for(table.columns[0])
        elif isinstance(record, Sample):
            platform = record.platform_id
            if platform is None or not table.has("VALUE"):
                return converted
            state = self.matrix(submitted_matrix_name(platform), "submitted", platform)
            rows = state.rows_for(table.columns[0])
            self.add_column(state, record.key, rows, values("VALUE"))
        elif isinstance(record, DataSet):
            samples = [n for n in table.names if n.upper().startswith("GSM")]
            if not samples:
                return converted
            state = self.matrix(dataset_matrix_name(record.key), "dataset", record.key)
            rows = state.rows_for(table.columns[0])
            for name in samples:
                self.add_column(state, normalize_accession(name), rows, values(name))
        return converted

    def write_matrices_in_background(self) -> None:
        """Start writing the matrix columns added so far on a thread of their own, while the
        caller goes on (an import labels its samples meanwhile); :meth:`flush` waits for it,
        and an undone write for it too."""
        self._matrices.write_in_background()

    def flush(self) -> None:
        """Write pending tables, matrix columns and the matrices' new extents (before commit).

        Calling it again writes only what was added since (nothing if nothing was)."""
        self._expected_rows.clear()  # the flush below changes stored rows
        if self._new_records:
            self._insert_new_records()
        self._settle_kept_files()
        self._write_conflicts()
        self._rows.flush()
        written = self._tables.results()
        if written:
            self.connection.execute(
                update(s.records)
                .where(s.records.c.id == bindparam("rid"))
                .values(table_ref=bindparam("ref")),
                [{"rid": _record_id(rid), "ref": digest} for rid, digest in written],
            )
        self._tables.close()
        self.hub.tables.column_blobs.remember(self._tables.column_blobs())
        self._matrices.flush()

    def matrix(self, name: str, kind: str, owner: str | None) -> MatrixBuffer:
        """The matrix called ``name`` as this transaction sees it, created if it is new.

        Parameters
        ----------
        name
            The matrix's name (``submitted/<platform>``, ``genes/<tax id>/<value kind>``...).
        kind
            What the matrix holds (``submitted``, ``dataset``, ``gene-level``, ``refined``);
            used when the matrix is created.
        owner
            Key of the record or group the matrix belongs to; used when it is created.

        Returns
        -------
        MatrixBuffer
            The matrix's committed extent plus what this transaction added; its
            :meth:`~exprhub.hub.matrix_writes.MatrixBuffer.rows_for` maps features to rows.
        """
        return self._matrices.matrix(name, kind, owner)

    def add_column(
        self, matrix: MatrixBuffer, sample_key: str, rows: np.ndarray, values: np.ndarray
    ) -> None:
        """Add one sample's values as a new column of ``matrix``.

        The column becomes the sample's current column of the matrix when the writer flushes
        (an earlier column of the sample in the same matrix stops being current).

        Parameters
        ----------
        matrix
            From :meth:`matrix`.
        sample_key
            The sample the column belongs to.
        rows
            The row of each value, from ``matrix.rows_for(features)``.
        values
            The values (stored as float32; rows not given are NaN).
        """
        self._matrices.add_column(matrix, sample_key, rows, values)

    def deactivate_columns(self, sample_key: str, kind: str, *, keep: MatrixBuffer) -> None:
        """Make the sample's current columns in the other committed matrices of ``kind`` (all
        but ``keep``) no longer current, so that the sample has one current column among the
        matrices of that kind (a refined sample moves when its organism or value kind changes).
        """
        self._matrices.deactivate_elsewhere(sample_key, kind, keep)

    def matrices(self) -> list[MatrixExtent]:
        """Every matrix this writer wrote to, as of its last flush (as committed, once the
        transaction has committed)."""
        return self._matrices.extents()

    def undo(self) -> None:
        """Remove what this writer put outside SQL (called after SQL rolled back)."""
        self._new_records.clear()
        self._tables.close()
        for kept in self._kept:
            kept.wait()
        self._matrices.undo()
        # with the tables a stopped table process noted and never reported
        tables = [*self.staging.tables, *self.staging.logged_tables()]
        self.hub.tables.column_blobs.forget(tables)
        for digest in tables:
            self.hub.tables.remove(digest)
        for digest in self.staging.files:
            self.hub.files.remove(digest)
