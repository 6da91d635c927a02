"""A pure-Python reference evaluator of the query AST (the semantics every backend must match)."""

from __future__ import annotations

from exprhub.search import And, MatchAll, Node, Not, Or, Range, SearchDocument, SearchSchema, Term
from exprhub.search.analysis import analyze_all
from exprhub.search.fields import tokenize
from exprhub.search.query import FacetFilter


def _contains(values: list[str], term: Term) -> bool:
    for value in values:
        toks = analyze_all(tokenize(value))  # index terms: American spelling, stemmed
        if term.prefix:
            if any(t.startswith(term.terms[0]) for t in toks):
                return True
            continue
        n = len(term.terms)
        if any(tuple(toks[i : i + n]) == term.terms for i in range(len(toks) - n + 1)):
            return True
    return False


def matches(doc: SearchDocument, node: Node, schema: SearchSchema) -> bool:
    """Does ``doc`` match ``node``?"""
    if isinstance(node, MatchAll):
        return True
    if isinstance(node, FacetFilter):
        values = doc.field_values(schema).get(schema.facet_field(node.facet).key, [])
        return bool(set(values) & set(node.values))
    if isinstance(node, Term):
        values = doc.field_values(schema)
        specs = schema.all_fields if node.field is None else (schema.resolve(node.field),)
        return any(_contains(values.get(s.key, []), node) for s in specs if s is not None)
    if isinstance(node, Range):
        value = doc.pdat_int if node.field == "PDAT" else doc.nsam
        if value is None:
            return False
        return (node.low is None or value >= node.low) and (node.high is None or value <= node.high)
    if isinstance(node, Not):
        return not matches(doc, node.item, schema)
    if isinstance(node, And):
        return all(matches(doc, i, schema) for i in node.items)
    assert isinstance(node, Or)
    return any(matches(doc, i, schema) for i in node.items)


def expected(docs: list[SearchDocument], node: Node, schema: SearchSchema) -> set[str]:
    """Accessions of the documents matching ``node``."""
    return {d.accession for d in docs if matches(d, node, schema)}


def facet_counts(
    docs: list[SearchDocument], accessions: set[str], facet: str, schema: SearchSchema
) -> dict[str, int]:
    """How many of the documents ``accessions`` carry each value of ``facet``."""
    key = schema.facet_field(facet).key
    counts: dict[str, int] = {}
    for doc in docs:
        if doc.accession in accessions:
            for value in dict.fromkeys(doc.field_values(schema).get(key, [])):
                counts[value] = counts.get(value, 0) + 1
    return counts
