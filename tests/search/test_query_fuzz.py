"""Fuzzing the query language: only :class:`QuerySyntaxError` may escape parsing, and a parsed
query runs on every backend without any error (and finds what the reference evaluator finds).

Inputs are arbitrary text and structured random queries: nested parentheses, ``NOT`` chains
and AND/OR alternations around and beyond :data:`MAX_QUERY_DEPTH`, every field tag (aliases,
unknown tags), quoted phrases (some unterminated), wildcards, words around
:data:`MAX_WORD_LENGTH`, ranges with numbers around :data:`MAX_NUMBER` and impossible dates,
and stray brackets, colons and quotes inserted anywhere.

Queries run against the small corpus of ``tests/search/conftest.py`` on tantivy, and on
PostgreSQL when ``EXPRHUB_TEST_POSTGRES_URL`` is set.

CI runs a moderate number of examples per test. For a longer fuzz run, raise it with
``EXPRHUB_FUZZ_EXAMPLES``, e.g.::

    EXPRHUB_FUZZ_EXAMPLES=20000 \\
    EXPRHUB_TEST_POSTGRES_URL=postgresql+psycopg://postgres:exprhub@127.0.0.1:5432/postgres \\
    .venv/bin/python -m pytest -q -p no:cacheprovider tests/search/test_query_fuzz.py

(a failing example is printed by hypothesis; add it to the regression cases below).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exprhub.search import QuerySyntaxError, SearchIndex, SearchSchema, parse_query
from exprhub.search.query import MAX_NUMBER, MAX_QUERY_DEPTH, MAX_WORD_LENGTH
from tests.search.conftest import corpus
from tests.search.reference import expected

#: Examples per property (CI default; see the module docstring for longer runs).
EXAMPLES = int(os.environ.get("EXPRHUB_FUZZ_EXAMPLES", "200"))

_SCHEMA = SearchSchema()
_ACCESSIONS = {d.accession for d in corpus()}


def _fuzz_settings(factor: float = 1.0) -> settings:
    return settings(
        max_examples=max(1, int(EXAMPLES * factor)),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def _parse_or_syntax_error(text: str):
    """The parsed query, or None when parsing raised QuerySyntaxError (with a sane column)."""
    try:
        return parse_query(text)
    except QuerySyntaxError as err:
        assert 1 <= err.column <= len(text) + 1, (text, err.column)
        assert err.reason and len(str(err).splitlines()) == 3  # reason, query, caret
        return None


def _check_search(index: SearchIndex, text: str) -> None:
    """``text`` either fails to parse (QuerySyntaxError, on the index too) or runs and finds
    what the reference evaluator finds."""
    parsed = _parse_or_syntax_error(text)
    if parsed is None:
        with pytest.raises(QuerySyntaxError):
            index.search(text)
        return
    results = index.search(text, limit=100, facets=("organism", "etype", "sex"))
    found = {hit.accession for hit in results.hits}
    assert found <= _ACCESSIONS
    assert results.total == len(found)
    assert found == expected(corpus(), parse_query(text, index.schema).root, index.schema)


# ------------------------------------------------------------------ strategies

_TAGS = sorted(
    {tag for spec in _SCHEMA.fields for tag in (spec.name, *spec.aliases)}
    | {"ALL", "all fields", "nope", "", " ORGN ", "Cell-Line", "_EXTRA", "l_sex"}
)
_VOCAB = [
    "cancer",
    "breast",
    "liver",
    "homo",
    "sapiens",
    "mus",
    "gse",
    "gsm",
    "female",
    "il-6",
    "mcf-7",
    "affymetrix",
    "café",
    "naïve",
    "and",
    "or",
    "not",
]
_LETTERS = "abcxyz019éß中𠀀-_.'/,;+"

_word = st.one_of(
    st.sampled_from(_VOCAB),
    st.text(alphabet=_LETTERS, min_size=1, max_size=10),
    st.integers(MAX_WORD_LENGTH - 2, MAX_WORD_LENGTH + 3).map(lambda n: "q" * n),
    st.integers(MAX_WORD_LENGTH - 2, MAX_WORD_LENGTH + 3).map(lambda n: "𠀀" * n),
)
_tag = st.sampled_from(_TAGS).map(lambda t: f"[{t}]")
_phrase = st.builds(
    lambda words, closed: '"' + " ".join(words) + ('"' if closed else ""),
    st.lists(_word, min_size=0, max_size=4),
    st.sampled_from([True, True, True, False]),  # mostly closed
)
_wildcard = st.builds(lambda w, star: w + star, _word, st.sampled_from(["*", "**", "*x"]))
_number = st.one_of(
    st.integers(0, 200).map(str),
    st.integers(MAX_NUMBER - 3, MAX_NUMBER + 3).map(str),
    st.integers(10**18, 10**30).map(str),
    st.integers(1, 6000).map(lambda n: "9" * n),
    st.sampled_from(["", "-1", "1e3", "0x10", "٣"]),
)
_date = st.builds(
    lambda y, m, d, sep: sep.join(p for p in (y, m, d) if p is not None),
    st.integers(0, 9999).map(lambda y: f"{y:04d}"),
    st.none() | st.integers(0, 14).map(str),
    st.none() | st.integers(0, 33).map(str),
    st.sampled_from(["/", "-"]),
)
_range = st.one_of(
    st.builds(lambda a, b: f"{a}:{b}[NSAM]", _number, _number),
    st.builds(lambda a: f"{a}[samples]", _number),
    st.builds(lambda a, b: f"{a}:{b}[PDAT]", _date | st.just(""), _date | st.just("")),
    st.builds(lambda a: f"{a}[Publication Date]", _date),
)
_term = st.one_of(
    _word,
    st.builds(lambda w, t: f"{w}{t}", st.lists(_word, min_size=1, max_size=3).map(" ".join), _tag),
    _phrase,
    st.builds(lambda p, t: p + t, _phrase, _tag),
    _wildcard,
    st.builds(lambda w, t: w + t, _wildcard, _tag),
    _range,
)
_op = st.sampled_from(["AND", "OR", "NOT"])


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda a, op, b: f"({a} {op} {b})", children, _op, children),
        st.builds(lambda a, op, b: f"{a} {op} {b}", children, _op, children),
        st.builds(lambda a, b: f"{a} {b}", children, children),
        st.builds(lambda a: f"NOT {a}", children),
        st.builds(lambda a: f"({a})", children),
    )


_tree = st.recursive(_term, _combine, max_leaves=10)


def _nest(kind: str, n: int, inner: str) -> str:
    if kind == "parens":
        return "(" * n + inner + ")" * n
    if kind == "not":
        return "NOT " * n + inner
    if kind == "alternate":  # left to right: each switch between AND and OR nests one level
        return inner + "".join(f" {'OR' if i % 2 else 'AND'} w{i}" for i in range(n))
    return "(" * n + inner + " OR x)" * n  # parentheses that each hold an OR


_deep = st.builds(
    _nest,
    st.sampled_from(["parens", "not", "alternate", "mixed"]),
    st.one_of(
        st.integers(0, 3 * MAX_QUERY_DEPTH),
        st.integers(MAX_QUERY_DEPTH - 2, MAX_QUERY_DEPTH + 2),
        st.integers(400, 1200),
    ),
    _tree,
)


def _insert_noise(text: str, edits: list[tuple[int, str]]) -> str:
    for position, piece in edits:
        at = position % (len(text) + 1)
        text = text[:at] + piece + text[at:]
    return text


_noise = st.lists(
    st.tuples(st.integers(0, 10_000), st.sampled_from([*'()"[]:* ', "AND", "NOT "])),
    max_size=3,
)
_structured = st.one_of(_tree, _deep, st.builds(_insert_noise, _tree, _noise))
_arbitrary = st.one_of(
    st.text(max_size=200),
    st.text(alphabet='abc09 ()"[]:*-/\t\nANDORT中é', max_size=120),
)


# ------------------------------------------------------------------ properties


@_fuzz_settings()
@given(_arbitrary)
def test_arbitrary_text_parses_or_raises_a_syntax_error(text: str):
    _parse_or_syntax_error(text)


@_fuzz_settings()
@given(_structured)
def test_structured_queries_parse_or_raise_a_syntax_error(text: str):
    _parse_or_syntax_error(text)


@_fuzz_settings(0.5)
@given(text=_arbitrary)
def test_arbitrary_text_runs_on_every_backend(loaded: SearchIndex, text: str):
    _check_search(loaded, text)


@_fuzz_settings()
@given(text=_structured)
def test_structured_queries_run_on_every_backend(loaded: SearchIndex, text: str):
    _check_search(loaded, text)


# ------------------------------------------------------------------ regressions and edges


@pytest.mark.parametrize(
    ("text", "reason", "column"),
    [
        ("(" * 490 + "cancer" + ")" * 490, "nested too deeply", MAX_QUERY_DEPTH + 1),
        ("NOT " * 490 + "cancer", "nested too deeply", 4 * MAX_QUERY_DEPTH + 1),
        ("99999999999999999999[NSAM]", "out of range for [NSAM]", 1),
        ("1:99999999999999999999[NSAM]", "out of range for [NSAM]", 1),
        (f"{MAX_NUMBER + 1}[NSAM]", f"at most {MAX_NUMBER}", 1),
        ("9" * 5000 + "[NSAM]", "out of range for [NSAM]", 1),
        ("0000[PDAT]", "year 0000 out of range", 1),
        ("x " + "q" * (MAX_WORD_LENGTH + 1), f"longer than {MAX_WORD_LENGTH}", 3),
        ("ab" * MAX_WORD_LENGTH + "*", f"longer than {MAX_WORD_LENGTH}", 1),
    ],
)
def test_limits_are_syntax_errors_with_a_position(text: str, reason: str, column: int):
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(text)
    assert reason in info.value.reason
    assert info.value.column == column
    assert str(info.value).splitlines()[2] == "  " + " " * (column - 1) + "^"


def test_alternating_operators_count_as_nesting():
    def chain(n: int) -> str:
        return "a" + "".join(f" {'OR' if i % 2 else 'AND'} b{i}" for i in range(n))

    assert parse_query(chain(MAX_QUERY_DEPTH))
    with pytest.raises(QuerySyntaxError, match="nested too deeply") as info:
        parse_query(chain(MAX_QUERY_DEPTH + 1))
    assert info.value.column == chain(MAX_QUERY_DEPTH + 1).rindex(" ") - 2  # the last operator
    assert parse_query("NOT " * (MAX_QUERY_DEPTH - 1) + "a b")  # NOT (a AND b): 32 levels
    with pytest.raises(QuerySyntaxError, match="nested too deeply"):
        parse_query("NOT " * MAX_QUERY_DEPTH + "a b")
    flat = "a" + " OR b" * 500  # no alternation, no depth: one OR of 501 terms
    assert len(parse_query(flat).root.items) == 501  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "text",
    [
        "(" * MAX_QUERY_DEPTH + "cancer" + ")" * MAX_QUERY_DEPTH,
        "NOT " * MAX_QUERY_DEPTH + "cancer",
        "(" * (MAX_QUERY_DEPTH // 2) + "cancer" + " OR liver)" * (MAX_QUERY_DEPTH // 2),
        "cancer" + "".join(f" {'OR' if i % 2 else 'AND'} liver" for i in range(MAX_QUERY_DEPTH)),
        "(NOT cancer liver) OR " * 3 + "NOT " * (MAX_QUERY_DEPTH - 2) + "cancer liver",
        f"0:{MAX_NUMBER}[NSAM]",
        f"{MAX_NUMBER}[NSAM]",
        "0001/01/01:9999/12/31[PDAT]",
        "q" * MAX_WORD_LENGTH,
        "𠀀" * MAX_WORD_LENGTH + "*",
        "ab" + "c" * (MAX_WORD_LENGTH - 2) + "*[TITL]",
    ],
)
def test_queries_at_the_limits_run_on_every_backend(loaded: SearchIndex, text: str):
    assert parse_query(text) is not None
    _check_search(loaded, text)
