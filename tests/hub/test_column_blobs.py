"""The probe-ID column shared by a platform's sample tables is encoded once per hub, not once
per transaction: later writes refer to the blob an earlier committed write stored, never to one
an undone write removed, nor to one missing on disk (real GSE1623 tables)."""

from __future__ import annotations

import pytest

from exprhub.formats.detect import read_records
from exprhub.hub import Hub
from exprhub.records import Platform, Sample, Table
from exprhub.storage import staging


@pytest.fixture(scope="module")
def gse1623(geo_fixtures):
    records, _ = read_records(geo_fixtures / "gemma/GSE1623_family.soft.txt.gz")
    records = list(records)
    platform = next(r for r in records if isinstance(r, Platform))
    first = next(r for r in records if isinstance(r, Sample))
    assert first.table is not None and first.table.n_rows > 10_000
    # the file's samples list their probes in different orders: copies of its first sample
    # (under other accessions, each ID column a new array, as a parse of another file gives)
    return platform, [first] + [_copy(first, f"GSM99{i:04d}") for i in range(1, 4)]


def _copy(sample: Sample, key: str) -> Sample:
    assert sample.table is not None
    attributes = [(k, key if k == "Sample_geo_accession" else v) for k, v in sample.attributes]
    columns = [sample.table.columns[0].copy(), *sample.table.columns[1:]]
    return Sample(key, attributes, list(sample.columns), Table(sample.table.names, columns))


@pytest.fixture
def encodes(monkeypatch):
    """Counts the shared ID columns encoded into blobs."""
    count = [0]
    real = staging.column_table

    def counted(column):
        count[0] += 1
        return real(column)

    monkeypatch.setattr(staging, "column_table", counted)
    return count


def _put(hub: Hub, records, fail: bool = False) -> None:
    with hub.writer() as writer:
        for record in records:
            writer.put(record)
        if fail:
            writer.flush()  # the blobs are written (and remembered) before the failure
            raise RuntimeError("interrupted")


def _tables_match(hub: Hub, samples) -> None:
    for sample in samples:
        stored = hub.record(sample.key).table
        assert stored is not None
        assert list(stored.columns[0]) == list(sample.table.columns[0])
        assert list(stored.columns[1]) == list(sample.table.columns[1])


def test_a_later_transaction_refers_to_the_stored_blob(make_hub, gse1623, encodes):
    platform, samples = gse1623
    hub = make_hub()
    _put(hub, [platform, samples[0]])
    first = encodes[0]
    assert first in (1, 2)  # the samples' ID column (the platform's too if it differs)
    _put(hub, samples[1:3])
    assert encodes[0] == first
    _tables_match(hub, [platform, *samples[:3]])

    # a blob gone from disk is written again
    digest = hub.tables.column_blobs.blob(samples[0].table.columns[0])
    assert digest is not None and hub.tables.has(digest)
    hub.tables.path(digest).unlink()
    _put(hub, [samples[3]])
    assert encodes[0] == first + 1
    assert hub.tables.has(digest)
    _tables_match(hub, [platform, *samples[:4]])


def test_an_undone_write_leaves_no_remembered_blob(make_hub, gse1623, encodes):
    platform, samples = gse1623
    hub = make_hub()
    with pytest.raises(RuntimeError):
        _put(hub, [platform, samples[0]], fail=True)
    first = encodes[0]
    assert hub.tables.column_blobs.blob(samples[0].table.columns[0]) is None
    _put(hub, [platform, *samples[:2]])
    assert encodes[0] == 2 * first
    _tables_match(hub, [platform, *samples[:2]])
