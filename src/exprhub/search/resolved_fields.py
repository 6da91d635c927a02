"""Fields resolved when a query runs rather than indexed: ``ACTB[GENE]`` and
``flagged[FLAG]``.

A gene is measured by platforms, and records are indexed with their platforms (``PLAT``:
a series', sample's or DataSet's platforms, a platform's own accession). So ``text[GENE]``
is answered by asking a resolver which platforms measure the gene and searching for
records on any of them: the term becomes ``(GPL97[PLAT] OR GPL570[PLAT] ...)``, or matches
nothing when no platform measures the gene. The index holds no gene data, so a new gene
reference or platform annotation takes effect without re-indexing.

``text[FLAG]`` selects the DataSets and series in which the genes of the ``[GENE]`` terms of
the same ``AND`` are flagged as differentially expressed (``flagged[FLAG]``: across any
subset type; ``disease state[FLAG]``: across that one). Its resolver gets the flag text and
the gene texts and names the accessions; the term becomes ``(GDS507[ACCN] OR ...)``. A
``[FLAG]`` term without a ``[GENE]`` term beside it is an error.

The resolvers are given by the caller (the Python API passes functions of
:mod:`exprhub.analysis`): search knows nothing of genes.
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
#: Resolves a flag term's text and the gene texts beside it to DataSet / series accessions.
FlagResolver = Callable[[str, Sequence[str]], Sequence[str]]

#: Field tags resolved at query time (lower case, as label names), with their aliases.
RESOLVED_FIELDS: dict[str, tuple[str, ...]] = {
    "gene": ("gene", "gene symbol", "gene name"),
    "flag": ("flag", "flags"),
}


def has_resolved_field(query: str) -> bool:
    """Whether the query text tags a term with a resolved field (a cheap test first)."""
    lowered = query.lower()
    return any(f"[{alias}]" in lowered for aliases in RESOLVED_FIELDS.values() for alias in aliases)


def _nothing() -> Node:
    return Not(MatchAll())


def _any_of(field: str, accessions: Sequence[str]) -> Node:
    terms: list[Node] = [Term(field, tuple(tokenize(a))) for a in sorted(set(accessions))]
    if not terms:
        return _nothing()
    return terms[0] if len(terms) == 1 else Or(tuple(terms))


def _field(node: Node) -> str | None:
    return normalize_field_name(node.field) if isinstance(node, Term) and node.field else None


def _gene_texts(node: Node) -> list[str]:
    """The texts of the ``[GENE]`` terms of a node, through ``AND`` and ``OR`` (not ``NOT``)."""
    if isinstance(node, Term):
        return [" ".join(node.tokens)] if _field(node) == "gene" else []
    if isinstance(node, And | Or):
        return [g for item in node.items for g in _gene_texts(item)]
    return []


def resolve_query(
    query: str,
    schema: SearchSchema,
    resolvers: Mapping[str, Resolver],
    flags: FlagResolver | None = None,
) -> Query:
    """Parse ``query`` with the resolved fields added and replace each ``[GENE]`` term by
    the records on the platforms its resolver names, each ``[FLAG]`` term by the records
    ``flags`` names for it and the ``[GENE]`` terms of its ``AND``.

    Raises
    ------
    QuerySyntaxError
        For a query that does not parse, a wildcard in a resolved field, or a ``[FLAG]``
        term without a ``[GENE]`` term in the same ``AND`` (or without ``flags``).
    """
    names = [n for n in RESOLVED_FIELDS if n in resolvers or (n == "flag" and flags)]
    parsed = parse_query(_canonical_tags(query), schema.with_labels(names))
    cache: dict[str, Node] = {}

    def flag_node(node: Term, genes: list[str]) -> Node:
        if flags is None or not genes:
            raise QuerySyntaxError(
                "a [FLAG] term needs a [GENE] term in the same AND (e.g. ACTB[GENE] AND "
                "flagged[FLAG])",
                query,
                1,
            )
        return _any_of("ACCN", flags(" ".join(node.tokens), genes))

    def walk(node: Node, genes: list[str]) -> Node:
        if _field(node) == "flag":
            assert isinstance(node, Term)
            return flag_node(node, genes)
        if isinstance(node, Term) and node.field is not None:
            name = normalize_field_name(node.field)
            if name in resolvers:
                if node.prefix:
                    raise QuerySyntaxError(
                        f"wildcards are not allowed in [{name.upper()}]", query, 1
                    )
                text = " ".join(node.tokens)
                if text not in cache:
                    cache[text] = _any_of("PLAT", resolvers[name](text))
                return cache[text]
            return node
        if isinstance(node, And):
            beside = [g for item in node.items for g in _gene_texts(item)]
            return And(tuple(walk(i, beside or genes) for i in node.items))
        if isinstance(node, Or):
            return Or(tuple(walk(i, genes) for i in node.items))
        if isinstance(node, Not):
            return Not(walk(node.item, genes))
        return node

    return Query(query, walk(parsed.root, []), schema)


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
