"""The embedded default: a tantivy index in a directory (BM25, fast-field facets)."""

from __future__ import annotations

import functools
import json
import os
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import tantivy

from exprhub.search.analysis import ANALYZER_VERSION
from exprhub.search.document import (
    Hit,
    IndexBusy,
    OutdatedIndex,
    SearchDocument,
    SearchResults,
    accession_sort_key,
    dedupe,
    field_text,
)
from exprhub.search.fields import (
    BOOSTED_TYPES,
    DEFAULT_SCHEMA,
    SERIES_BOOST,
    VALUE_SEPARATOR,
    FieldSpec,
    SearchSchema,
)
from exprhub.search.paging import check_search_page
from exprhub.search.query import (
    And,
    FacetFilter,
    MatchAll,
    Node,
    Not,
    Or,
    Query,
    Range,
    Term,
    as_query,
)
from exprhub.search.tantivy_facets import FacetCounter, facet_token
from exprhub.search.tantivy_facets import facet_values as clean_facet_values
from exprhub.search.write_lock import FileLock, WriteLock

_TOKENIZER = "exprhub_ws"
_META_FILE = "exprhub-search.json"
#: The cross-process write lock (see :meth:`TantivyIndex.writing`).
_LOCK_FILE = "exprhub-write.lock"
#: 2: one facet token per document and facet (see exprhub.search.tantivy_facets)
_FORMAT = 2
#: Count facets on a second thread when a query is estimated to match at least this many
#: documents (below it, handing work to a thread costs more than it saves).
_PARALLEL_MATCHES = 20_000
#: catch-all field holding every ALL-searched field (values and fields kept apart by a
#: separator token), so an untagged term is one posting list instead of a union of ~30.
_ALL = FieldSpec("_ALL")


def _write_meta(path: Path, meta: dict[str, Any]) -> None:
    """Write the index's format file when it differs, atomically: other processes may be
    reading it as they open the index."""
    target = path / _META_FILE
    body = json.dumps(meta)
    try:
        if target.read_text() == body:
            return
    except OSError:
        pass
    tmp = path / f".{_META_FILE}.{os.getpid()}.{threading.get_ident()}.tmp"
    tmp.write_text(body)
    tmp.replace(target)


@functools.cache
def _count_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="exprhub-facets")


