"""``exprhub search`` pages (``--limit`` / ``--offset``, bounded as the API's search) and
counts facets over all matches (``--facets``, in the text output and ``--json``), on a hub
of real GEO files (issue #15)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exprhub.cli import main
from exprhub.search.fields import DEFAULT_SCHEMA

#: GSE3791: 12 samples (6 human, 6 mouse; all male; 6 of strain CD1); GSE29006: 8 samples.
FILES = ("gemma/GSE3791_family.soft.gz", "gemma/GSE29006_family.soft.gz")
QUERY = "GSM[ETYP]"
SAMPLES = 20


@pytest.fixture(scope="module")
def home(tmp_path_factory, geo_fixtures) -> Path:
    home = tmp_path_factory.mktemp("search") / "hub"
    assert main(["init", "--home", str(home)]) == 0
    assert main(["import", "--home", str(home), *[str(geo_fixtures / f) for f in FILES]]) == 0
    return home


def run(capsys, home: Path, *args: str) -> tuple[int, str, str]:
    code = main(["search", QUERY, "--home", str(home), *args])
    out, err = capsys.readouterr()
    return code, out, err


def search_json(capsys, home: Path, *args: str) -> dict:
    code, out, err = run(capsys, home, "--json", *args)
    assert code == 0, err
    return json.loads(out)


def test_pages_cover_every_match_once(capsys, home):
    seen: list[str] = []
    for offset in range(0, SAMPLES, 6):
        page = search_json(capsys, home, "--limit", "6", "--offset", str(offset))
        assert page["total"] == SAMPLES
        assert (page["offset"], page["limit"]) == (offset, 6)
        seen += [h["accession"] for h in page["hits"]]
    assert len(seen) == len(set(seen)) == SAMPLES


def test_text_output_says_which_page_and_how_to_get_the_next(capsys, home):
    code, out, _ = run(capsys, home, "--limit", "5", "--offset", "5")
    assert code == 0
    assert out.splitlines()[0] == f"{SAMPLES} records match; showing 6-10 (next: --offset 10)"
    code, out, _ = run(capsys, home, "--limit", "5", "--offset", "15")
    assert out.splitlines()[0] == f"{SAMPLES} records match; showing 16-20"


def test_paging_bounds_are_the_apis(capsys, home):
    code, out, err = run(capsys, home, "--limit", "2", "--offset", "9999")
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and "10000" in err.replace(",", "")


def test_default_facets_count_all_matches(capsys, home):
    data = search_json(capsys, home, "--limit", "1")
    assert len(data["hits"]) == 1
    assert set(data["facets"]) <= set(DEFAULT_SCHEMA.default_facets)
    assert data["facets"]["etype"] == [{"value": "GSM", "count": SAMPLES}]
    organisms = {f["value"]: f["count"] for f in data["facets"]["organism"]}
    assert organisms == {"Homo sapiens": 14, "Mus musculus": 6}
    code, out, _ = run(capsys, home, "--limit", "1")
    assert code == 0
    assert "facets over all matches" in out
    assert "Homo sapiens (14), Mus musculus (6)" in out


def test_named_facets(capsys, home):
    data = search_json(capsys, home, "--limit", "1", "--facets", "strain,sex", "--facets", "etype")
    assert data["facets"]["strain"] == [{"value": "cd1", "count": 6}]
    assert set(data["facets"]) == {"strain", "sex", "etype"}
    assert search_json(capsys, home, "--facets", "none")["facets"] == {}
    code, out, _ = run(capsys, home, "--facets", "none")
    assert code == 0
    assert "facets over all matches" not in out


def test_unknown_facet_is_one_line(capsys, home):
    code, out, err = run(capsys, home, "--facets", "colour")
    assert code == 1 and out == ""
    assert err.startswith("error: unknown facet 'colour'; known facets: organism")
    assert len(err.strip().splitlines()) == 1
