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
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, func, or_, select

from exprhub import __version__
from exprhub.hub import schema as s
from exprhub.hub.arrays import MatrixStore
from exprhub.hub.blobs import BlobDirectory, table_from_parquet
from exprhub.hub.database import DatabaseError, connect, current_revision, migrate, sqlite_url
from exprhub.hub.errors import HubError, HubNotFound, RecordNotFound
from exprhub.hub.writer import HubWriter, submitted_matrix_name
from exprhub.records import (
    TYPE_CLASSES,
    Annotation,
    Record,
    RecordType,
    Sample,
    normalize_accession,
)

HUB_FORMAT = 1
MARKER = "hub.json"
SQLITE_NAME = "exprhub.sqlite"
DEFAULT_HOME = "exprhub-data"


def default_home() -> Path:
    """The hub directory used when none is given: ``$EXPRHUB_HOME`` or ``./exprhub-data``."""
    return Path(os.environ.get("EXPRHUB_HOME") or DEFAULT_HOME)


@dataclass(frozen=True)
class RecordSummary:
    """One row of a record listing."""

    type: str
    key: str
    accession: str | None
    title: str | None
    organisms: str | None
    last_update_date: str | None
    version: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "type": self.type,
            "accession": self.accession,
            "key": self.key,
            "title": self.title,
            "organisms": self.organisms.split("; ") if self.organisms else [],
            "last_update_date": self.last_update_date,
            "version": self.version,
        }


