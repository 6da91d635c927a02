"""exprhub gene / profile / flags / neighbours on real GEO files: the JSON is what the Python
API returns, images are written, errors are one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import exprhub
from exprhub.cli.app import main
from tests.conftest import copy_hub


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def home(tmp_path_factory, profiles_home) -> Path:
    return copy_hub(profiles_home, tmp_path_factory.mktemp("profiles-cli") / "hub")


def test_gene_json_and_text(home, capsys):
    code, out, _ = run(capsys, "gene", "beta-actin", "--home", str(home), "--json")
    assert code == 0
    data = json.loads(out)
    with exprhub.Hub(home) as hub:
        assert data == json.loads(json.dumps(hub.gene("beta-actin").as_dict()))
    assert data["gene"]["symbol"] == "Actb" and data["series"] == ["GSE1623"]
    code, out, _ = run(capsys, "gene", "ACTG1", "--home", str(home))
    assert code == 0 and "ACTG1 (NCBI Gene 71, Homo sapiens)" in out and "224585_x_at" in out
    code, out, _ = run(capsys, "gene", "actin", "--matches", "--home", str(home), "--json")
    assert code == 0 and "Actb" in [g["symbol"] for g in json.loads(out)["genes"]]
    code, _, err = run(capsys, "gene", "nosuchgene", "--home", str(home))
    assert code == 1 and err.count("\n") == 1 and "no gene matches 'nosuchgene'" in err


def test_profile_json_and_image(home, capsys, tmp_path):
    pytest.importorskip("matplotlib")
    image = tmp_path / "GDS507-PFKFB2.svg"
    code, out, _ = run(
        capsys, "profile", "GDS507", "PFKFB2", "--home", str(home), "--json", "--image", str(image)
    )
    assert code == 0
    data = json.loads(out)
    assert data["features"] == ["226733_at"] and len(data["rows"]) == 17
    with exprhub.Hub(home) as hub:
        frame = hub.profile("GDS507", "PFKFB2")
    assert [r["rank_percentile"] for r in data["rows"]] == list(frame["rank_percentile"])
    flag = next(f for f in data["flags"] if f["subset_type"] == "disease state")
    assert flag["flagged"] is True
    assert b"<svg" in image.read_bytes()[:500]
    code, out, _ = run(capsys, "profile", "GDS507", "PFKFB2", "--home", str(home))
    assert code == 0 and "FLAGGED" in out and "disease state" in out
    code, _, err = run(capsys, "profile", "GDS507", "nosuchgene", "--home", str(home))
    assert code == 1 and "has no probe or gene 'nosuchgene'" in err


def test_flags_and_neighbours(home, capsys):
    code, out, _ = run(capsys, "flags", "GDS507", "--home", str(home), "--json")
    assert code == 0
    rows = json.loads(out)["rows"]
    assert rows and all(r["flagged"] and r["fdr"] <= 0.05 for r in rows)
    code, out, _ = run(capsys, "flags", "GDS507", "--home", str(home), "--json", "--fdr", "0.001")
    assert len(json.loads(out)["rows"]) < len(rows)
    code, out, _ = run(
        capsys, "neighbours", "GDS507", "PFKFB2", "--home", str(home), "--count", "4", "--json"
    )
    assert code == 0
    found = json.loads(out)["neighbours"]
    assert len(found) == 4 and all(n["r"] >= 0.7 for n in found)
    code, _, err = run(capsys, "profile", "GDS507", "PFKFB2", "--values", "x", "--home", str(home))
    assert code == 1 and "values must be one of submitted, refined" in err
