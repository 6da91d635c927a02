"""Filtering record listings with the public Hub API (hub candidate: the same filters as SQL
on the ``relations`` and ``characteristics`` tables)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from exprhub.hub import Hub, RecordNotFound, RecordSummary
from exprhub.records import RecordType, Sample, normalize_accession


def parse_characteristic(text: str) -> tuple[str, str]:
    """Split a ``key=value`` (or ``key:value``) characteristic filter.

    Raises
    ------
    ValueError
        If ``text`` has no ``=`` or ``:`` separating a key from a value.
    """
    for sep in ("=", ":"):
        key, found, value = text.partition(sep)
        if found and key.strip():
            return key.strip(), value.strip()
    raise ValueError(f"characteristic filter {text!r} must look like key=value (e.g. tissue=liver)")


@dataclass(frozen=True)
class RecordFilter:
    """Filters on a record listing; empty fields do not filter.

    ``organism`` matches any of a record's organisms (case-insensitive); ``platform`` and
    ``series`` keep records related to that platform or series; ``characteristics`` keeps
    samples having every ``(key, value)`` pair in some channel (case-insensitive).
    """

    organism: str | None = None
    platform: str | None = None
    series: str | None = None
    characteristics: Sequence[tuple[str, str]] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        """Whether nothing is filtered."""
        return not (self.organism or self.platform or self.series or self.characteristics)


def _members(hub: Hub, owner: str, record_type: RecordType) -> set[str]:
    """Keys of records of ``record_type`` related to ``owner`` (a platform or series key);
    empty when no stored record names ``owner``."""
    kind = {
        RecordType.SAMPLE: "sample",
        RecordType.SERIES: "series",
        RecordType.DATASET: "dataset",
    }.get(record_type)
    if kind is None:
        return set()
    try:
        return set(hub.related(owner).get(kind, []))
    except RecordNotFound:
        return set()


def _has_characteristics(sample: Sample, wanted: Sequence[tuple[str, str]]) -> bool:
    pairs = {
        (k.lower(), v.lower())
        for ch in range(1, sample.channel_count + 1)
        for k, v in sample.characteristics(ch)
    }
    return all((k.lower(), v.lower()) in pairs for k, v in wanted)


def filter_records(
    hub: Hub, record_type: RecordType, flt: RecordFilter
) -> list[RecordSummary] | None:
    """All records of a type passing ``flt``, in the hub's listing order; None when ``flt``
    is empty (the caller pages ``Hub.records`` directly)."""
    if flt.empty:
        return None
    candidates: set[str] | None = None
    if flt.platform:
        candidates = _members(hub, normalize_accession(flt.platform), record_type)
        if record_type is RecordType.PLATFORM:
            candidates = {normalize_accession(flt.platform)}
    if flt.series:
        found = _members(hub, normalize_accession(flt.series), record_type)
        if record_type is RecordType.SERIES:
            found = {normalize_accession(flt.series)}
        candidates = found if candidates is None else candidates & found
    listing = hub.records(record_type)
    if candidates is not None:
        listing = [r for r in listing if r.key in candidates]
    if flt.organism:
        wanted = flt.organism.strip().lower()
        derived = series_organisms(hub) if record_type is RecordType.SERIES else {}
        listing = [
            r
            for r in listing
            if wanted
            in (
                o.lower()
                for o in (r.organisms.split("; ") if r.organisms else derived.get(r.key, []))
            )
        ]
    if flt.characteristics:
        if record_type is not RecordType.SAMPLE:
            return []
        kept = []
        for summary in listing:
            sample = hub.record(summary.key, RecordType.SAMPLE, table=False)
            if isinstance(sample, Sample) and _has_characteristics(sample, flt.characteristics):
                kept.append(summary)
        listing = kept
    return listing


def series_organisms(hub: Hub) -> dict[str, list[str]]:
    """Organisms of every series: its own, else those of its stored samples (GEO series
    records rarely name organisms; hub candidate: derive them when storing)."""
    sample_organisms: dict[str, list[str]] | None = None
    out: dict[str, list[str]] = {}
    for summary in hub.records(RecordType.SERIES):
        if summary.organisms:
            out[summary.key] = summary.organisms.split("; ")
            continue
        if sample_organisms is None:
            sample_organisms = {
                s.key: s.organisms.split("; ") if s.organisms else [] for s in hub.samples()
            }
        found: list[str] = []
        for sample in hub.related(summary.key).get("sample", []):
            for organism in sample_organisms.get(sample, []):
                if organism not in found:
                    found.append(organism)
        out[summary.key] = found
    return out


def organism_counts(hub: Hub) -> list[dict[str, object]]:
    """Organisms in the hub with their numbers of samples, series and platforms
    (hub candidate: one GROUP BY)."""
    counts: dict[RecordType, Counter[str]] = {}
    for record_type in (RecordType.SAMPLE, RecordType.PLATFORM):
        counter: Counter[str] = Counter()
        for summary in hub.records(record_type):
            if summary.organisms:
                counter.update(set(summary.organisms.split("; ")))
        counts[record_type] = counter
    counts[RecordType.SERIES] = Counter(
        o for organisms in series_organisms(hub).values() for o in set(organisms)
    )
    names = sorted(set().union(*(c.keys() for c in counts.values())))
    rows: list[dict[str, object]] = [
        {
            "name": name,
            "samples": counts[RecordType.SAMPLE][name],
            "series": counts[RecordType.SERIES][name],
            "platforms": counts[RecordType.PLATFORM][name],
        }
        for name in names
    ]
    rows.sort(key=lambda r: (-int(str(r["samples"])), str(r["name"])))
    return rows
