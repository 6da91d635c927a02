"""`exprhub labels` (show, relabel, export, changes), `ls --label` on standardized labels, and
the Python API behind them, on real GEO files."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from exprhub.api import Hub
from exprhub.cli import main
from tests.conftest import copy_hub


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def labelled_template(tmp_path_factory, geo_fixtures) -> Path:
    """The hub of these tests, made by ``exprhub init`` and ``exprhub import`` once; each test
    works on a copy (:func:`labelled_home`)."""
    home = tmp_path_factory.mktemp("labelled") / "hub"
    assert main(["init", "--home", str(home)]) == 0
    files = [
        geo_fixtures / "geoquery" / "GSM11805.txt.gz",
        geo_fixtures / "gemma" / "GSE2870_family.soft.gz",
    ]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["import", "--home", str(home), *map(str, files), "--json"])
    assert code == 0
    assert [r["labelled"] for r in json.loads(out.getvalue())] == [1, 18]
    return home


@pytest.fixture
def labelled_home(labelled_template, tmp_path) -> Path:
    return copy_hub(labelled_template, tmp_path / "hub")


def test_labels_show_json_and_table(labelled_home, capsys):
    code, out, _ = run(capsys, "labels", "GSM11805", "--home", str(labelled_home), "--json")
    assert code == 0
    [entry] = json.loads(out)
    fields = {lab["field"]: lab for lab in entry["labels"]}
    assert fields["sex"]["value"] == "female"
    assert fields["sex"]["evidence"] == "Female"
    assert fields["age_group"]["value"] == "elderly 65-74"
    code, out, _ = run(capsys, "labels", "GSE2870", "--no-evidence", "--home", str(labelled_home))
    assert code == 0 and "amygdala" in out and "GSM53316" in out
    # --home before the command name reaches the default command too
    code, out, _ = run(capsys, "--home", str(labelled_home), "labels", "GSM11805", "--json")
    assert code == 0 and json.loads(out)[0]["sample"] == "GSM11805"
    code, _, err = run(capsys, "labels", "GSM0", "--home", str(labelled_home))
    assert code == 1 and err.startswith("error: ") and "GSM0" in err


def test_ls_label_uses_standardized_labels(labelled_home, capsys):
    code, out, _ = run(
        capsys, "ls", "-t", "gsm", "--label", "sex=female", "--home", str(labelled_home), "--json"
    )
    assert code == 0 and [r["key"] for r in json.loads(out)] == ["GSM11805"]
    code, out, _ = run(
        capsys,
        "ls",
        "-t",
        "gsm",
        "--label",
        "tissue=kidney",
        "--home",
        str(labelled_home),
        "--json",
    )
    assert [r["key"] for r in json.loads(out)] == ["GSM11805"]
    code, _, err = run(
        capsys, "ls", "-t", "gsm", "--label", "colour=red", "--home", str(labelled_home)
    )
    assert code == 1 and "unknown label 'colour'" in err


def test_relabel_and_changes(labelled_home, capsys):
    code, out, _ = run(capsys, "labels", "relabel", "--home", str(labelled_home), "--json")
    assert code == 0
    report = json.loads(out)
    assert (report["samples"], report["changes"], report["missing"]) == (19, [], [])
    code, out, _ = run(capsys, "labels", "changes", "--home", str(labelled_home), "--json")
    assert json.loads(out) == []
    code, _, err = run(capsys, "labels", "relabel", "GSE0", "--home", str(labelled_home))
    assert code == 1 and "GSE0" in err


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_export_formats(labelled_home, tmp_path, capsys, fmt):
    target = tmp_path / f"labels.{fmt}"
    code, _, _ = run(capsys, "labels", "export", "-o", str(target), "--home", str(labelled_home))
    assert code == 0
    read = {"csv": pd.read_csv, "xlsx": pd.read_excel, "parquet": pd.read_parquet}[fmt]
    frame = read(target).set_index("sample")
    assert len(frame) == 19
    assert frame.loc["GSM11805", "sex"] == "female"
    assert frame.loc["GSM11805", "sex.source"] == "description:gender"
    assert frame.loc["GSM53299", "tissue.ontology_id"] == "UBERON:0001876"
    assert frame.loc["GSM53299", "sex"] == "unknown"


def test_export_refuses_an_unknown_format(labelled_home, tmp_path, capsys):
    code, _, err = run(
        capsys, "labels", "export", "-o", str(tmp_path / "x.txt"), "--home", str(labelled_home)
    )
    assert code == 1 and "csv, xlsx, parquet" in err
    assert not (tmp_path / "x.txt").exists()


def test_python_api_labels_frame(labelled_home):
    with Hub(labelled_home) as hub:
        frame = hub.labels(["GSM11805", "GSM53299"])
        assert list(frame.index) == ["GSM11805", "GSM53299"]
        assert frame.loc["GSM11805", "age"] == "70 years"
        assert frame.loc["GSM11805", "age.evidence"] == "70"
        bare = hub.labels("GSM11805", evidence=False)
        assert "sex.evidence" not in bare.columns and bare.loc["GSM11805", "sex"] == "female"
        assert list(hub.samples(labels={"organ": "kidney"}).index) == ["GSM11805"]
        assert list(hub.samples(labels={"sex": "female"}).index) == ["GSM11805"]
