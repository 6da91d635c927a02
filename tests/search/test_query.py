"""The Entrez-style query parser: AST shapes, fields and aliases, ranges, errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exprhub.search import (
    And,
    MatchAll,
    Not,
    Or,
    QuerySyntaxError,
    Range,
    SearchSchema,
    Term,
    parse_query,
    tokenize,
)


def root(q: str, schema: SearchSchema | None = None):
    return parse_query(q, schema or SearchSchema()).root


def test_bare_terms_and_implicit_and():
    assert root("diabetes") == Term(None, ("diabetes",))
    assert root("breast cancer") == And((Term(None, ("breast",)), Term(None, ("cancer",))))
    assert root('"breast cancer"') == Term(None, ("breast", "cancer"))


def test_geo_example():
    assert root("diabetes[ALL] AND Homo sapiens[ORGN] AND GSE[ETYP]") == And(
        (
            Term(None, ("diabetes",)),
            Term("ORGN", ("homo", "sapiens")),
            Term("ETYP", ("gse",)),
        )
    )


def test_tag_applies_to_words_since_last_operator():
    assert root("cancer AND Mus musculus[Organism]") == And(
        (Term(None, ("cancer",)), Term("ORGN", ("mus", "musculus")))
    )
    # a phrase ends the run of words: "cancer" stays an ALL term
    assert root('cancer "breast tumour"[Title]') == And(
        (Term(None, ("cancer",)), Term("TITL", ("breast", "tumour")))
    )


@pytest.mark.parametrize(
    ("tag", "field"),
    [
        ("Organism", "ORGN"),
        ("orgn", "ORGN"),
        ("Title", "TITL"),
        ("Accession", "ACCN"),
        ("Author", "AUTH"),
        ("Entry Type", "ETYP"),
        ("Platform", "PLAT"),
        ("Description", "DESC"),
        ("Value Type", "VTYP"),
        ("DataSet Type", "GTYP"),
        ("Platform Technology Type", "PTYP"),
        ("SEX", "sex"),
        ("cell line", "cell_line"),
        ("Cell-Line", "cell_line"),
    ],
)
def test_field_aliases(tag: str, field: str):
    assert root(f"x[{tag}]") == Term(field, ("x",))


def test_all_tag_is_untagged():
    assert root("x[All Fields]") == root("x[ALL]") == Term(None, ("x",))


def test_registered_label_field():
    schema = SearchSchema().with_labels(["smoking_status"])
    assert root("never[smoking status]", schema) == Term("smoking_status", ("never",))
    with pytest.raises(QuerySyntaxError, match="unknown field"):
        root("never[smoking_status]")


def test_operators_left_to_right_like_entrez():
    a, b, c = (Term(None, (x,)) for x in "abc")
    assert root("a OR b AND c") == And((Or((a, b)), c))
    assert root("a OR (b AND c)") == Or((a, And((b, c))))
    assert root("a OR b c") == Or((a, And((b, c))))
    assert root("a NOT b") == And((a, Not(b)))
    assert root("NOT a") == Not(a)
    assert root("a AND NOT b") == And((a, Not(b)))
    assert root("a (b OR c)") == And((a, Or((b, c))))


def test_lower_case_operators_are_words():
    assert root("salt and pepper") == And(
        (Term(None, ("salt",)), Term(None, ("and",)), Term(None, ("pepper",)))
    )
    assert root("not") == Term(None, ("not",))


def test_words_are_tokenized_like_documents():
    assert root("IL-6") == Term(None, ("il", "6"))
    assert root("Café") == Term(None, ("cafe",))
    assert tokenize("Naïve MCF-7 cells_x") == ["naive", "mcf", "7", "cells", "x"]


def test_range_tag_takes_only_the_range():
    assert root("cancer 2005:2006[PDAT]") == And(
        (Term(None, ("cancer",)), Range("PDAT", 20050101, 20061231))
    )
    assert root("a b 2005 : 2006[PDAT]") == And(
        (Term(None, ("a",)), Term(None, ("b",)), Range("PDAT", 20050101, 20061231))
    )
    assert root("a 10: 20[NSAM]") == And((Term(None, ("a",)), Range("NSAM", 10, 20)))


def test_wildcards():
    assert root("diabet*") == Term(None, ("diabet",), prefix=True)
    assert root("GSE1*[ACCN]") == Term("ACCN", ("gse1",), prefix=True)


@pytest.mark.parametrize(
    ("q", "low", "high"),
    [
        ("10:100[NSAM]", 10, 100),
        ("12[Number of Samples]", 12, 12),
        ("100:[NSAM]", 100, None),
        (":5[NSAM]", None, 5),
    ],
)
def test_int_ranges(q: str, low, high):
    assert root(q) == Range("NSAM", low, high)


@pytest.mark.parametrize(
    ("q", "low", "high"),
    [
        ("2005:2010[PDAT]", 20050101, 20101231),
        ("2005/01/01:2010/12/31[PDAT]", 20050101, 20101231),
        ("2008/02[Publication Date]", 20080201, 20080229),
        ("2008-02-03:2008-03[PDAT]", 20080203, 20080331),
        ("2005 : 2006[PDAT]", 20050101, 20061231),
    ],
)
def test_date_ranges(q: str, low, high):
    assert root(q) == Range("PDAT", low, high)


def test_empty_query_matches_all():
    assert root("") == MatchAll()
    assert root("   ") == MatchAll()


def test_scored():
    assert parse_query("cancer").is_scored()
    assert not parse_query("GSE[ETYP] AND 10:20[NSAM]").is_scored()
    assert not parse_query("NOT cancer").is_scored()
    assert parse_query("cancer[TITL] AND Homo sapiens[ORGN]").is_scored()


@pytest.mark.parametrize(
    ("q", "reason", "column"),
    [
        ("cancer AND foo[FOO]", "unknown field [FOO] at column 15; known fields: ALL, ACCN", 15),
        ('"breast cancer', "unterminated quoted phrase", 1),
        ("cancer[TITL", "missing ']'", 7),
        ("(a OR b", "'(' is never closed", 1),
        ("a OR b)", "unbalanced ')'", 7),
        ("AND a", "AND needs a term before it", 1),
        ("a AND", "AND needs a term after it", 3),
        ("a OR NOT", "NOT needs a term after it", 6),
        ("[TITL]", "a field tag must follow a word", 1),
        ("(a OR b)[TITL]", "a field tag must follow a word", 9),
        ("()", "empty parentheses", 1),
        ("x]", "']' without '['", 2),
        ("d*abetes", "'*' is only allowed at the end", 1),
        ("d*", "at least two letters", 1),
        ('"breast canc*"', "only allowed on a single word", 1),
        ("breast canc*[TITL]", "only allowed on a single word", 8),
        ("--", "no letters or digits", 1),
        ("ten[NSAM]", "expected a whole number for [NSAM]", 1),
        ("2010:2005[PDAT]", "empty range", 1),
        ("2005/13[PDAT]", "month 13 out of range", 1),
        ("2005/02/30[PDAT]", "day 30 out of range", 1),
        ("05/01/2005[PDAT]", "expected a date YYYY", 1),
        (":[NSAM]", "at least one bound", 1),
        ("1:2:3[NSAM]", "one ':'", 1),
    ],
)
def test_syntax_errors_point_at_the_column(q: str, reason: str, column: int):
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(q)
    err = info.value
    assert reason in err.reason
    assert err.column == column
    lines = str(err).splitlines()
    assert lines[1] == "  " + q
    assert lines[2] == "  " + " " * (column - 1) + "^"


_WORD = st.text(alphabet='abcdefxyz09-*"()[]: ANDORT', min_size=0, max_size=30)


@settings(max_examples=400, deadline=None)
@given(_WORD)
def test_parser_never_crashes(q: str):
    """Any input parses or raises QuerySyntaxError (never another exception)."""
    try:
        parse_query(q)
    except QuerySyntaxError as err:
        assert 1 <= err.column <= len(q) + 1


_FIELDS = ["ALL", "TITL", "ORGN", "ETYP", "sex", "cell line"]
_words = st.sampled_from(["cancer", "breast", "homo", "sapiens", "gse", "liver", "mcf", "7"])


def _term():
    single = st.builds(
        lambda w, f: (f"{w}[{f}]", Term(None if f == "ALL" else _canon(f), (w,))),
        _words,
        st.sampled_from(_FIELDS),
    )
    phrase = st.builds(
        lambda ws, f: (
            '"' + " ".join(ws) + '"' + ("" if f is None else f"[{f}]"),
            Term(None if f in (None, "ALL") else _canon(f), tuple(ws)),
        ),
        st.lists(_words, min_size=2, max_size=3),
        st.sampled_from([None, *_FIELDS]),
    )
    prefix = st.builds(
        lambda w: (w[:3] + "*", Term(None, (w[:3],), True)),
        st.sampled_from(["cancer", "breast", "liver"]),
    )
    rng = st.builds(
        lambda a, b: (f"{a}:{a + b}[NSAM]", Range("NSAM", a, a + b)),
        st.integers(0, 50),
        st.integers(0, 50),
    )
    return st.one_of(single, phrase, prefix, rng)


def _canon(tag: str) -> str:
    spec = SearchSchema().resolve(tag)
    assert spec is not None
    return spec.name


def _tree():
    def extend(children):
        return st.one_of(
            st.builds(lambda a, b: (f"({a[0]} AND {b[0]})", And((a[1], b[1]))), children, children),
            st.builds(lambda a, b: (f"({a[0]} OR {b[0]})", Or((a[1], b[1]))), children, children),
            st.builds(
                lambda a, b: (f"({a[0]} NOT {b[0]})", And((a[1], Not(b[1])))), children, children
            ),
            st.builds(lambda a: (f"(NOT {a[0]})", Not(a[1])), children),
        )

    return st.recursive(_term(), extend, max_leaves=8)


def _flatten(node):
    if isinstance(node, And | Or):
        items: list = []
        for item in node.items:
            item = _flatten(item)
            items.extend(item.items if type(item) is type(node) else (item,))
        return type(node)(tuple(items))
    if isinstance(node, Not):
        return Not(_flatten(node.item))
    return node


@settings(max_examples=300, deadline=None)
@given(_tree())
def test_round_trip_rendered_trees(case):
    """Rendering an AST as query text and parsing it gives the same tree."""
    text, tree = case
    assert _flatten(parse_query(text).root) == _flatten(tree)
