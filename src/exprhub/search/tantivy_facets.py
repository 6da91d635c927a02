"""Exact match totals and facet counts for the tantivy backend, cheap for very common terms.

Counting facets costs a pass over every matching document, so a query matching most of the
index (a common word) would pay for nearly all of it. Counts are additive over documents, so
for such a query they are computed over its complement instead:
``count(q, v) = count(all, v) - count(NOT q, v)``, with ``count(all, v)`` kept per reader
generation (it changes only when the index does). Which side is smaller is estimated from term
document frequencies before anything is counted; the estimate only affects speed, both paths
give the same exact numbers.

Each facet's fast field holds exactly one token per document: its values, sorted and joined
by :data:`JOIN`, or :data:`NONE` when it has none. tantivy counts such single-valued columns
several times faster than columns where documents have no value or several (measured: 2 ms
per million documents against 12 and 32 ms); the joined keys are split again after counting.
Because every document has one token in every facet field, the buckets of any facet add up
to the number of matches.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import tantivy

from exprhub.search.document import FacetCount, top_facets
from exprhub.search.fields import SearchSchema
from exprhub.search.query import And, FacetFilter, MatchAll, Node, Not, Range, Term

#: Separates the values of a document in its facet token.
JOIN = "\x1e"
#: The facet token of a document without a value.
NONE = "\x1f"
_CONTROL = {ord(JOIN): None, ord(NONE): None}

#: A facet whose distinct values exceed this is always counted directly (the complement needs
#: every value's count, and tantivy caps the buckets of one aggregation).
MAX_COMPLEMENT_VALUES = 20_000
#: Use the complement when the query is estimated to match more than this share of documents.
COMPLEMENT_SHARE = 0.5
_TOTAL = "_total"


@dataclass
class _Global:
    """Counts over every document of one reader generation, filled in per facet on demand."""

    generation: int
    total: int
    counts: dict[str, dict[str, int] | None]  # facet -> value -> documents; None: too many


class FacetCounter:
    """Computes totals and facet counts of queries on one tantivy index.

    Parameters
    ----------
    schema : the index's search schema (facet names and field keys).
    facet_fields : facet name -> tantivy fast field holding its :func:`facet_token`.
    total_field : one of those fields; its buckets add up to the number of matches.
    all_field : the catch-all text field untagged terms are matched in.
    """

    def __init__(
        self,
        schema: SearchSchema,
        facet_fields: dict[str, str],
        *,
        total_field: str,
        all_field: str,
    ) -> None:
        self.schema = schema
        self.facet_fields = facet_fields
        self.total_field = total_field
        self.all_field = all_field
        self._global: _Global | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------ public

    def count(
        self,
        searcher: Any,
        generation: int,
        root: Node,
        compile_query: Callable[[Node], tantivy.Query],
        facets: Sequence[str],
        limit: int,
        *,
        estimate: float | None = None,
    ) -> tuple[dict[str, list[FacetCount]], int]:
        """Facet counts (top ``limit`` values each) and the exact number of matches.

        ``estimate`` is :meth:`estimate` of ``root`` if the caller has it already.
        """
        n_docs = int(searcher.num_docs)
        if estimate is None:
            estimate = self.estimate(searcher, root, n_docs)
        if n_docs and estimate > COMPLEMENT_SHARE * n_docs:
            glob = self._global_counts(searcher, generation, facets)
            if all(glob.counts[f] is not None for f in facets):
                try:
                    raw = self._aggregate(searcher, compile_query(Not(root)), facets, None)
                except ValueError:  # too many buckets for one aggregation: count directly
                    return self._direct(searcher, compile_query(root), facets, limit)
                out = {}
                for name in facets:
                    everywhere = glob.counts[name]
                    assert everywhere is not None
                    minus = _buckets(raw, name)
                    counts = {v: c - minus.get(v, 0) for v, c in everywhere.items()}
                    out[name] = top_facets({v: c for v, c in counts.items() if c > 0}, limit)
                return out, glob.total - _total(raw)
        return self._direct(searcher, compile_query(root), facets, limit)

    def estimate(self, searcher: Any, node: Node, n_docs: int) -> float:
        """Upper-bound-like guess of how many documents ``node`` matches (deletions ignored)."""
        if isinstance(node, MatchAll):
            return n_docs
        if isinstance(node, Term):
            if node.prefix:
                return n_docs / 2  # unknown; either path is exact
            key = self.all_field
            if node.field is not None:
                spec = self.schema.resolve(node.field)
                assert spec is not None
                key = spec.key
            return min(int(searcher.doc_freq(key, token)) for token in node.terms)
        if isinstance(node, Range):
            return n_docs / 2
        if isinstance(node, FacetFilter):
            key = "x_" + node.facet
            return min(float(n_docs), sum(int(searcher.doc_freq(key, v)) for v in node.values))
        if isinstance(node, Not):
            return max(0.0, n_docs - self.estimate(searcher, node.item, n_docs))
        if isinstance(node, And):
            return min(self.estimate(searcher, i, n_docs) for i in node.items)
        return min(float(n_docs), sum(self.estimate(searcher, i, n_docs) for i in node.items))

    # ------------------------------------------------------------ internals

    def _direct(
        self, searcher: Any, query: tantivy.Query, facets: Sequence[str], limit: int
    ) -> tuple[dict[str, list[FacetCount]], int]:
        raw = self._aggregate(searcher, query, facets, None)
        return {name: top_facets(_buckets(raw, name), limit) for name in facets}, _total(raw)

    def _global_counts(self, searcher: Any, generation: int, facets: Sequence[str]) -> _Global:
        """Counts over every document for ``facets`` (None for a facet with too many values)."""
        with self._lock:
            glob = self._global
            missing = list(facets)
            if glob is not None and glob.generation == generation:
                missing = [f for f in facets if f not in glob.counts]
            if glob is None or glob.generation != generation or missing:
                everything = tantivy.Query.all_query()
                raw = self._aggregate(searcher, everything, missing, MAX_COMPLEMENT_VALUES)
                if glob is None or glob.generation != generation:
                    glob = _Global(generation, _total(raw), {})
                for name in missing:
                    result = raw.get(name, {})
                    complete = not result.get("sum_other_doc_count") and not result.get(
                        "doc_count_error_upper_bound"
                    )
                    glob.counts[name] = _buckets(raw, name) if complete else None
                self._global = glob
            return glob

    def _aggregate(
        self, searcher: Any, query: tantivy.Query, facets: Sequence[str], size: int | None
    ) -> dict[str, Any]:
        size = MAX_COMPLEMENT_VALUES if size is None else size
        agg: dict[str, Any] = {
            name: {
                "terms": {
                    "field": self.facet_fields[name],
                    "size": size,
                    "segment_size": max(size, 10_000),
                }
            }
            for name in facets
        }
        agg[_TOTAL] = {"terms": {"field": self.total_field, "size": 1}}
        result: dict[str, Any] = searcher.aggregate(query, agg)
        return result


def facet_values(values: Iterable[str]) -> list[str]:
    """A document's distinct values of a facet as indexed and counted (sorted, without the
    two control characters the facet token reserves)."""
    return sorted({v.translate(_CONTROL) for v in values} - {""})


def facet_token(values: Sequence[str]) -> str:
    """The one token a document has in a facet field, from its :func:`facet_values`."""
    return JOIN.join(values) if values else NONE


def _buckets(raw: dict[str, Any], name: str) -> dict[str, int]:
    """Documents per facet value, from the buckets of facet tokens."""
    counts: dict[str, int] = {}
    for bucket in raw.get(name, {}).get("buckets", []):
        token, n = str(bucket["key"]), int(bucket["doc_count"])
        if token == NONE:
            continue
        for value in token.split(JOIN):
            counts[value] = counts.get(value, 0) + n
    return counts


def _total(raw: dict[str, Any]) -> int:
    result = raw[_TOTAL]
    counted = sum(int(b["doc_count"]) for b in result.get("buckets", []))
    return counted + int(result.get("sum_other_doc_count") or 0)
