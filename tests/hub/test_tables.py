"""Stored record tables: the shared first column, reading tables written before it, and the
writer's bulk SQL, on SQLite and PostgreSQL (``make_hub``)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from exprhub.hub import Hub
from exprhub.records import Platform, RecordType, Sample, Table
from exprhub.storage import blobs
from exprhub.storage.bulk import RowBuffer
from tests.hub.test_hub import crash_after_flush, hub_snapshot, make_sample

N = 1200  # above SHARED_COLUMN_MIN_ROWS: the first column is stored apart


def probe_ids(n: int = N) -> list[str]:
    return [f"{i}_at" for i in range(n)]


def big_platform(n: int = N) -> Platform:
    ids = probe_ids(n)
    return Platform(
        "GPL900",
        [("Platform_title", "big array"), ("Platform_geo_accession", "GPL900")],
        [("ID", ""), ("Gene Symbol", "")],
        Table(["ID", "Gene Symbol"], [ids, [f"G{i % 97}" for i in range(n)]]),
    )


def big_sample(acc: str, seed: int, n: int = N, *, date: str = "Jan 05 2004") -> Sample:
    rng = np.random.default_rng(seed)
    values = [f"{v:.3f}" for v in rng.lognormal(5, 1, n)]
    values[3] = "null"
    sample = make_sample(acc, values, probe_ids(n), date=date)
    assert sample.table is not None
    # a fresh list per sample: equal IDs, distinct objects (as a parser yields them)
    names = [*sample.table.names, "DETECTION P-VALUE"]
    p_values = [f"{v:.4f}" for v in rng.random(n)]
    return Sample(
        sample.id,
        sample.attributes,
        sample.columns,
        Table(names, [*sample.table.columns, p_values]),
    )


def table_files(hub: Hub) -> list[Path]:
    return sorted(p for p in (hub.home / "tables").rglob("*.parquet"))


def test_first_column_is_stored_once(make_hub):
    hub = make_hub()
    records = [big_platform(), big_sample("GSM1", 1), big_sample("GSM2", 2)]
    hub.put_records(records)
    # the platform's table, the samples' two tables and one blob holding the probe IDs
    files = table_files(hub)
    assert len(files) == 4
    column_blobs = [p for p in files if blobs.table_from_parquet(p).names == [""]]
    assert len(column_blobs) == 1
    assert blobs.table_from_parquet(column_blobs[0]).columns[0].tolist() == probe_ids()
    for original in records:
        stored = hub.record(original.key, original.type)
        assert stored == original
        assert stored.table is not None and stored.table.columns[0].tolist() == probe_ids()
    features, values = hub.sample_values("GSM2")
    assert features == probe_ids()
    expected = records[2].table.numeric("VALUE").astype(np.float32)  # type: ignore[union-attr]
    np.testing.assert_array_equal(values, expected)


def test_small_tables_keep_every_column(make_hub):
    hub = make_hub()
    hub.put_records([big_platform(50), big_sample("GSM1", 1, 50)])
    files = table_files(hub)
    assert len(files) == 2
    for path in files:
        assert pq.read_table(path).num_columns == len(blobs.table_from_parquet(path).names)


def test_same_input_gives_same_table_digests(tmp_path):
    from sqlalchemy import select

    from exprhub.hub import schema as s

    stored = []
    for name in ("one", "two"):
        with Hub.init(tmp_path / name) as hub:
            hub.put_records([big_platform(), big_sample("GSM1", 1), big_sample("GSM2", 2)])
            with hub.engine.connect() as connection:
                query = select(s.records.c.key, s.records.c.table_ref)
                refs = {k: ref for k, ref in connection.execute(query)}
            stored.append((refs, [p.name for p in table_files(hub)]))
    assert stored[0] == stored[1]
    assert len(set(stored[0][0].values())) == 3


def test_tables_written_before_sharing_are_read(tmp_path):
    """A table file in the first format (every column stored, names in the metadata)."""
    names = ["ID_REF", "VALUE", "VALUE"]
    columns = [probe_ids(), [str(i) for i in range(N)], ["x"] * N]
    arrays = [pa.array(c, type=pa.large_string()) for c in columns]
    frame = pa.Table.from_arrays(arrays, names=["c0", "c1", "c2"])
    frame = frame.replace_schema_metadata({"exprhub.names": json.dumps(names)})
    buffer = io.BytesIO()
    pq.write_table(frame, buffer, compression="zstd", use_dictionary=False, write_statistics=False)
    directory = blobs.BlobDirectory(tmp_path / "tables", ".parquet")
    digest, _ = directory.put_bytes(buffer.getvalue())
    assert blobs.table_from_parquet(directory.path(digest)) == Table(names, columns)
    # and a table without a shared column is still written exactly so
    assert blobs.table_to_parquet(Table(names, columns)) == buffer.getvalue()


def test_failed_write_removes_shared_column(make_hub):
    hub = make_hub()
    hub.put_records([make_sample("GSM9", ["1"], ["p1"])])
    before = hub_snapshot(hub)

    class Boom(RuntimeError):
        pass

    with pytest.raises(Boom), hub.writer() as writer:
        writer.put(big_platform())
        writer.put(big_sample("GSM1", 1))
        writer.flush()  # tables, shared column and matrix all written
        raise Boom("after the files were written")
    assert hub_snapshot(hub) == before


def test_crash_leaves_shared_column_to_be_cleaned(make_hub, database_url):
    hub = make_hub()
    hub.put_records([make_sample("GSM9", ["1"], ["p1"])])
    before = hub_snapshot(hub)
    code = crash_after_flush(
        hub,
        database_url,
        "from tests.hub.test_tables import big_platform, big_sample",
        '[big_platform(), big_sample("GSM1", 1)]',
    )
    assert code == 9
    orphans = set(hub_snapshot(hub)["files"]) - set(before["files"])
    assert len(orphans) == 3  # two tables and the shared column
    hub.put_records([make_sample("GSM8", ["2"], ["p1"])])
    assert not any((hub.home / path).exists() for path in orphans)


def test_replaced_twice_in_one_transaction_keeps_history(make_hub):
    """The version replaced within the same write is archived with its attributes."""
    hub = make_hub()
    first = make_sample("GSM1", ["1", "2", "3"], date="Jan 05 2004")
    second = make_sample("GSM1", ["4", "5", "6"], date="Feb 05 2004")
    assert hub.put_records([first, second]) == ["added", "updated"]
    assert hub.record("GSM1") == second
    history = hub.history("GSM1")
    assert [h["version"] for h in history] == [1]
    assert history[0]["record"]["attributes"] == [list(a) for a in first.attributes]
    assert hub.summary("GSM1")["characteristics"]["ch1"][0] == ["tissue", "liver"]


def test_row_buffer_with_named_parameters(make_hub, monkeypatch):
    """Drivers with other parameter styles get their rows bound by SQLAlchemy."""
    from exprhub.hub import schema as s
    from exprhub.storage import bulk

    hub = make_hub()
    hub.put_records([make_sample("GSM1", ["1"], ["p1"])])
    record_id = hub._find_row("GSM1").id
    monkeypatch.setattr(bulk, "_PLACEHOLDERS", {})
    with hub.engine.begin() as connection:
        buffer = RowBuffer(connection, limit=2)
        buffer.add(s.relations, (record_id, "series", "GSE2", 5))
        buffer.flush_if_full()
        buffer.add(s.relations, (record_id, "series", "GSE3", 6))
        buffer.flush_if_full()
        buffer.flush()
    assert hub.related("GSM1")["series"] == ["GSE900", "GSE2", "GSE3"]
    assert hub.record("GSM1", RecordType.SAMPLE).get("series_id") == "GSE900"
