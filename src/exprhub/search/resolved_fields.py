"""Fields resolved when a query runs rather than indexed: ``ACTB[GENE]``.

A gene is measured by platforms, and records are indexed with their platforms (``PLAT``:
a series', sample's or DataSet's platforms, a platform's own accession). So ``text[GENE]``
is answered by asking a resolver which platforms measure the gene and searching for
records on any of them: the term becomes ``(GPL97[PLAT] OR GPL570[PLAT] ...)``, or matches
nothing when no platform measures the gene. The index holds no gene data, so a new gene
reference or platform annotation takes effect without re-indexing.

The resolver is given by the caller (the Python API passes
:func:`exprhub.analysis.genes.platforms_for_text`): search knows nothing of genes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from exprhub.search.fields import SearchSchema, normalize_field_name, tokenize
from exprhub.search.query import (
    And,
    MatchAll,
    Node,
    Not,
    Or,
    Query,
    QuerySyntaxError,
    Term,
    parse_query,
)

__all__ = ["RESOLVED_FIELDS", "Resolver", "has_resolved_field", "resolve_query"]

#: Resolves a term's text to the platform accessions whose records it selects.
Resolver = Callable[[str], Sequence[str]]

#: Field tags resolved at query time (lower case, as label names), with their aliases.
RESOLVED_FIELDS: dict[str, tuple[str, ...]] = {"gene": ("gene", "gene symbol", "gene name")}


def has_resolved_field(query: str) -> bool:
    """Whether the query text tags a term with a resolved field (a cheap test first)."""
    lowered = query.lower()
    return any(f"[{alias}]" in lowered for aliases in RESOLVED_FIELDS.values() for alias in aliases)


def _nothing() -> Node:
    return Not(MatchAll())


def resolve_query(query: str, schema: SearchSchema, resolvers: Mapping[str, Resolver]) -> Query:
    """Parse ``query`` with the resolved fields added and replace each of their terms by the
    records on the platforms its resolver names.

    Raises
    ------
    QuerySyntaxError
        For a query that does not parse, or a wildcard in a resolved field.
    """
    names = [n for n in RESOLVED_FIELDS if n in resolvers]
    parsed = parse_query(_canonical_tags(query), schema.with_labels(names))
    cache: dict[str, Node] = {}

    def walk(node: Node) -> Node:
        if isinstance(node, Term) and node.field is not None:
            name = normalize_field_name(node.field)
            if name in resolvers:
                if node.prefix:
                    raise QuerySyntaxError(
                        f"wildcards are not allowed in [{name.upper()}]", query, 1
                    )
                text = " ".join(node.tokens)
                if text not in cache:
                    platforms = sorted(set(resolvers[name](text)))
                    terms: list[Node] = [Term("PLAT", tuple(tokenize(p))) for p in platforms]
                    cache[text] = (
                        _nothing()
                        if not terms
                        else terms[0]
                        if len(terms) == 1
                        else Or(tuple(terms))
                    )
                return cache[text]
            return node
        if isinstance(node, And):
            return And(tuple(walk(i) for i in node.items))
        if isinstance(node, Or):
            return Or(tuple(walk(i) for i in node.items))
        if isinstance(node, Not):
            return Not(walk(node.item))
        return node

    return Query(query, walk(parsed.root), schema)


def _canonical_tags(query: str) -> str:
    """The query with the aliases of resolved fields written as their names."""
    out = query
    for name, aliases in RESOLVED_FIELDS.items():
        for alias in aliases:
            if alias == name:
                continue
            lowered = out.lower()
            start = lowered.find(f"[{alias}]")
            while start != -1:
                out = out[:start] + f"[{name}]" + out[start + len(alias) + 2 :]
                lowered = out.lower()
                start = lowered.find(f"[{alias}]", start + 1)
    return out
