"""Write hub records back out as GEO files (SOFT, series matrix, MINiML), or their refined
gene-level values as a genes x samples TSV.

The formats are the file kinds of :data:`~exprhub.formats.kinds.KINDS` whose contents an
export gathers from the hub (:data:`EXPORTED_CONTENTS`); each kind's writer writes the file.

A series exports as its family (series, platforms, samples); a DataSet with its subsets;
platforms and samples on their own. Records are read from the hub one at a time, so memory
stays bounded by one data table.

A refined export is never silently partial: when some of the record's samples are not refined
(refine was interrupted, or never ran on them, or failed on them), :func:`export_record`
raises :class:`PartialExport` unless ``allow_partial=True``, and then warns with
:class:`PartialExportWarning`. Both carry the
:class:`~exprhub.refine.store.RefinedCoverage`, which
:func:`exprhub.refine.store.refined_coverage` also gives on its own.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

from exprhub.formats.kinds import KINDS, Contents, FileKind, RecordWriter, UnknownFileKind
from exprhub.hub import Hub, HubError
from exprhub.records import Record, RecordType, Sample, Series
from exprhub.refine.store import RefinedCoverage, refined_coverage, write_refined_tsv

#: What an export gathers from the hub, and so which file kinds it writes.
EXPORTED_CONTENTS = (Contents.RECORDS, Contents.PLATFORM_SAMPLES, Contents.REFINED)
#: The ``format`` names :func:`export_record` takes (the options of the kinds of
#: :data:`~exprhub.formats.kinds.KINDS` that hold :data:`EXPORTED_CONTENTS`).
EXPORT_FORMATS = tuple(str(kind.option) for kind in KINDS.written(EXPORTED_CONTENTS))


class PartialExport(HubError):
    """A refined export would hold only some of the record's samples (``coverage`` says
    which); pass ``allow_partial=True`` to write it anyway."""

    def __init__(self, coverage: RefinedCoverage) -> None:
        self.coverage = coverage
        super().__init__(
            f"{coverage.summary()}; nothing written (allow_partial=True writes the "
            f"{len(coverage.refined)} refined)"
        )


class PartialExportWarning(UserWarning):
    """A refined export was written with only some of the record's samples (``coverage``
    says which)."""

    def __init__(self, coverage: RefinedCoverage) -> None:
        self.coverage = coverage
        super().__init__(f"partial export: {coverage.summary()}")


def family(hub: Hub, accession: str, record_type: RecordType | None = None) -> Iterator[Record]:
    """The record and what GEO ships with it: a series' platforms and samples, a DataSet's
    subsets, in GEO's file order (related records not in the hub are left out). Records are
    loaded one at a time, with their tables.

    Raises
    ------
    RecordNotFound
        If the record (of ``record_type``, when given) is not in the hub.
    """
    record = hub.record(accession, record_type)
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
            if hub.has(subset, RecordType.SUBSET):
                yield hub.record(subset, RecordType.SUBSET)


def export_kind(format: str) -> FileKind:
    """The file kind ``format`` names, among those an export writes.

    Raises
    ------
    HubError
        If ``format`` is none of :data:`EXPORT_FORMATS` (the message lists them).
    """
    try:
        return KINDS.by_option(format, EXPORTED_CONTENTS, what="export format")
    except UnknownFileKind as exc:
        raise HubError(str(exc)) from None


def check_offered(kind: FileKind, record: Record) -> None:
    """Raise :class:`HubError` unless a ``kind`` file can hold ``record``."""
    if record.type not in kind.record_types:
        what = record.type.label if record.type else type(record).__name__
        holds = ", ".join(t.label for t in RecordType if t in kind.record_types)
        raise HubError(
            f"{record.key} is a {what}; a {kind.title} file holds {holds} records, not a {what}"
        )


def _writer(kind: FileKind) -> RecordWriter:
    if kind.write is None:
        raise HubError(f"exprhub cannot write {kind.title} files")
    return kind.write


def export_record(
    hub: Hub, accession: str, format: str, target: str | Path, *, allow_partial: bool = False
) -> list[Path]:
    """Export ``accession`` as ``format`` to ``target``; return the files written.

    A series matrix is one file per platform: with several platforms the platform is added to
    the file name (``GSE1-GPL96_series_matrix.txt.gz``) as GEO does (see
    :func:`series_matrix_paths`); when one of them cannot be written, none is left.

    ``format="refined"`` writes the refined samples only. When some of the record's samples
    are not refined, nothing is written and :class:`PartialExport` is raised, unless
    ``allow_partial``: then the refined ones are written and a :class:`PartialExportWarning`
    is issued (``warnings`` module; both carry the :class:`RefinedCoverage`).

    Raises
    ------
    HubError
        If the record is missing or the format does not apply to its type, or no sample of
        the record is refined.
    PartialExport
        If only some of the record's samples are refined and ``allow_partial`` is false.
    """
    out = Path(target)
    kind = export_kind(format)
    if kind.contents is Contents.REFINED:
        _export_refined(hub, accession, out, allow_partial)
        return [out]
    record = hub.record(accession, table=False)
    check_offered(kind, record)
    if kind.contents is Contents.PLATFORM_SAMPLES:
        if not isinstance(record, Series):
            raise HubError(f"a {kind.title} file holds a series; {record.key} is not one")
        return _export_matrix(hub, record, kind, out)
    _writer(kind)(family(hub, record.key, record.type), out)
    return [out]


def _export_refined(hub: Hub, accession: str, out: Path, allow_partial: bool) -> None:
    coverage = refined_coverage(hub, accession)
    if not coverage.refined:
        raise HubError(f"{coverage.summary()}; nothing to export")
    if not coverage.complete and not allow_partial:
        raise PartialExport(coverage)
    write_refined_tsv(hub, accession, out, samples=coverage.refined)
    if not coverage.complete:
        warnings.warn(PartialExportWarning(coverage), stacklevel=3)


def _export_matrix(hub: Hub, series: Series, kind: FileKind, out: Path) -> list[Path]:
    write = _writer(kind)
    by_platform: dict[str, list[Sample]] = {}
    for key in hub.related(series.key).get("sample", []):
        if not hub.has(key, RecordType.SAMPLE):
            continue
        sample = hub.record(key, RecordType.SAMPLE)
        assert isinstance(sample, Sample)
        by_platform.setdefault(sample.platform_id or "", []).append(sample)
    if not by_platform:
        raise HubError(f"{series.key} has no samples in the hub to write a series matrix of")
    paths = series_matrix_paths(out, sorted(by_platform))
    written: list[Path] = []
    for platform, path in paths.items():
        existed = path.exists()
        try:
            write([series, *by_platform[platform]], path)
        except BaseException:
            # all files or none: no matrix of some platforms only, no half-written one
            # (a file that could not even be opened is left as it was)
            for done in written if existed else [*written, path]:
                done.unlink(missing_ok=True)
            raise
        written.append(path)
    return written


def series_matrix_paths(out: str | Path, platforms: list[str]) -> dict[str, Path]:
    """The file each platform's series matrix goes to when ``out`` is asked for: ``out``
    itself for one platform; for several, ``out`` with ``-GPLnnn`` added as GEO names them
    (``GSE1_series_matrix.txt.gz`` -> ``GSE1-GPL96_series_matrix.txt.gz``), else before the
    file name's first suffix (``m.txt.gz`` -> ``m-GPL96.txt.gz``)."""
    out = Path(out)
    if len(platforms) <= 1:
        return {platform: out for platform in platforms}
    name = out.name
    if "_series_matrix" in name:
        stem = name.split("_series_matrix")[0]
    else:
        stem = name.split(".")[0] or name  # a leading dot is part of the stem
    rest = name[len(stem) :]
    return {platform: out.with_name(f"{stem}-{platform}{rest}") for platform in platforms}
