"""The embedded default: a tantivy index in a directory (BM25, fast-field facets)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import tantivy

from exprhub.search.document import (
    FacetCount,
    Hit,
    SearchDocument,
    SearchResults,
    accession_sort_key,
    check_page,
    dedupe,
    field_text,
    top_facets,
)
from exprhub.search.fields import DEFAULT_SCHEMA, VALUE_SEPARATOR, FieldSpec, SearchSchema
from exprhub.search.query import And, MatchAll, Node, Not, Or, Query, Range, Term, as_query

_TOKENIZER = "exprhub_ws"
_META_FILE = "exprhub-search.json"
_FORMAT = 1
#: catch-all field holding every ALL-searched field (values and fields kept apart by a
#: separator token), so an untagged term is one posting list instead of a union of ~30.
_ALL = FieldSpec("_ALL")


def _analyzer() -> tantivy.TextAnalyzer:
    # Text arrives pre-tokenized by exprhub.search.fields.tokenize, joined by spaces.
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()


class TantivyIndex:
    """A search index in ``path`` (created when missing), or in memory when ``path`` is None.

    Parameters
    ----------
    path : directory of the index.
    schema : fields to index; an existing index keeps the label fields it was created with.
    writer_heap : memory budget of the writer in bytes.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        schema: SearchSchema | None = None,
        *,
        writer_heap: int = 256_000_000,
    ) -> None:
        self.path = Path(path) if path is not None else None
        if self.path is not None and (self.path / _META_FILE).exists():
            meta = json.loads((self.path / _META_FILE).read_text())
            if meta.get("format") != _FORMAT:
                raise ValueError(f"{self.path}: unsupported search index format {meta!r}")
            stored = SearchSchema(labels=tuple(meta["labels"]))
            if schema is not None and schema != stored:
                raise ValueError(
                    f"{self.path}: index was built with labels {list(stored.labels)}; "
                    f"rebuild it to use {list(schema.labels)}"
                )
            schema = stored
        self.schema = schema or DEFAULT_SCHEMA
        self._tschema = self._build_schema(self.schema)
        if self.path is not None:
            self.path.mkdir(parents=True, exist_ok=True)
            self._index = tantivy.Index(self._tschema, path=str(self.path), reuse=True)
            meta_json = {"format": _FORMAT, "labels": list(self.schema.labels)}
            (self.path / _META_FILE).write_text(json.dumps(meta_json))
        else:
            self._index = tantivy.Index(self._tschema)
        self._index.register_tokenizer(_TOKENIZER, _analyzer())
        self._writer_heap = writer_heap
        self._writer: Any = None
        self._in_all = {s.key for s in self.schema.all_fields}
        self._facet_of = {s.key: "f_" + s.facet for s in self.schema.fields if s.facet}
        self._facet_fields = {
            spec.facet: "f_" + spec.facet for spec in self.schema.fields if spec.facet
        }

    # ------------------------------------------------------------ schema

    @staticmethod
    def _build_schema(schema: SearchSchema) -> tantivy.Schema:
        sb = tantivy.SchemaBuilder()
        sb.add_text_field("id", stored=False, tokenizer_name="raw", index_option="basic")
        sb.add_bytes_field("meta", stored=True, indexed=False, fast=False)
        sb.add_integer_field("sort_key", stored=False, indexed=False, fast=True)
        for spec in (*schema.text_fields, _ALL):
            sb.add_text_field(spec.key, stored=False, tokenizer_name=_TOKENIZER)
        for spec in schema.fields:
            if spec.kind != "text":
                sb.add_integer_field(spec.key, stored=False, indexed=True, fast=True)
            if spec.facet:
                sb.add_text_field(
                    "f_" + spec.facet,
                    stored=False,
                    fast=True,
                    tokenizer_name="raw",
                    index_option="basic",
                )
        return sb.build()

    # ------------------------------------------------------------ writing

    def _get_writer(self) -> Any:
        if self._writer is None:
            self._writer = self._index.writer(heap_size=self._writer_heap)
        return self._writer

    def _to_doc(self, d: SearchDocument) -> tantivy.Document:
        doc = tantivy.Document()
        doc.add_text("id", d.accession)
        meta = json.dumps({"a": d.accession, "e": d.etype, "t": d.title}).encode()
        doc.add_bytes("meta", meta)
        doc.add_integer("sort_key", accession_sort_key(d.accession))
        facet_of = self._facet_of
        in_all = self._in_all
        all_parts = []
        for key, vals in d.field_values(self.schema).items():
            if not vals:
                continue
            body = field_text(vals)
            doc.add_text(key, body)
            if key in in_all and body:
                all_parts.append(body)
            facet = facet_of.get(key)
            if facet:
                for v in dict.fromkeys(vals):
                    doc.add_text(facet, v)
        if all_parts:
            doc.add_text(_ALL.key, f" {VALUE_SEPARATOR} ".join(all_parts))
        pdat = d.pdat_int
        if pdat is not None:
            doc.add_integer("pdat", pdat)
        if d.nsam is not None:
            doc.add_integer("nsam", int(d.nsam))
        return doc

    def add(self, docs: Iterable[SearchDocument]) -> int:
        """Insert or replace documents by accession (visible after :meth:`commit`)."""
        writer = self._get_writer()
        batch = dedupe(docs)
        for d in batch:
            writer.delete_documents_by_term("id", d.accession)
            writer.add_document(self._to_doc(d))
        return len(batch)

    def delete(self, accessions: Iterable[str]) -> None:
        """Remove documents by accession."""
        writer = self._get_writer()
        for acc in accessions:
            writer.delete_documents_by_term("id", acc)

    def commit(self) -> None:
        """Make pending changes durable and visible to searches."""
        if self._writer is not None:
            self._writer.commit()
        self._index.reload()

    def close(self) -> None:
        """Commit nothing; drop the writer and wait for merges."""
        if self._writer is not None:
            self._writer.rollback()
            self._writer.wait_merging_threads()
            self._writer = None

    def __enter__(self) -> TantivyIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def count(self) -> int:
        """Number of committed documents."""
        return int(self._index.searcher().num_docs)

    # ------------------------------------------------------------ querying

    def _leaf(self, spec: FieldSpec, term: Term) -> tantivy.Query:
        ts = self._tschema
        if term.prefix:
            q = tantivy.Query.regex_query(ts, spec.key, re.escape(term.tokens[0]) + ".*")
        elif len(term.tokens) == 1:
            q = tantivy.Query.term_query(ts, spec.key, term.tokens[0])
        else:
            q = tantivy.Query.phrase_query(ts, spec.key, list(term.tokens))
        if not spec.scored:
            return tantivy.Query.const_score_query(q, 0.0)
        return tantivy.Query.boost_query(q, spec.boost) if spec.boost != 1.0 else q

    def _compile(self, node: Node) -> tantivy.Query:
        Q, Occur = tantivy.Query, tantivy.Occur
        if isinstance(node, Term):
            if node.field is None:
                # match on the catch-all field; title and accession matches add a bonus
                clauses = [(Occur.Must, self._leaf(_ALL, node))]
                for tag in ("TITL", "ACCN"):
                    spec = self.schema.resolve(tag)
                    assert spec is not None
                    clauses.append((Occur.Should, self._leaf(spec, node)))
                return Q.boolean_query(clauses)
            spec = self.schema.resolve(node.field)
            assert spec is not None
            return self._leaf(spec, node)
        if isinstance(node, Range):
            spec = self.schema.resolve(node.field)
            assert spec is not None
            q = Q.range_query(
                self._tschema, spec.key, tantivy.FieldType.Integer, node.low, node.high
            )
            return Q.const_score_query(q, 0.0)
        if isinstance(node, MatchAll):
            return Q.const_score_query(Q.all_query(), 0.0)
        if isinstance(node, Not):
            return Q.boolean_query(
                [
                    (Occur.Must, Q.const_score_query(Q.all_query(), 0.0)),
                    (Occur.MustNot, self._compile(node.item)),
                ]
            )
        if isinstance(node, And):
            clauses = []
            for item in node.items:
                if isinstance(item, Not):
                    clauses.append((Occur.MustNot, self._compile(item.item)))
                else:
                    clauses.append((Occur.Must, self._compile(item)))
            if all(o == Occur.MustNot for o, _ in clauses):
                clauses.append((Occur.Must, Q.const_score_query(Q.all_query(), 0.0)))
            return Q.boolean_query(clauses)
        assert isinstance(node, Or)
        return Q.boolean_query([(Occur.Should, self._compile(i)) for i in node.items])

    def search(
        self,
        query: str | Query,
        *,
        limit: int = 20,
        offset: int = 0,
        facets: Sequence[str] | None = None,
        facet_limit: int = 20,
    ) -> SearchResults:
        """Ranked hits (BM25, title boosted; ties in accession order) and facet counts."""
        check_page(limit, offset)
        parsed = as_query(query, self.schema)
        facet_names = self.schema.check_facets(facets)
        tq = self._compile(parsed.root)
        searcher = self._index.searcher()
        need = offset + limit
        # with facets, one aggregation pass over the matches also gives the total
        facet_counts, agg_total = self._facets(searcher, tq, facet_names, facet_limit)
        count = agg_total is None
        if not parsed.is_scored():
            res = searcher.search(
                tq,
                limit=max(limit, 1),
                count=count,
                order_by_field="sort_key",
                offset=offset,
                order=tantivy.Order.Asc,
            )
            total = int(res.count) if count else agg_total  # type: ignore[attr-defined]
            page = [(0.0, addr) for _, addr in res.hits][:limit]
        else:
            page, total = self._ranked(searcher, tq, need, count)
            page = page[offset:need]
            total = total if count else agg_total
        hits = []
        for score, addr in page:
            meta = json.loads(bytes(searcher.doc(addr).get_first("meta") or b"{}"))
            hits.append(Hit(meta["a"], meta["e"], meta["t"], float(score)))
        return SearchResults(int(total or 0), hits, facet_counts, parsed)

    def _ranked(
        self, searcher: Any, tq: tantivy.Query, need: int, count: bool
    ) -> tuple[list[Any], int]:
        """Top ``need`` hits by (score desc, accession key asc), exact across score ties."""
        window = max(need, 1) + 16
        while True:
            res = searcher.search(tq, limit=window, count=count)
            total = int(res.count) if count else 0
            hits = res.hits
            if len(hits) < window or need == 0 or hits[-1][0] < hits[min(need, len(hits)) - 1][0]:
                break
            window *= 4  # the tie at the page boundary may continue past the window
        keys = searcher.fast_field_values("sort_key", [a for _, a in hits]) if hits else []
        order = sorted(range(len(hits)), key=lambda i: (-hits[i][0], keys[i]))
        return [hits[i] for i in order[:need]], total

    def _facets(
        self, searcher: Any, tq: tantivy.Query, names: Sequence[str], limit: int
    ) -> tuple[dict[str, list[FacetCount]], int | None]:
        """Facet counts and the number of matches (None when no facet was asked for)."""
        if not names:
            return {}, None
        agg: dict[str, Any] = {
            name: {
                "terms": {
                    "field": self._facet_fields[name],
                    "size": limit + 10,
                    "segment_size": 10_000,
                }
            }
            for name in names
        }
        agg["_total"] = {"value_count": {"field": "sort_key"}}
        raw = searcher.aggregate(tq, agg)
        out = {}
        for name in names:
            buckets = raw.get(name, {}).get("buckets", [])
            out[name] = top_facets({str(b["key"]): int(b["doc_count"]) for b in buckets}, limit)
        return out, int(raw["_total"]["value"] or 0)