class Hub:
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
        self.tables = BlobDirectory(self.home / "tables", ".parquet")
        self.files = BlobDirectory(self.home / "files")

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
        """Release database connections."""
        self.engine.dispose()

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
                transaction.rollback()
                writer.undo()
                raise
            finally:
                self._in_progress.unlink(missing_ok=True)

    @property
    def _in_progress(self) -> Path:
        """Names the matrices a running write appends to; left behind only by a crash."""
        return self.home / ".write-in-progress"

    def _recover_interrupted_write(self) -> None:
        """After a crash mid-write, cut the matrices it touched back to their committed
        extent (so stale cells beyond it can never surface in a later write) and delete the
        table and original files it created that nothing committed refers to."""
        try:
            marker = json.loads(self._in_progress.read_text())
        except FileNotFoundError:
            return
        except ValueError:
            marker = {"matrices": self.store.names()}
        with self.engine.connect() as connection:
            extents = {
                r.name: (r.n_rows, r.n_columns)
                for r in connection.execute(
                    select(s.matrices.c.name, s.matrices.c.n_rows, s.matrices.c.n_columns)
                )
            }
            tables = set(marker.get("tables", []))
            for column in (
                s.records.c.table_ref,
                s.record_history.c.table_ref,
                s.platform_annotations.c.table_ref,
            ):
                if tables:
                    tables -= set(
                        connection.execute(select(column).where(column.in_(tables))).scalars()
                    )
            files = set(marker.get("files", []))
            if files:
                files -= set(
                    connection.execute(
                        select(s.files.c.sha256).where(s.files.c.sha256.in_(files))
                    ).scalars()
                )
        for name in marker.get("matrices", []):
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
        self._in_progress.unlink(missing_ok=True)

    def put_records(self, records: Sequence[Record] | Iterator[Record]) -> list[str]:
        """Store records in one transaction; return each record's outcome."""
        with self.writer() as writer:
            return [writer.put(r).value for r in records if r.type is not None]

    # ------------------------------------------------------------------ reading
    @contextmanager
    def _reading(self, connection: Connection | None = None) -> Iterator[Connection]:
        """The given connection, or a new one for the duration of the block."""
        if connection is not None:
            yield connection
            return
        with self.engine.connect() as fresh:
            yield fresh

    def _find_row(
        self, key: str, type: RecordType | None = None, connection: Connection | None = None
    ) -> Any:
        wanted = normalize_accession(key)
        query = select(s.records).where(
            or_(s.records.c.key == wanted, s.records.c.accession == wanted)
        )
        if type is not None:
            query = query.where(s.records.c.type == type.value)
        with self._reading(connection) as reading:
            rows = reading.execute(query.order_by(s.records.c.id)).fetchall()
        if not rows:
            what = f"{type.label} " if type else ""
            raise RecordNotFound(f"{what}{key} is not in the hub at {self.home}")
        return rows[0]

    def _load(
        self, row: Any, *, table: bool = True, connection: Connection | None = None
    ) -> Record:
        cls = TYPE_CLASSES[RecordType(row.type)]
        with self._reading(connection) as connection:
            attributes = [
                (k, v)
                for k, v in connection.execute(
                    select(s.attributes.c.key, s.attributes.c.value)
                    .where(s.attributes.c.record_id == row.id)
                    .order_by(s.attributes.c.position)
                )
            ]
            columns = [
                (n, d)
                for n, d in connection.execute(
                    select(s.columns.c.name, s.columns.c.description)
                    .where(s.columns.c.record_id == row.id)
                    .order_by(s.columns.c.position)
                )
            ]
        data = None
        if table and row.table_ref:
            data = table_from_parquet(self.tables.path(row.table_ref))
        record_id = row.key
        return cls(record_id, attributes, columns, data)

    def record(self, key: str, type: RecordType | None = None, *, table: bool = True) -> Record:
        """The stored record with this accession or name, with all attributes (and its data
        table unless ``table=False``).

        Raises
        ------
        RecordNotFound
            If no such record is in the hub.
        """
        return self._load(self._find_row(key, type), table=table)

    def has(self, key: str, type: RecordType | None = None) -> bool:
        """Whether a record with this accession or name is stored."""
        try:
            self._find_row(key, type)
        except RecordNotFound:
            return False
        return True

    def related(self, key: str, *, connection: Connection | None = None) -> dict[str, list[str]]:
        """Records related to ``key``, by relation kind, in both directions
        (e.g. a series' ``sample``, ``platform``, ``subseries``, ``superseries``, ``dataset``).

        A key that is only referenced (a sample named by a stored DataSet, say) has its
        incoming relations; an unknown key that no record names raises ``RecordNotFound``.
        """
        try:
            row = self._find_row(key, connection=connection)
            source_id, target = row.id, row.key
        except RecordNotFound:
            source_id, target = None, normalize_accession(key)
        reverse = {
            ("GSM", "series"): "sample",
            ("GSM", "platform"): "sample",
            ("GSE", "superseries"): "subseries",
            ("GSE", "subseries"): "superseries",
            ("GDS", "series"): "dataset",
            ("GDS", "platform"): "dataset",
            ("SUBSET", "dataset"): "subset",
            ("SUBSET", "sample"): "subset",
            ("GSE", "sample"): "series",
            ("GSE", "platform"): "series",
        }
        out: dict[str, list[str]] = {}
        with self._reading(connection) as connection:
            for kind, other in connection.execute(
                select(s.relations.c.kind, s.relations.c.target_key)
                .where(s.relations.c.source_id == source_id)
                .order_by(s.relations.c.position)
            ):
                out.setdefault(kind, []).append(other)
            incoming = connection.execute(
                select(s.records.c.type, s.records.c.key, s.relations.c.kind)
                .join(s.relations, s.relations.c.source_id == s.records.c.id)
                .where(s.relations.c.target_key == target)
                .order_by(s.records.c.id)
            )
            for source_type, source_key, kind in incoming:
                name = reverse.get((source_type, kind))
                if name is None:
                    continue
                values = out.setdefault(name, [])
                if source_key not in values:
                    values.append(source_key)
        if source_id is None and not out:
            raise RecordNotFound(f"{key} is not in the hub at {self.home}")
        return out

    def summary(self, key: str, type: RecordType | None = None) -> dict[str, Any]:
        """The record's key facts, relations and stored table shape, JSON-ready."""
        return self.record_and_summary(key, type)[1]

    def record_and_summary(
        self, key: str, type: RecordType | None = None
    ) -> tuple[Record, dict[str, Any]]:
        """The record (without its table) and its :meth:`summary`, read together."""
        with self.engine.connect() as connection:
            row = self._find_row(key, type, connection)
            record = self._load(row, table=False, connection=connection)
            relations = self.related(row.key, connection=connection)
        data = record.summary()
        data.update(
            {
                "key": row.key,
                "version": row.version,
                "organisms": row.organisms.split("; ") if row.organisms else [],
                "table": (
                    {"rows": row.table_rows, "columns": row.table_cols} if row.table_ref else None
                ),
                "relations": relations,
                "attributes": [[k, v] for k, v in record.attributes],
                "columns": [[n, d] for n, d in record.columns],
            }
        )
        if isinstance(record, Sample):
            data["characteristics"] = {
                f"ch{ch}": [[k, v] for k, v in record.characteristics(ch)]
                for ch in range(1, record.channel_count + 1)
            }
        return record, data

    def revision(self, key: str, type: RecordType | None = None) -> str:
        """A short tag that changes whenever the record, or anything in the hub, is written
        (for HTTP caching: one cheap query)."""
        wanted = normalize_accession(key)
        latest = select(func.max(s.records.c.updated_at)).scalar_subquery()
        query = select(s.records.c.version, s.records.c.updated_at, latest).where(
            or_(s.records.c.key == wanted, s.records.c.accession == wanted)
        )
        if type is not None:
            query = query.where(s.records.c.type == type.value)
        with self.engine.connect() as connection:
            row = connection.execute(query.order_by(s.records.c.id)).first()
        if row is None:
            what = f"{type.label} " if type else ""
            raise RecordNotFound(f"{what}{key} is not in the hub at {self.home}")
        return f"{row[0]}:{row[1].isoformat()}:{row[2].isoformat()}"

    def briefs(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Type, title, organisms and platforms of many records, by key (keys not in the hub
        are absent); subsets also carry their type, description and samples."""
        wanted = list(dict.fromkeys(normalize_accession(k) for k in keys))
        out: dict[str, dict[str, Any]] = {}
        subset_ids: dict[int, str] = {}
        record_ids: dict[int, str] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), 900):
                chunk = wanted[start : start + 900]
                for r in connection.execute(
                    select(
                        s.records.c.id,
                        s.records.c.type,
                        s.records.c.key,
                        s.records.c.accession,
                        s.records.c.title,
                        s.records.c.organisms,
                        s.records.c.last_update_date,
                    ).where(s.records.c.key.in_(chunk))
                ):
                    out[r.key] = {
                        "key": r.key,
                        "accession": r.accession,
                        "type": r.type,
                        "title": r.title,
                        "organisms": r.organisms.split("; ") if r.organisms else [],
                        "last_update_date": (
                            r.last_update_date.isoformat() if r.last_update_date else None
                        ),
                        "platforms": [r.key] if r.type == RecordType.PLATFORM.value else [],
                    }
                    record_ids[r.id] = r.key
                    if r.type == RecordType.SUBSET.value:
                        subset_ids[r.id] = r.key
            ids_all = list(record_ids)
            for start in range(0, len(ids_all), 900):
                for rid, target in connection.execute(
                    select(s.relations.c.source_id, s.relations.c.target_key)
                    .where(
                        s.relations.c.source_id.in_(ids_all[start : start + 900]),
                        s.relations.c.kind == "platform",
                    )
                    .order_by(s.relations.c.source_id, s.relations.c.position)
                ):
                    out[record_ids[rid]]["platforms"].append(target)
            for start in range(0, len(subset_ids), 900):
                ids = list(subset_ids)[start : start + 900]
                for rid, akey, value in connection.execute(
                    select(s.attributes.c.record_id, s.attributes.c.key, s.attributes.c.value)
                    .where(s.attributes.c.record_id.in_(ids))
                    .order_by(s.attributes.c.record_id, s.attributes.c.position)
                ):
                    entry = out[subset_ids[rid]]
                    name = Record.field_name(akey)
                    if name == "type":
                        entry.setdefault("subset_type", value)
                    elif name == "description":
                        entry.setdefault("description", value)
                    elif name == "sample_id":
                        samples = entry.setdefault("sample_ids", [])
                        samples += [x.strip() for x in value.split(",") if x.strip()]
        return out

    def records(
        self,
        type: RecordType | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[RecordSummary]:
        """Stored records (newest accession numbering order within type), optionally of one
        type, with paging."""
        query = select(
            s.records.c.type,
            s.records.c.key,
            s.records.c.accession,
            s.records.c.title,
            s.records.c.organisms,
            s.records.c.last_update_date,
            s.records.c.version,
        ).order_by(s.records.c.type, func.length(s.records.c.key), s.records.c.key)
        if type is not None:
            query = query.where(s.records.c.type == type.value)
        if limit is not None:
            query = query.limit(limit)
        if offset:
            query = query.offset(offset)
        with self.engine.connect() as connection:
            return [
                RecordSummary(
                    r.type,
                    r.key,
                    r.accession,
                    r.title,
                    r.organisms,
                    r.last_update_date.isoformat() if r.last_update_date else None,
                    r.version,
                )
                for r in connection.execute(query)
            ]

    def samples(self, *, limit: int | None = None, offset: int = 0) -> list[RecordSummary]:
        """Stored samples (GSM)."""
        return self.records(RecordType.SAMPLE, limit=limit, offset=offset)

    def counts(self) -> dict[str, int]:
        """Number of stored records of each type."""
        with self.engine.connect() as connection:
            found = {
                t: n
                for t, n in connection.execute(
                    select(s.records.c.type, func.count()).group_by(s.records.c.type)
                )
            }
        return {t.value: int(found.get(t.value, 0)) for t in RecordType}

    def history(self, key: str) -> list[dict[str, Any]]:
        """Earlier versions of a record that newer imports replaced, oldest first."""
        wanted = normalize_accession(key)
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(s.record_history)
                .where(s.record_history.c.key == wanted)
                .order_by(s.record_history.c.version)
            ).fetchall()
        return [
            {
                "type": r.type,
                "key": r.key,
                "version": r.version,
                "last_update_date": r.last_update_date.isoformat() if r.last_update_date else None,
                "replaced_at": r.replaced_at.isoformat(),
                "record": json.loads(r.document),
            }
            for r in rows
        ]

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

    # ------------------------------------------------------------------ values
    def _matrix_row(self, name: str) -> Any:
        with self.engine.connect() as connection:
            row = connection.execute(select(s.matrices).where(s.matrices.c.name == name)).first()
        if row is None:
            raise HubError(f"no matrix {name!r} in the hub")
        return row

    def matrix_features(self, name: str) -> list[str]:
        """Row labels (probe or gene IDs) of a matrix, in row order."""
        row = self._matrix_row(name)
        with self.engine.connect() as connection:
            return list(
                connection.execute(
                    select(s.matrix_rows.c.feature)
                    .where(s.matrix_rows.c.matrix_id == row.id)
                    .order_by(s.matrix_rows.c.row)
                ).scalars()
            )

    def matrix_samples(self, name: str) -> list[tuple[str, int]]:
        """``(sample key, column)`` of the current columns of a matrix, in column order."""
        row = self._matrix_row(name)
        with self.engine.connect() as connection:
            return [
                (k, c)
                for k, c in connection.execute(
                    select(s.matrix_columns.c.sample_key, s.matrix_columns.c.column)
                    .where(s.matrix_columns.c.matrix_id == row.id, s.matrix_columns.c.active)
                    .order_by(s.matrix_columns.c.column)
                )
            ]

    def sample_values(self, key: str) -> tuple[list[str], np.ndarray]:
        """The submitted values of one sample as ``(feature ids, values)`` from its
        platform's matrix (NaN where the sample has no value)."""
        sample = self._find_row(key, RecordType.SAMPLE)
        with self.engine.connect() as connection:
            found = connection.execute(
                select(s.matrices.c.name, s.matrices.c.n_rows, s.matrix_columns.c.column)
                .join(s.matrix_columns, s.matrix_columns.c.matrix_id == s.matrices.c.id)
                .where(
                    s.matrix_columns.c.sample_key == sample.key,
                    s.matrix_columns.c.active,
                    s.matrices.c.kind == "submitted",
                )
            ).first()
        if found is None:
            raise HubError(f"{sample.key} has no stored values (no data table in the hub)")
        name, n_rows, column = found
        values = self.store.open(name).column(column, n_rows)
        return self.matrix_features(name), values

    def feature_values(self, platform: str, feature: str) -> tuple[list[str], np.ndarray]:
        """One probe across every sample of a platform: ``(sample keys, values)``."""
        name = submitted_matrix_name(normalize_accession(platform))
        matrix = self._matrix_row(name)
        with self.engine.connect() as connection:
            row = connection.execute(
                select(s.matrix_rows.c.row).where(
                    s.matrix_rows.c.matrix_id == matrix.id, s.matrix_rows.c.feature == feature
                )
            ).scalar_one_or_none()
        if row is None:
            raise HubError(f"{feature!r} is not a feature of {platform}")
        samples = self.matrix_samples(name)
        values = self.store.open(name).row(row, matrix.n_columns)
        return [k for k, _ in samples], values[[c for _, c in samples]]
