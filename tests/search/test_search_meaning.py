"""Search that finds what people mean (issue #18): British spellings and word endings,
series above their own samples, label fields and facets from one function, and ontology
expansion at query time; on both backends (tantivy beside a SQLite hub, PostgreSQL full text
in a PostgreSQL hub), on real GEO files.

No fixture has a series titled "human liver cancers" nor a record saying "renal cortex": the
issue's "liver cancer" and ``kidney`` examples run on a small family SOFT file written here
(``GSE900001``); every other example runs on the real files.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from exprhub.api import Hub
from exprhub.cli import main
from exprhub.search import drop_index, open_index
from exprhub.search.analysis import american, analyze
from exprhub.search.expansion import MAX_EXPANSIONS, ontology_terms
from exprhub.search.fields import DEFAULT_SCHEMA
from exprhub.search.hub_index import HubSearch, default_location
from exprhub.web import create_app
from exprhub.web.searching import IndexSearch

#: GDS507 (renal clear cell carcinoma, "tumor tissue"), GSM11805 (a sample of its series,
#: GSE781), GSE432 (liver, energy balance) with its DataSet GDS334, GSE1623 (NOD.scid mice).
FILES = (
    "geoquery/GDS507.soft.gz",
    "geoquery/GSM11805.txt.gz",
    "gemma/GSE432_family.soft.gz",
    "gemma/GDS334.soft.gz",
    "gemma/GSE1623_family.soft.txt.gz",
)

WRITTEN = """^SERIES = GSE900001
!Series_title = Human liver cancers
!Series_summary = Expression profiles of hepatocellular carcinoma resections and of the \
adjacent liver, with samples of the kidney of the same donors for comparison.
!Series_overall_design = Tumors and matched normal tissue from each donor.
!Series_type = Expression profiling by array
!Series_sample_id = GSM900001
!Series_sample_id = GSM900002
!Series_sample_id = GSM900003
!Series_sample_id = GSM900004
^SAMPLE = GSM900001
!Sample_title = liver cancer, donor 1
!Sample_source_name_ch1 = liver cancer
!Sample_organism_ch1 = Homo sapiens
!Sample_characteristics_ch1 = tissue: liver
!Sample_characteristics_ch1 = disease: liver cancer
!Sample_characteristics_ch1 = gender: female
^SAMPLE = GSM900002
!Sample_title = liver cancer, donor 2
!Sample_source_name_ch1 = liver cancer
!Sample_organism_ch1 = Homo sapiens
!Sample_characteristics_ch1 = tissue: liver
!Sample_characteristics_ch1 = disease: liver cancer
!Sample_characteristics_ch1 = gender: male
^SAMPLE = GSM900003
!Sample_title = donor 1, cortex
!Sample_source_name_ch1 = renal cortex
!Sample_organism_ch1 = Homo sapiens
!Sample_characteristics_ch1 = tissue: renal cortex
!Sample_characteristics_ch1 = disease: renal cell carcinoma
^SAMPLE = GSM900004
!Sample_title = donor 2, medulla
!Sample_source_name_ch1 = renal medulla
!Sample_organism_ch1 = Homo sapiens
!Sample_characteristics_ch1 = tissue: renal medulla
!Sample_characteristics_ch1 = disease: normal
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory, geo_fixtures, module_database_url):
    root = tmp_path_factory.mktemp("meaning")
    written = root / "GSE900001_family.soft"
    written.write_text(WRITTEN)
    with Hub.init(root / "hub", database_url=module_database_url) as opened:
        opened.import_files([*(geo_fixtures / f for f in FILES), written])
        yield opened


