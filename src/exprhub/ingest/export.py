"""Write hub records back out as GEO files (SOFT, series matrix, MINiML), or their refined
gene-level values as a genes x samples TSV.

A series exports as its family (series, platforms, samples); a DataSet with its subsets;
platforms and samples on their own. Records are read from the hub one at a time, so memory
stays bounded by one data table.

A refined export is never silently partial: when some of the record's samples are not refined
(refine was interrupted, or never ran on them, or failed on them), :func:`export_record`
raises :class:`PartialExport` unless ``allow_partial=True``, and then warns with
:class:`PartialExportWarning`. Both carry the :class:`RefinedCoverage`, which
:func:`refined_coverage` also gives on its own.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exprhub.hub import Hub, HubError
from exprhub.records import Record, RecordType, Sample, Series, normalize_accession

EXPORT_FORMATS = ("soft", "matrix", "miniml", "refined")

#: Characters of a failure reason repeated in the one-line summary.
REASON_EXCERPT = 80


@dataclass(frozen=True)
class RefinedCoverage:
    """Which of a record's samples have refined values.

    Attributes
    ----------
    accession
        The record (sample, series, platform or DataSet).
    refined
        Samples refined (status ``done``): what a refined export holds.
    not_refined
        Samples refine has not finished: never refined, or a run stopped before normalizing
        them. Running ``exprhub refine ACCESSION`` refines them.
    failed
        Samples refine failed on, with the reason (running it again does not help until the
        reason is fixed).
    waiting
        Samples waiting for something the hub lacks (a platform record, its GEO annotation,
        an organism's gene reference), with the reason and the command that fetches it.
    """

    accession: str
    refined: tuple[str, ...]
    not_refined: tuple[str, ...]
    failed: dict[str, str] = field(default_factory=dict)
    waiting: dict[str, str] = field(default_factory=dict)

    @property
    def samples(self) -> int:
        """All samples the record stands for."""
        return len(self.refined) + len(self.not_refined) + len(self.failed) + len(self.waiting)

    @property
    def complete(self) -> bool:
        """Every sample is refined."""
        return not self.not_refined and not self.failed and not self.waiting

    @property
    def command(self) -> str:
        """The command that refines what is missing."""
        return f"exprhub refine {self.accession}"

    def summary(self) -> str:
        """One line: how many samples are refined, how many not and why, what to run."""
        parts = [f"{self.accession}: {len(self.refined)} of {self.samples} samples are refined"]
        if self.not_refined:
            parts.append(f"{len(self.not_refined)} not refined yet (`{self.command}` refines them)")
        for samples, what in ((self.waiting, "waiting"), (self.failed, "failed to refine")):
            if samples:
                key, reason = sorted(samples.items())[0]
                reason = " ".join(reason.split())
                if len(reason) > REASON_EXCERPT and what != "waiting":
                    reason = reason[: REASON_EXCERPT - 3] + "..."
                parts.append(f"{len(samples)} {what} (first: {key}: {reason})")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counts and the samples missing from a refined export."""
        return {
            "samples": self.samples,
            "refined": len(self.refined),
            "not_refined": len(self.not_refined),
            "failed": len(self.failed),
            "waiting": len(self.waiting),
            "complete": self.complete,
            "command": None if not self.not_refined else self.command,
            "not_refined_samples": list(self.not_refined),
            "failed_samples": dict(sorted(self.failed.items())),
            "waiting_samples": dict(sorted(self.waiting.items())),
        }


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


def refined_coverage(hub: Hub, accession: str) -> RefinedCoverage:
    """How many of ``accession``'s samples are refined, not refined yet, or failed.

    Raises
    ------
    RecordNotFound
        When the accession is unknown.
    """
    from exprhub.hub.refined import refine_states, samples_for_accession

    samples = samples_for_accession(hub, accession)
    states = refine_states(hub, samples)
    refined: list[str] = []
    pending: list[str] = []
    failed: dict[str, str] = {}
    waiting: dict[str, str] = {}
    for key in samples:
        state = states.get(key)
        if state is not None and state.status == "done":
            refined.append(key)
        elif state is not None and state.status == "failed":
            failed[key] = state.message or "failed"
        elif state is not None and state.status == "waiting":  # refine.pipeline.WAITING
            waiting[key] = state.message or "waiting"
        else:
            pending.append(key)
    return RefinedCoverage(
        normalize_accession(accession), tuple(refined), tuple(pending), failed, waiting
    )


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
    if format not in EXPORT_FORMATS:
        raise HubError(
            f"unknown export format {format!r}; expected one of {', '.join(EXPORT_FORMATS)}"
        )
    if format == "soft":
        from exprhub.formats.soft import write_soft

        write_soft(family(hub, accession), out)
        return [out]
    if format == "refined":
        _export_refined(hub, accession, out, allow_partial)
        return [out]
    if format == "miniml":
        from exprhub.formats.miniml_writer import write_miniml

        write_miniml(list(family(hub, accession)), out)
        return [out]
    return _export_matrix(hub, accession, out)


def _export_refined(hub: Hub, accession: str, out: Path, allow_partial: bool) -> None:
    from exprhub.hub.refined import write_refined_tsv

    coverage = refined_coverage(hub, accession)
    if not coverage.refined:
        raise HubError(f"{coverage.summary()}; nothing to export")
    if not coverage.complete and not allow_partial:
        raise PartialExport(coverage)
    write_refined_tsv(hub, accession, out, samples=coverage.refined)
    if not coverage.complete:
        warnings.warn(PartialExportWarning(coverage), stacklevel=3)


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
    paths = series_matrix_paths(out, sorted(by_platform))
    written: list[Path] = []
    for platform, path in paths.items():
        existed = path.exists()
        try:
            write_series_matrix(series, by_platform[platform], path)
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
