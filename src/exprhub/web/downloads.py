"""Record downloads: SOFT, MINiML, series matrix, TSV tables and JSON documents.

The formats are the file kinds of :data:`~exprhub.formats.kinds.KINDS` with an ``option``:
their media types, file names and writers come from there, and a record type is offered the
kinds that hold it (:func:`~exprhub.web.service.formats_for`). Writers are imported when first
used, so a kind whose writer is missing (not in the registry entry, or not importable) answers
501 while the others are served.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import Request
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from exprhub.bundles.export import family
from exprhub.formats.kinds import GZIP_MEDIA_TYPE, KINDS, Contents, FileKind
from exprhub.hub import Hub, HubError, RecordNotFound
from exprhub.records import Record, RecordType, Sample, Series
from exprhub.web.errors import ApiError, error_response, excerpt, public_message
from exprhub.web.etag_cache import EtagCache
from exprhub.web.http_semantics import (
    ByteRange,
    RangeError,
    is_head_request,
    parse_range,
    resolve_ranges,
)
from exprhub.web.service import formats_for, record_document

#: Formats a record can be downloaded in: the ``option`` of every written kind of the
#: registry (``DownloadFormat("soft")`` ...). An enum, so that the API validates and documents
#: the ``format`` parameter; its members come from the registry, so a new kind is offered
#: without a change here.
DownloadFormat = StrEnum(  # type: ignore[misc]
    "DownloadFormat",
    [(str(kind.option).upper(), str(kind.option)) for kind in KINDS.written()],
)


@dataclass
class Download:
    """A produced download: a file in a private temporary directory."""

    path: Path
    filename: str
    media_type: str

    def cleanup(self) -> None:
        """Remove the temporary directory holding the file."""
        shutil.rmtree(self.path.parent, ignore_errors=True)


def available_formats() -> set[str]:
    """Download formats this build can write: the registry kinds with a writer, and those
    written here (JSON documents) or by the refinery (refined values)."""
    out = set()
    for kind in KINDS.written():
        try:
            _writer(kind)
        except ApiError:
            continue
        out.add(str(kind.option))
    return out


def _writer(kind: FileKind) -> Callable[[Iterable[Record], Path], None] | None:
    """The kind's writer (None for JSON documents and refined values, written here).

    Raises
    ------
    ApiError
        501 when this build cannot write the kind.
    """
    if kind.contents in (Contents.DOCUMENT, Contents.REFINED):
        return None
    if kind.write is not None:
        return kind.write
    raise ApiError(
        501,
        "format_unavailable",
        f"this exprhub build cannot write {kind.option} files yet",
        {"format": kind.option},
    )


def series_matrix_samples(
    hub: Hub, series: Series, platform: str | None
) -> tuple[str | None, list[Sample], list[str]]:
    """The platform chosen for a series matrix, its samples (with tables) and all platforms."""
    related = hub.related(series.key)
    platforms = related.get("platform", []) or series.platform_ids
    chosen = platform.upper() if platform else (platforms[0] if platforms else None)
    if platform and chosen not in platforms:
        raise ApiError(
            400,
            "bad_request",
            f"{series.key} has no platform {excerpt(platform)}",
            {"platforms": platforms},
        )
    samples = []
    for key in related.get("sample", []):
        try:
            sample = hub.record(key, RecordType.SAMPLE, table=True)
        except RecordNotFound:
            continue
        assert isinstance(sample, Sample)
        if chosen is None or sample.platform_id in (chosen, None):
            samples.append(sample)
    return chosen, samples, platforms


def _gzip_file(path: Path) -> Path:
    target = path.with_name(path.name + ".gz")
    with (
        path.open("rb") as src,
        target.open("wb") as raw,
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as dst,
    ):
        shutil.copyfileobj(src, dst)
    path.unlink()
    return target


def make_download(
    hub: Hub,
    key: str,
    record_type: RecordType,
    fmt: str,
    *,
    platform: str | None = None,
    compress: bool = False,
    directory: Path | None = None,
) -> Download:
    """Write one record in the format ``fmt`` (a :class:`DownloadFormat`) to a new temporary
    directory (or ``directory``).

    Raises
    ------
    ApiError
        For a format the record type does not offer or that cannot be compressed (400), a
        missing writer (501), data not refined yet (501) or values a format cannot hold (422).
    RecordNotFound
        If the record is not in the hub.
    """
    record = hub.record(key, record_type, table=False)
    offered = formats_for(record_type)
    option = str(fmt)
    if option not in offered:
        raise ApiError(
            400,
            "unsupported_format",
            f"a {record_type.label} cannot be downloaded as {option}; "
            f"offered: {', '.join(offered)}",
            {"format": option, "offered": offered},
        )
    kind = KINDS.by_option(option)
    if compress and not kind.compressible:
        raise ApiError(
            400,
            "unsupported_format",
            f"a {kind.title} file is compressed already; leave out gzip",
            {"format": option},
        )
    writer = _writer(kind)
    folder = Path(tempfile.mkdtemp(prefix="exprhub-dl-", dir=directory))
    try:
        path = _write(hub, record, record_type, kind, writer, folder, platform)
        if compress:
            path = _gzip_file(path)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    media = GZIP_MEDIA_TYPE if compress else kind.media_type
    return Download(path, path.name, media)


def _write(
    hub: Hub,
    record: Record,
    record_type: RecordType,
    kind: FileKind,
    writer: Callable[[Iterable[Record], Path], None] | None,
    folder: Path,
    platform: str | None,
) -> Path:
    key = record.key
    if kind.contents is Contents.DOCUMENT:
        path = folder / kind.file_name(key, record_type)
        document = record_document(hub, key, record_type)
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return path
    if kind.contents is Contents.REFINED:
        return _write_refined(hub, key, folder / kind.file_name(key, record_type))
    assert writer is not None
    records: Iterable[Record]
    name_platform = None
    if kind.contents is Contents.PLATFORM_SAMPLES:
        assert isinstance(record, Series)
        chosen, samples, platforms = series_matrix_samples(hub, record, platform)
        name_platform = chosen if len(platforms) > 1 else None
        records = [record, *samples]
    elif kind.contents is Contents.TABLE:
        records = [hub.record(key, record_type, table=True)]
    else:
        records = family(hub, key, record_type)
    path = folder / kind.file_name(key, record_type, platform=name_platform)
    try:
        writer(records, path)
    except ImportError:
        raise ApiError(
            501,
            "format_unavailable",
            f"this exprhub build cannot write {kind.option} files yet",
            {"format": kind.option},
        ) from None
    except ValueError as exc:
        raise ApiError(
            422,
            "cannot_write",
            f"{key} cannot be written as {kind.option}: {exc}",
            {"format": kind.option},
        ) from None
    return path


def _write_refined(hub: Hub, key: str, path: Path) -> Path:
    from exprhub.refine.store import refined_coverage, write_refined_tsv

    coverage = refined_coverage(hub, key)
    if not coverage.refined:
        raise ApiError(
            501, "not_refined", f"{coverage.summary()}; nothing to download", coverage.to_dict()
        )
    if not coverage.complete:
        # as `exprhub export --format refined`: never a silently partial matrix
        raise ApiError(409, "partially_refined", coverage.summary(), coverage.to_dict())
    try:
        write_refined_tsv(hub, key, path, samples=coverage.refined)
    except HubError as exc:
        raise ApiError(501, "not_refined", public_message(exc), {"accession": key}) from None
    return path


def range_api_error(exc: RangeError) -> ApiError:
    """The API error (400 or 416, with ``Content-Range`` when the size is known) of a bad
    ``Range`` header."""
    return ApiError(exc.status, exc.code, exc.message, None, exc.headers)


def requested_ranges(headers: Headers) -> list[ByteRange] | None:
    """The byte ranges a request asks for (None without a ``Range`` header), checked before
    anything is built.

    Raises
    ------
    ApiError
        400 for a malformed ``Range`` header, 416 for ranges no representation can satisfy.
    """
    header = headers.get("range")
    if header is None:
        return None
    try:
        return parse_range(header)
    except RangeError as exc:
        raise range_api_error(exc) from None


def _if_range_holds(headers: Headers, validators: Iterable[str | None]) -> bool:
    """Whether a ``Range`` applies under the request's ``If-Range`` (a strong match with the
    response's ``ETag`` or ``Last-Modified``; no ``If-Range``: always)."""
    condition = headers.get("if-range")
    if condition is None:
        return True
    return not condition.startswith("W/") and condition in validators


