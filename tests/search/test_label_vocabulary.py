"""One vocabulary of label names (issue #15): every label name works in ``exprhub search``
and in ``exprhub ls --label``, and a label filled through an alias (``strain``,
``cell_type``) finds the same samples in both; an index built with other label names, or
with documents that held fewer labels, is rebuilt and said so. On real GEO files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exprhub.api import Hub
from exprhub.cli import main
from exprhub.curate.harmonize import (
    FIELDS,
    LABEL_ALIASES,
    LABELS,
    OWN_FIELDS,
    STANDARD_ALIASES,
    STANDARD_FIELDS,
    label_field,
    sample_labels,
)
from exprhub.search import SearchSchema, drop_index, open_index
from exprhub.search.fields import DEFAULT_LABELS, DEFAULT_SCHEMA
from exprhub.search.hub_index import STATE_FILE, HubSearch, default_location

#: GSE3791: six samples with ``Strain: CD1``; GSE29006: eight with ``cell type: large airway
#: epithelial cells``; GSE11897: ``Tissue: Ovary``, ``Gender: Female``.
FILES = ("gemma/GSE3791_family.soft.gz", "gemma/GSE29006_family.soft.gz")
CD1 = {"GSM87195", "GSM87196", "GSM87197", "GSM87198", "GSM87201", "GSM87202"}


@pytest.fixture(scope="module")
def home(tmp_path_factory, geo_fixtures) -> Path:
    home = tmp_path_factory.mktemp("labels") / "hub"
    assert main(["init", "--home", str(home)]) == 0
    assert main(["import", "--home", str(home), *[str(geo_fixtures / f) for f in FILES]]) == 0
    return home


def search_keys(capsys, home: Path, query: str) -> set[str]:
    code = main(["search", query, "--home", str(home), "--json", "--limit", "100"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return {h["accession"] for h in json.loads(captured.out)["hits"]}


def ls_keys(capsys, home: Path, label: str, value: str) -> set[str]:
    code = main(
        ["ls", "--home", str(home), "--type", "gsm", "--label", f"{label}={value}", "--json"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return {r["key"] for r in json.loads(captured.out)}


def test_one_vocabulary_defined_once():
    assert DEFAULT_LABELS is LABELS
    standard = {*STANDARD_FIELDS, *STANDARD_ALIASES} - set(OWN_FIELDS)
    assert set(LABELS) == {*FIELDS, *LABEL_ALIASES} | standard
    for name in ("age_group", "cell_type", "strain", "genotype", "tissue", "sex"):
        assert name in LABELS
        label_field(name)  # accepted by listings
        assert DEFAULT_SCHEMA.resolve(name) is not None  # and by search


@pytest.mark.parametrize("label", LABELS)
def test_every_label_works_in_search_and_ls(capsys, home, label):
    assert search_keys(capsys, home, f"nothingmatches[{label}]") == set()
    assert ls_keys(capsys, home, label, "nothingmatches") == set()


@pytest.mark.parametrize(
    ("label", "value", "expected"),
    [
        ("strain", "CD1", CD1),
        ("genotype", "CD1", CD1),
        ("genetic_information", "CD1", CD1),
        ("cell_type", "large airway epithelial cells", None),
        ("tissue", "large airway epithelial cells", None),
        ("specimen_part", "large airway epithelial cells", None),
    ],
)
def test_a_label_filled_through_an_alias_finds_the_same_samples(
    capsys, home, label, value, expected
):
    listed = ls_keys(capsys, home, label, value)
    found = search_keys(capsys, home, f'"{value}"[{label}]')
    if expected is None:  # every GSE29006 sample
        with Hub(home) as hub:
            expected = set(hub.samples_of("GSE29006"))
        assert len(expected) == 8
    assert listed == found == expected


def test_age_group_has_a_harmonizer_rule():
    assert sample_labels([("age group", "Adult"), ("Strain", "CD1")]) == {
        "age_group": ["adult"],
        "genetic_information": ["cd1"],
        "strain": ["cd1"],
        "genotype": ["cd1"],
    }


def test_unknown_label_is_refused_by_both(capsys, home):
    assert main(["search", "x[colour]", "--home", str(home)]) == 1
    assert "unknown field [colour]" in capsys.readouterr().err
    assert main(["ls", "--home", str(home), "--type", "gsm", "--label", "colour=x"]) == 1
    assert "unknown label 'colour'" in capsys.readouterr().err


def test_documents_of_an_earlier_version_are_reindexed_once(tmp_path, geo_fixtures):
    with Hub.init(tmp_path / "hub") as hub:
        hub.import_files(geo_fixtures / FILES[0])
        # as an index synced before documents carried every label name
        state_path = hub.home / STATE_FILE
        state = json.loads(state_path.read_text())
        state = {k: v for k, v in state.items() if not k.startswith("documents version")}
        state_path.write_text(json.dumps(state))
        with HubSearch(hub) as engine:
            assert engine.rebuilding is not None and "re-indexed once" in engine.rebuilding
            assert engine.is_stale()
            written = engine.sync()
            assert written == engine.index.count() > 0
            assert engine.rebuilt is not None and engine.rebuilding is None
        with HubSearch(hub) as engine:
            assert engine.rebuilding is None and not engine.is_stale()


def test_an_index_with_other_label_names_is_rebuilt(tmp_path, database_url, geo_fixtures):
    # tantivy beside a SQLite hub, PostgreSQL full text in a PostgreSQL hub's database
    with Hub.init(tmp_path / "hub", database_url=database_url) as hub:
        hub.import_files(geo_fixtures / FILES[0])
        location = default_location(hub)
        # an index as another version of exprhub would have left it: other label names
        drop_index(location)
        open_index(location, SearchSchema(labels=("sex", "colour"))).close()
        with pytest.raises(ValueError, match="index was built with labels"):
            open_index(location, DEFAULT_SCHEMA)
        notices: list[str] = []
        hub.import_files(geo_fixtures / FILES[1], on_notice=notices.append)
        assert any("written by another version of exprhub" in n for n in notices), notices
        assert {h.accession for h in hub.search('"CD1"[strain]', limit=100).hits} == CD1
        with HubSearch(hub) as engine:
            assert engine.index.schema.labels == LABELS
            assert engine.rebuilding is None


def test_the_python_api_takes_the_same_names(home):
    with Hub(home) as hub:
        for name in ("strain", "genotype", "genetic_information"):
            assert set(hub.samples(labels={name: "CD1"}).index) == CD1
        with pytest.raises(ValueError, match="unknown label 'colour'"):
            hub.samples(labels={"colour": "red"})
