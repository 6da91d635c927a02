"""The new records of a file are inserted together (one ``INSERT ... RETURNING`` for a family
file's samples), and a first labelling reads the stored labels once and deletes nothing: the hub
then holds exactly what inserting each record on its own stored, on SQLite and PostgreSQL."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

import pytest
from sqlalchemy import event, select

from exprhub.formats.detect import read_records
from exprhub.hub import Hub, HubWriter
from exprhub.hub import schema as s
from exprhub.ingest.importer import import_file
from tests.conftest import _fresh_postgres_database

FAMILIES = [
    "gemma/GSE2870_family.soft.gz",
    "gemma/GSE432_family.soft.gz",
    "gemma/GSE29006_family.soft.gz",
    "gemma/GDS334.soft.gz",
]
#: Columns that differ between two hubs holding the same content.
_PER_HUB = {"id", "record_id", "source_id", "created_at", "updated_at", "labelled_at"}


def _statements(hub: Hub) -> list[str]:
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    event.listen(hub.engine, "before_cursor_execute", note)
    return seen


def _contents(hub: Hub) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored record and the rows that hang off it, by record type and key."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with hub.engine.connect() as connection:
        keys = {row.id: (row.type, row.key) for row in connection.execute(select(s.records))}
        for table in (s.records, s.attributes, s.columns, s.relations, s.characteristics):
            owner = table.c.get("record_id", table.c.get("source_id", table.c.get("id")))
            rows = []
            for row in connection.execute(select(table)):
                mapping = row._mapping
                kept = tuple(v for k, v in mapping.items() if k not in _PER_HUB)
                rows.append((keys[mapping[owner.name]], *kept))
            out[table.name] = sorted(rows, key=repr)
        for table in (s.sample_labels, s.files, s.matrix_columns):
            rows = [
                tuple(v for k, v in r._mapping.items() if k not in _PER_HUB | {"imported_at"})
                for r in connection.execute(select(table))
            ]
            out[table.name] = sorted(rows, key=repr)
    return out


@pytest.fixture
def one_by_one(monkeypatch):
    """Make every put insert its record at once (as before batching): reading the writer's
    connection sends the records waiting for their INSERT."""
    put = HubWriter.put

    def put_and_insert(self, record, **kwargs):
        outcome = put(self, record, **kwargs)
        assert self.connection is not None
        return outcome

    def apply() -> None:
        monkeypatch.setattr(HubWriter, "put", put_and_insert)

    return apply


def test_batched_inserts_store_what_one_by_one_inserts_do(
    make_hub, database_url, tmp_path, geo_fixtures, one_by_one
):
    batched = make_hub("batched")
    statements = _statements(batched)
    import_file(batched, geo_fixtures / FAMILIES[0])
    # a first labelling deletes nothing and reads the stored labels once
    assert not [x for x in statements if x.startswith("DELETE FROM sample_labels")]
    assert len([x for x in statements if "FROM sample_labels" in x]) == 1
    for name in FAMILIES[1:]:
        import_file(batched, geo_fixtures / name)
    record_inserts = [x for x in statements if x.startswith("INSERT INTO records ")]
    stored = _contents(batched)
    n_records = len(stored["records"])
    assert n_records > 30
    assert len(record_inserts) < n_records / 4

    one_by_one()
    with ExitStack() as stack:
        # a hub of its own (make_hub's hubs share one PostgreSQL database)
        url = None if database_url is None else stack.enter_context(_fresh_postgres_database())
        single = Hub.init(tmp_path / "single", database_url=url)
        stack.callback(single.close)
        statements = _statements(single)
        for name in FAMILIES:
            import_file(single, geo_fixtures / name)
        assert len([x for x in statements if x.startswith("INSERT INTO records ")]) >= n_records
        assert _contents(single) == stored
    assert stored["sample_labels"] and stored["characteristics"] and stored["matrix_columns"]

    # importing again changes nothing, either way
    for name in FAMILIES:
        import_file(batched, geo_fixtures / name)
    assert _contents(batched) == stored


def test_a_failed_file_leaves_none_of_its_waiting_records(make_hub, geo_fixtures):
    hub = make_hub()
    family = geo_fixtures / "gemma/GSE2870_family.soft.gz"
    records = [r for r in read_records(family)[0] if r.type is not None]
    with pytest.raises(RuntimeError), hub.writer() as writer:
        for record in records:
            writer.put(record)
        raise RuntimeError("interrupted before the records were sent")
    with pytest.raises(RuntimeError), hub.writer() as writer:
        for record in records:
            writer.put(record)
        writer.connection  # noqa: B018 - sends the waiting records
        raise RuntimeError("interrupted after the records were sent")
    assert _contents(hub)["records"] == []
    import_file(hub, family)
    assert len(_contents(hub)["records"]) == len(records)