class RangedFileResponse(FileResponse):
    """A file response whose ``Range`` errors use the API's JSON error body (400 malformed,
    416 beyond the end, with ``Content-Range: bytes */size``) and which reads no file for a
    ``HEAD`` request (see :class:`~exprhub.web.http_semantics.HeadAsGet`). Valid ranges are
    served as by Starlette's ``FileResponse`` (206 with ``Content-Range``)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        if is_head_request(scope):
            scope = {**scope, "method": "HEAD"}
        if self.stat_result is None:
            self.stat_result = await anyio.to_thread.run_sync(os.stat, self.path)
            self.set_stat_headers(self.stat_result)
        headers = Headers(scope=scope)
        header = headers.get("range")
        validators = (self.headers.get("etag"), self.headers.get("last-modified"))
        if header is not None and self.status_code == 200 and _if_range_holds(headers, validators):
            try:
                resolve_ranges(parse_range(header), self.stat_result.st_size)
            except RangeError as exc:
                await error_response(exc.status, exc.code, exc.message, None, exc.headers)(
                    scope, receive, send
                )
                if self.background is not None:
                    await self.background()
                return
        await super().__call__(scope, receive, send)


@dataclass(frozen=True)
class DownloadHead:
    """What a built download answered: its size and response headers."""

    size: int
    headers: dict[str, str]


class DownloadHeads(EtagCache[DownloadHead]):
    """A bounded, thread-safe map from a download's ETag to its :class:`DownloadHead`, so a
    ``HEAD`` (or a ``Range`` beyond the end) of a download built before is answered without
    building it again. An ETag changes with any write to the hub, so entries stay current."""

    def __init__(self, size: int = 1024) -> None:
        super().__init__(size)


def download_response(
    request: Request,
    headers: dict[str, str],
    build: Callable[[], Download],
    heads: DownloadHeads | None = None,
) -> Response:
    """The response to a download request: the ``Range`` header is checked first, a ``HEAD``
    of a download built before is answered from ``heads``, and otherwise ``build`` writes the
    file, served with byte-range support and removed once sent.

    Blocking (``build`` writes files): call it from a worker thread.

    Parameters
    ----------
    request
        The download request.
    headers
        Response headers (``ETag``, ``Cache-Control``); the ``ETag`` keys ``heads``.
    build
        Writes the download.
    heads
        The app's record of built downloads (None: always build).

    Raises
    ------
    ApiError
        400 for a malformed ``Range`` header, 416 for a range the download cannot satisfy.
    """
    ranges = requested_ranges(request.headers)
    etag = headers.get("ETag")
    known = heads.get(etag) if heads is not None and etag else None
    if known is not None:
        if ranges is not None and _if_range_holds(
            request.headers, (known.headers.get("etag"), known.headers.get("last-modified"))
        ):
            try:
                resolve_ranges(ranges, known.size)
            except RangeError as exc:
                raise range_api_error(exc) from None
        elif is_head_request(request.scope):
            return Response(status_code=200, headers=known.headers)
    download = build()
    try:
        stat = download.path.stat()
    except BaseException:
        download.cleanup()
        raise
    response = RangedFileResponse(
        download.path,
        media_type=download.media_type,
        filename=download.filename,
        headers=headers,
        stat_result=stat,
        background=BackgroundTask(download.cleanup),
    )
    if heads is not None and etag:
        heads.put(etag, DownloadHead(stat.st_size, dict(response.headers)))
    return response


def table_preview(record: Record, rows: int = 20) -> dict[str, Any] | None:
    """The first rows of a record's table (``names``, ``rows``, ``total``), or None."""
    table = record.table
    if table is None:
        return None
    head = table.head(rows)
    return {"names": head.names, "rows": list(head.rows()), "total": table.n_rows}