def _analyzer() -> tantivy.TextAnalyzer:
    # Text arrives as index terms (exprhub.search.analysis: spelling, English stems) joined by
    # spaces, made in Python so that PostgreSQL holds the same terms.
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
                raise OutdatedIndex(
                    f"{self.path}: search index format {meta.get('format')!r} is not the "
                    f"current one ({_FORMAT}); rebuild it (exprhub index --full)"
                )
            if meta.get("analyzer") != ANALYZER_VERSION:
                raise OutdatedIndex(
                    f"{self.path}: search index terms were made by text analysis "
                    f"{meta.get('analyzer') or 'without stemming'}, not the current "
                    f"{ANALYZER_VERSION}; rebuild it (exprhub index --full)"
                )
            stored = SearchSchema(labels=tuple(meta["labels"]))
            if schema is not None and schema != stored:
                raise OutdatedIndex(
                    f"{self.path}: index was built with labels {list(stored.labels)}; "
                    f"rebuild it to use {list(schema.labels)}"
                )
            schema = stored
        self.schema = schema or DEFAULT_SCHEMA
        self._tschema = self._build_schema(self.schema)
        if self.path is not None:
            self.path.mkdir(parents=True, exist_ok=True)
            self._index = tantivy.Index(self._tschema, path=str(self.path), reuse=True)
            _write_meta(
                self.path,
                {
                    "format": _FORMAT,
                    "analyzer": ANALYZER_VERSION,
                    "labels": list(self.schema.labels),
                },
            )
            file_lock = FileLock(self.path / _LOCK_FILE)
            self._write_lock = WriteLock(
                f"search index {self.path}",
                file_lock.try_acquire,
                file_lock.release,
                file_lock.holder,
            )
        else:
            self._index = tantivy.Index(self._tschema)
            self._write_lock = WriteLock("in-memory search index")
        self._index.register_tokenizer(_TOKENIZER, _analyzer())
        # Searchers change only when this object reloads (after its own commits, or when it
        # sees another process's commit in meta.json), so cached counts know their generation.
        self._index.config_reader(reload_policy="Manual")
        self._reload_lock = threading.Lock()
        self._generation = 0
        self._meta_signature = self._signature()
        self._writer_heap = writer_heap
        self._writer: Any = None
        self._in_all = {s.key for s in self.schema.all_fields}
        self._facet_of = {s.key: "f_" + s.facet for s in self.schema.fields if s.facet}
        self._facet_fields = {
            spec.facet: "f_" + spec.facet for spec in self.schema.fields if spec.facet
        }
        self._counter = FacetCounter(
            self.schema,
            self._facet_fields,
            total_field=self._facet_fields["etype"],
            all_field=_ALL.key,
        )

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
                # f_: the one facet token counted per document; x_: each value, for filters
                for prefix, fast in (("f_", True), ("x_", False)):
                    sb.add_text_field(
                        prefix + spec.facet,
                        stored=False,
                        fast=fast,
                        tokenizer_name="raw",
                        index_option="basic",
                    )
        return sb.build()

    # ------------------------------------------------------------ writing

    def _get_writer(self) -> Any:
        if self._writer is None:
            try:
                self._writer = self._index.writer(heap_size=self._writer_heap)
            except ValueError as exc:
                if "LockBusy" not in str(exc):
                    raise
                # tantivy's own writer lock, held by a process not using writing()
                raise IndexBusy(
                    f"search index {self.path} is being written by another process"
                ) from None
        return self._writer

    @contextmanager
    def writing(self, wait: float = 0.0) -> Iterator[None]:
        """Hold the write lock (see :meth:`exprhub.search.SearchIndex.writing`): a lock file in
        the index directory, taken with ``flock``, so every exprhub process and thread writing
        this directory takes turns."""
        with self._write_lock.hold(wait):
            try:
                yield
            finally:
                self._drop_writer()

    def _drop_writer(self) -> None:
        """Roll back what was not committed and release tantivy's writer (and its lock)."""
        with self._write_lock.threads:
            writer, self._writer = self._writer, None
            if writer is not None:
                writer.rollback()
                writer.wait_merging_threads()

    def _to_doc(self, d: SearchDocument) -> tantivy.Document:
        doc = tantivy.Document()
        doc.add_text("id", d.accession)
        meta = json.dumps({"a": d.accession, "e": d.etype, "t": d.title}).encode()
        doc.add_bytes("meta", meta)
        doc.add_integer("sort_key", accession_sort_key(d.accession))
        facet_of = self._facet_of
        in_all = self._in_all
        all_parts = []
        facet_values: dict[str, list[str]] = {}
        for key, vals in d.field_values(self.schema).items():
            if not vals:
                continue
            body = field_text(vals)
            doc.add_text(key, body)
            if key in in_all and body:
                all_parts.append(body)
            facet = facet_of.get(key)
            if facet:
                facet_values[facet] = vals
        if all_parts:
            doc.add_text(_ALL.key, f" {VALUE_SEPARATOR} ".join(all_parts))
        for facet in self._facet_fields.values():
            values = clean_facet_values(facet_values.get(facet, ()))
            doc.add_text(facet, facet_token(values))
            for value in values:  # each value on its own, for exact filters
                doc.add_text("x" + facet[1:], value)
        pdat = d.pdat_int
        if pdat is not None:
            doc.add_integer("pdat", pdat)
        if d.nsam is not None:
            doc.add_integer("nsam", int(d.nsam))
        return doc

    def add(self, docs: Iterable[SearchDocument]) -> int:
        """Insert or replace documents by accession (visible after :meth:`commit`)."""
        batch = dedupe(docs)
        with self._write_lock.threads:
            writer = self._get_writer()
            for d in batch:
                writer.delete_documents_by_term("id", d.accession)
                writer.add_document(self._to_doc(d))
        return len(batch)

    def delete(self, accessions: Iterable[str]) -> None:
        """Remove documents by accession."""
        with self._write_lock.threads:
            writer = self._get_writer()
            for acc in accessions:
                writer.delete_documents_by_term("id", acc)

    def commit(self) -> None:
        """Make pending changes durable and visible to searches, then release the writer, so
        that tantivy's writer lock is never held between two writes."""
        with self._write_lock.threads:
            writer, self._writer = self._writer, None
            if writer is not None:
                writer.commit()
                writer.wait_merging_threads()
        with self._reload_lock:
            self._reload()

    def _signature(self) -> tuple[int, int, int] | None:
        if self.path is None:
            return None
        try:
            st = (self.path / "meta.json").stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _reload(self) -> None:
        self._index.reload()
        self._generation += 1
        self._meta_signature = self._signature()

    def _searcher(self) -> tuple[Any, int]:
        """The current searcher and its generation, reloading after another process's commit."""
        with self._reload_lock:
            if self.path is not None and self._signature() != self._meta_signature:
                self._reload()
            return self._index.searcher(), self._generation

    def close(self) -> None:
        """Commit nothing; drop the writer and wait for merges."""
        self._drop_writer()

    def __enter__(self) -> TantivyIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def count(self) -> int:
        """Number of committed documents."""
        return int(self._searcher()[0].num_docs)

    # ------------------------------------------------------------ querying

    def _leaf(self, spec: FieldSpec, term: Term) -> tantivy.Query:
        ts = self._tschema
        if term.prefix:
            q = tantivy.Query.regex_query(ts, spec.key, re.escape(term.terms[0]) + ".*")
        elif len(term.tokens) == 1:
            q = tantivy.Query.term_query(ts, spec.key, term.terms[0])
        else:
            q = tantivy.Query.phrase_query(ts, spec.key, list(term.terms))
        if not spec.scored:
            return tantivy.Query.const_score_query(q, 0.0)
        return tantivy.Query.boost_query(q, spec.boost) if spec.boost != 1.0 else q

    def _compile(self, node: Node, ranked: bool = True) -> tantivy.Query:
        """The tantivy query of ``node``; with ``ranked=False`` only the match set matters
        (counting, facets, negated parts), so the title/accession score bonus is left out."""
        Q, Occur = tantivy.Query, tantivy.Occur
        if isinstance(node, Term):
            if node.field is None:
                if not ranked:
                    return self._leaf(_ALL, node)
                # Match on the catch-all field; title and accession matches add a bonus. Both
                # are inside the catch-all field, so a pure disjunction matches the same
                # documents with the same scores (and lets tantivy prune blocks).
                clauses = [(Occur.Should, self._leaf(_ALL, node))]
                # an accession is one token with digits: other terms cannot match ACCN
                accession = node.prefix or (
                    len(node.tokens) == 1 and any(ch.isdigit() for ch in node.tokens[0])
                )
                for tag in ("TITL", "ACCN") if accession else ("TITL",):
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
        if isinstance(node, FacetFilter):
            q = Q.term_set_query(self._tschema, "x_" + node.facet, list(node.values))
            return Q.const_score_query(q, 0.0)
        if isinstance(node, Not):
            return Q.boolean_query(
                [
                    (Occur.Must, Q.const_score_query(Q.all_query(), 0.0)),
                    (Occur.MustNot, self._compile(node.item, ranked=False)),
                ]
            )
        if isinstance(node, And):
            clauses = []
            for item in node.items:
                if isinstance(item, Not):
                    clauses.append((Occur.MustNot, self._compile(item.item, ranked=False)))
                else:
                    clauses.append((Occur.Must, self._compile(item, ranked)))
            if all(o == Occur.MustNot for o, _ in clauses):
                clauses.append((Occur.Must, Q.const_score_query(Q.all_query(), 0.0)))
            return Q.boolean_query(clauses)
        assert isinstance(node, Or)
        return Q.boolean_query([(Occur.Should, self._compile(i, ranked)) for i in node.items])

    def _match_query(self, node: Node) -> tantivy.Query:
        return self._compile(node, ranked=False)

    def search(
        self,
        query: str | Query,
        *,
        limit: int = 20,
        offset: int = 0,
        facets: Sequence[str] | None = None,
        facet_limit: int = 20,
        filters: Mapping[str, Sequence[str]] | None = None,
    ) -> SearchResults:
        """Ranked hits (BM25, title boosted, series and DataSets boosted by
        :data:`~exprhub.search.fields.SERIES_BOOST`; ties in accession order) and facet
        counts."""
        check_search_page(limit, offset)
        parsed = as_query(query, self.schema).filtered(filters)
        facet_names = self.schema.check_facets(facets)
        tq = self._compile(parsed.root)
        searcher, generation = self._searcher()
        estimate = self._counter.estimate(searcher, parsed.root, int(searcher.num_docs))
        count = functools.partial(
            self._counter.count,
            searcher,
            generation,
            parsed.root,
            self._match_query,
            facet_names,
            facet_limit,
            estimate=estimate,
        )
        if limit and estimate >= _PARALLEL_MATCHES:
            # tantivy releases the GIL: rank and count on two cores at once
            future = _count_pool().submit(count)
            try:
                page = self._page(searcher, tq, parsed, offset, limit)
            finally:
                facet_counts, total = future.result()
        else:
            facet_counts, total = count()
            page = self._page(searcher, tq, parsed, offset, limit)
        hits = []
        for score, addr in page:
            meta = json.loads(bytes(searcher.doc(addr).get_first("meta") or b"{}"))
            hits.append(Hit(meta["a"], meta["e"], meta["t"], float(score)))
        return SearchResults(total, hits, facet_counts, parsed)

    def _page(
        self, searcher: Any, tq: tantivy.Query, parsed: Query, offset: int, limit: int
    ) -> list[tuple[float, Any]]:
        """``(score, address)`` of the hits on the page (accession order when unscored)."""
        if not limit:
            return []
        if not parsed.is_scored():
            res = searcher.search(
                tq,
                limit=limit,
                count=False,
                order_by_field="sort_key",
                offset=offset,
                order=tantivy.Order.Asc,
            )
            return [(0.0, addr) for _, addr in res.hits]
        return self._ranked(searcher, tq, offset + limit)[offset:]

    def _ranked(self, searcher: Any, tq: tantivy.Query, need: int) -> list[Any]:
        """Top ``need`` hits by (score desc, accession key asc), exact across score ties, the
        scores of series and DataSets multiplied by :data:`SERIES_BOOST`.

        Two top-``need`` searches, over every match and over the series ones, merged: the
        boosted top ``need`` is within their union (a record in it has fewer than ``need``
        records above it by unboosted score, and a series fewer than ``need`` series above
        it). No count is asked for: counting visits every match, while top-k alone lets
        tantivy skip blocks that cannot enter the top (the total comes from
        :class:`FacetCounter`).
        """
        Q, Occur = tantivy.Query, tantivy.Occur
        series = Q.const_score_query(
            Q.term_set_query(self._tschema, "x_etype", list(BOOSTED_TYPES)), 0.0
        )
        only_series = Q.boolean_query([(Occur.Must, tq), (Occur.Must, series)])
        scores: dict[tuple[int, int], tuple[float, Any]] = {}
        for query, boost in ((tq, 1.0), (only_series, SERIES_BOOST)):
            for score, addr in self._top(searcher, query, need):
                key = (addr.segment_ord, addr.doc)
                boosted = float(score) * boost
                if key not in scores or scores[key][0] < boosted:
                    scores[key] = (boosted, addr)
        hits = list(scores.values())
        keys = searcher.fast_field_values("sort_key", [a for _, a in hits]) if hits else []
        order = sorted(range(len(hits)), key=lambda i: (-hits[i][0], keys[i]))
        return [hits[i] for i in order[:need]]

    @staticmethod
    def _top(searcher: Any, tq: tantivy.Query, need: int) -> list[Any]:
        """The top ``need`` hits of ``tq`` and every hit tied with the last of them."""
        window = max(need, 1) + 16
        while True:
            hits = searcher.search(tq, limit=window, count=False).hits
            if len(hits) < window or need == 0 or hits[-1][0] < hits[min(need, len(hits)) - 1][0]:
                return list(hits)
            window *= 4  # the tie at the page boundary may continue past the window
