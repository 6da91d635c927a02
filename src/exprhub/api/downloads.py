"""Record downloads: SOFT, MINiML, series matrix, TSV tables and JSON documents.

Writers are imported when first used, so a build without one of them still serves the others
(the missing one answers 501).
"""

from __future__ import annotations

import gzip
import json
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from exprhub.api.errors import ApiError, public_message
from exprhub.api.service import formats_for, record_document
from exprhub.hub import Hub, HubError, RecordNotFound
from exprhub.records import Record, RecordType, Sample, Series, Table


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
            f"{series.key} has no platform {platform}",
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

        path = folder / f"{key}_refined.tsv"
        try:
            write_refined_tsv(hub, key, path)
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


def table_preview(record: Record, rows: int = 20) -> dict[str, Any] | None:
    """The first rows of a record's table (``names``, ``rows``, ``total``), or None."""
    table = record.table
    if table is None:
        return None
    head = table.head(rows)
    return {"names": head.names, "rows": list(head.rows()), "total": table.n_rows}
