"""REST route for search."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from exprhub.api.deps import PagingDep, SearchDep, page
from exprhub.api.errors import ERROR_RESPONSES, ApiError
from exprhub.api.searching import results_to_dict

router = APIRouter(prefix="/api/v1", tags=["Search"], responses=ERROR_RESPONSES)


def selected_facets(
    type: list[str] | None, organism: list[str] | None, platform: list[str] | None
) -> dict[str, list[str]]:
    """The facet values a request selects (facet name -> values), empty ones left out."""
    chosen = {"type": type or [], "organism": organism or [], "platform": platform or []}
    return {k: [v for v in vs if v] for k, vs in chosen.items() if any(vs)}


@router.get("/search", summary="Search records")
def search(
    request: Request,
    service: SearchDep,
    p: PagingDep,
    q: Annotated[
        str,
        Query(
            max_length=1000,
            description=(
                "words, or Entrez-style terms: `liver AND Homo sapiens[ORGN] AND GSE[ETYP]`"
            ),
        ),
    ] = "",
    type: Annotated[
        list[str] | None, Query(description="facet: record type (GSE, GSM ...)")
    ] = None,
    organism: Annotated[list[str] | None, Query(description="facet: organism")] = None,
    platform: Annotated[list[str] | None, Query(description="facet: platform accession")] = None,
) -> dict[str, Any]:
    """Records matching ``q`` with facet counts; facet parameters narrow the hits (several
    values of one facet are alternatives)."""
    facets = selected_facets(type, organism, platform)
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
