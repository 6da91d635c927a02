"""`exprhub compare / cluster / distributions / pca` on GDS507 and GSE3791: JSON, images,
TSV downloads and one-line errors."""

from __future__ import annotations

import json

import pytest

from exprhub.api import Hub
from exprhub.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def home(tmp_path_factory, geo_fixtures):
    path = tmp_path_factory.mktemp("explore-cli") / "hub"
    with Hub.init(path) as hub:
        hub.import_files(
            [
                geo_fixtures / "geoquery/GDS507.soft.gz",
                geo_fixtures / "gemma/GSE3791_family.soft.gz",
            ]
        )
    return str(path)


def test_compare_json_tsv_and_volcano(home, capsys, tmp_path):
    tsv, png = tmp_path / "t.tsv", tmp_path / "v.png"
    code, out, err = run(
        capsys, "compare", "GDS507", "--a", "disease state=RCC", "--b", "GDS507_2",
        "--p-value", "0.01", "--json", "--limit", "3", "-o", str(tsv), "--image", str(png),
        "--home", home,
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["method"] == "t-test" and data["a_label"] == "disease state = RCC"
    assert data["rows_shown"] == 3 and data["rows"][0]["identifier"] == "KCNJ10"
    assert data["id_column"] == "ID_REF" and data["rows"][0]["p_value"] <= 0.01
    lines = tsv.read_text().splitlines()
    assert lines[0].split("\t")[:3] == ["ID_REF", "identifier", "mean_a"]
    assert len(lines) - 1 == data["rows_kept"]
    assert png.read_bytes().startswith(b"\x89PNG")


def test_compare_human_output(home, capsys):
    code, out, _ = run(capsys, "compare", "GDS507", "--a", "GDS507_1", "--method", "rank-fold",
                       "--fold", "8", "--home", home)  # fmt: skip
    assert code == 0 and out.startswith("rank-fold: A = disease state = RCC (9 samples)")


def test_cluster_json_assignments_and_svg(home, capsys, tmp_path):
    tsv, svg = tmp_path / "a.tsv", tmp_path / "h.svg"
    code, out, err = run(
        capsys, "cluster", "GDS507", "--method", "kmedians", "--k", "4", "--top", "300",
        "--json", "--assignments", str(tsv), "--image", str(svg), "--annotate", "disease state",
        "--home", home,
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["method"] == "kmedians" and data["rows_clustered"] == 300
    assert {g["cluster"] for g in data["genes"]} == {1, 2, 3, 4}
    rows = tsv.read_text().splitlines()
    assert rows[0] == "axis\tid\torder\tcluster" and len(rows) == 1 + 300 + 17
    assert b"<svg" in svg.read_bytes()[:1000] and b"disease state" in svg.read_bytes()


def test_pca_and_distributions(home, capsys, tmp_path):
    code, out, _ = run(capsys, "pca", "GDS507", "--color", "disease state", "--json",
                       "--image", str(tmp_path / "p.png"), "--home", home)  # fmt: skip
    data = json.loads(out)
    assert code == 0 and data["color"] == "disease state" and len(data["samples"]) == 17
    code, out, _ = run(capsys, "distributions", "GDS507", "--by", "disease state", "--json",
                       "--home", home)  # fmt: skip
    data = json.loads(out)
    assert code == 0 and {s["group"] for s in data["samples"]} == {"RCC", "normal"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cluster", "GSE3791"], "4 platforms (GPL339, GPL340, GPL96, GPL97)"),
        (["cluster", "GDS507", "--method", "kmeans"], "kmeans needs K"),
        (["compare", "GDS507", "--a", "GSM11815"], "at least 2 samples in each set"),
        (["pca", "GDS507", "--color", "nope"], "no field 'nope'"),
    ],
)
def test_errors_are_one_line(home, capsys, args, message):
    code, _, err = run(capsys, *args, "--home", home)
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1
