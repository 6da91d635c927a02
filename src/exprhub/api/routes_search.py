"""REST route for search."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from exprhub.api.deps import FacetSelection, PagingDep, SearchDep, page
from exprhub.api.errors import ERROR_RESPONSES, ApiError
from exprhub.api.searching import results_to_dict

router = APIRouter(prefix="/api/v1", tags=["Search"], responses=ERROR_RESPONSES)


@router.get("/search", summary="Search records")
def search(
    request: Request,
    service: SearchDep,
    p: PagingDep,
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
) -> dict[str, Any]:
    """Records matching ``q`` with facet counts; facet parameters keep the records having one
    of the given values of that facet, exactly as counted (several values of one facet are
    alternatives, different facets must all hold)."""
    try:
        raw = service.search(q, limit=p.limit, offset=p.offset, facets=facets)
    except ValueError as exc:
        raise ApiError(422, "invalid_query", str(exc).splitlines()[0], {"query": q}) from None
    found = results_to_dict(raw)
    body = page(request, found["hits"], found["total"], p)
    body["query"] = q
    body["selected"] = facets
    body["facets"] = found["facets"]
    return body
