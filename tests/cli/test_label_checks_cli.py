"""``exprhub labels qc`` and ``exprhub labels evaluate``: output, --json shapes, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from exprhub.api import Hub
from exprhub.cli import main

GOLD = Path(__file__).resolve().parents[1] / "data" / "labels_gold.csv"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def home(tmp_path_factory, geo_fixtures):
    path = tmp_path_factory.mktemp("labels") / "hub"
    with Hub.init(path) as hub:
        hub.import_files(
            [
                geo_fixtures / "geoquery/GPL96.txt.gz",
                geo_fixtures / "geoquery/GSM11805.txt.gz",
                geo_fixtures / "gemma/GSE3791_family.soft.gz",
                geo_fixtures / "gemma/GSE11897_family.soft.gz",
            ]
        )
        hub.refine("GSM11805", workers=0)
    return path


def test_qc_lists_flagged_samples(home, capsys):
    code, out, _ = run(capsys, "labels", "qc", "--home", str(home))
    assert code == 0
    assert out.startswith("FLAG GSM11805") and "annotated female (description)" in out
    assert "predicted male" in out
    code, out, _ = run(capsys, "labels", "qc", "GSM11805", "--home", str(home), "--json")
    [row] = json.loads(out)
    assert list(row) == [
        "sample",
        "annotated",
        "annotated_from",
        "predicted",
        "confidence",
        "flag",
        "status",
        "reason",
    ]
    assert (row["sample"], row["flag"], row["status"]) == ("GSM11805", True, "disagree")


def test_qc_of_unrefined_samples_says_so(home, capsys):
    code, out, _ = run(capsys, "labels", "qc", "GSE3791", "--all", "--home", str(home))
    assert code == 0 and out.count("not refined") == 12


def test_qc_unknown_accession_is_one_line(home, capsys):
    code, _, err = run(capsys, "labels", "qc", "GSE999999999", "--home", str(home))
    assert code == 1 and err.startswith("error:") and len(err.strip().splitlines()) == 1


def test_evaluate_against_the_hub(home, capsys):
    code, out, _ = run(capsys, "labels", "evaluate", str(GOLD), "--home", str(home), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["samples"] == 159
    # the hub holds 24 of the gold samples (GSM11805, GSE3791, GSE11897)
    assert len(data["missing"]) == 159 - 24
    sex = data["fields"]["sex"]
    # stored labels: GSE3791 and GSE11897 state their sex as characteristics, GSM11805 in
    # its description ("Gender = Female"), which the standardized labels read
    assert sex["confusion"]["male"]["male"] == 12 and sex["confusion"]["female"]["female"] == 12
    assert sex["target"] == 0.97


def test_evaluate_a_predictions_file(tmp_path, capsys):
    gold = pd.read_csv(GOLD, dtype=str, keep_default_na=False)
    predicted = gold[["accession", "organism", "sex"]].copy()
    predicted.loc[predicted["accession"] == "GSM11805", "sex"] = "male"
    path = tmp_path / "pred.csv"
    predicted.to_csv(path, index=False)
    code, out, _ = run(
        capsys,
        "labels",
        "evaluate",
        str(GOLD),
        "--predictions",
        str(path),
        "--field",
        "organism",
        "--field",
        "sex",
    )
    assert code == 0
    lines = out.splitlines()
    organism = next(line for line in lines if line.startswith("organism"))
    assert organism.split()[3] == "1.000"
    sex = next(line for line in lines if line.startswith("sex"))
    assert sex.split()[3] == f"{158 / 159:.3f}" and sex.endswith("ok")
    assert "sex: gold (rows) x predicted (columns)" in out


def test_evaluate_bad_files_are_one_line_errors(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("sample,sex\nGSM1,male\n")
    code, _, err = run(capsys, "labels", "evaluate", str(bad), "--predictions", str(bad))
    assert code != 0 and "accession" in err
    code, _, err = run(capsys, "labels", "evaluate", str(tmp_path / "none.csv"))
    assert code != 0 and "none.csv" in err
