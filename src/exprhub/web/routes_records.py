"""REST routes for records: documents, downloads, listings, organisms and hub statistics.

Handlers are plain ``def`` functions: FastAPI runs them in its thread pool, so database and
array reads never block the event loop. Plain record-document requests usually do not reach
the record route: ``exprhub.web.fastpath`` answers them with the same ``document_response``.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse

from exprhub.curate.harmonize import LABELS
from exprhub.curate.sample_filter import listing_filter, parse_pair
from exprhub.hub import Hub, RecordNotFound
from exprhub.hub.listing import ListingFilter, list_records, organism_counts
from exprhub.records import RecordType, normalize_accession
from exprhub.web.deps import HubDep, Paging, PagingDep, page
from exprhub.web.downloads import DownloadFormat, download_response, make_download
from exprhub.web.errors import ERROR_RESPONSES, ApiError
from exprhub.web.etag_cache import EtagCache
from exprhub.web.service import TYPE_SEGMENTS, etag_for, etag_matches, record_document

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

FormatQuery = Annotated[
    DownloadFormat | None,
    Query(
        alias="format",
        description="download the record in this format instead of its JSON document",
    ),
]
PlatformQuery = Annotated[
    str | None, Query(description="series matrix: the platform (GEO writes one per platform)")
]
GzipQuery = Annotated[bool, Query(description="gzip the download")]
IfNoneMatch = Annotated[str | None, Header(include_in_schema=False)]


def cache_headers(etag: str, cache_control: str) -> dict[str, str]:
    """ETag and Cache-Control headers of a record response."""
    return {"ETag": etag, "Cache-Control": cache_control}


class DocumentCache(EtagCache[bytes]):
    """A bounded, thread-safe map from a record document's ETag to its JSON bytes."""

    def __init__(self, size: int = 2048) -> None:
        super().__init__(size)


def record_etag(
    hub: Hub,
    acc: str,
    record_type: RecordType,
    fmt: DownloadFormat | None,
    platform: str | None,
    compress: bool,
) -> str:
    """The current ETag of a record's document (``fmt`` None) or of one of its downloads.

    It comes from ``Hub.revision`` (one query), which changes with any write to the hub.

    Parameters
    ----------
    hub
        The hub serving the record.
    acc
        The record's accession as requested.
    record_type
        The record type the URL names.
    fmt, platform, compress
        The download format (None: the JSON document), ``platform`` and ``gzip`` parameters.

    Raises
    ------
    RecordNotFound
        Naming the wanted type (and not the hub's location, which clients must not see).
    """
    try:
        revision = hub.revision(acc, record_type)
    except RecordNotFound:
        raise RecordNotFound(f"{record_type.label} {acc} is not in this hub") from None
    extra = (fmt.value if fmt else "document", platform or "", "gz" if compress else "")
    return etag_for(
        {"type": record_type.value, "key": normalize_accession(acc), "version": revision}, *extra
    )


def document_response(
    hub: Hub,
    documents: DocumentCache,
    cache_control: str,
    acc: str,
    record_type: RecordType,
    *,
    platform: str | None = None,
    compress: bool = False,
    if_none_match: str | None = None,
) -> Response:
    """A record's JSON document with caching headers, or a 304 when ``if_none_match``
    matches its ETag.

    Shared by the FastAPI route and the ASGI fast path (``exprhub.web.fastpath``), so both
    answer byte for byte alike. Blocking (database reads): call it from a worker thread.

    Parameters
    ----------
    hub
        The hub serving the record.
    documents
        The app's cache of rendered documents, keyed by ETag. The ETag changes with any write
        to the hub, so a document cached under the current ETag is current.
    cache_control
        ``Cache-Control`` header value.
    acc
        The record's accession as requested.
    record_type
        The record type the URL names.
    platform, compress
        The ``platform`` and ``gzip`` query parameters (part of the ETag).
    if_none_match
        The request's ``If-None-Match`` header, if any.

    Raises
    ------
    RecordNotFound
        When the hub has no such record of this type.
    """
    etag = record_etag(hub, acc, record_type, None, platform, compress)
    headers = cache_headers(etag, cache_control)
    if etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    body = documents.get(etag)
    if body is None:
        record, summary = hub.record_and_summary(acc, record_type)
        document = record_document(hub, record.key, record_type, record=record, summary=summary)
        body = bytes(JSONResponse(document).body)
        documents.put(etag, body)
    return Response(body, media_type="application/json", headers=headers)


