"""``exprhub labels tissue-model``: train, evaluate, predict, qc, list, show; --json shapes
and one-line errors, on real mouse series (tests/analysis/tissue_fixtures.py)."""

from __future__ import annotations

import json
import re

import pytest

from exprhub.cli import main
from tests.analysis.tissue_fixtures import MISLABELLED, PANCREAS, UNLABELLED
from tests.conftest import copy_hub


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def home(tmp_path_factory, tissue_home):
    return str(copy_hub(tissue_home, tmp_path_factory.mktemp("tissuecli") / "hub"))


def test_nothing_to_predict_with_before_training(home, capsys):
    code, out, _ = run(capsys, "labels", "tissue-model", "list", "--home", home)
    assert code == 0 and "no tissue models" in out
    code, out, _ = run(
        capsys, "labels", "tissue-model", "predict", UNLABELLED, "--no-store", "--home", home
    )
    assert code == 0 and "uncertain" in out and "no tissue model for tax id 10090" in out


def test_train_evaluate_list_show(home, capsys):
    code, out, _ = run(capsys, "labels", "tissue-model", "train", "--home", home)
    assert code == 0
    assert re.search(r"tax id 10090\s+24 samples\s+3 tissues\s+\d+ genes\s+new\n", out)
    assert "leave-one-group-out, 3 series groups" in out
    assert "(not evaluable: one group)" in out
    assert "skipped: tax id 9606" in out  # human: one tissue
    code, out, _ = run(
        capsys,
        "labels",
        "tissue-model",
        "train",
        "--organism",
        "Mus musculus",
        "--json",
        "--home",
        home,
    )
    assert code == 0
    data = json.loads(out)
    (model,) = data["models"]
    assert model["new"] is False and data["skipped"] == {}
    version = model["model"]["version"]
    assert model["evaluation"]["classes"][PANCREAS]["series_groups"] == 1
    code, out, _ = run(
        capsys,
        "labels",
        "tissue-model",
        "evaluate",
        "--organism",
        "10090",
        "--json",
        "--home",
        home,
    )
    (evaluation,) = json.loads(out)
    assert evaluation["tax_id"] == 10090 and evaluation["scheme"] == "leave-one-group-out"
    assert {"accuracy", "macro_f1", "accuracy_evaluable", "note", "predictions"} <= set(evaluation)
    code, out, _ = run(capsys, "labels", "tissue-model", "list", "--json", "--home", home)
    listed = json.loads(out)
    assert [m["version"] for m in listed] == [version] and listed[0]["current"]
    code, out, _ = run(capsys, "labels", "tissue-model", "show", version, "--home", home)
    assert code == 0 and re.search(rf"trained on\s+{MISLABELLED}\s+ovary\s+GSE1623\n", out)


def test_predict_stores_labels_and_qc_flags(home, capsys):
    run(capsys, "labels", "tissue-model", "train", "--no-evaluate", "--home", home)
    code, out, _ = run(
        capsys, "labels", "tissue-model", "predict", "GSE1623", "--json", "--home", home
    )
    assert code == 0
    data = json.loads(out)
    rows = {r["sample"]: r for r in data["predictions"]}
    assert rows[UNLABELLED]["tissue"] == "pancreas" and rows[UNLABELLED]["ontology_id"] == PANCREAS
    assert data["stored"]["stored"] == 1 and data["stored"]["skipped"] == 7
    code, out, _ = run(capsys, "labels", UNLABELLED, "--json", "--home", home)
    (sample,) = json.loads(out)
    (tissue,) = [x for x in sample["labels"] if x["field"] == "tissue"]
    assert tissue["method"] == "expression model" and tissue["evidence"].startswith("tissue-10090-")
    code, out, _ = run(capsys, "labels", "tissue-model", "qc", "--home", home)
    assert code == 0 and re.match(
        rf"FLAG {MISLABELLED}\s+annotated ovary\s+predicted pancreas", out
    )
    code, out, _ = run(capsys, "labels", "tissue-model", "qc", "GSE1623", "--json", "--home", home)
    [row] = json.loads(out)
    assert list(row) == [
        "sample",
        "annotated",
        "annotated_id",
        "predicted",
        "predicted_id",
        "confidence",
        "model_version",
        "in_training",
        "flag",
        "status",
        "reason",
    ]
    assert (row["sample"], row["status"], row["in_training"]) == (MISLABELLED, "disagree", True)


def test_errors_are_one_line(home, capsys):
    code, _, err = run(
        capsys, "labels", "tissue-model", "show", "tissue-1-000000000000", "--home", home
    )
    assert code == 1 and err == "error: no tissue model tissue-1-000000000000\n"
    code, _, err = run(
        capsys, "labels", "tissue-model", "train", "--organism", "9606", "--home", home
    )
    assert code == 1 and err.startswith("error: tax id 9606: ") and err.count("\n") == 1
    code, _, err = run(
        capsys, "labels", "tissue-model", "train", "--organism", "unicorn", "--home", home
    )
    assert code == 1 and "unknown organism 'unicorn'" in err
