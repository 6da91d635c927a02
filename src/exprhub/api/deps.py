"""Shared dependencies of the routes: the hub, the search service, jobs and paging."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request

from exprhub.api.jobs import JobManager
from exprhub.api.searching import SearchService
from exprhub.hub import Hub

DEFAULT_LIMIT = 25
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
    offset: Annotated[int, Query(ge=0, description="number of items to skip")] = 0,
) -> Paging:
    """Paging parameters (default 25 per page, at most 1000)."""
    return Paging(limit, offset)


PagingDep = Annotated[Paging, Depends(paging)]
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