def record_response(
    request: Request,
    hub: Hub,
    acc: str,
    record_type: RecordType,
    fmt: DownloadFormat | None,
    platform: str | None,
    compress: bool,
    if_none_match: str | None,
) -> Response:
    """A record's JSON document, or a download of it, with caching headers and 304s."""
    cache_control: str = request.app.state.cache_control
    if fmt is None:
        return document_response(
            hub,
            request.app.state.documents,
            cache_control,
            acc,
            record_type,
            platform=platform,
            compress=compress,
            if_none_match=if_none_match,
        )
    etag = record_etag(hub, acc, record_type, fmt, platform, compress)
    headers = cache_headers(etag, cache_control)
    if etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return download_response(
        request,
        headers,
        partial(make_download, hub, acc, record_type, fmt, platform=platform, compress=compress),
        request.app.state.download_heads,
    )


def _add_record_routes(record_type: RecordType, segment: str) -> None:
    label = record_type.label

    def get_record(
        acc: str,
        request: Request,
        hub: HubDep,
        fmt: FormatQuery = None,
        platform: PlatformQuery = None,
        gzip: GzipQuery = False,
        if_none_match: IfNoneMatch = None,
    ) -> Response:
        return record_response(request, hub, acc, record_type, fmt, platform, gzip, if_none_match)

    def download_record(
        acc: str,
        request: Request,
        hub: HubDep,
        fmt: Annotated[DownloadFormat, Query(alias="format")] = DownloadFormat("soft"),
        platform: PlatformQuery = None,
        gzip: GzipQuery = False,
        if_none_match: IfNoneMatch = None,
    ) -> Response:
        return record_response(request, hub, acc, record_type, fmt, platform, gzip, if_none_match)

    router.add_api_route(
        f"/{segment}/{{acc}}",
        get_record,
        methods=["GET"],
        tags=[label],
        name=f"get_{segment}",
        summary=f"One {label}: its facts, attributes and related records (or a download)",
        responses={404: {"description": f"no such {label}"}, 304: {"description": "unchanged"}},
    )
    router.add_api_route(
        f"/{segment}/{{acc}}/download",
        download_record,
        methods=["GET"],
        tags=[label],
        name=f"download_{segment}",
        summary=f"Download one {label} (SOFT, MINiML, series matrix, TSV or JSON)",
        response_class=FileResponse,
    )


for _type, _segment in TYPE_SEGMENTS.items():
    _add_record_routes(_type, _segment)


def _listing(
    request: Request, hub: Hub, record_type: RecordType, flt: ListingFilter, p: Paging
) -> dict[str, Any]:
    count, rows = list_records(hub, record_type, flt, limit=p.limit, offset=p.offset)
    results = []
    for row in rows:
        item = row.as_dict()
        item["url"] = f"/api/v1/{TYPE_SEGMENTS[record_type]}/{row.key}"
        results.append(item)
    return page(request, results, count, p)


OrganismQuery = Annotated[str | None, Query(description="scientific name, e.g. Homo sapiens")]
PlatformFilter = Annotated[str | None, Query(description="platform accession")]


def _pairs(values: list[str] | None, parameter: str) -> list[tuple[str, str]]:
    try:
        return [parse_pair(v, parameter) for v in values or []]
    except ValueError as exc:
        raise ApiError(422, "invalid_request", str(exc), {"parameter": parameter}) from None


@router.get("/samples", tags=["Sample"], summary="List samples, with filters")
def list_samples(
    request: Request,
    hub: HubDep,
    p: PagingDep,
    organism: OrganismQuery = None,
    platform: PlatformFilter = None,
    series: Annotated[str | None, Query(description="series accession")] = None,
    characteristic: Annotated[
        list[str] | None,
        Query(description="characteristic as submitted, key=value (repeatable): tissue=liver"),
    ] = None,
    label: Annotated[
        list[str] | None,
        Query(
            description="harmonized label, name=value (repeatable): sex=female also matches "
            "a characteristic 'gender: F'; names (as in search): " + ", ".join(LABELS)
        ),
    ] = None,
) -> dict[str, Any]:
    """Samples (GSM), optionally filtered by organism, platform, series, characteristics and
    harmonized labels (all filters must hold)."""
    pairs = _pairs(characteristic, "characteristic")
    labels = _pairs(label, "label")
    try:
        flt = listing_filter(
            hub,
            organism=organism,
            platform=platform,
            series=series,
            characteristics=pairs,
            labels=labels,
        )
    except ValueError as exc:
        raise ApiError(422, "invalid_request", str(exc), {"parameter": "label"}) from None
    return _listing(request, hub, RecordType.SAMPLE, flt, p)


