"""Many records at once: their attributes in a few queries instead of a few per record (a
dataset bundle reads the metadata of thousands of samples)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select

from exprhub.hub import schema as s
from exprhub.hub.hub import Hub
from exprhub.records import TYPE_CLASSES, Record, RecordType

#: Keys per ``IN`` list (SQLite's bound-parameter limit is far above it).
CHUNK = 500


def load_records(hub: Hub, keys: Collection[str], type: RecordType) -> dict[str, Record]:
    """The stored records of ``type`` whose key is one of ``keys`` (exactly), by key, with
    all their attributes and column descriptions but without data tables (as
    ``hub.record(key, type, table=False)``); keys of no such record are absent."""
    wanted = sorted(set(keys))
    cls = TYPE_CLASSES[type]
    rows: dict[int, str] = {}
    seen: set[str] = set()
    attributes: dict[int, list[tuple[str, str]]] = {}
    columns: dict[int, list[tuple[str, str]]] = {}
    with hub.engine.connect() as connection:
        for start in range(0, len(wanted), CHUNK):
            query = select(s.records.c.id, s.records.c.key).where(
                s.records.c.type == type.value,
                s.records.c.key.in_(wanted[start : start + CHUNK]),
            )
            for rid, key in connection.execute(query.order_by(s.records.c.id)):
                if key not in seen:  # as hub.record: the first stored row of a key
                    seen.add(key)
                    rows[rid] = key
        ids = sorted(rows)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            for rid, key, value in connection.execute(
                select(s.attributes.c.record_id, s.attributes.c.key, s.attributes.c.value)
                .where(s.attributes.c.record_id.in_(chunk))
                .order_by(s.attributes.c.record_id, s.attributes.c.position)
            ):
                attributes.setdefault(rid, []).append((key, value))
            for rid, name, description in connection.execute(
                select(s.columns.c.record_id, s.columns.c.name, s.columns.c.description)
                .where(s.columns.c.record_id.in_(chunk))
                .order_by(s.columns.c.record_id, s.columns.c.position)
            ):
                columns.setdefault(rid, []).append((name, description))
    return {
        key: cls(key, attributes.get(rid, []), columns.get(rid, []), None)
        for rid, key in rows.items()
    }
