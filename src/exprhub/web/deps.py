"""Shared dependencies of the routes: the hub, the search service, jobs and paging."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request

from exprhub.hub import Hub
from exprhub.hub.listing import MAX_LISTING_OFFSET
from exprhub.search.paging import (
    MAX_SEARCH_END,
    MAX_SEARCH_LIMIT,
    MAX_SEARCH_OFFSET,
    PagingError,
    check_search_page,
)
from exprhub.web.errors import ApiError
from exprhub.web.jobs import JobManager
from exprhub.web.searching import SearchService

DEFAULT_LIMIT = 25
#: Most records on one listing page of the API.
MAX_LIMIT = 1000


def get_hub(request: Request) -> Hub:
    """The hub the app serves."""
    hub: Hub = request.app.state.hub
    return hub


def get_search(request: Request) -> SearchService:
    """The search service the app uses."""
    service: SearchService = request.app.state.search
    return service


def get_jobs(request: Request) -> JobManager:
    """The app's job manager."""
    jobs: JobManager = request.app.state.jobs
    return jobs


@dataclass(frozen=True)
class Paging:
    """``limit`` and ``offset`` of a listing."""

    limit: int
    offset: int


def paging(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"page size (max {MAX_LIMIT})")
    ] = DEFAULT_LIMIT,
    offset: Annotated[
        int,
        Query(
            ge=0,
            le=MAX_LISTING_OFFSET,
            description=f"number of items to skip (max {MAX_LISTING_OFFSET:,})",
        ),
    ] = 0,
) -> Paging:
    """Listing paging parameters (default 25 per page, at most 1000; offset at most
    :data:`exprhub.hub.listing.MAX_LISTING_OFFSET`)."""
    return Paging(limit, offset)


def search_paging(
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_SEARCH_LIMIT,
            description=f"hits per page (max {MAX_SEARCH_LIMIT})",
        ),
    ] = DEFAULT_LIMIT,
    offset: Annotated[
        int,
        Query(
            ge=0,
            le=MAX_SEARCH_OFFSET,
            description=(
                f"number of hits to skip (max {MAX_SEARCH_OFFSET:,}); as in NCBI Entrez, only "
                f"the first {MAX_SEARCH_END:,} hits of a query can be paged through "
                f"(offset + limit at most {MAX_SEARCH_END:,}): narrow the query to see others"
            ),
        ),
    ] = 0,
) -> Paging:
    """Search paging parameters, bounded by :mod:`exprhub.search.paging`.

    Raises
    ------
    ApiError
        422 ``invalid_request`` when ``offset + limit`` exceeds
        :data:`exprhub.search.paging.MAX_SEARCH_END`.
    """
    try:
        check_search_page(limit, offset)
    except PagingError as exc:
        detail = {"parameter": "offset", "max_offset_plus_limit": MAX_SEARCH_END}
        raise ApiError(422, "invalid_request", str(exc), detail) from None
    return Paging(limit, offset)


PagingDep = Annotated[Paging, Depends(paging)]
SearchPagingDep = Annotated[Paging, Depends(search_paging)]
HubDep = Annotated[Hub, Depends(get_hub)]
SearchDep = Annotated[SearchService, Depends(get_search)]


def _facet(description: str) -> Any:
    return Query(description=f"facet: {description} (repeat for alternatives)")


def facet_selection(
    type: Annotated[list[str] | None, _facet("record type: GSE, GSM, GPL or GDS")] = None,
    organism: Annotated[list[str] | None, _facet("organism, e.g. Homo sapiens")] = None,
    platform: Annotated[list[str] | None, _facet("platform accession")] = None,
    technology: Annotated[list[str] | None, _facet("platform technology")] = None,
    series_type: Annotated[
        list[str] | None, _facet("experiment type (series), sample type")
    ] = None,
    value_type: Annotated[list[str] | None, _facet("value type of a DataSet")] = None,
    sex: Annotated[list[str] | None, _facet("harmonized sex of a sample")] = None,
    tissue: Annotated[list[str] | None, _facet("harmonized tissue of a sample")] = None,
    disease: Annotated[list[str] | None, _facet("harmonized disease of a sample")] = None,
) -> dict[str, list[str]]:
    """The facet values a request selects (facet name -> values, empty ones left out)."""
    chosen = {
        "type": type,
        "organism": organism,
        "platform": platform,
        "technology": technology,
        "series_type": series_type,
        "value_type": value_type,
        "sex": sex,
        "tissue": tissue,
        "disease": disease,
    }
    return {k: [v for v in vs if v] for k, vs in chosen.items() if vs and any(vs)}


FacetSelection = Annotated[dict[str, list[str]], Depends(facet_selection)]
JobsDep = Annotated[JobManager, Depends(get_jobs)]


def page(request: Request, results: list[Any], count: int, p: Paging) -> dict[str, Any]:
    """A listing page: ``count`` (all matches), ``limit``, ``offset``, ``next`` and
    ``previous`` URLs (None at the ends) and ``results``."""

    def link(offset: int) -> str:
        params = [
            (k, v) for k, v in request.query_params.multi_items() if k not in ("limit", "offset")
        ]
        params += [("limit", str(p.limit)), ("offset", str(offset))]
        return f"{request.url.path}?{urlencode(params)}"

    return {
        "count": count,
        "limit": p.limit,
        "offset": p.offset,
        "next": link(p.offset + p.limit) if p.offset + p.limit < count else None,
        "previous": link(max(0, p.offset - p.limit)) if p.offset > 0 else None,
        "results": results,
    }
