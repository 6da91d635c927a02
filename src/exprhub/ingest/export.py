"""Write hub records back out as GEO files (SOFT, series matrix, MINiML), or their refined
gene-level values as a genes x samples TSV.

A series exports as its family (series, platforms, samples); a DataSet with its subsets;
platforms and samples on their own. Records are read from the hub one at a time, so memory
stays bounded by one data table.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from exprhub.hub import Hub, HubError
from exprhub.records import Record, RecordType, Sample, Series

EXPORT_FORMATS = ("soft", "matrix", "miniml", "refined")


def family(hub: Hub, accession: str) -> Iterator[Record]:
    """The record and what GEO ships with it: a series' platforms and samples, a DataSet's
    subsets, in GEO's file order."""
    record = hub.record(accession)
    yield record
    related = hub.related(record.key)
    if record.type is RecordType.SERIES:
        for platform in related.get("platform", []):
            if hub.has(platform, RecordType.PLATFORM):
                yield hub.record(platform, RecordType.PLATFORM)
        for sample in related.get("sample", []):
            if hub.has(sample, RecordType.SAMPLE):
                yield hub.record(sample, RecordType.SAMPLE)
    elif record.type is RecordType.DATASET:
        for subset in related.get("subset", []):
            yield hub.record(subset, RecordType.SUBSET)


def export_record(hub: Hub, accession: str, format: str, target: str | Path) -> list[Path]:
    """Export ``accession`` as ``format`` to ``target``; return the files written.

    A series matrix is one file per platform: with several platforms the platform is added to
    the file name (``GSE1-GPL96_series_matrix.txt.gz``) as GEO does.

    Raises
    ------
    HubError
        If the record is missing or the format does not apply to its type.
    """
    out = Path(target)
    if format not in EXPORT_FORMATS:
        raise HubError(
            f"unknown export format {format!r}; expected one of {', '.join(EXPORT_FORMATS)}"
        )
    if format == "soft":
        from exprhub.formats.soft import write_soft

        write_soft(family(hub, accession), out)
        return [out]
    if format == "refined":
        from exprhub.hub.refined import write_refined_tsv

        write_refined_tsv(hub, accession, out)
        return [out]
    if format == "miniml":
        from exprhub.formats.miniml_writer import write_miniml

        write_miniml(list(family(hub, accession)), out)
        return [out]
    return _export_matrix(hub, accession, out)


def _export_matrix(hub: Hub, accession: str, out: Path) -> list[Path]:
    from exprhub.formats.matrix import write_series_matrix

    series = hub.record(accession, table=False)
    if not isinstance(series, Series):
        raise HubError(f"a series matrix holds a series; {series.key} is a {series.type.label}")  # type: ignore[union-attr]
    by_platform: dict[str, list[Sample]] = {}
    for key in hub.related(series.key).get("sample", []):
        if not hub.has(key, RecordType.SAMPLE):
            continue
        sample = hub.record(key, RecordType.SAMPLE)
        assert isinstance(sample, Sample)
        by_platform.setdefault(sample.platform_id or "", []).append(sample)
    if not by_platform:
        raise HubError(f"{series.key} has no samples in the hub to write a series matrix of")
    written = []
    for platform, samples in sorted(by_platform.items()):
        path = out
        if len(by_platform) > 1:
            name = out.name
            stem = name.split("_series_matrix")[0] if "_series_matrix" in name else out.stem
            rest = name[len(stem) :]
            path = out.with_name(f"{stem}-{platform}{rest}")
        write_series_matrix(series, samples, path)
        written.append(path)
    return written
