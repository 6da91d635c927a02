"""exprhub.search: an Entrez-style query language over a full-text index with facets.

- :func:`parse_query` turns ``diabetes[ALL] AND Homo sapiens[ORGN] AND GSE[ETYP]`` into a
  :class:`Query` (raises :class:`QuerySyntaxError` pointing at the column).
- :class:`SearchDocument` is what gets indexed; :class:`SearchIndex` is the protocol every
  backend implements (``add``, ``delete``, ``commit``, ``count``, ``search``, ``close``, and
  ``writing``: the write lock one writer at a time holds across threads and processes, raising
  :class:`IndexBusy` when taken; see :mod:`exprhub.search.hub_index` for who writes when).
- Backends: :class:`TantivyIndex` (embedded default, a directory) and :class:`PostgresIndex`
  (server, by URL). :func:`open_index` picks one from a location. (SQLite FTS5 was measured
  as the embedded alternative and dropped: see bench/README.md.)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from exprhub.search.document import (
    FacetCount,
    Hit,
    IndexBusy,
    SearchDocument,
    SearchIndex,
    SearchResults,
    accession_sort_key,
)
from exprhub.search.fields import DEFAULT_LABELS, DEFAULT_SCHEMA, FieldSpec, SearchSchema, tokenize
from exprhub.search.query import (
    And,
    MatchAll,
    Node,
    Not,
    Or,
    Query,
    QuerySyntaxError,
    Range,
    Term,
    parse_query,
)

if TYPE_CHECKING:
    from exprhub.search.postgres_index import PostgresIndex
    from exprhub.search.tantivy_index import TantivyIndex

__all__ = [
    "DEFAULT_LABELS",
    "DEFAULT_SCHEMA",
    "And",
    "FacetCount",
    "FieldSpec",
    "Hit",
    "IndexBusy",
    "MatchAll",
    "Node",
    "Not",
    "Or",
    "PostgresIndex",
    "Query",
    "QuerySyntaxError",
    "Range",
    "SearchDocument",
    "SearchIndex",
    "SearchResults",
    "SearchSchema",
    "TantivyIndex",
    "Term",
    "accession_sort_key",
    "drop_index",
    "open_index",
    "parse_query",
    "tokenize",
]

_LAZY = {
    "TantivyIndex": "exprhub.search.tantivy_index",
    "PostgresIndex": "exprhub.search.postgres_index",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'exprhub.search' has no attribute {name!r}")


def open_index(location: str | Path, schema: SearchSchema | None = None) -> SearchIndex:
    """Open (creating if needed) the index at ``location``.

    ``postgresql...://`` URLs open a :class:`PostgresIndex`; a path is a tantivy directory.
    """
    loc = str(location)
    if loc.startswith(("postgresql:", "postgresql+", "postgres:")):
        from exprhub.search.postgres_index import PostgresIndex

        return PostgresIndex(loc, schema)
    if "://" in loc:
        raise ValueError(f"unsupported search index URL {loc!r}: use postgresql://... or a path")
    from exprhub.search.tantivy_index import TantivyIndex

    return TantivyIndex(Path(loc), schema)


def drop_index(location: str | Path) -> None:
    """Delete the index at ``location`` (a tantivy directory or a PostgreSQL index's tables),
    e.g. one written by another version of exprhub, to be rebuilt; nothing if there is none."""
    loc = str(location)
    if loc.startswith(("postgresql:", "postgresql+", "postgres:")):
        from exprhub.search.postgres_index import drop_postgres_index

        drop_postgres_index(loc)
        return
    import shutil

    shutil.rmtree(loc, ignore_errors=True)
