"""The public hub API the refinery and the search index are built on: matrix columns written
through :class:`HubWriter` (``matrix``, ``add_column``, ``deactivate_columns``) and read back
(``read_columns``, ``sample_matrices``, ``current_columns``), the facts a refine plan reads
(``sample_facts``, ``record_origin``, ``platform_table_tag``), the refinery's tables
(:mod:`exprhub.hub.refinery_tables`) and the search index's feed
(:mod:`exprhub.hub.index_feed`); on SQLite and PostgreSQL, on a real GEO series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exprhub.hub import Hub, RecordNotFound, commit_code
from exprhub.hub import refinery_tables as tables
from exprhub.hub.index_feed import changed_records, platform_fields
from exprhub.ingest.importer import import_file

SERIES = "gemma/GSE1623_family.soft.txt.gz"  # GPL81 (Mus musculus), 8 samples x 12,488 probes
SAMPLES = [
    "GSM27446",
    "GSM27447",
    "GSM27451",
    "GSM27452",
    "GSM27453",
    "GSM27454",
    "GSM27456",
    "GSM27457",
]


@pytest.fixture
def series_hub(make_hub) -> Hub:  # type: ignore[no-untyped-def]
    hub: Hub = make_hub(files=(SERIES,))
    return hub


def test_refined_columns_round_trip_through_the_writer(series_hub: Hub) -> None:
    hub = series_hub
    submitted = {key: hub.sample_values(key) for key in SAMPLES[:3]}
    probes = submitted[SAMPLES[0]][0]
    name = "refined/10090/intensity"
    with hub.writer() as writer:
        matrix = writer.matrix(name, "refined", "10090/intensity")
        for key in SAMPLES[:3]:
            features, values = submitted[key]
            assert features == probes
            rows = matrix.rows_for(probes)  # the same list object: mapped once
            writer.deactivate_columns(key, "refined", keep=matrix)
            writer.add_column(matrix, key, rows, values[::-1].copy())
    assert hub.matrix_shape(name) == (len(probes), 3)
    features, found, values = hub.read_columns(name, [SAMPLES[2], "GSM0", SAMPLES[0]])
    assert features == probes
    assert found == [SAMPLES[2], SAMPLES[0]]
    assert values.dtype == np.float32 and values.shape == (len(probes), 2)
    for j, key in enumerate(found):
        expected = submitted[key][1][::-1].astype(np.float32)
        np.testing.assert_array_equal(values[:, j], expected)
    assert hub.sample_matrices(SAMPLES, "refined") == {name: SAMPLES[:3]}

    # A sample written to another matrix of the same kind has its current column there only.
    other = "refined/10090/rna-seq"
    with hub.writer() as writer:
        matrix = writer.matrix(other, "refined", "10090/rna-seq")
        rows = matrix.rows_for(["g1", "g2"])
        writer.deactivate_columns(SAMPLES[0], "refined", keep=matrix)
        writer.add_column(matrix, SAMPLES[0], rows, np.array([1.5, 2.5]))
    assert hub.sample_matrices(SAMPLES, "refined") == {
        name: SAMPLES[1:3],
        other: [SAMPLES[0]],
    }
    _, found, values = hub.read_columns(other, [SAMPLES[0]])
    np.testing.assert_array_equal(values[:, 0], np.array([1.5, 2.5], dtype=np.float32))
    features, found, values = hub.read_columns("refined/1/none", SAMPLES)
    assert (features, found, values.shape) == ([], [], (0, 0))
    assert hub.matrix_shape("refined/1/none") is None


def test_a_failed_transaction_leaves_no_refined_column(series_hub: Hub) -> None:
    hub = series_hub
    with pytest.raises(RuntimeError), hub.writer() as writer:
        matrix = writer.matrix("genes/10090/intensity", "gene-level", "10090/intensity")
        writer.add_column(matrix, SAMPLES[0], matrix.rows_for(["g1"]), np.array([1.0]))
        raise RuntimeError("rolled back")
    assert hub.matrix_shape("genes/10090/intensity") is None
    assert hub.sample_matrices(SAMPLES, "gene-level") == {}


def test_plan_facts_of_samples(series_hub: Hub) -> None:
    hub = series_hub
    facts = hub.sample_facts([*SAMPLES[:2], "GSM0", "GPL81"], ["Sample_channel_count"])
    assert sorted(facts) == SAMPLES[:2]
    fact = facts[SAMPLES[0]]
    assert fact.organisms == ["Mus musculus"]
    assert fact.attributes == {"Sample_channel_count": "1"}
    assert fact.series == ["GSE1623"]
    assert fact.version == 1 and fact.source_sha256 is not None
    assert hub.record_origin("GSE1623") == (fact.source_sha256, 1)
    assert hub.record_origin("GSE0") is None
    columns = hub.current_columns(SAMPLES, ("submitted", "dataset"))
    assert sorted(columns) == SAMPLES
    assert columns[SAMPLES[1]] == {"submitted": ("submitted/GPL81", "GPL81", 1)}
    tag = hub.platform_table_tag("GPL81")
    assert tag.endswith(":None") and not tag.startswith("None")  # a table, no annotation
    assert hub.platform_table_tag("GPL0") == "None:None"


def test_index_feed_returns_records_changed_since_a_time(
    series_hub: Hub, geo_fixtures: Path
) -> None:
    hub = series_hub
    batches = list(changed_records(hub, ("GSE", "GSM", "GPL"), None, batch=4))
    assert [len(b) for b in batches] == [4, 4, 2]
    records = {r.key: r for batch in batches for r in batch}
    assert sorted(records) == sorted(["GSE1623", "GPL81", *SAMPLES])
    series = records["GSE1623"]
    assert series.type == "GSE"
    assert series.relations["sample"] == SAMPLES
    assert any(k == "Series_title" for k, _ in series.attributes)
    assert records[SAMPLES[0]].organisms == ["Mus musculus"]
    assert records[SAMPLES[0]].relations["series"] == ["GSE1623"]
    assert platform_fields(hub, ("technology", "organism")) == {
        "GPL81": {"technology": ["in situ oligonucleotide"], "organism": ["Mus musculus"]}
    }

    mark = hub.latest_write()
    assert mark is not None
    assert list(changed_records(hub, ("GSE", "GSM", "GPL"), mark)) == []
    import_file(hub, geo_fixtures / "geoquery/GSM11805.txt.gz")
    later = [r.key for batch in changed_records(hub, ("GSM", "GSE"), mark) for r in batch]
    assert later == ["GSM11805"]
    assert [r.key for b in changed_records(hub, ("GPL",), mark) for r in b] == []


def test_refinery_tables(series_hub: Hub) -> None:
    hub = series_hub
    state = tables.RefineState(
        SAMPLES[0],
        "done",
        "GSE1623",
        10090,
        "intensity",
        "GPL81",
        "p",
        "1",
        "in",
        None,
        10,
        None,
        None,
    )
    failed = tables.RefineState(
        SAMPLES[1],
        "failed",
        "GSE1623",
        10090,
        None,
        "GPL81",
        "p",
        "1",
        "in",
        None,
        None,
        None,
        "bad",
    )
    with hub.writer() as writer:
        tables.put_refine_states(writer, [(state, {"tools": {"x": "1"}}), (failed, {"e": 1})])
        tables.replace_genes(writer, 10090, [tables.GeneRow(10090, "11", "A1")])
        added = tables.add_missing_genes(
            writer,
            10090,
            [tables.GeneRow(10090, "11", "other"), tables.GeneRow(10090, "12", "B", source="x")],
        )
        version = tables.store_target(
            writer,
            tax_id=10090,
            organism="Mus musculus",
            value_kind="intensity",
            sha256="a" * 64,
            values=np.array([1.0, 2.0]),
            sample_ids=SAMPLES[:2],
            platform_key="GPL81",
        )
    assert added == 1 and version == 1
    assert tables.refine_states(hub) == {SAMPLES[0]: state, SAMPLES[1]: failed}
    assert tables.refine_states(hub, [SAMPLES[1], "GSM0"]) == {SAMPLES[1]: failed}
    assert tables.refine_documents(hub, [SAMPLES[0]]) == {SAMPLES[0]: {"tools": {"x": "1"}}}
    row = tables.refined_sample(hub, SAMPLES[0])
    assert row is not None and row.state == state and row.document == {"tools": {"x": "1"}}
    assert tables.refined_sample(hub, "GSM0") is None
    assert tables.processor_summaries(hub) == [
        tables.ProcessorSummary("p", "1", 1, {"tools": {"x": "1"}})
    ]
    assert tables.gene_symbols(hub, 10090) == {"11": "A1", "12": "B"}
    assert tables.gene_counts(hub) == {10090: {"gene_info": 1, "x": 1}}
    assert [g.gene_id for g in tables.gene_rows(hub, 10090, source="x")] == ["12"]
    with hub.writer() as writer:
        tables.store_target(
            writer,
            tax_id=10090,
            organism="Mus musculus",
            value_kind="intensity",
            sha256="b" * 64,
            values=np.array([3.0]),
            sample_ids=SAMPLES[:1],
            platform_key=None,
        )
    current = tables.current_target(hub, 10090, "intensity")
    assert current is not None and current.version == 2 and current.sample_ids == (SAMPLES[0],)
    assert current.values is not None and current.values.tolist() == [3.0]
    assert [(t.version, t.current) for t in tables.targets(hub)] == [(1, False), (2, True)]
    assert [t.version for t in tables.targets(hub, current_only=True)] == [2]


def test_commit_code_names_the_commit_path() -> None:
    names = {code.co_name for code in commit_code()}
    assert names == {"writer", "_recover_interrupted_write"}


def test_samples_an_accession_stands_for(series_hub: Hub) -> None:
    hub = series_hub
    assert hub.samples_of("GSE1623") == SAMPLES
    assert hub.samples_of("gpl81") == SAMPLES
    assert hub.samples_of(SAMPLES[3]) == [SAMPLES[3]]
    with pytest.raises(RecordNotFound):
        hub.samples_of("GSE0")


def test_records_by_key_equals_one_read_per_record(series_hub: Hub) -> None:
    from exprhub.records import RecordType

    keys = [*reversed(SAMPLES), "GSM0", "GPL81", "GSE1623"]
    got = series_hub.records_by_key(keys, RecordType.SAMPLE)
    assert list(got) == list(reversed(SAMPLES))  # the order asked for; others absent
    for key, record in got.items():
        one = series_hub.record(key, RecordType.SAMPLE, table=False)
        assert record.attributes == one.attributes
        assert record.columns == one.columns
        assert record.table is None
    every = series_hub.records_by_key(["GSE1623", "gpl81"], table=True)
    assert [r.type for r in every.values()] == [RecordType.SERIES, RecordType.PLATFORM]
    assert every["GPL81"].table is not None
    assert every["GPL81"].table.shape == series_hub.record("GPL81").table.shape
