"""The queries every API request and search makes never scan a whole table.

A record's ETag (``Hub.revision``: the record plus the hub's latest write), a record looked up
by accession with or without its type, and the search index's staleness check run once per
request; at a million samples a full scan of ``records`` costs about half a second each, one
of ``relations`` (several rows per sample) more. Checked with SQLite's
``EXPLAIN QUERY PLAN`` on the statements the hub actually sends (no timing involved).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from exprhub.hub import Hub
from exprhub.hub.listing import list_records
from exprhub.records import RecordType
from exprhub.search.hub_index import HubSearch
from tests.hub.test_hub import all_records


@contextmanager
def _statements(hub: Hub) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements (with parameters) the hub sends inside the block."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        seen.append((statement, parameters))

    event.listen(hub.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(hub.engine, "before_cursor_execute", record)


#: What a plan line reading ``records`` must use: an equality on the key or the accession, the
#: row id, or the ``updated_at`` index (for the latest write). A scan, or a search on the
#: record type alone, reads a large part of the table.
_SELECTIVE = ("key=", "accession=", "PRIMARY KEY", "ix_records_updated_at")
#: Tables that grow with the number of records.
_LARGE = ("records", "relations", "attributes", "columns", "characteristics")


def _plans(hub: Hub, statements: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    """Each plan line of ``statements``, with its statement."""
    lines = []
    raw = hub.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in statements:
            cursor.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
            lines += [(row[3], statement) for row in cursor.fetchall()]
    finally:
        raw.close()
    return lines


def _full_scans(hub: Hub, statements: list[tuple[str, Any]]) -> list[str]:
    """Plan lines of ``statements`` that scan a large table, or read all records of a type."""
    scans = []
    for line, statement in _plans(hub, statements):
        verb, _, rest = line.partition(" ")
        table = rest.split(" ")[0]
        if table not in _LARGE:
            continue
        unselective = table == "records" and not any(m in rest for m in _SELECTIVE)
        if verb == "SCAN" or (verb == "SEARCH" and unselective):
            scans.append(f"{line}  <-  {statement}")
    return scans


@pytest.fixture
def hub(tmp_path: Any) -> Iterator[Hub]:
    opened = Hub.init(tmp_path / "hub")  # SQLite: its plans are what this test reads
    opened.put_records(all_records())
    yield opened
    opened.close()


LOOKUPS: dict[str, Callable[[Hub], object]] = {
    "revision by type": lambda hub: hub.revision("GSM1", RecordType.SAMPLE),
    "revision by accession alone": lambda hub: hub.revision("GSM1"),
    "record by type": lambda hub: hub.record("GSM1", RecordType.SAMPLE, table=False),
    "record by accession alone": lambda hub: hub.record("GSM1", table=False),
    "record and summary": lambda hub: hub.record_and_summary("GSE900", RecordType.SERIES),
    "briefs": lambda hub: hub.briefs(["GSM1", "GSM2", "GPL900"]),
    "search staleness": lambda hub: HubSearch(hub).is_stale(),
}


@pytest.mark.parametrize("name", list(LOOKUPS))
def test_request_queries_use_indexes(hub: Hub, name: str) -> None:
    with _statements(hub) as statements:
        LOOKUPS[name](hub)
    assert any("records" in statement for statement, _ in statements)
    assert _full_scans(hub, statements) == []


@pytest.mark.parametrize(
    "page",
    [
        lambda hub: list_records(hub, RecordType.SAMPLE, limit=1, offset=1),
        lambda hub: hub.records(RecordType.SAMPLE, limit=1, offset=1),
    ],
    ids=["list_records", "Hub.records"],
)
def test_listing_pages_are_read_in_index_order(hub: Hub, page: Callable[[Hub], object]) -> None:
    """A page is read from the (type, sort_key) index in order: no sort of every record."""
    with _statements(hub) as statements:
        page(hub)
    paged = [(st, p) for st, p in statements if "ORDER BY" in st and "records" in st]
    assert paged
    lines = [line for line, _ in _plans(hub, paged)]
    assert not [line for line in lines if "TEMP B-TREE FOR ORDER BY" in line], lines
