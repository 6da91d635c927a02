"""Server-backed index: PostgreSQL full text (tsvector + GIN, ts_rank, facets by GROUP BY).

Text is tokenized and analyzed in Python (:func:`exprhub.search.fields.index_tokens`, then
:mod:`exprhub.search.analysis`: American spelling, Snowball English stems) and written as
tsvector literals, so matching is identical to the embedded backend. Each term is stored
twice: bare (searched by ALL) and as ``@field:term`` (searched by ``word[FIELD]``); title
terms carry weight A for ranking. Positions above 16383 (a PostgreSQL limit) are clamped, so
phrases deep inside very long descriptions may match loosely.

Writers take turns through a PostgreSQL advisory lock named after the table prefix (see
:meth:`PostgresIndex.writing`); readers see the last committed transaction.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, text

from exprhub.search.analysis import ANALYZER_VERSION, analyze_all
from exprhub.search.document import (
    FacetCount,
    Hit,
    OutdatedIndex,
    SearchDocument,
    SearchResults,
    accession_sort_key,
    dedupe,
    top_facets,
)
from exprhub.search.fields import (
    BOOSTED_TYPES,
    DEFAULT_SCHEMA,
    SERIES_BOOST,
    SearchSchema,
    index_tokens,
)
from exprhub.search.paging import check_search_page
from exprhub.search.query import And, Node, Not, Or, Query, Term, as_query
from exprhub.search.sql_common import Params, compile_where, only_terms, positive_scored_terms
from exprhub.search.write_lock import WriteLock

_FORMAT = "1"
_MAX_POS = 16383
_PREFIX_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def _lock_key(purpose: str, prefix: str) -> int:
    """The advisory lock key (a signed 64-bit integer) of one purpose on one index."""
    digest = hashlib.blake2b(f"exprhub.search:{purpose}:{prefix}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


#: An OR of more alternatives than this is tested in two steps (see PostgresIndex._text_sql).
_WIDE_OR = 4


def _wide_or(node: Node) -> bool:
    return isinstance(node, Or) and len(node.items) > _WIDE_OR


def _has_wide_or(node: Node) -> bool:
    if _wide_or(node):
        return True
    if isinstance(node, And | Or):
        return any(_has_wide_or(i) for i in node.items)
    if isinstance(node, Not):
        return _has_wide_or(node.item)
    return False


def _one_test(node: Node) -> bool:
    """Whether ``node`` is one full-text test: terms and Boolean operators only, with no wide
    OR inside it (a wide OR is a test of its own)."""
    if not only_terms(node):
        return False
    if _wide_or(node):
        return True
    return not _has_wide_or(node)


def drop_postgres_index(url: str | Engine, *, prefix: str = "exprhub_search") -> None:
    """Delete the index tables named ``<prefix>_*`` (an index written by another version of
    exprhub, to be rebuilt from the hub); nothing happens where there are none."""
    if not _PREFIX_RE.match(prefix):
        raise ValueError(f"invalid table prefix {prefix!r}")
    engine = create_engine(url) if isinstance(url, str) else url
    try:
        with engine.begin() as conn:
            conn.execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key("create", prefix)}
            )
            conn.execute(
                text(f"DROP TABLE IF EXISTS {prefix}_facets, {prefix}_docs, {prefix}_meta")
            )
    finally:
        if isinstance(url, str):
            engine.dispose()


class PostgresIndex:
    """A search index in PostgreSQL tables named ``<prefix>_docs``, ``_facets``, ``_meta``.

    Parameters
    ----------
    url : SQLAlchemy URL (``postgresql+psycopg://...`` or ``postgresql+pg8000://...``) or
        an Engine.
    schema : fields to index; an existing index keeps the label fields it was created with.
    prefix : table name prefix.
    """

    def __init__(
        self,
        url: str | Engine,
        schema: SearchSchema | None = None,
        *,
        prefix: str = "exprhub_search",
    ) -> None:
        if not _PREFIX_RE.match(prefix):
            raise ValueError(f"invalid table prefix {prefix!r}")
        self._engine = create_engine(url) if isinstance(url, str) else url
        self._own_engine = isinstance(url, str)
        self._t = prefix
        with self._engine.begin() as conn:
            # two processes opening a new index at once: the second waits, then finds it
            conn.execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key("create", prefix)}
            )
            exists = conn.execute(
                text("SELECT to_regclass(:n) IS NOT NULL"), {"n": f"{prefix}_meta"}
            ).scalar()
            if exists:
                meta: dict[str, str] = dict(
                    conn.execute(text(f"SELECT key, value FROM {prefix}_meta")).all()
                )
                if meta.get("format") != _FORMAT:
                    raise OutdatedIndex(
                        f"{prefix}: search index format {meta.get('format')!r} is not the "
                        f"current one ({_FORMAT}); rebuild it (exprhub index --full)"
                    )
                if meta.get("analyzer") != str(ANALYZER_VERSION):
                    raise OutdatedIndex(
                        f"{prefix}: search index terms were made by text analysis "
                        f"{meta.get('analyzer') or 'without stemming'}, not the current "
                        f"{ANALYZER_VERSION}; rebuild it (exprhub index --full)"
                    )
                stored = SearchSchema(labels=tuple(json.loads(meta["labels"])))
                if schema is not None and schema != stored:
                    raise OutdatedIndex(
                        f"{prefix}: index was built with labels {list(stored.labels)}; "
                        f"rebuild it to use {list(schema.labels)}"
                    )
                schema = stored
            self.schema = schema or DEFAULT_SCHEMA
            if not exists:
                self._create(conn)
        self._wconn: Any = None
        self._bumped = False
        self._write_key = _lock_key("write", prefix)
        self._lock_conn: Any = None
        self._write_lock = WriteLock(
            f"search index {prefix}", self._try_lock, self._unlock, self._lock_holder
        )
        self._cache: tuple[str, int, dict[str, dict[str, int]]] | None = None
        self._cache_lock = threading.Lock()

    def _create(self, conn: Any) -> None:
        t = self._t
        for stmt in (
            f"CREATE TABLE {t}_meta (key text PRIMARY KEY, value text NOT NULL)",
            f"""CREATE TABLE {t}_docs (
                id bigserial PRIMARY KEY, accession text NOT NULL UNIQUE, etype text,
                title text, sort_key bigint, pdat integer, nsam integer,
                tsv tsvector NOT NULL)""",
            f"CREATE INDEX {t}_docs_tsv ON {t}_docs USING gin (tsv)",
            f"CREATE INDEX {t}_docs_pdat ON {t}_docs (pdat)",
            f"CREATE INDEX {t}_docs_nsam ON {t}_docs (nsam)",
            f"""CREATE TABLE {t}_facets (
                doc_id bigint NOT NULL REFERENCES {t}_docs (id) ON DELETE CASCADE,
                facet text NOT NULL, value text NOT NULL,
                PRIMARY KEY (doc_id, facet, value))""",
        ):
            conn.execute(text(stmt))
        conn.execute(
            text(f"INSERT INTO {t}_meta VALUES (:k, :v)"),
            [
                {"k": "format", "v": _FORMAT},
                {"k": "analyzer", "v": str(ANALYZER_VERSION)},
                {"k": "labels", "v": json.dumps(list(self.schema.labels))},
                {"k": "generation", "v": "0"},
            ],
        )

    # ------------------------------------------------------------ writing

    @contextmanager
    def writing(self, wait: float = 0.0) -> Iterator[None]:
        """Hold the write lock (see :meth:`exprhub.search.SearchIndex.writing`): a
        session-level advisory lock on its own connection, released when the block ends or
        the connection drops."""
        with self._write_lock.hold(wait):
            try:
                yield
            finally:
                self._discard_pending()

    def _try_lock(self) -> bool:
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            taken = conn.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": self._write_key}
            ).scalar_one()
        except BaseException:
            conn.close()
            raise
        if not taken:
            conn.close()
            return False
        self._lock_conn = conn
        return True

    def _unlock(self) -> None:
        conn, self._lock_conn = self._lock_conn, None
        if conn is None:
            return
        try:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._write_key})
        except Exception:
            conn.invalidate()  # never return a session still holding the lock to the pool
            raise
        finally:
            conn.close()

    def _lock_holder(self) -> str:
        key = self._write_key & 0xFFFFFFFFFFFFFFFF
        with self._engine.connect() as conn:
            pid = conn.execute(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND classid = :hi AND objid = :lo AND objsubid = 1"
                ),
                {"hi": key >> 32, "lo": key & 0xFFFFFFFF},
            ).scalar()
        return f"PostgreSQL backend {pid}" if pid is not None else "another process"

    def _discard_pending(self) -> None:
        """Roll back what was not committed and give the writing connection back."""
        with self._write_lock.threads:
            if self._wconn is not None:
                self._wconn.rollback()
                self._wconn.close()
                self._wconn = None
            self._bumped = False

    def _writer(self) -> Any:
        if self._wconn is None:
            self._wconn = self._engine.connect()
        if not self._bumped:
            # every transaction that writes changes the generation (seen once committed)
            self._wconn.execute(
                text(
                    f"INSERT INTO {self._t}_meta VALUES ('generation', '1') ON CONFLICT (key) "
                    f"DO UPDATE SET value = (CAST({self._t}_meta.value AS bigint) + 1)::text"
                )
            )
            self._bumped = True
        return self._wconn

    def _tsvector(self, d: SearchDocument) -> str:
        values = d.field_values(self.schema)
        lex: dict[str, list[str]] = {}
        pos = 1
        for spec in self.schema.text_fields:
            weight = "A" if spec.name == "TITL" else "D"
            for value in values.get(spec.key, []):
                for tok in analyze_all(index_tokens(value)):
                    p = f"{min(pos, _MAX_POS)}{weight}"
                    for lexeme in (
                        (tok, f"@{spec.key}:{tok}") if spec.in_all else (f"@{spec.key}:{tok}",)
                    ):
                        plist = lex.setdefault(lexeme, [])
                        if len(plist) < 255:
                            plist.append(p)
                    pos += 1
                pos += 1  # no phrase across two values
            pos += 1
        return " ".join(f"{_quote(k)}:{','.join(v)}" for k, v in lex.items())

    def add(self, docs: Iterable[SearchDocument]) -> int:
        """Insert or replace documents by accession (visible after :meth:`commit`)."""
        batch = dedupe(docs)
        with self._write_lock.threads:
            return self._add(batch)

    def _add(self, batch: list[SearchDocument]) -> int:
        if not batch:
            return 0
        t = self._t
        conn = self._writer()
        self.delete([d.accession for d in batch])
        ids = (
            conn.execute(
                text(f"SELECT nextval('{t}_docs_id_seq') FROM generate_series(1, :n)"),
                {"n": len(batch)},
            )
            .scalars()
            .all()
        )
        rows, facet_rows = [], []
        for doc_id, d in zip(ids, batch, strict=True):
            rows.append(
                {
                    "id": doc_id,
                    "a": d.accession,
                    "e": d.etype,
                    "t": d.title,
                    "k": accession_sort_key(d.accession),
                    "pd": d.pdat_int,
                    "n": d.nsam,
                    "v": self._tsvector(d),
                }
            )
            values = d.field_values(self.schema)
            for spec in self.schema.fields:
                if spec.facet:
                    for v in dict.fromkeys(values.get(spec.key, [])):
                        facet_rows.append({"d": doc_id, "f": spec.facet, "v": v})
        conn.execute(
            text(
                f"INSERT INTO {t}_docs (id, accession, etype, title, sort_key, pdat, nsam, tsv) "
                "VALUES (:id, :a, :e, :t, :k, :pd, :n, CAST(:v AS tsvector))"
            ),
            rows,
        )
        if facet_rows:
            conn.execute(text(f"INSERT INTO {t}_facets VALUES (:d, :f, :v)"), facet_rows)
        return len(batch)

    def delete(self, accessions: Iterable[str]) -> None:
        """Remove documents by accession."""
        accs = list(accessions)
        if accs:
            with self._write_lock.threads:
                self._writer().execute(
                    text(f"DELETE FROM {self._t}_docs WHERE accession = ANY(:a)"), {"a": accs}
                )

    def commit(self) -> None:
        """Commit pending changes."""
        with self._write_lock.threads:
            if self._wconn is not None:
                self._wconn.commit()
            self._bumped = False

    def close(self) -> None:
        """Roll back pending changes and release connections."""
        self._discard_pending()
        if self._own_engine:
            self._engine.dispose()

    def __enter__(self) -> PostgresIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def drop(self) -> None:
        """Drop the index tables."""
        self.close()
        with self._engine.begin() as conn:
            for suffix in ("facets", "docs", "meta"):
                conn.execute(text(f"DROP TABLE IF EXISTS {self._t}_{suffix}"))

    def size_bytes(self) -> int:
        """Disk used by the index tables and their indexes."""
        sizes = " + ".join(
            f"pg_total_relation_size('{self._t}_{x}')" for x in ("docs", "facets", "meta")
        )
        with self._engine.connect() as conn:
            return int(conn.execute(text(f"SELECT {sizes}")).scalar_one())

    def count(self) -> int:
        """Number of committed documents."""
        with self._engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {self._t}_docs")).scalar_one())

    # ------------------------------------------------------------ querying

    def _tsquery(self, node: Node) -> str:
        if isinstance(node, Term):
            if node.field is None:
                lexemes = list(node.terms)
            else:
                spec = self.schema.resolve(node.field)
                assert spec is not None
                lexemes = [f"@{spec.key}:{tok}" for tok in node.terms]
            if node.prefix:
                return _quote(lexemes[0]) + ":*"
            return "(" + " <-> ".join(_quote(x) for x in lexemes) + ")"
        if isinstance(node, Not):
            return f"!{self._tsquery(node.item)}"
        op = " & " if isinstance(node, And) else " | "
        assert isinstance(node, And | Or)
        return "(" + op.join(self._tsquery(i) for i in node.items) + ")"

    def _lexemes(self, term: Term) -> list[str]:
        if term.field is None:
            return list(term.terms)
        spec = self.schema.resolve(term.field)
        assert spec is not None
        return [f"@{spec.key}:{tok}" for tok in term.terms]

    def _needed(self, node: Node) -> str | None:
        """One lexeme every match of ``node`` holds (the longest, likely the rarest), or None."""
        if isinstance(node, Term) and not node.prefix:
            return max(self._lexemes(node), key=len)
        if isinstance(node, And):
            found = [x for x in (self._needed(i) for i in node.items) if x is not None]
            return max(found, key=len) if found else None
        return None

    def _text_sql(self, node: Node, p: Params) -> str:
        """The full-text test of ``node``. A wide OR (an ontology expansion) is tested in two
        steps: the index finds the documents holding one needed word of an alternative, and
        only those are matched against the query (``ts_match_vq``, which no index serves): in
        one tsquery, GIN would visit every document holding any word of any alternative."""
        exact = f"CAST({p(self._tsquery(node))} AS tsquery)"
        if _wide_or(node):
            needed = [self._needed(i) for i in node.items]  # type: ignore[union-attr]
            if all(x is not None for x in needed):
                words = " | ".join(_quote(x) for x in dict.fromkeys(needed) if x is not None)
                return f"(d.tsv @@ CAST({p(words)} AS tsquery) AND ts_match_vq(d.tsv, {exact}))"
        return f"d.tsv @@ {exact}"

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
        """Ranked hits (ts_rank, title weighted, series and DataSets boosted by
        :data:`~exprhub.search.fields.SERIES_BOOST`; ties in accession order) and facet
        counts."""
        check_search_page(limit, offset)
        parsed = as_query(query, self.schema).filtered(filters)
        facet_names = self.schema.check_facets(facets)
        t = self._t
        p = Params()
        where = compile_where(
            parsed.root,
            p,
            text_ok=_one_test,
            text_sql=lambda n: self._text_sql(n, p),
            facet_sql=lambda n: (
                f"d.id IN (SELECT doc_id FROM {t}_facets WHERE facet = {p(n.facet)} "
                f"AND value = ANY({p(list(n.values))}))"
            ),
            schema=self.schema,
        )
        scored = positive_scored_terms(parsed.root, self.schema)
        if parsed.is_scored() and scored:
            rank_q = " | ".join(self._tsquery(x) for x in scored)
            boost = (
                f"CASE WHEN d.etype = ANY({p(list(BOOSTED_TYPES))}) THEN {SERIES_BOOST} ELSE 1 END"
            )
            score = f"ts_rank(d.tsv, CAST({p(rank_q)} AS tsquery)) * {boost}"
        else:
            score = "0.0"
        with self._engine.connect() as conn:
            total = conn.execute(
                text(f"SELECT count(*) FROM {t}_docs d WHERE {where}"), p.values
            ).scalar_one()
            rows = conn.execute(
                text(
                    f"SELECT d.accession, d.etype, d.title, {score} AS score FROM {t}_docs d "
                    f"WHERE {where} ORDER BY score DESC, d.sort_key, d.accession "
                    f"LIMIT {int(limit)} OFFSET {int(offset)}"
                ),
                p.values,
            ).all()
            facet_counts = self._facets(conn, where, p, facet_names, facet_limit, int(total))
        hits = [Hit(a, e or "", ti or "", float(s)) for a, e, ti, s in rows]
        return SearchResults(int(total), hits, facet_counts, parsed)

    def _facets(
        self, conn: Any, where: str, p: Params, names: Sequence[str], limit: int, total: int
    ) -> dict[str, list[FacetCount]]:
        """Facet counts over the matches, or (for a query matching most documents) the counts
        over every document minus those over the rest, which is the same and cheaper."""
        if not names:
            return {}
        everything = self._everything(conn, names)
        if everything is not None and total > everything[0] / 2:
            minus = self._group(conn, f"(NOT {where})", p, names)
            counts = {
                n: {v: c - minus[n].get(v, 0) for v, c in everything[1][n].items()} for n in names
            }
        else:
            counts = self._group(conn, where, p, names)
        return {n: top_facets({v: c for v, c in counts[n].items() if c > 0}, limit) for n in names}

    def _group(
        self, conn: Any, where: str, p: Params, names: Sequence[str]
    ) -> dict[str, dict[str, int]]:
        t = self._t
        sql = (
            f"WITH m AS MATERIALIZED (SELECT d.id FROM {t}_docs d WHERE {where}) "
            f"SELECT f.facet, f.value, count(*) FROM {t}_facets f JOIN m ON m.id = f.doc_id "
            f"WHERE f.facet = ANY({p(list(names))}) GROUP BY f.facet, f.value"
        )
        counts: dict[str, dict[str, int]] = {n: {} for n in names}
        for facet, value, n in conn.execute(text(sql), p.values):
            counts[facet][value] = int(n)
        return counts

    def _everything(
        self, conn: Any, names: Sequence[str]
    ) -> tuple[int, dict[str, dict[str, int]]] | None:
        """(documents, facet counts over all of them) for the committed generation, cached
        until the next commit; None for an index without a generation counter."""
        t = self._t
        read = text(f"SELECT value FROM {t}_meta WHERE key = 'generation'")
        generation = conn.execute(read).scalar_one_or_none()
        if generation is None:
            return None
        with self._cache_lock:
            cached = self._cache
            if cached is None or cached[0] != generation:
                n_docs = conn.execute(text(f"SELECT count(*) FROM {t}_docs")).scalar_one()
                cached = (generation, int(n_docs), {})
            missing = [n for n in names if n not in cached[2]]
            if missing:
                found = self._group(conn, "(1=1)", Params(), missing)
                if conn.execute(read).scalar_one_or_none() != generation:
                    return None  # a commit landed meanwhile: count directly this time
                cached[2].update(found)
            self._cache = cached
            return cached[1], cached[2]
