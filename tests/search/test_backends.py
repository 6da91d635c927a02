"""One suite for every backend: matching, ranking, paging, facets, updates, persistence."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exprhub.search import (
    FacetCount,
    QuerySyntaxError,
    SearchDocument,
    SearchIndex,
    SearchSchema,
    parse_query,
)
from exprhub.search.document import top_facets
from tests.search.conftest import corpus, open_backend
from tests.search.reference import expected, facet_counts

CASES = [
    ("cancer", {"GSE10", "GSE2", "GSE45", "GSM1", "GDS5", "GDS40"}),
    ("Cancer", {"GSE10", "GSE2", "GSE45", "GSM1", "GDS5", "GDS40"}),
    ('"breast cancer"', {"GSE10", "GSM1", "GDS5"}),
    ("breast cancer", {"GSE10", "GSM1", "GDS5"}),
    ('"cancer breast"', set()),
    ("cancer[TITL]", {"GSE10", "GDS40"}),
    # wide ORs (as ontology expansions make): PostgreSQL tests them in two steps
    ('asthma OR islet OR regeneration OR tumour OR "breast cancer" OR xyz', None),
    ("(islet AND control) OR asthma OR liver OR diabet* OR GPL570[ACCN] OR female[sex]", None),
    ("GSE[ETYP] AND (asthma OR liver OR breast OR diabetes OR mice) NOT cancer", None),
    # stemmed: "diabetic" (GSM10's title) and "diabetes" are one term
    ("cancer[Title] OR diabetes[Title]", {"GSE10", "GDS40", "GSE2", "GSM10"}),
    ("cancer NOT breast", {"GSE2", "GSE45", "GDS40"}),
    ("NOT cancer AND GSE[ETYP]", {"GSE300"}),
    ("Homo sapiens[ORGN]", {"GSE10", "GSE45", "GSM1", "GSM2", "GPL570", "GDS5", "GDS40"}),
    ("Homo sapiens", {"GSE10", "GSE45", "GSM1", "GSM2", "GPL570", "GDS5", "GDS40"}),
    ("sapiens mus[ORGN]", set()),  # a phrase never spans two values
    ("musculus rattus[ORGN]", set()),
    ("Rattus norvegicus[ORGN] AND Mus musculus[ORGN]", {"GSE300"}),
    ("GSE[ETYP]", {"GSE10", "GSE2", "GSE300", "GSE45"}),
    ("gds[Entry Type]", {"GDS5", "GDS40"}),
    ("GPL570[PLAT]", {"GSE10", "GSE45", "GSM1", "GSM2", "GDS5", "GDS40"}),
    ("GPL570", {"GSE10", "GSE45", "GSM1", "GSM2", "GDS5", "GDS40", "GPL570"}),
    ("GPL570[ACCN]", {"GPL570"}),
    ("GSE1*[ACCN]", {"GSE10"}),
    ("diabet*", {"GSE2", "GSM10"}),
    ("diabet*[TITL]", {"GSE2", "GSM10"}),
    ("10:40[NSAM]", {"GSE10", "GSE45", "GSE300", "GDS40"}),
    ("100:[NSAM]", {"GSE2"}),
    (
        "NOT 1:100[NSAM]",
        set(d.accession for d in corpus()) - {"GSE10", "GSE45", "GSE300", "GDS5", "GDS40"},
    ),
    ("2008[PDAT]", {"GSE10", "GSM1", "GSM2"}),
    ("2010:2012[PDAT]", {"GSE300", "GSE45", "GDS5", "GDS40"}),
    ("2010/12/31:2012/06/14[PDAT]", {"GSE45"}),
    ("2004/11[PDAT] AND GSM[ETYP]", {"GSM10", "GSM11"}),
    ("female[sex]", {"GSM1", "GSM2"}),
    ("male[sex]", {"GSM10", "GSM11"}),
    ("liver[tissue]", {"GSM300", "GSM301"}),
    ("liver", {"GSE300", "GSM300", "GSM301"}),
    ("MCF-7[cell line]", {"GDS5"}),
    ("mcf 7[cell_line]", {"GDS5"}),
    ("7 t[cell_line]", set()),  # MCF-7 and T-47D are two values
    ("sleepy", {"GSM301"}),  # unregistered label: searchable in ALL
    ("Smith[AUTH]", {"GSE10", "GSE300"}),
    ("Smith J[Author]", {"GSE10", "GSE300"}),
    ("muller", {"GSE300"}),
    ("cafe", {"GDS5"}),
    ("naive[TITL]", {"GDS5"}),
    ("IL-6", {"GSE300"}),
    ("count[VTYP]", {"GDS5", "GDS40"}),
    ('"transformed count"[VTYP]', {"GDS40"}),
    ("high throughput sequencing[PTYP]", {"GSE300"}),
    ("sequencing[GTYP]", {"GSE300"}),
    ("respira", set()),
    ("respi*", {"GSE45"}),
    ("Respir* AND GSE[ETYP] AND 2010[PDAT]", {"GSE45"}),
    ("tamoxifen[treatment]", {"GDS5"}),
    ("(cancer OR diabetes) AND Mus musculus[ORGN]", {"GSE2", "GSM10"}),
    ("cancer OR diabetes AND Mus musculus[ORGN]", {"GSE2", "GSM10"}),
    (
        "cancer OR (diabetes AND Mus musculus[ORGN])",
        {"GSE10", "GSE2", "GSE45", "GSM1", "GDS5", "GDS40", "GSM10"},
    ),
    ("NOT GSM[ETYP] NOT GPL[ETYP] NOT GDS[ETYP]", {"GSE10", "GSE2", "GSE300", "GSE45"}),
    ("cancer OR NOT 1:1000[NSAM]", None),
    ("", None),
    ("zzzz", set()),
    ("time", None),
]


def accessions(index: SearchIndex, q: str) -> set[str]:
    res = index.search(q, limit=100, facets=())
    assert res.total == len(res.hits)
    return {h.accession for h in res.hits}


@pytest.mark.parametrize(("q", "want"), CASES, ids=[c[0] or "<empty>" for c in CASES])
def test_match_sets(loaded: SearchIndex, q: str, want: set[str] | None):
    docs = corpus()
    ref = expected(docs, parse_query(q, loaded.schema).root, loaded.schema)
    if want is not None:
        assert ref == want, "reference evaluator disagrees with the expected set"
    assert accessions(loaded, q) == ref


def test_count(loaded: SearchIndex):
    assert loaded.count() == len(corpus())
    assert loaded.search("").total == len(corpus())


def test_title_match_ranks_first(loaded: SearchIndex):
    hits = loaded.search("cancer", facets=()).hits
    assert {h.accession for h in hits[:2]} == {"GSE10", "GDS40"}
    assert hits[0].score >= hits[1].score > hits[-1].score


def test_hit_fields(loaded: SearchIndex):
    (hit,) = loaded.search("GSE300[ACCN]").hits
    assert (hit.accession, hit.etype, hit.title) == (
        "GSE300",
        "GSE",
        "Liver regeneration time course",
    )


def test_unscored_queries_list_in_accession_order(loaded: SearchIndex):
    hits = loaded.search("GSE[ETYP]").hits
    assert [h.accession for h in hits] == ["GSE2", "GSE10", "GSE45", "GSE300"]
    assert [h.accession for h in loaded.search("").hits][:4] == [
        "GDS5",
        "GDS40",
        "GPL570",
        "GPL1261",
    ]


def test_score_ties_in_accession_order(make_index):
    index = make_index()
    index.add(
        SearchDocument(f"GSM{n}", "GSM", "same title", organisms=["Homo sapiens"])
        for n in (30, 4, 200, 1, 15, 2)
    )
    index.commit()
    order = ["GSM1", "GSM2", "GSM4", "GSM15", "GSM30", "GSM200"]
    assert [h.accession for h in index.search("title", limit=6).hits] == order
    pages = [
        h.accession for o in range(0, 6, 2) for h in index.search("title", limit=2, offset=o).hits
    ]
    assert pages == order
    res = index.search("title", limit=2, offset=5)
    assert (res.total, [h.accession for h in res.hits]) == (6, ["GSM200"])


def test_paging_is_consistent(loaded: SearchIndex):
    full = [h.accession for h in loaded.search("cancer OR liver OR islet", limit=50).hits]
    paged = [
        h.accession
        for o in range(0, len(full), 3)
        for h in loaded.search("cancer OR liver OR islet", limit=3, offset=o).hits
    ]
    assert paged == full
    assert loaded.search("cancer", limit=0).hits == []
    assert loaded.search("cancer", limit=0).total == 6
    with pytest.raises(ValueError, match="limit and offset"):
        loaded.search("cancer", offset=-1)


def test_facets_count_the_whole_match_set(loaded: SearchIndex):
    res = loaded.search(
        "Homo sapiens[ORGN]", limit=1, facets=("organism", "etype", "platform", "sex")
    )
    assert res.total == 7 and len(res.hits) == 1
    assert res.facets["organism"] == [FacetCount("Homo sapiens", 7)]
    assert res.facets["etype"] == [
        FacetCount("GDS", 2),
        FacetCount("GSE", 2),
        FacetCount("GSM", 2),
        FacetCount("GPL", 1),
    ]
    assert res.facets["platform"] == [FacetCount("GPL570", 6)]
    assert res.facets["sex"] == [FacetCount("female", 2)]
    multi = loaded.search("GSE300[ACCN]", facets=("organism", "platform"))
    assert multi.facets["organism"] == [
        FacetCount("Mus musculus", 1),
        FacetCount("Rattus norvegicus", 1),
    ]
    assert multi.facets["platform"] == [FacetCount("GPL1261", 1), FacetCount("GPL1355", 1)]


def test_default_facets_and_limit(loaded: SearchIndex):
    res = loaded.search("")
    assert tuple(res.facets) == loaded.schema.default_facets
    assert "sex" in res.facets and "cell_line" not in res.facets
    everything = loaded.search("", facets=loaded.schema.facet_names)
    assert set(everything.facets) == set(loaded.schema.facet_names)
    assert everything.facets["cell_line"][0] == FacetCount("A549", 1)
    assert res.facets["organism"][0] == FacetCount("Homo sapiens", 7)
    assert loaded.search("", facet_limit=1).facets["organism"] == [FacetCount("Homo sapiens", 7)]
    assert loaded.search("zzzz").facets["organism"] == []
    with pytest.raises(ValueError, match="unknown facet 'colour'; known facets: organism"):
        loaded.search("", facets=("colour",))


def test_errors_are_the_same_everywhere(loaded: SearchIndex):
    with pytest.raises(QuerySyntaxError, match=r"unknown field \[FOO\] at column 15"):
        loaded.search("cancer AND foo[FOO]")


def test_upsert_and_delete(make_index):
    index = make_index()
    assert index.add(corpus()) == len(corpus())
    index.commit()
    changed = SearchDocument("GSE10", "GSE", "Renamed study", organisms=["Danio rerio"], nsam=3)
    index.add([changed, changed])
    index.delete(["GSM1", "GSM999"])
    index.commit()
    assert index.count() == len(corpus()) - 1
    assert accessions(index, "renamed") == {"GSE10"}
    assert "GSE10" not in accessions(index, "breast")
    assert "GSM1" not in accessions(index, "breast")
    assert index.search("danio", facets=("organism",)).facets["organism"] == [
        FacetCount("Danio rerio", 1)
    ]
    assert accessions(index, "3[NSAM]") == {"GSE10"}


def test_reopen_keeps_documents_and_schema(make_index, tmp_path):
    schema = SearchSchema(labels=("sex", "smoking"))
    index = make_index(schema)
    index.add([SearchDocument("GSM7", "GSM", "lung", labels={"smoking": ["never"]})])
    index.commit()
    location = _location(index)
    index.close()
    again = _reopen(make_index.backend, location)
    try:
        assert again.schema == schema
        assert accessions(again, "never[smoking]") == {"GSM7"}
        with pytest.raises(ValueError, match="rebuild"):
            _reopen(make_index.backend, location, SearchSchema(labels=("sex",)))
    finally:
        again.close()


def _location(index):
    return getattr(index, "path", None) or index._t  # postgres: table prefix


def _reopen(backend, location, schema=None):
    from exprhub.search import PostgresIndex, TantivyIndex

    if backend == "tantivy":
        return TantivyIndex(location, schema)
    from tests.search.conftest import _pg_url

    return PostgresIndex(_pg_url(), schema, prefix=location)


def test_uncommitted_changes_are_not_durable(make_index):
    index = make_index()
    index.add(corpus()[:3])
    index.commit()
    index.add([SearchDocument("GSE999", "GSE", "pending")])
    index.close()
    again = _reopen(make_index.backend, _location(index))
    try:
        assert again.count() == 3
    finally:
        again.close()


def test_empty_fields_and_missing_values(make_index):
    index = make_index()
    index.add(
        [SearchDocument("GSM5", "GSM"), SearchDocument("GSM6", "GSM", pdat=dt.date(2001, 1, 1))]
    )
    index.commit()
    assert accessions(index, "NOT 2001[PDAT]") == {"GSM5"}
    assert accessions(index, "GSM[ETYP]") == {"GSM5", "GSM6"}
    assert index.search("").facets["organism"] == []


# ---------------------------------------------------------------- random queries


_VOCAB = [
    "cancer",
    "breast",
    "liver",
    "mus",
    "musculus",
    "homo",
    "sapiens",
    "gse",
    "gsm",
    "islet",
    "female",
    "male",
    "affymetrix",
    "array",
    "expression",
    "normal",
    "time",
    "2",
    "0",
]
_FIELDS = [None, None, "TITL", "DESC", "ORGN", "ETYP", "tissue", "sex", "PLAT", "ACCN"]


def _leaf():
    word = st.builds(
        lambda w, f: w + ("" if f is None else f"[{f}]"),
        st.sampled_from(_VOCAB),
        st.sampled_from(_FIELDS),
    )
    phrase = st.builds(
        lambda ws, f: '"' + " ".join(ws) + '"' + ("" if f is None else f"[{f}]"),
        st.lists(st.sampled_from(_VOCAB), min_size=2, max_size=3),
        st.sampled_from(_FIELDS),
    )
    prefix = st.builds(lambda w: w[:2] + "*", st.sampled_from([w for w in _VOCAB if len(w) > 2]))
    rng = st.sampled_from(["1:20[NSAM]", "2008:2010[PDAT]", "50:[NSAM]", "2004/11[PDAT]"])
    return st.one_of(word, phrase, prefix, rng)


_QUERIES = st.recursive(
    _leaf(),
    lambda c: st.one_of(
        st.builds(lambda a, b, op: f"({a} {op} {b})", c, c, st.sampled_from(["AND", "OR", "NOT"])),
        st.builds(lambda a, b: f"({a}) ({b})", c, c),
        st.builds(lambda a: f"(NOT {a})", c),
    ),
    max_leaves=6,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(q=_QUERIES)
def test_random_queries_match_the_reference(loaded: SearchIndex, q: str):
    ref = expected(corpus(), parse_query(q, loaded.schema).root, loaded.schema)
    facets = ("organism", "etype", "platform", "sex", "tissue")
    res = loaded.search(q, limit=100, facets=facets)
    assert {h.accession for h in res.hits} == ref
    assert res.total == len(ref)
    for name in facets:  # every count exact, whether counted over the matches or the rest
        want = top_facets(facet_counts(corpus(), ref, name, loaded.schema), 20)
        assert res.facets[name] == want, name


def test_open_backend_helper_builds_each(tmp_path):
    index = open_backend("tantivy", tmp_path)
    assert isinstance(index, SearchIndex)
    index.close()


def test_open_index_dispatches(tmp_path):
    from exprhub.search import TantivyIndex, open_index

    index = open_index(tmp_path / "idx")
    assert isinstance(index, TantivyIndex)
    index.close()
    with pytest.raises(ValueError, match="unsupported search index URL"):
        open_index("sqlite:///x.db")


def _facet_values(name: str) -> list[str]:
    schema = SearchSchema()
    key = schema.facet_field(name).key
    return sorted({v for d in corpus() for v in d.field_values(schema).get(key, [])})


_FILTERS = st.dictionaries(
    st.sampled_from(["organism", "etype", "platform", "tissue", "sex"]),
    st.lists(st.sampled_from(["Homo sapiens", "GSM", "GPL570", "liver", "male", "Mus musculus"])),
    max_size=2,
).map(lambda f: {k: [v for v in vs if v in _facet_values(k)] + vs[:1] for k, vs in f.items()})


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(q=_QUERIES, filters=_FILTERS)
def test_facet_filters_are_exact(loaded: SearchIndex, q: str, filters: dict[str, list[str]]):
    node = parse_query(q, loaded.schema).filtered(filters).root
    ref = expected(corpus(), node, loaded.schema)
    res = loaded.search(q, limit=100, facets=("tissue", "organism"), filters=filters)
    assert {h.accession for h in res.hits} == ref
    assert res.total == len(ref)
    want = top_facets(facet_counts(corpus(), ref, "tissue", loaded.schema), 20)
    assert res.facets["tissue"] == want


def test_facet_filters_match_whole_values(loaded: SearchIndex):
    # the phrase 'islet' matches 'pancreatic islet'; the facet value 'islet' is not there
    assert accessions(loaded, "islet[tissue]") == {"GSM10", "GSM11"}
    res = loaded.search("", filters={"tissue": ["islet"]})
    assert res.total == 0
    res = loaded.search("", filters={"tissue": ["pancreatic islet", "liver"], "sex": []})
    assert {h.accession for h in res.hits} == {"GSM10", "GSM11", "GSM300", "GSM301"}
    with pytest.raises(ValueError, match="unknown facet 'colour'"):
        loaded.search("", filters={"colour": ["red"]})


def test_counts_of_common_queries_follow_changes(make_index):
    """Queries matching most documents are counted via the counts over all documents, which
    every commit must refresh."""
    index = make_index()
    docs = corpus()
    facets = ("organism", "etype", "tissue", "platform")

    def check(query: str) -> None:
        ref = expected(docs, parse_query(query, index.schema).root, index.schema)
        res = index.search(query, facets=facets)
        assert res.total == len(ref)
        for name in facets:
            assert res.facets[name] == top_facets(facet_counts(docs, ref, name, index.schema), 20)

    index.add(docs)
    index.commit()
    for query in ("", "NOT cancer", "NOT zzz"):
        check(query)
    changed = SearchDocument("GSE10", "GSE", "Renamed", organisms=["Danio rerio"], nsam=3)
    docs = [changed if d.accession == "GSE10" else d for d in docs if d.accession != "GSM1"]
    index.add([changed])
    index.delete(["GSM1"])
    uncommitted = index.search("", facets=("organism",)).facets["organism"]
    assert FacetCount("Danio rerio", 1) not in uncommitted
    index.commit()
    for query in ("", "NOT cancer", "NOT zzz"):
        check(query)


def test_postgres_index_without_a_generation_counts_directly(make_index):
    if make_index.backend != "postgres":
        pytest.skip("a PostgreSQL index detail")
    from sqlalchemy import text

    index = make_index()
    index.add(corpus())
    index.commit()
    with index._engine.begin() as conn:  # as written by an earlier version
        conn.execute(text(f"DELETE FROM {index._t}_meta WHERE key = 'generation'"))
    res = index.search("", facets=("etype",))
    assert res.total == len(corpus()) and res.facets["etype"][0] == FacetCount("GSM", 6)
    index.add([SearchDocument("GSM77", "GSM", "new")])
    index.commit()
    assert index.search("", facets=("etype",)).facets["etype"][0] == FacetCount("GSM", 7)


def test_tokens_longer_than_any_query_word_are_not_indexed(make_index):
    """A record holding a 3,000-character run (a sequence in a description) indexes on every
    backend (PostgreSQL refuses lexemes over 2,046 bytes); its other words stay searchable."""
    from exprhub.search.fields import MAX_TOKEN_LENGTH

    index = make_index()
    sequence = "ACGT" * 750
    index.add(
        [SearchDocument("GSE7", "GSE", "Probe sequences", f"spotted {sequence} oligos {'é' * 900}")]
    )
    index.commit()
    assert accessions(index, "oligos") == {"GSE7"}
    assert accessions(index, "spotted") == {"GSE7"}
    just_fits = "a" * MAX_TOKEN_LENGTH
    index.add([SearchDocument("GSE8", "GSE", just_fits)])
    index.commit()
    assert accessions(index, just_fits) == {"GSE8"}
