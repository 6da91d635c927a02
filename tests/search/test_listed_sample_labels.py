"""Samples without a record of their own (GDS507's columns; the samples the GSE180363 MINiML
series view lists) have no search document: the DataSet or series listing them carries
their labels, in ``exprhub search`` and in ``exprhub ls --label`` alike. On real GEO files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exprhub.api import Hub
from exprhub.cli import main
from exprhub.hub.labels import StoredLabel, sample_labels, write_labels

FILES = ("geoquery/GDS507.soft.gz", "gemma/GSE180363.miniml.xml")


@pytest.fixture(scope="module")
def home(tmp_path_factory, geo_fixtures) -> Path:
    home = tmp_path_factory.mktemp("listed") / "hub"
    assert main(["init", "--home", str(home)]) == 0
    assert main(["import", "--home", str(home), *[str(geo_fixtures / f) for f in FILES]]) == 0
    return home


def _search(capsys, home: Path, query: str) -> set[str]:
    code = main(["search", query, "--home", str(home), "--json", "--limit", "100"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return {h["accession"] for h in json.loads(captured.out)["hits"]}


def _ls(capsys, home: Path, kind: str, label: str) -> set[str]:
    code = main(["ls", "--home", str(home), "--type", kind, "--label", label, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return {r["key"] for r in json.loads(captured.out)}


@pytest.mark.parametrize(
    ("query", "label", "kind", "owner"),
    [
        ("normal[disease]", "disease=normal", "gds", "GDS507"),
        ("kidney[tissue]", "tissue=kidney", "gds", "GDS507"),
        ("clear cell renal carcinoma[disease]", "disease=carcinoma", "gds", "GDS507"),
        ("islet of Langerhans[tissue]", "tissue=pancreas", "gse", "GSE180363"),
    ],
)
def test_owners_carry_the_labels_of_their_unrecorded_samples(
    capsys, home, query, label, kind, owner
):
    assert owner in _search(capsys, home, query)
    assert _ls(capsys, home, kind, label) == {owner}


def test_labels_of_unrecorded_samples_and_refusals(capsys, home):
    assert _ls(capsys, home, "gds", "tissue=brain") == set()
    assert _ls(capsys, home, "gsm", "tissue=kidney") == set()  # no sample record to list
    code = main(["ls", "--home", str(home), "--type", "gds", "--characteristic", "a=b"])
    assert code != 0 and "--type gsm" in capsys.readouterr().err
    with Hub(home) as hub:
        assert hub.sample_labels("GSM11810")[0].field == "organism"
        relabel = hub.relabel("GDS507")
        assert (relabel.samples, relabel.changes) == (17, [])
        listed = hub.records("gds", labels={"disease": "normal"})
        assert [r.key for r in listed] == ["GDS507"]
        # a changed label of a sample without a record reaches its DataSet's document
        stored = sample_labels(hub, ["GSM11810"])["GSM11810"]
        edited = [
            StoredLabel(**{**x.as_dict(), "value": "asthma", "ontology_id": "MONDO:0004979"})
            if x.field == "disease"
            else x
            for x in stored
        ]
        with hub.writer() as writer:
            write_labels(writer, {"GSM11810": edited}, version="test")
    assert "GDS507" in _search(capsys, home, "asthma[disease]")
    with Hub(home) as hub:
        changes = hub.relabel("GDS507").changes
        assert [(c.sample_key, c.old_value, c.new_value) for c in changes] == [
            ("GSM11810", "asthma", "normal")
        ]
    assert "GDS507" not in _search(capsys, home, "asthma[disease]")
