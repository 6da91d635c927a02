"""Every real fixture imports with the right records, relations, attributes and table shapes;
malformed files fail (hub unchanged) or warn; imports are idempotent and per-file atomic."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from exprhub.cli import main
from exprhub.hub import Hub
from exprhub.ingest.importer import ImportFailed, import_file
from exprhub.records import RecordType, parse_geo_date
from tests.hub.test_hub import hub_snapshot

# file -> (format, records stored by type, at least this many warnings)
EXPECTED = {
    "geoquery/GDS507.soft.gz": ("soft", {"GDS": 1, "SUBSET": 12}, 0),
    "geoquery/GPL97.annot.gz": ("annot", {"ANNOT": 1}, 0),
    "geoquery/GPL96.txt.gz": ("soft", {"GPL": 1}, 0),
    "geoquery/GSM11805.txt.gz": ("soft", {"GSM": 1}, 0),
    "gemma/GDS1794.soft.gz": ("soft", {"GDS": 1, "SUBSET": 5}, 1),
    "gemma/GSE2870_family.soft.gz": ("soft", {"GSE": 1, "GPL": 1, "GSM": 18}, 1),
    "gemma/GDS334.soft.gz": ("soft", {"GDS": 1, "SUBSET": 3}, 1),
    "gemma/GSE432_family.soft.gz": ("soft", {"GSE": 1, "GPL": 1, "GSM": 11}, 1),
    "gemma/GDS1829.soft.gz": ("soft", {"GDS": 1, "SUBSET": 5}, 1),
    "gemma/GDS100.soft.txt.gz": ("soft", {"GDS": 1, "SUBSET": 8}, 0),
    "gemma/GSE1623_family.soft.txt.gz": ("soft", {"GSE": 1, "GPL": 1, "GSM": 8}, 0),
    "gemma/GSE11897_family.soft.gz": ("soft", {"GSE": 1, "GPL": 3, "GSM": 11}, 1),
    "gemma/GSE7774_family.soft.gz": ("soft", {"GSE": 1, "GPL": 1, "GSM": 5}, 1),
    "gemma/GDS3254.soft.gz": ("soft", {"GDS": 1, "SUBSET": 3}, 1),
    "gemma/GSE3791_family.soft.gz": ("soft", {"GSE": 1, "GPL": 4, "GSM": 12}, 1),
    "gemma/GSE2122.soft.gz": ("soft", {"GSE": 1, "GPL": 1, "GSM": 4}, 1),
    "gemma/GDS1862.soft.gz": ("soft", {"GDS": 1, "SUBSET": 7}, 0),
    "gemma/GSE29006_family.soft.gz": ("soft", {"GSE": 1, "GPL": 1, "GSM": 8}, 0),
    "gemma/GSM5230452.xml": ("miniml", {"GSM": 1}, 0),
    "gemma/GSE730_family.xml": ("miniml", {"GSE": 1, "GPL": 1, "GSM": 3}, 0),
    "gemma/GPL2716_family.soft.gz": ("soft", {"GPL": 1}, 1),
    "gemma/GPL96_family_excel_damaged.soft.gz": ("soft", {"GPL": 1}, 0),
    "phantasus/GSE99709_series_matrix.txt.gz": ("series-matrix", {"GSE": 1, "GSM": 12}, 0),
    "phantasus/GSE99709_brief.soft": ("soft", {"GSE": 1}, 0),
    "biopython/GSM645.txt": ("soft", {"GSM": 1}, 0),
    "biopython/GSM691.txt": ("soft", {"GSM": 1}, 0),
    "biopython/GSM700.txt": ("soft", {"GSM": 1}, 0),
    "biopython/GSM804.txt": ("soft", {"GSM": 1}, 0),
    "biopython/GSE16.txt": ("soft", {"GSM": 1}, 0),
    "biopython/soft_ex_affy.txt": ("soft", {"GSE": 1, "GSM": 3}, 0),
    "biopython/soft_ex_dual.txt": ("soft", {"GSM": 3}, 0),
    "biopython/soft_ex_family.txt": ("soft", {"GSE": 1, "GPL": 1, "GSM": 3}, 0),
    "biopython/soft_ex_platform.txt": ("soft", {"GPL": 1}, 0),
    "biopython/soft_ex_series.txt": ("soft", {"GSE": 1}, 0),
}


@pytest.fixture
def hub(tmp_path):
    with Hub.init(tmp_path / "hub") as opened:
        yield opened


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_imports(geo_fixtures, hub, name):
    kind, counts, min_warnings = EXPECTED[name]
    result = import_file(hub, geo_fixtures / name)
    assert result.format == kind
    assert {t: sum(c.values()) for t, c in result.by_type.items()} == counts
    assert set(result.outcomes) == {"added"}
    assert len(result.warnings) >= min_warnings
    stored = {t: n for t, n in hub.counts().items() if n}
    assert stored == {t: n for t, n in counts.items() if t != "ANNOT"}
    # the original file is kept by checksum
    assert hub.files.path(result.sha256).read_bytes() == (geo_fixtures / name).read_bytes()


def test_gds507_subsets_relations_and_matrix(geo_fixtures, hub):
    import_file(hub, geo_fixtures / "geoquery/GDS507.soft.gz")
    gds = hub.summary("GDS507")
    assert gds["relations"]["series"] == ["GSE781"] and gds["relations"]["platform"] == ["GPL97"]
    assert len(gds["relations"]["subset"]) == 12
    assert gds["table"] == {"rows": 22645, "columns": 19}
    subset = hub.record("GDS507_1", RecordType.SUBSET)
    assert subset.subset_type == "disease state" and subset.description == "RCC"  # type: ignore[attr-defined]
    assert len(subset.sample_ids) == 9  # type: ignore[attr-defined]
    assert hub.related("GSM11815")["subset"][:2] == ["GDS507_1", "GDS507_3"]
    samples = hub.matrix_samples("dataset/GDS507")
    assert len(samples) == 17
    table = hub.record("GDS507").table
    assert table is not None
    column = table.names.index(samples[0][0])
    values = hub.store.open("dataset/GDS507").column(samples[0][1], 22645)
    np.testing.assert_allclose(values, table.numeric(column).astype(np.float32), equal_nan=True)


def test_lower_case_family_has_all_samples(geo_fixtures, hub):
    import_file(hub, geo_fixtures / "gemma/GSE1623_family.soft.txt.gz")
    related = hub.related("GSE1623")
    assert len(related["sample"]) == 8 and related["platform"] == ["GPL81"]
    for key in related["sample"]:
        sample = hub.summary(key)
        assert sample["table"]["rows"] == 12488
    features, values = hub.sample_values("GSM27446")
    assert len(features) == 12488 and np.isfinite(values).all()
    samples, row = hub.feature_values("GPL81", features[0])
    assert len(samples) == 8 and row.shape == (8,)


def test_superseries_named_only_in_summary(geo_fixtures, hub):
    import_file(hub, geo_fixtures / "gemma/GSE11897_family.soft.gz")
    import_file(hub, geo_fixtures / "gemma/GSE7774_family.soft.gz")
    assert "GSE7774" in hub.related("GSE11897")["subseries"]
    assert "GSE11897" in hub.related("GSE7774")["superseries"]


def test_a_more_complete_table_of_the_same_date_replaces_an_incomplete_one(geo_fixtures, hub):
    """GSE7774 and GSE11897 both carry GPL1261 (2007-11-02, 45,101 declared rows), chopped to
    100 and 300 rows: whichever order they come in, the hub ends with the 300-row table, and
    the replacement is announced and kept in the history. Their shared samples too."""
    first = import_file(hub, geo_fixtures / "gemma/GSE7774_family.soft.gz")
    assert hub.summary("GPL1261")["table"]["rows"] == 100
    second = import_file(hub, geo_fixtures / "gemma/GSE11897_family.soft.gz")
    assert first.outcomes["added"] > 0
    samples = hub.related("GSE7774")["sample"]
    assert second.outcomes["table-completed"] == 1 + len(samples)  # GPL1261 and its 5 samples
    for key in ["GPL1261", *samples]:
        assert hub.summary(key)["table"]["rows"] == 300
        assert [v["version"] for v in hub.history(key)] == [1]
    features, values = hub.sample_values(samples[0])
    assert len(features) == 300 and np.isfinite(values).sum() > 100
    again = import_file(hub, geo_fixtures / "gemma/GSE7774_family.soft.gz")
    assert "table-completed" not in again.outcomes  # the shorter table never comes back
    assert hub.summary("GPL1261")["table"]["rows"] == 300


def test_two_channel_and_sequencing(geo_fixtures, hub):
    import_file(hub, geo_fixtures / "gemma/GSE432_family.soft.gz")
    sample = hub.summary(hub.related("GSE432")["sample"][0])
    assert set(sample["characteristics"]) == {"ch1", "ch2"}
    import_file(hub, geo_fixtures / "gemma/GSE29006_family.soft.gz")
    rnaseq = hub.summary("GSM718707")
    assert rnaseq["table"] is None
    assert ["gender", "3 Female"] in rnaseq["characteristics"]["ch1"]
    assert any(k == "Sample_relation" and v.startswith("SRA:") for k, v in rnaseq["attributes"])


def test_reimport_is_idempotent(geo_fixtures, hub):
    path = geo_fixtures / "gemma/GSE2870_family.soft.gz"
    import_file(hub, path)
    before = hub_snapshot(hub)
    again = import_file(hub, path)
    assert set(again.outcomes) == {"unchanged"}
    assert hub_snapshot(hub) == before


def test_newer_last_update_replaces_and_keeps_history(geo_fixtures, hub, tmp_path):
    source = geo_fixtures / "geoquery/GSM11805.txt.gz"
    import_file(hub, source)
    text = gzip.decompress(source.read_bytes()).decode("latin-1")
    old = hub.record("GSM11805").get("last_update_date")
    assert old
    newer = tmp_path / "GSM11805_v2.txt"
    newer.write_text(
        text.replace(f"last_update_date = {old}", "last_update_date = Jan 01 2030"),
        encoding="latin-1",
    )
    result = import_file(hub, newer)
    assert dict(result.outcomes) == {"updated": 1}
    assert hub.record("GSM11805").get("last_update_date") == "Jan 01 2030"
    history = hub.history("GSM11805")
    assert [h["last_update_date"] for h in history] == [parse_geo_date(old).isoformat()]
    assert ["Sample_last_update_date", old] in history[0]["record"]["attributes"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("geoquery/GPLbroken.soft.gz", "empty gzip file"),
        ("gemma/geo.esummary.test.xml", "eSummary"),
    ],
)
def test_bad_files_fail_clearly_and_leave_hub_unchanged(geo_fixtures, hub, name, message):
    import_file(hub, geo_fixtures / "gemma/GSE2870_family.soft.gz")
    before = hub_snapshot(hub)
    with pytest.raises(ImportFailed, match=message) as info:
        import_file(hub, geo_fixtures / name)
    assert str(geo_fixtures / name) in str(info.value)
    assert hub_snapshot(hub) == before


def test_error_in_the_middle_of_a_file_stores_nothing(geo_fixtures, hub, tmp_path):
    text = gzip.decompress((geo_fixtures / "gemma/GSE2870_family.soft.gz").read_bytes()).decode(
        "latin-1"
    )
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("^SAMPLE")) + 40
    at = next(i for i in range(at, len(lines)) if lines[i].startswith("^SAMPLE"))
    lines.insert(at, "this line is not SOFT")
    bad = tmp_path / "bad_family.soft"
    bad.write_text("\n".join(lines) + "\n", encoding="latin-1")
    before = hub_snapshot(hub)
    with pytest.raises(ImportFailed) as info:
        import_file(hub, bad)
    assert f"{bad}:{at + 1}:" in str(info.value)
    assert hub_snapshot(hub) == before


def test_cli_import_json_and_error(geo_fixtures, hub, capsys):
    code = main(
        [
            "import",
            str(geo_fixtures / "gemma/GDS1794.soft.gz"),
            str(geo_fixtures / "geoquery/GPLbroken.soft.gz"),
            "--home",
            str(hub.home),
            "--json",
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.startswith("error: ") and "GPLbroken.soft.gz" in captured.err
    data = json.loads(captured.out)
    assert data[0]["by_type"] == {"GDS": {"added": 1}, "SUBSET": {"added": 5}}
    assert data[0]["warnings"]
    assert hub.counts()["GDS"] == 1


def test_same_file_gives_same_table_digests(geo_fixtures, tmp_path):
    """Two fresh hubs importing one family store byte-identical tables under the same
    digests."""
    from sqlalchemy import select

    from exprhub.hub import schema as s

    stored = []
    for name in ("one", "two"):
        with Hub.init(tmp_path / name) as fresh:
            import_file(fresh, geo_fixtures / "gemma/GSE1623_family.soft.txt.gz")
            with fresh.engine.connect() as connection:
                query = select(s.records.c.key, s.records.c.table_ref)
                refs = {key: ref for key, ref in connection.execute(query)}
            files = sorted(p.name for p in (fresh.home / "tables").rglob("*.parquet"))
            stored.append((refs, files))
            table = fresh.record("GSM27446").table
            assert table is not None and table.n_rows == 12488
    assert stored[0] == stored[1]
    refs, files = stored[0]
    tables = {ref for ref in refs.values() if ref}
    assert len(tables) == 9  # the platform and 8 samples
    # each with its probe-ID column apart (these samples list the probes in orders of
    # their own, so nothing is shared)
    assert len(files) == 2 * len(tables)


def test_import_without_the_extension_stores_the_same(geo_fixtures, tmp_path, monkeypatch):
    """The C path (values parsed in C, Arrow conversion left to the table thread) and the
    numpy/pyarrow path store the same: source digest, tables and matrix values."""
    from exprhub.records import table as table_module

    path = geo_fixtures / "gemma/GSE1623_family.soft.txt.gz"

    def imported(home):
        with Hub.init(home) as hub:
            digest = import_file(hub, path).sha256
            keys = [s.key for s in hub.records(RecordType.SAMPLE)]
            values = {}
            for key in keys:
                features, column = hub.sample_values(key)
                values[key] = (features, column.tobytes())
            tables = {key: hub.record(key).table for key in keys}
        return digest, values, tables

    with_extension = imported(tmp_path / "compiled")
    monkeypatch.setattr(table_module, "compiled_strings", None)
    without = imported(tmp_path / "numpy")
    assert len(with_extension[1]) == 8
    assert without[:2] == with_extension[:2]
    for key, table in with_extension[2].items():
        other = without[2][key]
        assert table.names == other.names
        assert [c.tolist() for c in table.columns] == [c.tolist() for c in other.columns]
