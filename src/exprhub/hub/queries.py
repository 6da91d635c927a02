"""Reading records from the hub's metadata: look-ups by accession, relations, summaries,
listings, counts and history. :class:`~exprhub.hub.Hub` inherits these queries."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, and_, func, or_, select

from exprhub.hub import schema as s
from exprhub.hub.errors import RecordNotFound
from exprhub.records import (
    TYPE_CLASSES,
    Record,
    RecordType,
    Sample,
    normalize_accession,
)
from exprhub.storage.blobs import BlobDirectory, table_from_parquet

#: A relation seen from its target: (source record type, relation kind) -> the kind of the
#: source as the target names it.
_REVERSE_RELATIONS = {
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
_INCOMING_KINDS = sorted({kind for _, kind in _REVERSE_RELATIONS})


def _add_incoming(out: dict[str, list[str]], incoming: Iterable[Any]) -> None:
    """Add to a record's relations, under their reverse names, the records pointing at it
    (``(source type, source key, kind)``, in record order), each once."""
    for source_type, source_key, kind in incoming:
        name = _REVERSE_RELATIONS.get((source_type, kind))
        if name is None:
            continue
        values = out.setdefault(name, [])
        if source_key not in values:
            values.append(source_key)


#: Keys or ids per ``IN (...)`` list.
_KEY_CHUNK = 500


def _key_or_accession(key: str, type: RecordType | None) -> ColumnElement[bool]:
    """Rows whose key or accession is ``key`` (of ``type``, if given), written so that each
    side of the OR is answered from an index (``(type, key)`` or ``key``, and ``accession``)."""
    wanted = normalize_accession(key)
    by_key = s.records.c.key == wanted
    by_accession = s.records.c.accession == wanted
    if type is None:
        return or_(by_key, by_accession)
    of_type = s.records.c.type == type.value
    return or_(and_(of_type, by_key), and_(of_type, by_accession))


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

    @classmethod
    def from_row(cls, row: Any) -> RecordSummary:
        """The summary of a ``records`` row selected with :data:`SUMMARY_COLUMNS`."""
        return cls(
            row.type,
            row.key,
            row.accession,
            row.title,
            row.organisms,
            row.last_update_date.isoformat() if row.last_update_date else None,
            row.version,
        )

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


#: The ``records`` columns a :class:`RecordSummary` is made of.
SUMMARY_COLUMNS = (
    s.records.c.type,
    s.records.c.key,
    s.records.c.accession,
    s.records.c.title,
    s.records.c.organisms,
    s.records.c.last_update_date,
    s.records.c.version,
)


@dataclass(frozen=True)
class SampleFacts:
    """What the refinery plans a sample from (see :meth:`RecordQueries.sample_facts`).

    Attributes
    ----------
    key
        The sample's key.
    version
        The stored version (1 for the first import, +1 per newer replacement).
    source_sha256
        SHA-256 of the original file the sample was read from, if kept.
    organisms
        The organisms the sample names.
    attributes
        The first value of each attribute asked for that the sample has, by attribute key.
    series
        The series the sample names, in file order.
    """

    key: str
    version: int
    source_sha256: str | None
    organisms: list[str]
    attributes: dict[str, str]
    series: list[str]


class RecordQueries:
    """Record look-ups over the hub's SQL metadata (needs ``engine``, ``home``, ``tables``)."""

    engine: Engine
    home: Path
    tables: BlobDirectory

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
        query = select(s.records).where(_key_or_accession(key, type))
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

    def records_by_key(
        self, keys: Sequence[str], type: RecordType | None = None, *, table: bool = False
    ) -> dict[str, Record]:
        """Many stored records at once, by key, in the order of ``keys`` (keys of no stored
        record, or of another ``type``, are absent): what :meth:`record` gives for each, in a
        few queries instead of three per record.
        """
        wanted = list(dict.fromkeys(normalize_accession(k) for k in keys))
        rows: dict[str, Any] = {}
        attributes: dict[int, list[tuple[str, str]]] = {}
        columns: dict[int, list[tuple[str, str]]] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), _KEY_CHUNK):
                query = select(s.records).where(
                    s.records.c.key.in_(wanted[start : start + _KEY_CHUNK])
                )
                if type is not None:
                    query = query.where(s.records.c.type == type.value)
                for r in connection.execute(query.order_by(s.records.c.id)):
                    rows.setdefault(r.key, r)
            ids = [r.id for r in rows.values()]
            for start in range(0, len(ids), _KEY_CHUNK):
                chunk = ids[start : start + _KEY_CHUNK]
                for rid, k, v in connection.execute(
                    select(s.attributes.c.record_id, s.attributes.c.key, s.attributes.c.value)
                    .where(s.attributes.c.record_id.in_(chunk))
                    .order_by(s.attributes.c.record_id, s.attributes.c.position)
                ):
                    attributes.setdefault(rid, []).append((k, v))
                for rid, n, d in connection.execute(
                    select(s.columns.c.record_id, s.columns.c.name, s.columns.c.description)
                    .where(s.columns.c.record_id.in_(chunk))
                    .order_by(s.columns.c.record_id, s.columns.c.position)
                ):
                    columns.setdefault(rid, []).append((n, d))
        out: dict[str, Record] = {}
        for key in wanted:
            row = rows.get(key)
            if row is None:
                continue
            data = None
            if table and row.table_ref:
                data = table_from_parquet(self.tables.path(row.table_ref))
            cls = TYPE_CLASSES[RecordType(row.type)]
            out[key] = cls(row.key, attributes.get(row.id, []), columns.get(row.id, []), data)
        return out

    def has(self, key: str, type: RecordType | None = None) -> bool:
        """Whether a record with this accession or name is stored."""
        try:
            self._find_row(key, type)
        except RecordNotFound:
            return False
        return True

    def sample_facts(
        self, keys: Collection[str], attributes: Sequence[str] = ()
    ) -> dict[str, SampleFacts]:
        """Version, source file, organisms, some attributes and series of the stored samples
        among ``keys``, by key (keys of no stored sample are absent).

        Parameters
        ----------
        keys
            Sample keys.
        attributes
            Attribute keys as stored (``"Sample_taxid_ch1"``...) whose first value to read.
        """
        wanted = sorted(set(keys))
        rows: dict[str, Any] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), _KEY_CHUNK):
                for r in connection.execute(
                    select(
                        s.records.c.id,
                        s.records.c.key,
                        s.records.c.version,
                        s.records.c.source_sha256,
                        s.records.c.organisms,
                    ).where(
                        s.records.c.type == RecordType.SAMPLE.value,
                        s.records.c.key.in_(wanted[start : start + _KEY_CHUNK]),
                    )
                ):
                    rows[r.key] = r
            ids = {r.id: k for k, r in rows.items()}
            found: dict[str, dict[str, str]] = {}
            series: dict[str, list[str]] = {}
            id_list = list(ids)
            for start in range(0, len(id_list), _KEY_CHUNK):
                chunk = id_list[start : start + _KEY_CHUNK]
                if attributes:
                    for rid, k, v in connection.execute(
                        select(s.attributes.c.record_id, s.attributes.c.key, s.attributes.c.value)
                        .where(
                            s.attributes.c.record_id.in_(chunk),
                            s.attributes.c.key.in_(list(attributes)),
                        )
                        .order_by(s.attributes.c.record_id, s.attributes.c.position)
                    ):
                        found.setdefault(ids[rid], {}).setdefault(k, v)
                for rid, target in connection.execute(
                    select(s.relations.c.source_id, s.relations.c.target_key)
                    .where(s.relations.c.source_id.in_(chunk), s.relations.c.kind == "series")
                    .order_by(s.relations.c.source_id, s.relations.c.position)
                ):
                    series.setdefault(ids[rid], []).append(target)
        return {
            key: SampleFacts(
                key,
                r.version,
                r.source_sha256,
                r.organisms.split("; ") if r.organisms else [],
                found.get(key, {}),
                series.get(key, []),
            )
            for key, r in rows.items()
        }

    def record_origin(self, key: str) -> tuple[str | None, int] | None:
        """``(source file SHA-256, version)`` of the record whose key is ``key`` (exactly),
        None when there is none."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(s.records.c.source_sha256, s.records.c.version)
                .where(s.records.c.key == key)
                .order_by(s.records.c.id)
            ).first()
        return (row.source_sha256, row.version) if row is not None else None

    def kept_file(self, sha256: str) -> dict[str, Any] | None:
        """What the hub knows of an original file it keeps by checksum: ``{"sha256", "name",
        "size", "format", "imported_at"}`` (``imported_at`` ISO 8601), None when it keeps no
        file with that checksum."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(
                    s.files.c.sha256,
                    s.files.c.name,
                    s.files.c.size,
                    s.files.c.format,
                    s.files.c.imported_at,
                ).where(s.files.c.sha256 == sha256)
            ).first()
        if row is None:
            return None
        when = row.imported_at
        return {
            "sha256": row.sha256,
            "name": row.name,
            "size": row.size,
            "format": row.format,
            "imported_at": when.isoformat() if when is not None else None,
        }

    def platform_table_tag(self, key: str) -> str:
        """A tag of the stored data tables of a platform (its record's and its GEO
        annotation's): it changes when either table is replaced."""
        with self.engine.connect() as connection:
            ref = connection.execute(
                select(s.records.c.table_ref).where(
                    s.records.c.key == key, s.records.c.type == RecordType.PLATFORM.value
                )
            ).scalar()
            annot = connection.execute(
                select(s.platform_annotations.c.table_ref).where(
                    s.platform_annotations.c.platform_key == key
                )
            ).scalar()
        return f"{ref}:{annot}"

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
                # the kinds let the (kind, target_key) index answer: no scan of all relations
                .where(s.relations.c.kind.in_(_INCOMING_KINDS), s.relations.c.target_key == target)
                .order_by(s.records.c.id)
            )
            _add_incoming(out, incoming)
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
            conflicts = self.conflicts(row.key, connection=connection)
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
        data["conflicts"] = conflicts
        return record, data

    def revision(self, key: str, type: RecordType | None = None) -> str:
        """A short tag that changes whenever the record, or anything in the hub, is written
        (for HTTP caching: one cheap query)."""
        latest = select(func.max(s.records.c.updated_at)).scalar_subquery()
        query = select(s.records.c.version, s.records.c.updated_at, latest).where(
            _key_or_accession(key, type)
        )
        with self.engine.connect() as connection:
            row = connection.execute(query.order_by(s.records.c.id)).first()
        if row is None:
            what = f"{type.label} " if type else ""
            raise RecordNotFound(f"{what}{key} is not in the hub at {self.home}")
        return f"{row[0]}:{row[1].isoformat()}:{row[2].isoformat()}"

    def latest_write(self) -> datetime | None:
        """When a record was last added or replaced (None for an empty hub): a token that
        changes with every import (one index look-up)."""
        with self.engine.connect() as connection:
            value: datetime | None = connection.execute(
                select(func.max(s.records.c.updated_at))
            ).scalar_one_or_none()
        return value

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
                    select(s.records.c.id, *SUMMARY_COLUMNS).where(s.records.c.key.in_(chunk))
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
            bare = [k for k, v in out.items() if v["type"] == "GSE" and not v["organisms"]]
            if bare:  # GEO series records rarely name organisms: their samples' stand in
                from exprhub.hub.listing import sample_organisms_of_series

                for key, names in sample_organisms_of_series(connection, bare).items():
                    out[key]["organisms"] = names
        return out

    def records(
        self,
        type: RecordType | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[RecordSummary]:
        """Stored records (newest accession numbering order within type), optionally of one
        type, with paging (bounded as listings are: ``exprhub.hub.listing.check_listing_page``).
        """
        from exprhub.hub.listing import check_listing_page

        check_listing_page(limit, offset)
        query = select(*SUMMARY_COLUMNS).order_by(s.records.c.type, s.records.c.sort_key)
        if type is not None:
            query = query.where(s.records.c.type == type.value)
        if limit is not None:
            query = query.limit(limit)
        if offset:
            query = query.offset(offset)
        from exprhub.hub.listing import with_series_organisms

        with self.engine.connect() as connection:
            rows = [RecordSummary.from_row(r) for r in connection.execute(query)]
            return with_series_organisms(connection, rows)

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

    def conflicts(self, key: str, *, connection: Connection | None = None) -> list[dict[str, Any]]:
        """What imports refused to replace in a record (an incomplete table arriving with a
        newer version while the stored table had more rows), oldest first."""
        wanted = normalize_accession(key)
        query = (
            select(s.record_conflicts)
            .where(s.record_conflicts.c.key == wanted)
            .order_by(s.record_conflicts.c.id)
        )
        with self._reading(connection) as reading:
            rows = reading.execute(query).fetchall()
        return [
            {
                "version": r.version,
                "kind": r.kind,
                "message": r.message,
                "source_sha256": r.source_sha256,
                "recorded_at": r.recorded_at.isoformat(),
            }
            for r in rows
        ]

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
