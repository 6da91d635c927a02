"""The hub's search index follows imports and answers Entrez-style queries from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exprhub.cli import main
from exprhub.curate.harmonize import harmonize, harmonized_fields
from tests.conftest import copy_hub


@pytest.fixture(scope="module")
def template(tmp_path_factory, geo_fixtures) -> Path:
    """The hub ``exprhub init`` and ``exprhub import`` make of four real files, once; each test
    works on a copy (:func:`home`)."""
    home = tmp_path_factory.mktemp("hub-index") / "hub"
    assert main(["init", "--home", str(home)]) == 0
    files = [
        "geoquery/GDS507.soft.gz",
        "gemma/GSE2870_family.soft.gz",
        "gemma/GSE29006_family.soft.gz",
        "gemma/GSE1623_family.soft.txt.gz",
    ]
    assert main(["import", "--home", str(home), *[str(geo_fixtures / f) for f in files]]) == 0
    return home


@pytest.fixture
def home(template, tmp_path) -> Path:
    return copy_hub(template, tmp_path / "hub")


def search(capsys, home, query, *extra):
    code = main(["search", query, "--home", str(home), "--json", *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_import_updates_the_index(capsys, home):
    data = search(capsys, home, "GSE1623[ACCN]")
    assert [h["accession"] for h in data["hits"]] == ["GSE1623"]
    data = search(capsys, home, "Mus musculus[ORGN] AND GSE[ETYP]")
    assert {h["accession"] for h in data["hits"]} == {"GSE1623"}
    assert data["facets"]["etype"] == [{"value": "GSE", "count": 1}]


def test_fields_ranges_and_boolean(capsys, home):
    gds = search(capsys, home, "count[VTYP]")
    assert [h["accession"] for h in gds["hits"]] == ["GDS507"]
    both = search(capsys, home, "GSE[ETYP] NOT Homo sapiens[ORGN]")
    assert "GSE29006" not in {h["accession"] for h in both["hits"]}
    big = search(capsys, home, "8:8[NSAM] AND GSE[ETYP]")
    assert {h["accession"] for h in big["hits"]} == {"GSE1623", "GSE29006"}
    sequencing = search(capsys, home, "female[sex]")
    assert sequencing["total"] >= 1


def test_paging_is_consistent(capsys, home):
    first = search(capsys, home, "GSM[ETYP]", "--limit", "5")
    second = search(capsys, home, "GSM[ETYP]", "--limit", "5", "--offset", "5")
    assert first["total"] == second["total"] == 18 + 8 + 8
    assert not {h["accession"] for h in first["hits"]} & {h["accession"] for h in second["hits"]}


def test_syntax_error_is_one_line(capsys, home):
    code = main(["search", "liver[FOO]", "--home", str(home)])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: ") and "FOO" in err and err.count("\n") == 1


def test_harmonized_keys():
    assert harmonized_fields("Gender") == ["sex"]
    assert harmonized_fields("characteristics [Tissue_Type]") == ["specimen_part"]
    assert harmonized_fields("disease state") == ["disease", "disease_stage"]
    assert harmonize(
        [("gender", "F"), ("age (years)", " 45 "), ("tissue", "Liver"), ("x", "y")]
    ) == {
        "sex": "female",
        "age": "45",
        "specimen_part": "liver",
    }
    assert harmonize([("cell type", "B"), ("tissue", "a")]) == {"specimen_part": "a;b"}


def test_an_index_of_an_older_format_is_rebuilt(capsys, home):
    before = search(capsys, home, "GSM[ETYP]", "--limit", "3")
    meta = home / "index" / "exprhub-search.json"
    stale = json.loads(meta.read_text())
    stale["format"] = 1
    meta.write_text(json.dumps(stale))
    after = search(capsys, home, "GSM[ETYP]", "--limit", "3")
    assert after == before
    assert json.loads(meta.read_text())["format"] != 1
