"""One writer at a time: syncs take the index's write lock for their duration only, searches
of one process sync once after an outside write, and a busy index defers instead of failing.

Each test runs on a tantivy index (SQLite hub) and on a PostgreSQL index (PostgreSQL hub).
Two :class:`HubSearch` objects on one hub stand for two processes: the tantivy lock is an
``flock`` of an open file, which two opens in one process contend for just as two processes do.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from exprhub.ingest.importer import import_file
from exprhub.search import SearchDocument, TantivyIndex
from exprhub.search.document import IndexBusy
from exprhub.search.hub_index import HubSearch

SERIES = "gemma/GSE2870_family.soft.gz"
SAMPLE = "gemma/GSM5230452.xml"


@pytest.fixture
def indexed_hub(make_hub):
    """A hub holding GSE2870 (with its platform and samples), indexed."""
    hub = make_hub(files=(SERIES,))
    with HubSearch(hub) as engine:
        engine.sync()
    return hub


def test_parallel_searches_after_an_outside_write_sync_once(indexed_hub, geo_fixtures, monkeypatch):
    with HubSearch(indexed_hub) as engine:
        import_file(indexed_hub, geo_fixtures / SAMPLE)  # in the hub, not yet in the index
        added: list[str] = []
        index_add = engine.index.add

        def counted_add(docs):  # type: ignore[no-untyped-def]
            batch = list(docs)
            added.extend(d.accession for d in batch)
            return index_add(batch)

        monkeypatch.setattr(engine.index, "add", counted_add)
        start = threading.Barrier(8)

        def search(_: int) -> int:
            start.wait()
            return engine.search("GSM5230452[ACCN]").total

        with ThreadPoolExecutor(8) as pool:
            totals = list(pool.map(search, range(8)))
    assert totals == [1] * 8
    assert added == ["GSM5230452"]  # one thread synced; the others waited for it


def test_the_write_lock_is_free_between_syncs(indexed_hub, geo_fixtures):
    with HubSearch(indexed_hub) as server, HubSearch(indexed_hub) as other:
        assert server.search("GSE2870[ACCN]").total == 1  # the long-lived reader and writer
        import_file(indexed_hub, geo_fixtures / SAMPLE)
        assert server.sync() == 1
        assert other.sync(wait=0, full=True) > 1  # free the moment the server's sync ended
        assert other.search("GSM5230452[ACCN]").total == 1
        assert server.search("GSM5230452[ACCN]").total == 1  # sees the other's commit


def test_a_busy_index_defers_and_the_next_sync_catches_up(indexed_hub, geo_fixtures):
    with HubSearch(indexed_hub) as holder, HubSearch(indexed_hub) as engine:
        import_file(indexed_hub, geo_fixtures / SAMPLE)
        with holder.index.writing():
            with pytest.raises(IndexBusy, match="is being written by"):
                engine.sync(wait=0)
            assert engine.try_sync(wait=0) is None
            assert engine.catch_up(wait=0) is False
            assert engine.is_stale()  # the watermark has not passed the new records
            assert engine.index.search("GSM5230452[ACCN]").total == 0  # last committed state
            assert engine.index.search("GSE2870[ACCN]").total == 1
        assert engine.search("GSM5230452[ACCN]").total == 1
        assert not holder.is_stale()


def test_a_writer_outside_writing_makes_others_busy_not_failing(tmp_path):
    """tantivy's own writer lock (a writer that did not take ``writing()``) reads as busy,
    never as a ValueError, which the API would report as a bad query."""
    doc = SearchDocument("GSE1", "GSE", "liver")
    with TantivyIndex(tmp_path / "index") as first, TantivyIndex(tmp_path / "index") as second:
        first.add([doc])
        with pytest.raises(IndexBusy):
            second.add([doc])
        first.commit()  # committing releases tantivy's writer
        second.add([SearchDocument("GSE2", "GSE", "kidney")])
        second.commit()
        assert first.count() == second.count() == 2
