"""The Entrez-style query language, parsed to a small AST that every backend compiles.

Syntax (as on GEO):

- ``diabetes``, ``"breast cancer"`` — a word or a quoted phrase, searched in all text fields.
  Adjacent terms are ANDed: ``breast cancer`` means ``breast AND cancer``.
- ``Homo sapiens[ORGN]``, ``"breast cancer"[TITL]``, ``female[sex]`` — a field tag applies to
  all the words written since the previous operator, parenthesis or phrase, as one phrase
  (a range tag such as ``[PDAT]`` takes only the range just before it).
  Tags are case-insensitive and accept aliases (``[Organism]``, ``[Title]``, ``[Publication
  Date]``...). Label fields (``[sex]``, ``[tissue]``, ``[cell line]``...) come from the schema.
- ``AND``, ``OR``, ``NOT`` (upper case only; lower-case ``and``/``or``/``not`` are ordinary
  words, as in Entrez). Operators apply left to right without precedence, as in Entrez:
  ``a OR b AND c`` is ``(a OR b) AND c``; use parentheses. An implicit AND between adjacent
  words binds tighter: ``a OR b c`` is ``a OR (b AND c)``. ``a NOT b`` is ``a AND NOT b``;
  a leading ``NOT b`` matches everything except ``b``.
- ``10:100[NSAM]``, ``2005:2010[PDAT]``, ``2005/01/01:2010/12/31[PDAT]``, ``2010/06[PDAT]``
  — inclusive ranges (dates also with ``-``); either side may be left empty (``100:[NSAM]``).
- ``diabet*`` — prefix wildcard on a single word (at least two letters before the ``*``).
- An empty query matches every document.

Limits (each broken one is a :class:`QuerySyntaxError` pointing at where it was exceeded):
nesting at most :data:`MAX_QUERY_DEPTH` levels deep (parentheses, ``NOT`` and AND/OR
alternating without parentheses, which nest left to right), words of at most
:data:`MAX_WORD_LENGTH` letters and digits, and ``[NSAM]``-style numbers at most
:data:`MAX_NUMBER`.

Tokens are those of :func:`exprhub.search.fields.tokenize`: a word like ``IL-6`` is the phrase
``il 6``. Words, phrases and wildcards match by index term (:mod:`exprhub.search.analysis`):
``tumour`` finds ``tumors``; a phrase keeps its word order, not its word endings.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from exprhub.search.analysis import analyze_all, analyze_prefix
from exprhub.search.fields import (
    DEFAULT_SCHEMA,
    MAX_TOKEN_LENGTH,
    FieldSpec,
    SearchSchema,
    tokenize,
)

#: Deepest nesting of parentheses and ``NOT``, and deepest AND/OR tree a query may build.
MAX_QUERY_DEPTH = 32
#: Longest word (a run of letters and digits) a query may search for: the longest token the
#: index holds (see :data:`exprhub.search.fields.MAX_TOKEN_LENGTH`).
MAX_WORD_LENGTH = MAX_TOKEN_LENGTH
#: Largest number in a range on a numeric field (``[NSAM]``): what every backend stores.
MAX_NUMBER = 2**31 - 1


class QuerySyntaxError(ValueError):
    """A query that cannot be parsed; the message points at the column with a caret line."""

    def __init__(self, reason: str, query: str, column: int) -> None:
        self.reason = reason
        self.query = query
        self.column = column
        caret = " " * (column - 1) + "^"
        # one character for one, so the caret stays under its column on one line
        shown = "".join(ch if ch.isprintable() else " " for ch in query)
        super().__init__(f"{reason}\n  {shown}\n  {caret}")


# ---------------------------------------------------------------- AST


@dataclass(frozen=True)
class Term:
    """Tokens matched as a phrase (one token: a word) in ``field`` (None: all text fields)."""

    field: str | None
    tokens: tuple[str, ...]
    prefix: bool = False

    @property
    def terms(self) -> tuple[str, ...]:
        """The index terms searched for the tokens (:mod:`exprhub.search.analysis`: American
        spelling, stemmed); for a wildcard, the one term prefix."""
        if self.prefix:
            return (analyze_prefix(self.tokens[0]),)
        return tuple(analyze_all(self.tokens))


@dataclass(frozen=True)
class Range:
    """Inclusive range on an int or date field (dates as ``YYYYMMDD`` integers)."""

    field: str
    low: int | None
    high: int | None


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class MatchAll:
    """Every document (the empty query)."""


@dataclass(frozen=True)
class FacetFilter:
    """Documents with one of ``values`` (exactly, as counted) in facet ``facet``.

    Not written in query text: selected facet values are added with :meth:`Query.filtered`.
    """

    facet: str
    values: tuple[str, ...]


Node = Term | Range | And | Or | Not | MatchAll | FacetFilter


@dataclass(frozen=True)
class Query:
    """A parsed query: the source text and its AST root."""

    text: str
    root: Node
    schema: SearchSchema = DEFAULT_SCHEMA

    def is_scored(self) -> bool:
        """True when a positive term falls on a scored field (else hits are in accession order)."""
        return _scored(self.root, self.schema, False)

    def filtered(self, filters: Mapping[str, Sequence[str]] | None) -> Query:
        """This query restricted to documents having, for each facet named in ``filters``, one
        of its values (facets with no values do not restrict).

        Raises
        ------
        ValueError
            If a facet name is not one of the schema's facets.
        """
        extra: list[Node] = []
        for facet, values in (filters or {}).items():
            self.schema.facet_field(facet)
            chosen = tuple(dict.fromkeys(v for v in values if v))
            if chosen:
                extra.append(FacetFilter(facet, chosen))
        if not extra:
            return self
        root = self.root
        items = (
            () if isinstance(root, MatchAll) else (root.items if isinstance(root, And) else (root,))
        )
        parts = (*items, *extra)
        return Query(self.text, parts[0] if len(parts) == 1 else And(parts), self.schema)


def _scored(node: Node, schema: SearchSchema, negated: bool) -> bool:
    if isinstance(node, Term):
        if negated:
            return False
        if node.field is None:
            return True
        spec = schema.resolve(node.field)
        return bool(spec and spec.scored)
    if isinstance(node, And | Or):
        return any(_scored(i, schema, negated) for i in node.items)
    if isinstance(node, Not):
        return _scored(node.item, schema, not negated)
    return False


# ---------------------------------------------------------------- lexer


@dataclass(frozen=True)
class _Tok:
    kind: str  # WORD PHRASE TAG LPAREN RPAREN AND OR NOT
    text: str
    col: int


_OPERATORS = {"AND", "OR", "NOT"}


def _lex(q: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(q)
    while i < n:
        ch = q[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            toks.append(_Tok("LPAREN" if ch == "(" else "RPAREN", ch, i + 1))
            i += 1
        elif ch == '"':
            end = q.find('"', i + 1)
            if end < 0:
                raise QuerySyntaxError("unterminated quoted phrase", q, i + 1)
            toks.append(_Tok("PHRASE", q[i + 1 : end], i + 1))
            i = end + 1
        elif ch == "[":
            end = q.find("]", i + 1)
            if end < 0:
                raise QuerySyntaxError("missing ']' to close the field tag", q, i + 1)
            toks.append(_Tok("TAG", q[i + 1 : end], i + 1))
            i = end + 1
        elif ch == "]":
            raise QuerySyntaxError("']' without '['", q, i + 1)
        else:
            j = i
            while j < n and not q[j].isspace() and q[j] not in '()"[]':
                j += 1
            word = q[i:j]
            toks.append(_Tok(word if word in _OPERATORS else "WORD", word, i + 1))
            i = j
    return toks


# ---------------------------------------------------------------- parser


_DATE_RE = re.compile(r"^([0-9]{4})(?:[/-]([0-9]{1,2})(?:[/-]([0-9]{1,2}))?)?$")
_DIGITS_RE = re.compile(r"[0-9]+")


def _shown(text: str, most: int = 24) -> str:
    """``text`` quoted for an error message, shortened when long."""
    return repr(text if len(text) <= most else text[:most] + "...")


def _tag_shown(tag: str, most: int = 40) -> str:
    """A field tag as written, on one line and shortened when long, for an error message."""
    text = " ".join(tag.split())
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= most else text[:most] + "..."


def _joined_depth(a: Node, a_depth: int, b: Node, b_depth: int, kind: type) -> int:
    """Depth of the tree ``kind((a, b))`` once flattened as :func:`_and` / :func:`_or` do."""
    return max(
        a_depth if isinstance(a, kind) else a_depth + 1,
        b_depth if isinstance(b, kind) else b_depth + 1,
    )


class _Parser:
    def __init__(self, text: str, schema: SearchSchema) -> None:
        self.q = text
        self.schema = schema
        self.toks = _lex(text)
        self.pos = 0
        self.nesting = 0  # parentheses and NOTs open around the current token

    def error(self, reason: str, col: int) -> QuerySyntaxError:
        return QuerySyntaxError(reason, self.q, col)

    def peek(self) -> _Tok | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def end_col(self) -> int:
        return len(self.q) + 1

    def too_deep(self, col: int) -> QuerySyntaxError:
        return self.error(
            f"query nested too deeply: at most {MAX_QUERY_DEPTH} levels of parentheses, NOT "
            "and alternating AND/OR",
            col,
        )

    def parse(self) -> Node:
        if not self.toks:
            return MatchAll()
        node, _ = self.expr()
        tok = self.peek()
        if tok is not None:  # only a stray ')' can stop expr()
            raise self.error("unbalanced ')'", tok.col)
        return node

    def expr(self) -> tuple[Node, int]:
        """The expression up to a closing parenthesis or the end, and its tree depth."""
        node, depth = self.unit()
        while True:
            tok = self.peek()
            if tok is None or tok.kind == "RPAREN":
                return node, depth
            if tok.kind in _OPERATORS:
                self.pos += 1
                if self.peek() is None or self.peek().kind == "RPAREN":  # type: ignore[union-attr]
                    raise self.error(f"{tok.kind} needs a term after it", tok.col)
                right, right_depth = self.unit()
                if tok.kind == "NOT":
                    right, right_depth = Not(right), right_depth + 1
                if tok.kind == "OR":
                    depth = _joined_depth(node, depth, right, right_depth, Or)
                    node = _or(node, right)
                else:
                    depth = _joined_depth(node, depth, right, right_depth, And)
                    node = _and(node, right)
            else:  # implicit AND, e.g. "a (b OR c)"
                right, right_depth = self.unit()
                depth = _joined_depth(node, depth, right, right_depth, And)
                node = _and(node, right)
            if depth > MAX_QUERY_DEPTH:
                raise self.too_deep(tok.col)

    def unit(self) -> tuple[Node, int]:
        """One term group, parenthesized expression or NOT, and its tree depth."""
        tok = self.peek()
        assert tok is not None
        if tok.kind in ("LPAREN", "NOT"):
            # checked before recursing, so deep input cannot exhaust Python's stack
            if self.nesting >= MAX_QUERY_DEPTH:
                raise self.too_deep(tok.col)
            self.nesting += 1
            try:
                return self.parenthesized() if tok.kind == "LPAREN" else self.negated()
            finally:
                self.nesting -= 1
        if tok.kind in ("AND", "OR"):
            raise self.error(f"{tok.kind} needs a term before it", tok.col)
        if tok.kind == "RPAREN":
            raise self.error("unbalanced ')'", tok.col)
        if tok.kind == "TAG":
            raise self.error("a field tag must follow a word or a phrase", tok.col)
        node = self.terms()
        return node, 1 if isinstance(node, And) else 0  # a term or range is no level

    def parenthesized(self) -> tuple[Node, int]:
        tok = self.toks[self.pos]
        self.pos += 1
        if self.peek() is None:
            raise self.error("'(' is never closed", tok.col)
        if self.peek().kind == "RPAREN":  # type: ignore[union-attr]
            raise self.error("empty parentheses", tok.col)
        node, depth = self.expr()
        close = self.peek()
        if close is None:
            raise self.error("'(' is never closed", tok.col)
        self.pos += 1
        after = self.peek()
        if after is not None and after.kind == "TAG":
            raise self.error("a field tag must follow a word or a phrase", after.col)
        return node, depth

    def negated(self) -> tuple[Node, int]:
        tok = self.toks[self.pos]
        self.pos += 1
        if self.peek() is None or self.peek().kind == "RPAREN":  # type: ignore[union-attr]
            raise self.error("NOT needs a term after it", tok.col)
        node, depth = self.unit()
        if depth + 1 > MAX_QUERY_DEPTH:
            raise self.too_deep(tok.col)
        return Not(node), depth + 1

    def terms(self) -> Node:
        """Adjacent words / phrases (each optionally tagged), ANDed."""
        items: list[Node] = []
        words: list[_Tok] = []

        def flush_words() -> None:
            for w in words:
                items.append(self.term(None, [w], phrase=False, tag_col=w.col))
            words.clear()

        while (tok := self.peek()) is not None and tok.kind in ("WORD", "PHRASE", "TAG"):
            self.pos += 1
            if tok.kind == "WORD":
                words.append(tok)
            elif tok.kind == "PHRASE":
                flush_words()
                nxt = self.peek()
                if nxt is not None and nxt.kind == "TAG":
                    self.pos += 1
                    items.append(self.term(nxt.text, [tok], phrase=True, tag_col=nxt.col))
                else:
                    items.append(self.term(None, [tok], phrase=True, tag_col=tok.col))
            else:  # TAG after words
                if not words:
                    raise self.error("a field tag must follow a word or a phrase", tok.col)
                spec = self.field(tok.text, tok.col)
                if spec is not None and spec.kind != "text":
                    # a range tag takes only the range before it ("cancer 2005:2010[PDAT]")
                    start = len(words) - 1
                    while start > 0 and (
                        words[start].text.startswith(":") or words[start - 1].text.endswith(":")
                    ):
                        start -= 1
                    tagged = words[start:]
                    del words[start:]
                    flush_words()
                    words.extend(tagged)
                items.append(self.term(tok.text, list(words), phrase=False, tag_col=tok.col))
                words.clear()
        flush_words()
        return items[0] if len(items) == 1 else And(tuple(items))

    def field(self, tag: str, col: int) -> FieldSpec | None:
        if tag.strip().upper() == "ALL" or tag.strip().lower() == "all fields":
            return None
        spec = self.schema.resolve(tag)
        if spec is None:
            raise self.error(
                f"unknown field [{_tag_shown(tag)}] at column {col}; "
                f"known fields: {self.schema.known_tags()}",
                col,
            )
        return spec

    def term(self, tag: str | None, toks: list[_Tok], *, phrase: bool, tag_col: int) -> Node:
        spec = self.field(tag, tag_col) if tag is not None else None
        if spec is not None and spec.kind != "text":
            raw = "".join(t.text for t in toks).strip()
            return self.range(spec, raw, toks[0].col)
        tokens: list[str] = []
        prefix = False
        for t in toks:
            text = t.text
            if "*" in text:
                if phrase or len(toks) > 1:
                    raise self.error("wildcards are only allowed on a single word", t.col)
                if text.index("*") != len(text) - 1:
                    raise self.error("'*' is only allowed at the end of a word", t.col)
                stem = tokenize(text[:-1])
                if len(stem) != 1 or len(stem[0]) < 2:
                    raise self.error(
                        "a wildcard needs at least two letters or digits before '*'", t.col
                    )
                prefix = True
            words = tokenize(text.rstrip("*"))
            if any(len(w) > MAX_WORD_LENGTH for w in words):
                raise self.error(f"word longer than {MAX_WORD_LENGTH} letters and digits", t.col)
            tokens.extend(words)
        if not tokens:
            raise self.error("term has no letters or digits to search for", toks[0].col)
        return Term(spec.name if spec else None, tuple(tokens), prefix)

    def range(self, spec: FieldSpec, raw: str, col: int) -> Range:
        if ":" in raw:
            lo_s, _, hi_s = raw.partition(":")
            if ":" in hi_s:
                raise self.error(f"a range has one ':' ({_shown(raw)})", col)
            if not lo_s and not hi_s:
                raise self.error("a range needs at least one bound", col)
            lo = self.bound(spec, lo_s, col, high=False) if lo_s else None
            hi = self.bound(spec, hi_s, col, high=True) if hi_s else None
        else:
            lo = self.bound(spec, raw, col, high=False)
            hi = self.bound(spec, raw, col, high=True)
        if lo is not None and hi is not None and lo > hi:
            raise self.error(f"empty range {_shown(raw)}: the start is after the end", col)
        return Range(spec.name, lo, hi)

    def bound(self, spec: FieldSpec, s: str, col: int, *, high: bool) -> int:
        s = s.strip()
        if spec.kind == "int":
            if not _DIGITS_RE.fullmatch(s):
                raise self.error(f"expected a whole number for [{spec.name}], got {_shown(s)}", col)
            # compared as text first: int() refuses strings of more than 4300 digits
            if len(s.lstrip("0")) > len(str(MAX_NUMBER)) or int(s) > MAX_NUMBER:
                raise self.error(
                    f"number {_shown(s)} out of range for [{spec.name}]: at most {MAX_NUMBER}",
                    col,
                )
            return int(s)
        m = _DATE_RE.match(s)
        if not m:
            raise self.error(
                f"expected a date YYYY, YYYY/MM or YYYY/MM/DD for [{spec.name}], got {_shown(s)}",
                col,
            )
        year = int(m.group(1))
        if year < 1:
            raise self.error(f"year {m.group(1)} out of range in {s!r}", col)
        month = int(m.group(2)) if m.group(2) else (12 if high else 1)
        if not 1 <= month <= 12:
            raise self.error(f"month {month} out of range in {s!r}", col)
        last = calendar.monthrange(year, month)[1]
        day = int(m.group(3)) if m.group(3) else (last if high else 1)
        if not 1 <= day <= last:
            raise self.error(f"day {day} out of range in {s!r}", col)
        return year * 10000 + month * 100 + day


def _and(a: Node, b: Node) -> Node:
    left = a.items if isinstance(a, And) else (a,)
    right = b.items if isinstance(b, And) else (b,)
    return And((*left, *right))


def _or(a: Node, b: Node) -> Node:
    left = a.items if isinstance(a, Or) else (a,)
    right = b.items if isinstance(b, Or) else (b,)
    return Or((*left, *right))


def parse_query(text: str, schema: SearchSchema = DEFAULT_SCHEMA) -> Query:
    """Parse an Entrez-style query; raises :class:`QuerySyntaxError` on bad syntax or fields."""
    return Query(text, _Parser(text, schema).parse(), schema)


def as_query(query: str | Query, schema: SearchSchema) -> Query:
    """Parse a string against ``schema``; re-parse a Query built for another schema."""
    if isinstance(query, Query):
        return query if query.schema == schema else parse_query(query.text, schema)
    return parse_query(query, schema)
