"""How far search results can be paged: the one place these limits are set.

As in NCBI Entrez (whose ESearch serves at most the first 10,000 hits of a query), only the
first :data:`MAX_SEARCH_END` hits of a query can be paged through: a ranked page costs work and
memory in proportion to ``offset + limit``, so deeper pages are refused rather than computed.
Every backend (:meth:`exprhub.search.SearchIndex.search`), ``HubSearch.search``, the CLI and the
HTTP API apply them.
"""

from __future__ import annotations

from exprhub.paging import PagingError, check_page

__all__ = [
    "MAX_SEARCH_END",
    "MAX_SEARCH_LIMIT",
    "MAX_SEARCH_OFFSET",
    "PagingError",
    "check_search_page",
]

#: Most hits on one page.
MAX_SEARCH_LIMIT = 1000
#: Largest ``offset + limit``: hits beyond this rank cannot be paged to.
MAX_SEARCH_END = 10_000
#: Largest ``offset`` (so that a page of at least one hit stays within :data:`MAX_SEARCH_END`).
MAX_SEARCH_OFFSET = MAX_SEARCH_END - 1


def check_search_page(limit: int, offset: int) -> None:
    """Reject search paging outside ``0 <= limit <= MAX_SEARCH_LIMIT``, ``0 <= offset <=
    MAX_SEARCH_OFFSET`` and ``offset + limit <= MAX_SEARCH_END``.

    Raises
    ------
    PagingError
        A ``ValueError`` naming the argument and the limit it exceeds.
    """
    check_page(
        limit,
        offset,
        max_limit=MAX_SEARCH_LIMIT,
        max_offset=MAX_SEARCH_OFFSET,
        max_end=MAX_SEARCH_END,
        what="search results",
    )
