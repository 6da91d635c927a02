"""Hub round trips, relations, replacement with history and transactional failure, on SQLite
and PostgreSQL (the ``database_url`` fixture runs every test on both)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from exprhub.hub import Hub, HubError, HubNotFound, RecordNotFound
from exprhub.hub import schema as s
from exprhub.records import DataSet, Platform, RecordType, Sample, Series, Subset, Table


def make_platform() -> Platform:
    return Platform(
        "GPL900",
        [
            ("Platform_title", "Test array"),
            ("Platform_geo_accession", "GPL900"),
            ("Platform_status", "Public on Jan 02 2004"),
            ("Platform_technology", "in situ oligonucleotide"),
            ("Platform_organism", "Homo sapiens"),
            ("Platform_description", "line one"),
            ("Platform_description", ""),
            ("Platform_description", "line three"),
        ],
        [("ID", "probe id"), ("Gene Symbol", "symbol")],
        Table(["ID", "Gene Symbol"], [["p1", "p2", "p3"], ["A", "B /// C", "02-Sep"]]),
    )


def make_sample(
    acc: str, values: list[str], ids: list[str] | None = None, *, date: str = "Jan 05 2004"
) -> Sample:
    ids = ids or ["p1", "p2", "p3"][: len(values)]
    return Sample(
        acc,
        [
            ("Sample_title", f"sample {acc} – naïve"),
            ("Sample_geo_accession", acc),
            ("Sample_status", "Public on Jan 02 2004"),
            ("Sample_submission_date", "Jan 01 2004"),
            ("Sample_last_update_date", date),
            ("Sample_channel_count", "2"),
            ("Sample_organism_ch1", "Homo sapiens"),
            ("Sample_characteristics_ch1", "tissue: liver"),
            ("Sample_characteristics_ch1", "age: 45 years"),
            ("Sample_characteristics_ch1", "free text"),
            ("Sample_organism_ch2", "Homo sapiens"),
            ("Sample_characteristics_ch2", "reference: pooled"),
            ("Sample_platform_id", "GPL900"),
            ("Sample_series_id", "GSE900"),
        ],
        [("ID_REF", ""), ("VALUE", "log ratio")],
        Table(["ID_REF", "VALUE"], [ids, values]),
    )


def make_series() -> Series:
    return Series(
        "GSE900",
        [
            ("Series_title", "A series"),
            ("Series_geo_accession", "GSE900"),
            ("Series_summary", "This SuperSeries is composed of the SubSeries listed below."),
            ("Series_relation", "SuperSeries of: GSE901"),
            ("Series_relation", "SubSeries of: GSE899"),
            ("Series_sample_id", "GSM1"),
            ("Series_sample_id", "GSM2"),
            ("Series_platform_id", "GPL900"),
            ("Series_contributor", "Jane,,Doe"),
            ("Series_contributor", "John,Q,Public"),
        ],
    )


def make_dataset() -> tuple[DataSet, list[Subset]]:
    gds = DataSet(
        "GDS900",
        [
            ("dataset_title", "curated"),
            ("dataset_platform", "GPL900"),
            ("dataset_reference_series", "GSE900"),
            ("dataset_value_type", "count"),
            ("dataset_update_date", "Mar 04 2004"),
        ],
        [
            ("ID_REF", ""),
            ("IDENTIFIER", ""),
            ("GSM1", "Value for GSM1"),
            ("GSM2", "Value for GSM2"),
        ],
        Table(
            ["ID_REF", "IDENTIFIER", "GSM1", "GSM2"],
            [["p1", "p2"], ["A", "B"], ["1.5", "null"], ["2", "3"]],
        ),
    )
    subsets = [
        Subset(
            "GDS900_1",
            [
                ("subset_dataset_id", "GDS900"),
                ("subset_description", "RCC"),
                ("subset_sample_id", "GSM1"),
                ("subset_type", "disease state"),
            ],
        ),
        Subset(
            "GDS900_2",
            [
                ("subset_dataset_id", "GDS900"),
                ("subset_description", "normal"),
                ("subset_sample_id", "GSM2"),
                ("subset_type", "disease state"),
            ],
        ),
    ]
    return gds, subsets


def all_records():
    gds, subsets = make_dataset()
    return [
        make_series(),
        make_platform(),
        make_sample("GSM1", ["1.0", "2.5", "null"]),
        make_sample("GSM2", ["4", "5"], ["p3", "p1"]),
        gds,
        *subsets,
    ]


def hub_snapshot(hub: Hub) -> dict:
    """Everything observable about a hub: records with attributes and tables, relations,
    matrix contents and the files on disk (by content)."""
    state: dict = {"counts": hub.counts(), "records": {}, "matrices": {}, "files": {}}
    for summary in hub.records():
        record = hub.record(summary.key, RecordType(summary.type))
        state["records"][(summary.type, summary.key)] = (
            record.attributes,
            record.columns,
            None if record.table is None else [c.tolist() for c in record.table.columns],
            hub.related(summary.key),
            summary.version,
        )
    for m in hub.info()["matrices"]:
        name = m["name"]
        samples = hub.matrix_samples(name)
        data = hub.store.open(name).columns([c for _, c in samples], m["rows"]) if samples else None
        state["matrices"][name] = (
            hub.matrix_features(name),
            samples,
            None if data is None else np.nan_to_num(data, nan=-1).tolist(),
        )
    for path in sorted(hub.home.rglob("*")):
        if path.is_file() and path.suffix not in (".sqlite", ".lock") and "sqlite" not in path.name:
            rel = path.relative_to(hub.home)
            if rel.parts[0] in ("tables", "files"):
                state["files"][str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def crash_after_flush(hub: Hub, database_url: str | None, imports: str, records: str) -> int:
    """Run ``hub.put_records(<records>)`` in a child process killed right after the writer's
    flush (files and arrays written, SQL not committed); the child's exit code (9).

    ``imports`` is the Python line that brings the names ``records`` uses into scope.
    """
    script = textwrap.dedent(
        f"""
        import os
        from exprhub.hub import Hub
        from exprhub.hub import writer as w
        {imports}
        hub = Hub({str(hub.home)!r}, database_url={database_url!r})
        original = w.HubWriter.flush
        def crash(self):
            original(self)
            os._exit(9)
        w.HubWriter.flush = crash
        hub.put_records({records})
        """
    )
    return subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[2]).returncode


def test_round_trip_every_record_type(make_hub):
    hub = make_hub()
    records = all_records()
    outcomes = hub.put_records(records)
    assert outcomes == ["added"] * len(records)
    for original in records:
        stored = hub.record(original.key, original.type)
        assert stored == original, original.key
    assert hub.counts() == {"GSE": 1, "GSM": 2, "GPL": 1, "GDS": 1, "SUBSET": 2}


def test_round_trip_survives_reopen(make_hub, tmp_path, database_url):
    hub = make_hub()
    hub.put_records(all_records())
    hub.close()
    again = Hub(tmp_path / "hub", database_url=database_url)
    assert again.record("GSM1") == all_records()[2]
    again.close()


def test_relations_both_directions(make_hub):
    hub = make_hub()
    hub.put_records(all_records())
    series = hub.related("GSE900")
    assert series["sample"] == ["GSM1", "GSM2"]
    assert series["platform"] == ["GPL900"]
    assert series["subseries"] == ["GSE901"]
    assert series["superseries"] == ["GSE899"]
    assert series["dataset"] == ["GDS900"]
    sample = hub.related("GSM1")
    assert sample["platform"] == ["GPL900"] and sample["series"] == ["GSE900"]
    assert sample["subset"] == ["GDS900_1"]
    assert hub.related("GDS900")["subset"] == ["GDS900_1", "GDS900_2"]
    assert set(hub.related("GPL900")["sample"]) == {"GSM1", "GSM2"}


def test_characteristics_and_summary(make_hub):
    hub = make_hub()
    hub.put_records(all_records())
    data = hub.summary("gsm1")
    assert data["characteristics"]["ch1"] == [
        ["tissue", "liver"],
        ["age", "45 years"],
        ["", "free text"],
    ]
    assert data["characteristics"]["ch2"] == [["reference", "pooled"]]
    assert data["submission_date"] == "2004-01-01"
    assert data["release_date"] == "2004-01-02"
    assert data["table"] == {"rows": 3, "columns": 2}


def test_platform_matrix_assembly(make_hub):
    hub = make_hub()
    hub.put_records(all_records())
    features, values = hub.sample_values("GSM2")
    assert features == ["p1", "p2", "p3"]
    np.testing.assert_array_equal(values, np.array([5, np.nan, 4], dtype=np.float32))
    samples, row = hub.feature_values("GPL900", "p1")
    assert samples == ["GSM1", "GSM2"]
    np.testing.assert_array_equal(row, np.array([1.0, 5.0], dtype=np.float32))
    # the DataSet's own table is a matrix too
    assert hub.matrix_samples("dataset/GDS900") == [("GSM1", 0), ("GSM2", 1)]


def test_idempotent_and_newer_replaces_with_history(make_hub):
    hub = make_hub()
    hub.put_records(all_records())
    before = hub_snapshot(hub)
    assert set(hub.put_records(all_records())) == {"unchanged"}
    assert hub_snapshot(hub) == before

    newer = make_sample("GSM1", ["9", "9", "9"], date="Feb 01 2010")
    assert hub.put_records([newer]) == ["updated"]
    assert hub.record("GSM1") == newer
    history = hub.history("GSM1")
    assert [h["version"] for h in history] == [1]
    assert history[0]["record"]["attributes"][4] == ["Sample_last_update_date", "Jan 05 2004"]
    _, values = hub.sample_values("GSM1")
    np.testing.assert_array_equal(values, [9, 9, 9])
    samples, _ = hub.feature_values("GPL900", "p1")
    assert samples == ["GSM2", "GSM1"]
    # an older version arriving later does not replace the newer one
    assert hub.put_records([make_sample("GSM1", ["0", "0", "0"])]) == ["older-kept-newer"]
    assert hub.record("GSM1") == newer


def test_failed_write_leaves_no_trace(make_hub, tmp_path):
    hub = make_hub()
    hub.put_records(all_records()[:3])
    before = hub_snapshot(hub)
    source = tmp_path / "input.txt"
    source.write_text("original file")

    class Boom(RuntimeError):
        pass

    with pytest.raises(Boom), hub.writer() as writer:
        writer.keep_file(source)
        for record in all_records()[3:]:
            writer.put(record)
        writer.put(make_sample("GSM1", ["7", "7", "7"], date="Jan 01 2020"))
        raise Boom("disk full in the middle of an import")
    assert hub_snapshot(hub) == before


def test_failure_inside_array_write_leaves_no_trace(make_hub, monkeypatch):
    hub = make_hub()
    hub.put_records(all_records()[:3])
    before = hub_snapshot(hub)
    from exprhub.storage import arrays

    original = arrays.Matrix.append_columns
    calls = {"n": 0}

    def failing(self, start_column, values):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        return original(self, start_column, values)

    monkeypatch.setattr(arrays.Matrix, "append_columns", failing)
    with pytest.raises(OSError):
        hub.put_records([*all_records()[3:], make_sample("GSM7", ["1", "2", "3"])])
    monkeypatch.undo()
    assert hub_snapshot(hub) == before
    # and the hub still works afterwards
    hub.put_records(all_records()[3:])
    assert hub.counts()["GSM"] == 2


def test_keep_file_by_checksum(make_hub, tmp_path):
    hub = make_hub()
    source = tmp_path / "GSE900_family.soft"
    source.write_text("^SERIES = GSE900\n")
    with hub.writer() as writer:
        digest = writer.keep_file(source, format="soft")
        again = writer.keep_file(source, format="soft")
    assert digest == again == hashlib.sha256(source.read_bytes()).hexdigest()
    assert hub.files.path(digest).read_bytes() == source.read_bytes()
    assert hub.info()["files"] == 1


def test_keep_file_in_background_fills_in_the_digest(make_hub, tmp_path, monkeypatch):
    hub = make_hub()
    source = tmp_path / "GSE901_family.soft"
    source.write_text("^SERIES = GSE901\n")
    release = threading.Event()
    put_file = hub.files.put_file

    def slow_put_file(path, before_create=None):
        assert release.wait(10)
        return put_file(path, before_create)

    monkeypatch.setattr(hub.files, "put_file", slow_put_file)
    with hub.writer() as writer:
        kept = writer.keep_file_in_background(source, format="soft")
        writer.put(make_series(), source_sha256=kept)
        assert kept.digest_if_known() is None  # stored before the digest was known
        release.set()
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert kept.digest() == digest
    with hub.engine.connect() as connection:
        stored = connection.execute(select(s.records.c.source_sha256)).scalars().all()
        files = connection.execute(select(s.files.c.sha256, s.files.c.format)).all()
    assert stored == [digest]
    assert [tuple(f) for f in files] == [(digest, "soft")]
    assert hub.files.path(digest).read_bytes() == source.read_bytes()


def test_keep_file_in_background_failure_leaves_the_hub_unchanged(make_hub, tmp_path, monkeypatch):
    hub = make_hub()
    hub.put_records(all_records()[:3])
    before = hub_snapshot(hub)
    source = tmp_path / "GSE902_family.soft"
    source.write_text("^SERIES = GSE902\n")

    def full_disk(path, before_create=None):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(hub.files, "put_file", full_disk)
    with pytest.raises(OSError, match="No space left"), hub.writer() as writer:
        kept = writer.keep_file_in_background(source)
        for record in all_records()[3:]:
            writer.put(record, source_sha256=kept)
    assert hub_snapshot(hub) == before


def test_missing_things_give_clear_errors(make_hub, tmp_path):
    hub = make_hub()
    with pytest.raises(RecordNotFound, match="GSE12345 is not in the hub"):
        hub.record("GSE12345")
    with pytest.raises(HubNotFound, match="no hub at"):
        Hub(tmp_path / "nowhere")


def test_unreachable_database_is_one_line(tmp_path):
    with pytest.raises(HubError, match="cannot open database"):
        Hub.init(tmp_path / "h", database_url="postgresql+psycopg://nobody:x@127.0.0.1:1/none")


def test_listing_and_paging(make_hub):
    hub = make_hub()
    hub.put_records(all_records())
    keys = [r.key for r in hub.records(RecordType.SAMPLE)]
    assert keys == ["GSM1", "GSM2"]
    assert [r.key for r in hub.records(RecordType.SAMPLE, limit=1, offset=1)] == ["GSM2"]
    assert hub.records(RecordType.SERIES)[0].as_dict()["title"] == "A series"


def test_submission_style_names(make_hub):
    hub = make_hub()
    sample = Sample("Control Embryonic Stem Cell Replicate 1", [("SAMPLE_title", "x")])
    hub.put_records([sample])
    assert hub.record("Control Embryonic Stem Cell Replicate 1") == sample
    assert hub.records(RecordType.SAMPLE)[0].accession is None


def test_home_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPRHUB_HOME", str(tmp_path / "envhub"))
    monkeypatch.delenv("EXPRHUB_DATABASE_URL", raising=False)
    with Hub.init() as hub:
        assert hub.home == Path(tmp_path / "envhub")
        assert (hub.home / "exprhub.sqlite").exists()


def test_platform_annotation_round_trip(make_hub):
    from exprhub.records import Annotation

    hub = make_hub()
    annot = Annotation(
        "GPL900",
        [("Annotation_date", "06/20/2008 15:39:40"), ("Annotation_platform", "GPL900")],
        [("ID", "ID from Platform data table"), ("GO:Function", "term"), ("GO:Function", "id")],
        Table(["ID", "GO:Function", "GO:Function"], [["p1"], ["binding"], ["GO:0005488"]]),
    )
    with hub.writer() as writer:
        assert writer.put_annotation(annot) == "added"
    with hub.writer() as writer:
        assert writer.put_annotation(annot) == "unchanged"
    assert hub.annotation("gpl900") == annot
    assert hub.annotation("GPL1") is None


def test_crash_mid_write_is_cleaned_before_the_next_write(make_hub, tmp_path, database_url):
    """A process killed between the array append and the SQL commit leaves cells beyond the
    committed extent; the next write cuts them away before appending."""
    hub = make_hub()
    hub.put_records(all_records()[:3])
    before = hub_snapshot(hub)
    # killed after the arrays were written, before the SQL commit
    code = crash_after_flush(
        hub,
        database_url,
        "from tests.hub.test_hub import make_sample",
        '[make_sample("GSM5", ["8", "8", "8"], ["p1", "p2", "new-probe"])]',
    )
    assert code == 9
    assert (hub.home / ".write-in-progress").exists() or (
        hub.home / ".write-in-progress.blobs"
    ).exists()
    snapshot = hub_snapshot(hub)
    orphans = set(snapshot.pop("files")) - set(before["files"])
    assert len(orphans) == 1  # the crashed write's table file, not referenced by anything
    assert snapshot == {k: v for k, v in before.items() if k != "files"}
    hub.put_records([make_sample("GSM6", ["1", "1"], ["p1", "p2"])])
    assert not any((hub.home / path).exists() for path in orphans)
    assert not list(hub.home.glob(".write-in-progress*"))
    features, values = hub.sample_values("GSM6")
    assert features == ["p1", "p2", "p3"]
    np.testing.assert_array_equal(values, [1, 1, np.nan])
    assert hub.store.open("submitted/GPL900").capacity[1] >= 3
