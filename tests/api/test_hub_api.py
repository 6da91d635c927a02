"""The Python API beyond its documented examples: reading files, listings and their filters,
DataFrames of samples and values, errors, index catch-up, and the CLI calling it."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import exprhub
from exprhub.api import hub as api_hub
from exprhub.api import intake

GSE1623 = "gemma/GSE1623_family.soft.txt.gz"
GSE3791 = "gemma/GSE3791_family.soft.gz"
GSE99709 = "phantasus/GSE99709_series_matrix.txt.gz"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, geo_fixtures: Path):
    """A hub of three real series: one platform, four platforms (two organisms), RNA-seq."""
    with exprhub.Hub.init(tmp_path_factory.mktemp("api") / "hub") as opened:
        opened.import_files(
            [geo_fixtures / GSE1623, geo_fixtures / GSE3791, geo_fixtures / GSE99709]
        )
        yield opened


def test_import_exprhub_imports_nothing_heavy() -> None:
    code = (
        "import sys, exprhub; "
        "print(sorted(m for m in ('pandas', 'numpy', 'sqlalchemy', 'exprhub.api', 'exprhub.hub')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert exprhub.Hub is api_hub.Hub and exprhub.read is exprhub.api.read
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        exprhub.nope  # noqa: B018


def test_hub_constructors_give_the_api_hub(tmp_path: Path) -> None:
    created = exprhub.Hub.init(tmp_path / "h")
    assert type(created) is api_hub.Hub
    with exprhub.Hub(tmp_path / "h") as opened:
        assert type(opened) is api_hub.Hub
    created.close()
    with pytest.raises(exprhub.HubNotFound, match="no hub at"):
        exprhub.Hub(tmp_path / "none")


# ---------------------------------------------------------------------------- read


def test_read_lower_case_dialect_and_values(geo_fixtures: Path) -> None:
    # lower-case ^series/^platform/^sample: one popular parser reads no sample here
    geo = exprhub.read(geo_fixtures / GSE1623)
    assert (geo.format, list(geo.series), len(geo.samples), len(geo.platforms)) == (
        "soft",
        ["GSE1623"],
        8,
        1,
    )
    values = geo.expression()
    sample = geo["GSM27446"]
    assert sample.table is not None
    assert values["GSM27446"].to_numpy() == pytest.approx(sample.table.numeric("VALUE"))
    assert list(values.index[:2]) == sample.table.column(0)[:2].tolist()


def test_read_dataset_and_several_platforms(geo_fixtures: Path) -> None:
    gds = exprhub.read(geo_fixtures / "geoquery/GDS507.soft.gz")
    assert list(gds.datasets) == ["GDS507"] and len(gds.subsets) == 12
    assert gds.expression().shape == (22645, 17)
    family = exprhub.read(geo_fixtures / GSE3791)
    with pytest.raises(ValueError, match=r"4 platforms \(GPL339, GPL340, GPL96, GPL97\)"):
        family.expression()
    assert family.expression(platform="gpl96").shape[1] == 3
    with pytest.raises(ValueError, match="no values of GPL1"):
        family.expression(platform="GPL1")
    with pytest.raises(KeyError, match="holds no record GSM1"):
        family["GSM1"]


def test_read_miniml_and_annotation(geo_fixtures: Path) -> None:
    miniml = exprhub.read(geo_fixtures / "gemma/GSE730_family.xml")
    assert miniml.format == "miniml" and len(miniml.samples) == 3
    annot = exprhub.read(geo_fixtures / "geoquery/GPL97.annot.gz")
    assert annot.format == "annot" and list(annot.annotations) == ["GPL97"]
    with pytest.raises(ValueError, match="no expression values"):
        annot.expression()


def test_read_errors_are_one_line(tmp_path: Path, geo_fixtures: Path) -> None:
    for path, words in (
        (tmp_path / "missing.soft", "no such file"),
        (tmp_path, "is a directory"),
        (geo_fixtures / "gemma/geo.esummary.test.xml", "eSummary"),
        (geo_fixtures / "geoquery/GPLbroken.soft.gz", str(geo_fixtures / "geoquery")),
    ):
        with pytest.raises(exprhub.FormatError) as caught:
            exprhub.read(path)
        assert words in str(caught.value) and "\n" not in str(caught.value)


# ---------------------------------------------------------------------------- listings


def test_records_filters_as_ls(hub) -> None:
    assert [r.key for r in hub.records("gse")] == ["GSE1623", "GSE3791", "GSE99709"]
    human = hub.records("gsm", organism="homo sapiens")
    assert len(human) == 6 and all(r.organisms == "Homo sapiens" for r in human)
    on_gpl97 = hub.records("gsm", platform="GPL97", series="GSE3791")
    assert [r.key for r in on_gpl97] == ["GSM87192", "GSM87194", "GSM87200"]
    by_string = hub.records("gsm", characteristics=["viral treatment=Ad5CMV-eGFP"])
    by_mapping = hub.records("gsm", characteristics={"Viral Treatment": "ad5cmv-egfp"})
    assert by_string == by_mapping and len(by_string) == 6
    with pytest.raises(ValueError, match="filters need a record type"):
        hub.records(organism="Mus musculus")
    with pytest.raises(ValueError, match="select samples"):
        hub.records("subset", labels={"sex": "male"})
    with pytest.raises(ValueError, match="select samples"):
        hub.records("gse", characteristics={"sex": "male"})
    # series listing male samples that have no record of their own: none here
    assert hub.records("gse", labels={"sex": "male"}) == []
    with pytest.raises(ValueError, match="unknown label 'colour'"):
        hub.records("gsm", labels={"colour": "red"})
    with pytest.raises(ValueError, match="must look like key=value"):
        hub.records("gsm", characteristics=["tissue"])


def test_samples_frame(hub) -> None:
    frame = hub.samples()
    assert frame.index.name == "accession" and len(frame) == 32
    assert list(frame.columns[:5]) == ["title", "series", "platform", "organism", "source_name"]
    # GSM87191 names "Gender: Male" twice: the value is shown once
    assert frame.loc["GSM87191", "ch1.Gender"] == "Male" and frame.loc["GSM87191", "sex"] == "male"
    assert frame.loc["GSM2650749", "specimen_part"] == (
        "primary cortical oligodendrocyte progenitor (olp) cells"
    )
    assert frame.loc["GSM27446", "series"] == "GSE1623"
    assert frame.loc["GSM27446", "platform"] == "GPL81"
    page = hub.samples(limit=2, offset=1)
    assert list(page.index) == list(frame.index[1:3])
    males = hub.samples(labels={"sex": "male"}, organism="Mus musculus")
    assert set(males["platform"]) == {"GPL339", "GPL340"}
    empty = hub.samples(series="GSE424242")
    assert empty.empty and list(empty.columns) == list(frame.columns[:5])


# ---------------------------------------------------------------------------- values


def test_submitted_values_are_the_files_values(hub, geo_fixtures: Path) -> None:
    stored = hub.expression("GSE1623")
    read = exprhub.read(geo_fixtures / GSE1623).expression()
    assert stored.dtypes.unique().tolist() == [np.float32]
    assert list(stored.columns) == list(read.columns)
    assert np.allclose(
        stored.to_numpy(), read.loc[stored.index].to_numpy(), rtol=1e-6, equal_nan=True
    )
    assert stored.attrs["request"] == "GSE1623" and stored.attrs["values"] == "submitted"
    one = hub.expression("GSM27447")
    assert list(one.columns) == ["GSM27447"]
    assert one["GSM27447"].equals(stored["GSM27447"])


def test_samples_without_values_are_reported(hub) -> None:
    with pytest.warns(exprhub.MissingValuesWarning, match="2 of 3 samples"):
        frame = hub.expression(["GSM27446", "GSM2650749", "GSM1"])
    assert list(frame.columns) == ["GSM27446"]
    assert frame.attrs["missing"] == {
        "GSM1": "not in the hub",
        "GSM2650749": "no data table stored",
    }
    with pytest.raises(exprhub.HubError, match="GSE99709 has no submitted values"):
        hub.expression("GSE99709")
    with pytest.raises(exprhub.HubError, match=r"no refined values .*not refined yet"):
        hub.expression("GSE3791", values="refined")
    with pytest.raises(ValueError, match="values must be one of submitted, refined"):
        hub.expression("GSE1623", values="normalized")
    with pytest.raises(exprhub.RecordNotFound):
        hub.expression("GSE424242")
    with pytest.raises(ValueError, match="no samples given"):
        hub.expression([])


# ---------------------------------------------------------------------------- index


def test_import_says_when_the_index_will_catch_up(tmp_path, geo_fixtures, monkeypatch) -> None:
    from exprhub.search.hub_index import HubSearch

    monkeypatch.setattr(intake, "INDEX_SYNC_WAIT", 0.0)
    with exprhub.Hub.init(tmp_path / "hub") as hub, HubSearch(hub) as holder:
        with holder.index.writing():
            notes: list[str] = []
            hub.import_files(geo_fixtures / "geoquery/GSM11805.txt.gz", on_notice=notes.append)
            with pytest.warns(exprhub.HubNotice, match="search index not updated yet"):
                hub.import_files(geo_fixtures / GSE1623)
        assert len(notes) == 1 and "`exprhub index` will index them" in notes[0]
        assert hub.search("GSM11805[ACCN]").total == 1  # the next search catches up
    with exprhub.Hub.init(tmp_path / "other") as quiet, warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet.import_files(geo_fixtures / GSE1623)  # the index is free: no notice
        assert quiet.update_index().documents == 10


# ---------------------------------------------------------------------------- the CLI


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("import_files", ["import", "GSE1.soft"]),
        ("fetch", ["fetch", "GSE1"]),
        ("refine", ["refine", "GSE1"]),
        ("search", ["search", "GSE1[ACCN]"]),
        ("update_index", ["index"]),
        ("records", ["ls", "--type", "gsm", "--label", "sex=male"]),
        ("export", ["export", "GSE1", "-o", "x.soft"]),
        ("provenance", ["show", "GSM1", "--provenance"]),
    ],
)
def test_cli_commands_call_the_api(tmp_path, monkeypatch, capsys, method, args) -> None:
    from exprhub.cli import main

    def called(self, *args, **kwargs):
        raise RuntimeError(f"the API's Hub.{method} was called")

    monkeypatch.setattr(api_hub.Hub, method, called)
    exprhub.Hub.init(tmp_path / "hub").close()
    assert main([*args, "--home", str(tmp_path / "hub")]) == 1
    assert f"error: the API's Hub.{method} was called" in capsys.readouterr().err