@router.get("/series", tags=["Series"], summary="List series")
def list_series(
    request: Request,
    hub: HubDep,
    p: PagingDep,
    organism: OrganismQuery = None,
    platform: PlatformFilter = None,
) -> dict[str, Any]:
    """Series (GSE), optionally filtered by organism and platform."""
    flt = ListingFilter(organism=organism, platform=platform)
    return _listing(request, hub, RecordType.SERIES, flt, p)


@router.get("/platforms", tags=["Platform"], summary="List platforms")
def list_platforms(
    request: Request, hub: HubDep, p: PagingDep, organism: OrganismQuery = None
) -> dict[str, Any]:
    """Platforms (GPL), optionally filtered by organism."""
    return _listing(request, hub, RecordType.PLATFORM, ListingFilter(organism=organism), p)


@router.get("/gds", tags=["DataSet"], summary="List curated DataSets")
def list_datasets(
    request: Request,
    hub: HubDep,
    p: PagingDep,
    organism: OrganismQuery = None,
    platform: PlatformFilter = None,
    series: Annotated[str | None, Query(description="reference series accession")] = None,
) -> dict[str, Any]:
    """Curated DataSets (GDS), optionally filtered by organism, platform and series."""
    flt = ListingFilter(organism=organism, platform=platform, series=series)
    return _listing(request, hub, RecordType.DATASET, flt, p)


@router.get("/organisms", tags=["Hub"], summary="Organisms with record counts")
def list_organisms(request: Request, hub: HubDep, p: PagingDep) -> dict[str, Any]:
    """Organisms in the hub with their numbers of samples, series and platforms."""
    rows = organism_counts(hub)
    return page(request, rows[p.offset : p.offset + p.limit], len(rows), p)


@router.get("/stats", tags=["Hub"], summary="Record counts and hub facts")
def stats(hub: HubDep) -> dict[str, Any]:
    """Counts of records by type and facts about the hub (versions, database backend,
    matrices); file system paths and database URLs are not exposed."""
    info = hub.info()
    database = info.get("database", {})
    return {
        "counts": hub.counts(),
        "files": info.get("files"),
        "matrices": info.get("matrices", []),
        "database": {
            "backend": database.get("backend"),
            "schema_revision": database.get("schema_revision"),
        },
        "versions": info.get("versions", {}),
    }


@router.get("/processors", tags=["Refinery"], summary="Processors and their tool versions")
def processors(request: Request, hub: HubDep, p: PagingDep) -> dict[str, Any]:
    """Processors that refined samples in this hub (``name``, ``version``, ``samples``,
    ``tools`` with versions), as refine.bio lists them."""
    from exprhub.refine.store import processors as hub_processors

    items = hub_processors(hub)
    return page(request, items[p.offset : p.offset + p.limit], len(items), p)


@router.get("/qn_targets", tags=["Refinery"], summary="Quantile normalization targets")
def qn_targets(request: Request, hub: HubDep, p: PagingDep) -> dict[str, Any]:
    """Every per-organism and value-kind QN target version, immutable and kept
    (``organism``, ``value_kind``, ``version``, ``sha256``, ``platform``, ``n_samples``,
    ``sample_ids``, ``created_at``, ``current``, ``samples_using``: samples normalized to it
    now, ``samples_without_target``)."""
    from exprhub.refine.store import target_listing

    items = target_listing(hub)
    return page(request, items[p.offset : p.offset + p.limit], len(items), p)


@router.get(
    "/qn_targets/moves", tags=["Refinery"], summary="Samples moved between QN target versions"
)
def qn_target_moves(request: Request, hub: HubDep, p: PagingDep) -> dict[str, Any]:
    """Each move of samples from one target version to another (``exprhub refine
    --retarget`` or ``--skip-qn``), oldest first: ``run_id``, ``tax_id``, ``value_kind``,
    ``from_version``, ``to_version`` (null: no target), ``reason``, ``samples``,
    ``moved_at``."""
    from exprhub.refine.store import target_moves

    items = [m.as_dict() for m in target_moves(hub)]
    return page(request, items[p.offset : p.offset + p.limit], len(items), p)


@router.get(
    "/samples/{acc}/provenance",
    tags=["Refinery"],
    summary="How a sample was refined",
    responses=ERROR_RESPONSES,
)
def sample_provenance(acc: str, hub: HubDep) -> dict[str, Any]:
    """Processor and version, parameters, input checksums, tool versions, mapping statistics,
    scale decision and the QN target of a refined sample (404 if it was not refined)."""
    from exprhub.refine.store import provenance

    return provenance(hub, acc)