def cli_env(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    """Let commands given ``--home`` find a PostgreSQL hub's database."""
    if hub.engine.url.get_backend_name() == "postgresql":
        monkeypatch.setenv(
            "EXPRHUB_DATABASE_URL", hub.engine.url.render_as_string(hide_password=False)
        )


def found(hub: Hub, query: str, *, expand: bool = True) -> list[str]:
    return [h.accession for h in hub.search(query, limit=200, expand=expand).hits]


def text_of(path: Path) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", errors="replace") as handle:
        return handle.read().lower()


# ------------------------------------------------------------------ spelling and stems


@pytest.mark.parametrize(
    ("british", "american_form"),
    [
        ("tumour", "tumor"),
        ("tumours", "tumors"),
        ("haematopoietic", "hematopoietic"),
        ("oestrogen", "estrogen"),
        ("foetal", "fetal"),
        ("anaemia", "anemia"),
        ("leukaemia", "leukemia"),
        ("ischaemic", "ischemic"),
        ("oesophageal", "esophageal"),
        ("caecum", "cecum"),
        ("paediatric", "pediatric"),
        ("organised", "organized"),
        ("characterisation", "characterization"),
        ("colour", "color"),
        ("centre", "center"),
        ("micrometre", "micrometer"),
    ],
)
def test_british_and_american_spellings_are_one_term(british, american_form):
    assert american(british) == american_form
    assert analyze(british) == analyze(american_form)


def test_words_that_look_british_are_left_alone():
    for word in ("hour", "four", "promise", "genre", "leucine", "aerobic", "michael", "does"):
        assert american(word) == word


def test_tumour_finds_the_records_that_say_tumor(hub, geo_fixtures):
    # GDS507's description says "renal clear cell tumor tissue", GSM11805 "Renal Clear Cell
    # Tumor"; neither file says "tumour"
    for name in FILES[:2]:
        assert "tumour" not in text_of(geo_fixtures / name)
    british = set(found(hub, "tumour", expand=False))
    assert {"GDS507", "GSM11805"} <= british
    assert british == set(found(hub, "tumor", expand=False))
    assert set(found(hub, '"clear cell tumour"', expand=False)) >= {"GDS507"}


def test_plurals_find_the_singular(hub):
    assert set(found(hub, "cancers", expand=False)) == set(found(hub, "cancer", expand=False))
    assert "GDS507" in found(hub, "carcinomas", expand=False)
    # GSE432's title says "transcription", GSE1623's "mice" stays "mice"
    assert found(hub, "liver transcriptions", expand=False)[0] == "GSE432"


def test_field_and_exact_queries_keep_working(hub):
    assert found(hub, "GSE1623[ACCN]") == ["GSE1623"]
    assert found(hub, "GSM11805") == ["GSM11805"]
    assert set(found(hub, "GDS[ETYP]")) == {"GDS507", "GDS334"}
    assert "GSE432" in found(hub, '"energy balance perturbations"[TITL]')
    assert found(hub, "transcript*[TITL] AND liver") == ["GSE432"]


# ------------------------------------------------------------------ ranking


def test_liver_cancer_finds_the_series_titled_human_liver_cancers_first(hub):
    assert found(hub, "liver cancer", expand=False)[0] == "GSE900001"
    hits = found(hub, "liver cancer")
    assert hits[0] == "GSE900001"
    assert {"GSM900001", "GSM900002"} <= set(hits[1:])


def test_series_rank_above_their_own_samples(hub, monkeypatch):
    # GSE1623's title "NOD.scid, NOD, BDC2.5/NOD and BDC2.5/NOD.scid mice" and its samples'
    # titles ("NOD.scid", "BDC2.5/NOD.scid") match about as well
    hits = found(hub, "NOD scid")
    assert hits[0] == "GSE1623" and all(h.startswith("GSM") for h in hits[1:]) and hits[1:]
    assert found(hub, "BDC2.5 NOD")[0] == "GSE1623"
    # without the series boost, a short sample title outscores its series: the failure the
    # issue reports
    import exprhub.search.postgres_index as postgres_index
    import exprhub.search.tantivy_index as tantivy_index

    monkeypatch.setattr(tantivy_index, "SERIES_BOOST", 1.0)
    monkeypatch.setattr(postgres_index, "SERIES_BOOST", 1.0)
    if hub.engine.url.get_backend_name() != "postgresql":
        # (PostgreSQL's ts_rank does not divide by a record's length, so there a long series
        # text already outscores a short sample title on this query)
        assert found(hub, "NOD scid")[0] != "GSE1623"


# ------------------------------------------------------------------ labels and facets


def test_label_fields_and_facets_share_the_label_names(hub, capsys, monkeypatch):
    assert set(found(hub, "female[sex]")) >= {"GSM900001"}
    assert "GSM900002" not in found(hub, "female[sex]")
    assert found(hub, '"renal cortex"[organ]', expand=False) == ["GSM900003"]
    assert found(hub, '"renal cortex"[tissue]', expand=False) == ["GSM900003"]
    results = hub.search("donor", facets=["organ", "tissue", "disease"], expand=False)
    organs = {f.value: f.count for f in results.facets["organ"]}
    # as submitted (harmonized) and as the ontology names it (standardized labels)
    assert organs == {"liver": 2, "renal cortex": 1, "cortex of kidney": 1, "renal medulla": 1}
    assert organs == {f.value: f.count for f in results.facets["tissue"]}
    assert "specimen_type" in DEFAULT_SCHEMA.facet_names
    # the same name lists samples
    cli_env(hub, monkeypatch)
    code = main(["ls", "--home", str(hub.home), "--type", "gsm", "--label", "organ=liver"])
    out = capsys.readouterr().out
    assert code == 0 and "GSM900001" in out and "GSM900003" not in out


def test_search_documents_take_labels_from_one_function(hub, monkeypatch):
    import exprhub.search.hub_index as hub_index

    def standardized(_hub, characteristics):
        return {key: {"disease": ["standardized disease"]} for key in characteristics}

    monkeypatch.setattr(hub_index, "label_values", standardized)
    with HubSearch(hub) as engine:
        engine.sync(full=True)
        hits = engine.search('"standardized disease"[disease]', limit=200, expand=False).hits
        assert {h.accession for h in hits} >= {"GSM900001", "GSM11805"}
        assert all(h.etype == "GSM" for h in hits)
    monkeypatch.undo()
    with HubSearch(hub) as engine:
        engine.sync(full=True)
    assert found(hub, '"standardized disease"[disease]') == []


# ------------------------------------------------------------------ ontology expansion


def test_kidney_finds_renal_cortex_and_medulla(hub):
    plain = set(found(hub, "kidney", expand=False))
    assert not {"GSM900003", "GSM900004"} & plain
    expanded = set(found(hub, "kidney"))
    assert {"GSM900003", "GSM900004"} <= expanded and plain <= expanded
    # standardized tissue labels are indexed too: GSM11805 says "Right Kidney", and
    # GSM900003's "renal cortex" is UBERON's "cortex of kidney"; only expansion finds the
    # medulla (GSM900004); GDS507 carries the labels of its columns, which have no sample
    # records ("renal clear cell tumor tissue": kidney)
    assert set(found(hub, "kidney[tissue]")) == {"GSM900003", "GSM900004", "GSM11805", "GDS507"}
    assert set(found(hub, "kidney[tissue]", expand=False)) == {"GSM900003", "GSM11805", "GDS507"}


def test_carcinoma_finds_renal_cell_carcinoma(hub):
    hits = set(found(hub, "carcinoma"))
    assert {"GSM900003", "GDS507"} <= hits  # "renal cell carcinoma", "renal clear cell ..."


def test_expansion_is_bounded_and_skips_roots():
    terms = ontology_terms()
    assert len(terms.expansions(("cancer",))) == MAX_EXPANSIONS
    assert terms.expansions(("cell",)) == []  # CL's root names every cell type
    assert ("renal", "cortex") in terms.expansions(("kidney",))
    assert all("kidney" not in p for p in terms.expansions(("kidney",)))


def test_expansion_from_the_cli_and_http(hub, capsys, monkeypatch):
    cli_env(hub, monkeypatch)

    def cli(*extra: str) -> set[str]:
        code = main(["search", "kidney[tissue]", "--home", str(hub.home), "--json", *extra])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        return {h["accession"] for h in json.loads(captured.out)["hits"]}

    assert cli() == {"GSM900003", "GSM900004", "GSM11805", "GDS507"}
    assert cli("--no-expand") == {"GSM900003", "GSM11805", "GDS507"}  # see the kidney test
    with (
        HubSearch(hub) as engine,
        TestClient(create_app(hub, search=IndexSearch(engine, hub))) as c,
    ):
        on = c.get("/api/v1/search", params={"q": "kidney[tissue]"}).json()
        off = c.get("/api/v1/search", params={"q": "kidney[tissue]", "expand": "false"}).json()
    assert on["count"] == 4 and off["count"] == 3


# ------------------------------------------------------------------ rebuilding


def test_an_index_of_another_text_analysis_is_rebuilt(tmp_path, database_url, geo_fixtures):
    import exprhub.search.postgres_index as postgres_index
    import exprhub.search.tantivy_index as tantivy_index

    with Hub.init(tmp_path / "hub", database_url=database_url) as hub:
        hub.import_files(geo_fixtures / FILES[0])
        location = default_location(hub)
        drop_index(location)
        with pytest.MonkeyPatch.context() as patch:  # as an exprhub without stemming left it
            patch.setattr(tantivy_index, "ANALYZER_VERSION", 0)
            patch.setattr(postgres_index, "ANALYZER_VERSION", 0)
            open_index(location, DEFAULT_SCHEMA).close()
        with pytest.raises(ValueError, match="text analysis"):
            open_index(location, DEFAULT_SCHEMA)
        notices: list[str] = []
        hub.import_files(geo_fixtures / FILES[1], on_notice=notices.append)
        assert any("text analysis" in n for n in notices), notices
        assert {"GDS507", "GSM11805"} <= set(found(hub, "tumour", expand=False))


# ------------------------------------------------------------------ standardized labels


def test_search_finds_standardized_labels_read_from_free_text(hub):
    """GSM11805 says its sex only in its description ("Gender = Female; Right Kidney"):
    no characteristic carries it, so search found it only once labels were indexed from
    the stored standardized labels, the same ones `exprhub ls --label` lists."""
    assert hub.sample_labels("GSM11805")  # labelled on import
    assert "GSM11805" in found(hub, "female[sex]")
    assert "GSM11805" in found(hub, "kidney[organ]")
    assert "GSM11805" in found(hub, "kidney[tissue]")
    listed = {r.key for r in hub.records("gsm", labels={"sex": "female"})}
    assert "GSM11805" in listed


def test_a_label_change_reaches_the_index(tmp_path, geo_fixtures, database_url):
    """Labels written after the record (a relabel, an expression model) mark the sample as
    updated, so the index takes the new values at its next sync instead of keeping the old
    ones until a full rebuild."""
    from exprhub.hub.labels import StoredLabel, write_labels

    with Hub.init(tmp_path / "hub", database_url=database_url) as hub:  # a fresh database
        hub.import_files([geo_fixtures / "geoquery/GSM11805.txt.gz"])
        assert found(hub, "female[sex]") == ["GSM11805"]
        assert found(hub, "male[sex]") == []
        model = StoredLabel(
            "GSM11805", "sex", "male", None, "expression", "RPS4Y1", 0, 6, "expression model", 0.8
        )
        with hub.writer() as writer:
            write_labels(
                writer, {"GSM11805": [model]}, version="test", methods=("expression model",)
            )
        assert found(hub, "male[sex]") == ["GSM11805"]  # beside the rule label "female"
