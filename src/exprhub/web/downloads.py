"""Record downloads: SOFT, MINiML, series matrix, TSV tables and JSON documents.

Writers are imported when first used, so a build without one of them still serves the others
(the missing one answers 501).
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

from exprhub.hub import Hub, HubError, RecordNotFound
from exprhub.records import Record, RecordType, Sample, Series, Table
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


class DownloadFormat(StrEnum):
    """Formats a record can be downloaded in."""

    SOFT = "soft"
    MINIML = "miniml"
    MATRIX = "matrix"
    JSON = "json"
    TSV = "tsv"
    REFINED = "refined"


_MEDIA = {
    DownloadFormat.SOFT: "text/plain; charset=utf-8",
    DownloadFormat.MINIML: "application/xml",
    DownloadFormat.MATRIX: "text/plain; charset=utf-8",
    DownloadFormat.JSON: "application/json",
    DownloadFormat.TSV: "text/tab-separated-values; charset=utf-8",
    DownloadFormat.REFINED: "text/tab-separated-values; charset=utf-8",
}


@dataclass
class Download:
    """A produced download: a file in a private temporary directory."""

    path: Path
    filename: str
    media_type: str

    def cleanup(self) -> None:
        """Remove the temporary directory holding the file."""
        shutil.rmtree(self.path.parent, ignore_errors=True)


def _writer(fmt: DownloadFormat) -> Callable[..., Any]:
    try:
        if fmt is DownloadFormat.SOFT:
            from exprhub.formats.soft import write_soft

            return write_soft
        if fmt is DownloadFormat.MINIML:
            from exprhub.formats.miniml_writer import write_miniml

            return write_miniml
        if fmt is DownloadFormat.MATRIX:
            from exprhub.formats.matrix import write_series_matrix

            return write_series_matrix
    except ImportError:
        pass
    raise ApiError(
        501,
        "format_unavailable",
        f"this exprhub build cannot write {fmt.value} files yet",
        {"format": fmt.value},
    )


def available_formats() -> set[str]:
    """Download formats this build can write (the JSON and TSV ones always)."""
    out = {DownloadFormat.JSON.value, DownloadFormat.TSV.value, DownloadFormat.REFINED.value}
    for fmt in (DownloadFormat.SOFT, DownloadFormat.MINIML, DownloadFormat.MATRIX):
        try:
            _writer(fmt)
        except ApiError:
            continue
        out.add(fmt.value)
    return out


def write_table_tsv(table: Table | None, path: Path) -> None:
    """Write a record's data table as TSV with a header row (empty file when there is none)."""
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        if table is None:
            return
        handle.write("\t".join(table.names) + "\n")
        for row in table.rows():
            handle.write("\t".join(row) + "\n")


def family_records(hub: Hub, series: Series) -> Iterable[Record]:
    """A series followed by its stored platforms and samples, with their tables (the records
    of a GEO family file). Records are loaded one at a time."""
    yield hub.record(series.key, RecordType.SERIES, table=True)
    related = hub.related(series.key)
    for kind, record_type in (("platform", RecordType.PLATFORM), ("sample", RecordType.SAMPLE)):
        for key in related.get(kind, []):
            try:
                yield hub.record(key, record_type, table=True)
            except RecordNotFound:
                continue


def dataset_records(hub: Hub, key: str) -> Iterable[Record]:
    """A DataSet with its table, followed by its subsets (a GDS SOFT file's records)."""
    yield hub.record(key, RecordType.DATASET, table=True)
    for subset in hub.related(key).get("subset", []):
        try:
            yield hub.record(subset, RecordType.SUBSET, table=False)
        except RecordNotFound:
            continue


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
    fmt: DownloadFormat,
    *,
    platform: str | None = None,
    compress: bool = False,
    directory: Path | None = None,
) -> Download:
    """Write one record in ``fmt`` to a new temporary directory (or ``directory``).

    Raises
    ------
    ApiError
        For a format the record type does not offer, a missing writer (501), data not refined
        yet (501) or values a format cannot hold (422).
    RecordNotFound
        If the record is not in the hub.
    """
    record = hub.record(key, record_type, table=False)
    offered = formats_for(record_type)
    if fmt.value not in offered:
        raise ApiError(
            400,
            "unsupported_format",
            f"a {record_type.label} cannot be downloaded as {fmt.value}; "
            f"offered: {', '.join(offered)}",
            {"format": fmt.value, "offered": offered},
        )
    own = (DownloadFormat.JSON, DownloadFormat.TSV, DownloadFormat.REFINED)
    writer = None if fmt in own else _writer(fmt)
    folder = Path(tempfile.mkdtemp(prefix="exprhub-dl-", dir=directory))
    try:
        path = _write(hub, record, record_type, fmt, writer, folder, platform)
        if compress:
            path = _gzip_file(path)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    media = "application/gzip" if compress else _MEDIA[fmt]
    return Download(path, path.name, media)


def _write(
    hub: Hub,
    record: Record,
    record_type: RecordType,
    fmt: DownloadFormat,
    writer: Callable[..., Any] | None,
    folder: Path,
    platform: str | None,
) -> Path:
    key = record.key
    if fmt is DownloadFormat.JSON:
        path = folder / f"{key}.json"
        document = record_document(hub, key, record_type)
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return path
    if fmt is DownloadFormat.TSV:
        path = folder / f"{key}.tsv"
        write_table_tsv(hub.record(key, record_type, table=True).table, path)
        return path
    if fmt is DownloadFormat.REFINED:
        from exprhub.hub.refined import write_refined_tsv
        from exprhub.ingest.export import refined_coverage

        coverage = refined_coverage(hub, key)
        if not coverage.refined:
            raise ApiError(
                501, "not_refined", f"{coverage.summary()}; nothing to download", coverage.to_dict()
            )
        if not coverage.complete:
            # as `exprhub export --format refined`: never a silently partial matrix
            raise ApiError(409, "partially_refined", coverage.summary(), coverage.to_dict())
        path = folder / f"{key}_refined.tsv"
        try:
            write_refined_tsv(hub, key, path, samples=coverage.refined)
        except HubError as exc:
            raise ApiError(501, "not_refined", public_message(exc), {"accession": key}) from None
        return path
    assert writer is not None
    try:
        if fmt is DownloadFormat.MATRIX:
            assert isinstance(record, Series)
            chosen, samples, platforms = series_matrix_samples(hub, record, platform)
            name = f"{key}-{chosen}" if len(platforms) > 1 and chosen else key
            path = folder / f"{name}_series_matrix.txt"
            series = hub.record(key, RecordType.SERIES, table=False)
            writer(series, samples, path)
            return path
        records: Iterable[Record]
        if isinstance(record, Series):
            records = family_records(hub, record)
            stem = f"{key}_family"
        elif record_type is RecordType.DATASET:
            records = dataset_records(hub, key)
            stem = key
        else:
            records = [hub.record(key, record_type, table=True)]
            stem = key
        if fmt is DownloadFormat.MINIML:
            records = list(records)
        suffix = ".soft" if fmt is DownloadFormat.SOFT else ".xml"
        path = folder / f"{stem}{suffix}"
        writer(records, path)
        return path
    except ValueError as exc:
        raise ApiError(
            422,
            "cannot_write",
            f"{key} cannot be written as {fmt.value}: {exc}",
            {"format": fmt.value},
        ) from None


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
