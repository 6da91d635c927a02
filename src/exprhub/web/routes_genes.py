"""Genes and GEO Profiles over HTTP: ``/api/v1/genes``, ``/api/v1/genes/{gene}``,
``/api/v1/profiles/{acc}/{gene}`` (+ ``/neighbours``), ``/api/v1/flags/{acc}``,
``/api/v1/stored-flags``, and the
gene page ``/genes/{gene}``. Presentation only: the work is ``exprhub.api.profiles``'s.
Profiles are computed on request (a DataSet's values are read once and kept in memory), so
they are plain routes, not jobs."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from exprhub.analysis.genes import GeneNotFound
from exprhub.api import profiles as api
from exprhub.web.deps import HubDep
from exprhub.web.errors import ERROR_RESPONSES, ApiError

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["genes and profiles"])
pages = APIRouter(include_in_schema=False)

ValuesQuery = Annotated[
    str, Query(pattern="^(submitted|refined)$", description="submitted or refined values")
]
PlatformQuery = Annotated[str | None, Query(description="a series on several platforms: which")]
FdrQuery = Annotated[float, Query(gt=0, le=1, description="flag: BH FDR at most this")]
FoldQuery = Annotated[float, Query(ge=0, description="flag: group means differ by this (log2)")]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _rows(frame: Any) -> list[dict[str, Any]]:
    return [{k: _clean(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _not_found(exc: Exception) -> ApiError:
    return ApiError(404, "not_found", str(exc))


def _invalid(exc: Exception) -> ApiError:
    return ApiError(422, "invalid_request", str(exc))


@router.get("/genes", summary="Find genes")
def genes(
    hub: HubDep,
    q: Annotated[str, Query(min_length=1, max_length=200, description="symbol, id or words")],
    organism: Annotated[str | None, Query(description="name or NCBI tax id")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Genes matching a symbol, synonym, NCBI Gene id, Ensembl id or words of the gene name,
    over the gene reference and the platforms' probe annotations, best first."""
    try:
        found = api.find_genes(hub, q, organism=organism, limit=limit)
    except ValueError as exc:
        raise _invalid(exc) from None
    return {"query": q, "genes": [m.as_dict() for m in found]}


@router.get("/genes/{gene}", summary="A gene's record")
def gene(
    hub: HubDep,
    gene: str,
    organism: Annotated[str | None, Query(description="name or NCBI tax id")] = None,
) -> dict[str, Any]:
    """The gene best matching ``gene``: identifiers, the platforms and probes measuring it,
    series and DataSets, refined values across the hub, other matches (as ``exprhub gene
    --json``)."""
    try:
        return api.gene(hub, gene, organism=organism).as_dict()
    except GeneNotFound as exc:
        raise _not_found(exc) from None
    except ValueError as exc:
        raise _invalid(exc) from None


@router.get("/profiles/{acc}/{gene}", summary="A gene's profile in a DataSet or series")
def profile(
    hub: HubDep,
    acc: str,
    gene: str,
    values: ValuesQuery = "submitted",
    platform: PlatformQuery = None,
    fdr: FdrQuery = 0.05,
    min_log2_fold: FoldQuery = 1.0,
) -> dict[str, Any]:
    """Value and rank percentile in every sample, the samples' groups per subset type, and
    the flags (as ``exprhub profile --json``)."""
    try:
        frame = api.profile(
            hub,
            acc,
            gene,
            values=values,
            platform=platform,
            fdr=fdr,
            min_log2_fold=min_log2_fold,
        )
    except GeneNotFound as exc:
        raise _not_found(exc) from None
    except ValueError as exc:
        raise _invalid(exc) from None
    return {**frame.attrs, "rows": _rows(frame)}


@router.get("/profiles/{acc}/{gene}/neighbours", summary="Profile neighbours")
def neighbours(
    hub: HubDep,
    acc: str,
    gene: str,
    values: ValuesQuery = "submitted",
    platform: PlatformQuery = None,
    min_r: Annotated[float, Query(ge=-1, le=1, description="smallest Pearson r")] = 0.7,
    count: Annotated[int, Query(ge=1, le=1000, description="most neighbours")] = 20,
    negative: Annotated[bool, Query(description="also r <= -min_r")] = False,
) -> dict[str, Any]:
    """Probes (or genes) whose profiles correlate best with the gene's (as ``exprhub
    neighbours --json``)."""
    try:
        frame = api.profile_neighbours(
            hub,
            acc,
            gene,
            values=values,
            platform=platform,
            min_r=min_r,
            count=count,
            negative=negative,
        )
    except GeneNotFound as exc:
        raise _not_found(exc) from None
    except ValueError as exc:
        raise _invalid(exc) from None
    return {**frame.attrs, "neighbours": _rows(frame)}


@router.get("/flags/{acc}", summary="Flagged probes or genes of a DataSet or series")
def flags(
    hub: HubDep,
    acc: str,
    values: ValuesQuery = "submitted",
    platform: PlatformQuery = None,
    fdr: FdrQuery = 0.05,
    min_log2_fold: FoldQuery = 1.0,
    all_rows: Annotated[bool, Query(alias="all", description="every row")] = False,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> dict[str, Any]:
    """Rows differentially expressed across each subset type (one-way ANOVA, BH FDR, fold;
    as ``exprhub flags --json``), best first, at most ``limit``."""
    try:
        table = api.profile_flags(
            hub,
            acc,
            values=values,
            platform=platform,
            fdr=fdr,
            min_log2_fold=min_log2_fold,
            all_rows=all_rows,
        )
    except ValueError as exc:
        raise _invalid(exc) from None
    return {
        **table.attrs,
        "fdr": fdr,
        "min_log2_fold": min_log2_fold,
        "total": len(table),
        "rows": _rows(table.head(limit)),
    }


@router.get("/stored-flags", summary="Stored flag sets: current, stale or missing")
def stored_flags(
    hub: HubDep,
    accession: Annotated[
        list[str] | None, Query(description="DataSets and series (default: all)")
    ] = None,
) -> dict[str, Any]:
    """The flag sets ``[FLAG]`` search reads, each ``current`` or ``stale`` (its values,
    groups or samples changed since it was computed), and the DataSets and series without
    stored flags of their submitted values (``missing``). ``exprhub profiles flags
    --compute`` stores them."""
    try:
        return {"sets": api.stored_flags_status(hub, accession or None)}
    except ValueError as exc:
        raise _invalid(exc) from None


@pages.get("/genes/{gene}", response_class=HTMLResponse)
def gene_page(
    request: Request, gene: str, hub: HubDep, organism: str | None = None
) -> HTMLResponse:
    """A gene: identifiers, platforms and probes, DataSets and series with their profile
    charts, refined values across the hub."""
    from exprhub.web.pages import render, render_error

    try:
        record = api.gene(hub, gene, organism=organism)
    except GeneNotFound as exc:
        return render_error(request, 404, "Gene not found", str(exc))
    except ValueError as exc:
        return render_error(request, 400, "Bad request", str(exc))
    data = record.as_dict()
    charts = [(d, None) for d in record.datasets] + [
        (s, p.platform) for p in record.platforms for s in p.series
    ]
    return render(
        request,
        "gene.html",
        title=f"{record.gene.symbol or gene}: gene",
        gene=record.gene,
        data=data,
        platforms=record.platforms,
        charts=charts[:12],
        more_charts=max(0, len(charts) - 12),
    )
