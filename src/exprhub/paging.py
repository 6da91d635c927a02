"""Bounds on paging arguments (``limit`` / ``offset``), shared by search and record listings.

The limits themselves live with what they protect: :mod:`exprhub.search.paging` for search
results, :mod:`exprhub.hub.listing` for record listings.
"""

from __future__ import annotations


class PagingError(ValueError):
    """A ``limit`` or ``offset`` outside its documented bounds; the message names the limit."""


def check_page(
    limit: int | None,
    offset: int,
    *,
    max_limit: int,
    max_offset: int,
    max_end: int | None = None,
    what: str = "items",
) -> None:
    """Reject a page that is negative or beyond the bounds.

    Parameters
    ----------
    limit
        Page size (None: no page size, everything from ``offset`` on).
    offset
        Number of items skipped.
    max_limit, max_offset
        Largest accepted ``limit`` and ``offset``.
    max_end
        Largest accepted ``offset + limit`` (None: not bounded beyond the two above).
    what
        What is paged, for the message (``"search results"``).

    Raises
    ------
    PagingError
        Naming the argument and the limit it exceeds.
    """
    if (limit is not None and limit < 0) or offset < 0:
        raise PagingError(f"limit and offset must be >= 0 (got limit={limit}, offset={offset})")
    if limit is not None and limit > max_limit:
        raise PagingError(f"limit {limit} is too large: at most {max_limit} {what} per page")
    if offset > max_offset:
        raise PagingError(
            f"offset {offset} is too large: {what} are paged up to offset {max_offset}"
        )
    if max_end is not None and offset + (limit or 0) > max_end:
        raise PagingError(
            f"offset + limit ({offset} + {limit}) is too large: only the first {max_end} {what} "
            "can be paged through; narrow the query instead"
        )
