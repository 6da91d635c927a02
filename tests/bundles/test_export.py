"""Export from the hub as SOFT, series matrix and MINiML; what we write reads back the same."""

from __future__ import annotations

import json

import numpy as np
import pytest

from exprhub.bundles.export import export_record, family
from exprhub.cli import main
from exprhub.formats.detect import open_reader
from exprhub.hub import Hub, HubError
from exprhub.ingest.importer import import_file


@pytest.fixture(scope="module")
def hub(tmp_path_factory, geo_fixtures):
    """GSE2870 and its DataSet GDS1794 (module-scoped: exports only read the hub)."""
    with Hub.init(tmp_path_factory.mktemp("export") / "hub") as opened:
        import_file(opened, geo_fixtures / "gemma/GSE2870_family.soft.gz")
        import_file(opened, geo_fixtures / "gemma/GDS1794.soft.gz")
        yield opened


def read(path):
    return [r for r in open_reader(path).records() if r.type is not None]


def test_soft_family_round_trip(hub, tmp_path):
    out = tmp_path / "GSE2870_family.soft.gz"
    export_record(hub, "GSE2870", "soft", out)
    records = read(out)
    assert [r.key for r in records] == [r.key for r in family(hub, "GSE2870")]
    for record in records:
        assert record == hub.record(record.key, record.type)


def test_soft_dataset_round_trip(hub, tmp_path):
    out = tmp_path / "GDS1794.soft"
    export_record(hub, "GDS1794", "soft", out)
    records = read(out)
    assert [r.type.value for r in records] == ["GDS"] + ["SUBSET"] * 5  # type: ignore[union-attr]
    assert records[0] == hub.record("GDS1794")


def test_series_matrix_values(hub, tmp_path):
    out = tmp_path / "GSE2870_series_matrix.txt.gz"
    assert export_record(hub, "GSE2870", "matrix", out) == [out]
    records = read(out)
    samples = [r for r in records if r.type.value == "GSM"]  # type: ignore[union-attr]
    assert len(samples) == 18
    for sample in samples:
        features, values = hub.sample_values(sample.key)
        table = sample.table
        assert table is not None
        lookup = dict(zip(features, values.tolist(), strict=True))
        got = table.numeric("VALUE").astype(np.float32)
        want = np.array([lookup[f] for f in table.column(0).tolist()], dtype=np.float32)
        np.testing.assert_array_equal(got, want)


def test_miniml_export(hub, tmp_path):
    out = tmp_path / "GSE2870.xml"
    export_record(hub, "GSE2870", "miniml", out)
    records = read(out)
    keys = {r.key for r in records}
    assert "GSE2870" in keys and len([k for k in keys if k.startswith("GSM")]) == 18


def test_cli_export_and_errors(hub, tmp_path, capsys):
    out = tmp_path / "x.soft"
    code = main(
        ["export", "GSE2870", "--format", "soft", "-o", str(out), "--home", str(hub.home), "--json"]
    )
    assert code == 0 and json.loads(capsys.readouterr().out)["files"] == [str(out)]
    with pytest.raises(HubError, match="GDS1794 is a DataSet; a Series matrix file holds Series"):
        export_record(hub, "GDS1794", "matrix", tmp_path / "m.txt")
    code = main(["export", "GSE1", "-o", str(out), "--home", str(hub.home)])
    assert code == 1 and "GSE1 is not in the hub" in capsys.readouterr().err


def test_unknown_format_and_kinds_a_record_cannot_be(hub, tmp_path, capsys):
    out = tmp_path / "x.tsv"
    code = main(["export", "GSM27446", "--format", "tsv", "-o", str(out), "--home", str(hub.home)])
    err = capsys.readouterr().err
    assert code == 1 and not out.exists()
    assert err == (
        "error: unknown export format 'tsv'; expected one of soft, miniml, matrix, refined\n"
    )
    with pytest.raises(HubError, match=r"a MINiML \(XML\) file holds Series, Sample, Platform"):
        export_record(hub, "GDS1794", "miniml", tmp_path / "gds.xml")
    assert not (tmp_path / "gds.xml").exists()


def test_subset_exports_as_soft(hub, tmp_path):
    out = tmp_path / "subset.soft"
    assert export_record(hub, "GDS1794_1", "soft", out) == [out]
    assert [r.key for r in read(out)] == ["GDS1794_1"]


def test_export_writes_with_the_registry_writer(hub, tmp_path, monkeypatch):
    """A kind's writer in the registry is what the export calls."""
    import dataclasses

    from exprhub.bundles import export
    from exprhub.formats import kinds

    written = []

    def write(records, path):
        written.append([r.key for r in records])
        path.write_text("written")

    soft = dataclasses.replace(kinds.KINDS["soft"], write=write)
    monkeypatch.setattr(export, "KINDS", kinds.KINDS.with_kind(soft))
    out = tmp_path / "GDS1794.soft"
    assert export_record(hub, "GDS1794", "soft", out) == [out]
    assert out.read_text() == "written"
    assert written == [["GDS1794", "GDS1794_1", "GDS1794_2", "GDS1794_3", "GDS1794_4", "GDS1794_5"]]
