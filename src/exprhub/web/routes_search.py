"""REST route for search."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from exprhub.search.paging import MAX_SEARCH_END, PagingError
from exprhub.web.deps import FacetSelection, SearchDep, SearchPagingDep, page
from exprhub.web.errors import ERROR_RESPONSES, ApiError
from exprhub.web.searching import results_to_dict

router = APIRouter(prefix="/api/v1", tags=["Search"], responses=ERROR_RESPONSES)


SEARCH_DESCRIPTION = f"""Records matching `q` with facet counts; facet parameters keep the records
having one of the given values of that facet, exactly as counted (several values of one facet
are alternatives, different facets must all hold).

As in NCBI Entrez, only the first {MAX_SEARCH_END:,} hits of a query can be paged through
(`offset + limit` at most {MAX_SEARCH_END:,}); narrow the query to reach others. A query
that cannot be parsed (unknown field, nested too deeply, a number out of range...) answers
422 `invalid_query`; paging out of bounds answers 422 `invalid_request`."""


@router.get("/search", summary="Search records", description=SEARCH_DESCRIPTION)
def search(
    request: Request,
    service: SearchDep,
    p: SearchPagingDep,
    facets: FacetSelection,
    q: Annotated[
        str,
        Query(
            max_length=1000,
            description=(
                "words, or Entrez-style terms: `liver AND Homo sapiens[ORGN] AND GSE[ETYP]`"
            ),
        ),
    ] = "",
    expand: Annotated[
        bool,
        Query(
            description=(
                "words naming an anatomy, cell type or disease term also find its descendants "
                "(`kidney` finds renal cortex)"
            )
        ),
    ] = True,
) -> dict[str, Any]:
    """Records matching ``q`` with facet counts; facet parameters keep the records having one
    of the given values of that facet, exactly as counted (several values of one facet are
    alternatives, different facets must all hold); see ``SEARCH_DESCRIPTION``."""
    try:
        raw = service.search(q, limit=p.limit, offset=p.offset, facets=facets, expand=expand)
    except PagingError as exc:
        raise ApiError(422, "invalid_request", str(exc), {"parameter": "offset"}) from None
    except ValueError as exc:
        raise ApiError(422, "invalid_query", str(exc).splitlines()[0], {"query": q}) from None
    found = results_to_dict(raw)
    body = page(request, found["hits"], found["total"], p)
    body["query"] = q
    body["selected"] = facets
    body["facets"] = found["facets"]
    return body
