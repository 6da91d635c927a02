"""Filtered record listings and organism counts, answered in SQL.

A listing keeps the records of one type that pass every filter given: an organism (any of the
record's organisms; a series without organisms of its own takes those of its samples), a
related platform or series (relations stored in either direction), and characteristic
matches (samples having, in some channel, a characteristic whose key is one of a set and whose
value is one of a set). Keys and values compare case-insensitively, values also ignoring
surrounding spaces. Harmonized labels (``sex=female`` matching ``gender: F``) are expressed as
characteristic matches by the layer that knows the harmonization (``exprhub.curate``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import ColumnElement, and_, func, literal, or_, select, true

from exprhub.hub import schema as s
from exprhub.hub.labels import label_condition, owner_label_condition
from exprhub.hub.queries import SUMMARY_COLUMNS, RecordSummary
from exprhub.paging import check_page
from exprhub.records import RecordType, normalize_accession

if TYPE_CHECKING:
    from datetime import datetime

    from exprhub.hub.hub import Hub

__all__ = [
    "MAX_LISTING_LIMIT",
    "MAX_LISTING_OFFSET",
    "CharacteristicMatch",
    "ListingFilter",
    "characteristic_keys",
    "check_listing_page",
    "list_records",
    "organism_counts",
    "sample_organisms_of_series",
    "series_organisms",
    "with_series_organisms",
]

# How records of one type are named when seen from a related record (the member side), and
# the stored relation kinds that point from a member to its owner or from an owner to a member.
_MEMBER_NAME = {
    RecordType.SAMPLE: "sample",
    RecordType.SERIES: "series",
    RecordType.DATASET: "dataset",
}
_MEMBER_TO_OWNER = {
    RecordType.SAMPLE: ("series", "platform"),
    RecordType.SERIES: ("platform", "sample", "superseries", "subseries"),
    RecordType.DATASET: ("series", "platform"),
}


#: Largest ``offset`` of a record listing: beyond the size of any hub (GEO holds about eight
#: million samples) and far within every database's integer range.
MAX_LISTING_OFFSET = 100_000_000
#: Largest ``limit`` of a record listing asked from Python or the CLI (the HTTP API serves
#: pages of at most 1000 records).
MAX_LISTING_LIMIT = 100_000_000


def check_listing_page(limit: int | None, offset: int) -> None:
    """Reject listing paging outside ``0 <= limit <= MAX_LISTING_LIMIT`` (None: no limit) and
    ``0 <= offset <= MAX_LISTING_OFFSET``.

    Raises
    ------
    exprhub.paging.PagingError
        A ``ValueError`` naming the argument and the limit it exceeds.
    """
    check_page(
        limit, offset, max_limit=MAX_LISTING_LIMIT, max_offset=MAX_LISTING_OFFSET, what="records"
    )


#: Keys or ids per ``IN (...)`` list (below SQLite's oldest limit of 999 parameters).
_IN_CHUNK = 900


_T = TypeVar("_T")


class _KeptUntilWrite:
    """Values read from all of a hub's records, kept per hub and key until the hub's next write
    (``Hub.latest_write``, one index look-up, tells); at most ``most`` keys per hub."""

    def __init__(self, most: int = 256) -> None:
        self._kept: WeakKeyDictionary[Hub, dict[Hashable, tuple[datetime | None, Any]]] = (
            WeakKeyDictionary()
        )
        self._most = most

    def get(self, hub: Hub, key: Hashable, compute: Callable[[], _T]) -> _T:
        """The value kept for ``key``, or ``compute()`` (then kept) if the hub changed since."""
        latest = hub.latest_write()
        kept = self._kept.setdefault(hub, {})
        found = kept.get(key)
        if found is not None and found[0] == latest:
            value: _T = found[1]
            return value
        value = compute()
        if len(kept) >= self._most:
            kept.clear()
        kept[key] = (latest, value)
        return value


#: Listing totals by (record type, filter): paging asks for the same total again and again.
_TOTALS = _KeptUntilWrite()
#: Characteristic keys and organism counts (one value each).
_HUB_FACTS = _KeptUntilWrite()


@dataclass(frozen=True)
class CharacteristicMatch:
    """Samples with a characteristic whose key is in ``keys`` and value in ``values``, or
    (when ``label`` is set) a stored standardized label of that field whose value is one of
    ``label_values`` or whose term is one of ``label_terms`` (see :mod:`exprhub.hub.labels`).

    Keys and values are compared case-insensitively (values also without surrounding spaces).
    """

    keys: frozenset[str]
    values: frozenset[str]
    label: str | None = None
    label_values: frozenset[str] = frozenset()
    label_terms: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ListingFilter:
    """Filters on a record listing; fields left empty do not filter."""

    organism: str | None = None
    platform: str | None = None
    series: str | None = None
    characteristics: tuple[CharacteristicMatch, ...] = ()

    @property
    def empty(self) -> bool:
        """Whether nothing is filtered."""
        return not (self.organism or self.platform or self.series or self.characteristics)


def _organism_match(column: Any, organism: str) -> ColumnElement[bool]:
    """``column`` (organisms joined by ``"; "``) names ``organism``, ignoring case."""
    wanted = organism.strip().lower()
    escaped = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    padded = literal("; ") + func.lower(column) + literal("; ")
    return padded.like(f"%; {escaped}; %", escape="\\")


def _members_of(owner: str, member: RecordType, records: Any = s.records) -> ColumnElement[bool]:
    """``records`` rows of type ``member`` related to the record keyed ``owner``."""
    if member is RecordType.PLATFORM:
        return records.c.key == owner
    name = _MEMBER_NAME[member]
    pointing_up = select(s.relations.c.source_id).where(
        s.relations.c.target_key == owner, s.relations.c.kind.in_(_MEMBER_TO_OWNER[member])
    )
    owner_row = s.records.alias()
    pointing_down = (
        select(s.relations.c.target_key)
        .join(owner_row, owner_row.c.id == s.relations.c.source_id)
        .where(owner_row.c.key == owner, s.relations.c.kind == name)
    )
    return or_(records.c.id.in_(pointing_up), records.c.key.in_(pointing_down))


def _platforms_of_series(series: str) -> ColumnElement[bool]:
    """Platforms the series ``series`` names, or that its samples name."""
    owner = s.records.alias()
    named = (
        select(s.relations.c.target_key)
        .join(owner, owner.c.id == s.relations.c.source_id)
        .where(owner.c.key == series, s.relations.c.kind == "platform")
    )
    sample = s.records.alias()
    of_samples = (
        select(s.relations.c.target_key)
        .join(sample, sample.c.id == s.relations.c.source_id)
        .where(
            sample.c.type == RecordType.SAMPLE.value,
            _members_of(series, RecordType.SAMPLE, sample),
            s.relations.c.kind == "platform",
        )
    )
    return or_(s.records.c.key.in_(named), s.records.c.key.in_(of_samples))


def _series_organism_from_samples(organism: str) -> ColumnElement[bool]:
    """Series (without organisms of their own) having a sample of ``organism``."""
    sample = s.records.alias()
    down = (
        select(s.relations.c.source_id)
        .join(sample, and_(sample.c.key == s.relations.c.target_key, sample.c.type == "GSM"))
        .where(s.relations.c.kind == "sample", _organism_match(sample.c.organisms, organism))
    )
    up = (
        select(s.relations.c.target_key)
        .join(sample, sample.c.id == s.relations.c.source_id)
        .where(
            sample.c.type == "GSM",
            s.relations.c.kind == "series",
            _organism_match(sample.c.organisms, organism),
        )
    )
    return and_(
        s.records.c.organisms.is_(None), or_(s.records.c.id.in_(down), s.records.c.key.in_(up))
    )


def characteristic_keys(hub: Hub) -> list[str]:
    """Every distinct characteristic key stored in the hub, sorted (read from every
    characteristic, so kept per hub until its next write)."""

    def read() -> list[str]:
        with hub.engine.connect() as connection:
            rows = connection.execute(select(s.characteristics.c.key).distinct())
            return sorted(str(k) for (k,) in rows)

    return list(_HUB_FACTS.get(hub, "characteristic keys", read))


#: Record types a label filter lists through the samples without records they list.
LABEL_OWNER_TYPES = (RecordType.SERIES, RecordType.PLATFORM, RecordType.DATASET)


def _condition(
    record_type: RecordType, flt: ListingFilter, stored_keys: list[str]
) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = [s.records.c.type == record_type.value]
    if flt.organism:
        own = _organism_match(s.records.c.organisms, flt.organism)
        if record_type is RecordType.SERIES:
            own = or_(own, _series_organism_from_samples(flt.organism))
        parts.append(own)
    if flt.platform:
        parts.append(_members_of(normalize_accession(flt.platform), record_type))
    if flt.series:
        series = normalize_accession(flt.series)
        if record_type is RecordType.SERIES:
            parts.append(s.records.c.key == series)
        elif record_type is RecordType.PLATFORM:
            parts.append(_platforms_of_series(series))
        else:
            parts.append(_members_of(series, record_type))
    for match in flt.characteristics:
        if record_type in LABEL_OWNER_TYPES and match.label:
            # series, platforms, DataSets: those listing such samples that have no record
            owned = owner_label_condition(match.label, match.label_values, match.label_terms)
            parts.append(owned if owned is not None else literal(False))
            continue
        if record_type is not RecordType.SAMPLE:
            return literal(False)
        wanted_keys = {k.strip().lower() for k in match.keys}
        keys = [k for k in stored_keys if k.strip().lower() in wanted_keys]
        values = sorted({v.strip().lower() for v in match.values})
        either: list[ColumnElement[bool]] = []
        if keys and values:
            having = select(s.characteristics.c.record_id).where(
                s.characteristics.c.key.in_(keys),
                func.lower(func.trim(s.characteristics.c.value)).in_(values),
            )
            either.append(s.records.c.id.in_(having))
        if match.label:
            labelled = label_condition(match.label, match.label_values, match.label_terms)
            if labelled is not None:
                either.append(labelled)
        if not either:
            return literal(False)
        parts.append(or_(*either))
    return and_(true(), *parts)


def list_records(
    hub: Hub,
    record_type: RecordType,
    flt: ListingFilter | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[int, list[RecordSummary]]:
    """How many records of ``record_type`` pass ``flt``, and one page of them (in the hub's
    listing order: by accession number).

    Raises
    ------
    exprhub.paging.PagingError
        For ``limit`` / ``offset`` beyond :data:`MAX_LISTING_LIMIT` / :data:`MAX_LISTING_OFFSET`.
    """
    check_listing_page(limit, offset)
    flt = flt or ListingFilter()
    stored_keys = characteristic_keys(hub) if flt.characteristics else []
    where = _condition(record_type, flt, stored_keys)
    query = select(*SUMMARY_COLUMNS).where(where).order_by(s.records.c.sort_key).offset(offset)
    if limit is not None:
        query = query.limit(limit)

    def count() -> int:  # reads every matching record
        with hub.engine.connect() as connection:
            return int(connection.execute(select(func.count()).where(where)).scalar_one())

    # labels change without a record write (a relabel): their totals are not kept
    labelled = any(m.label for m in flt.characteristics)
    total = count() if labelled else _TOTALS.get(hub, (record_type, flt), count)
    with hub.engine.connect() as connection:
        rows = [RecordSummary.from_row(r) for r in connection.execute(query)]
        return total, with_series_organisms(connection, rows)


def series_organisms(hub: Hub) -> dict[str, list[str]]:
    """Organisms of every series: its own, else those of its stored samples (GEO series
    records rarely name organisms)."""
    out: dict[str, list[str]] = {}
    with hub.engine.connect() as connection:
        for key, organisms in connection.execute(
            select(s.records.c.key, s.records.c.organisms).where(
                s.records.c.type == "GSE", s.records.c.organisms.is_not(None)
            )
        ):
            out[key] = organisms.split("; ")
        for key, names in _derived_series_organisms(connection).items():
            out[key] = sorted(names)
    return out


def with_series_organisms(connection: Any, rows: list[RecordSummary]) -> list[RecordSummary]:
    """``rows`` with each series that names no organism given those of its stored samples
    (GEO series records rarely name organisms), read on ``connection``; other rows are
    returned as they are."""
    bare = [r.key for r in rows if r.type == "GSE" and not r.organisms]
    if not bare:
        return rows
    derived = _derived_series_organisms(connection, bare)
    return [
        replace(r, organisms="; ".join(sorted(derived[r.key])))
        if r.key in derived and derived[r.key] and r.type == "GSE" and not r.organisms
        else r
        for r in rows
    ]


def sample_organisms_of_series(connection: Any, keys: Sequence[str]) -> dict[str, list[str]]:
    """Organisms of the stored samples of the series ``keys`` that name none themselves."""
    derived = _derived_series_organisms(connection, keys)
    return {key: sorted(names) for key, names in derived.items() if names}


def _derived_series_organisms(
    connection: Any, keys: Sequence[str] | None = None
) -> dict[str, set[str]]:
    """Organisms of the samples of each series (of ``keys``, or all) that names none itself."""
    # Such series are found first (few, usually none): joining from all relations would read
    # every relation of every sample.
    wanted = select(s.records.c.id, s.records.c.key).where(
        s.records.c.type == "GSE", s.records.c.organisms.is_(None)
    )
    if keys is None:
        bare = connection.execute(wanted).all()
    else:
        bare = []
        for start in range(0, len(keys), _IN_CHUNK):
            chunk = list(keys[start : start + _IN_CHUNK])
            bare += connection.execute(wanted.where(s.records.c.key.in_(chunk))).all()
    derived: dict[str, set[str]] = {}
    sample = s.records.alias()
    for start in range(0, len(bare), _IN_CHUNK):
        by_id = {row.id: row.key for row in bare[start : start + _IN_CHUNK]}
        down = (
            select(s.relations.c.source_id, sample.c.organisms)
            .join(sample, and_(sample.c.key == s.relations.c.target_key, sample.c.type == "GSM"))
            .where(s.relations.c.source_id.in_(list(by_id)), s.relations.c.kind == "sample")
        )
        up = (
            select(s.relations.c.target_key, sample.c.organisms)
            .join(sample, sample.c.id == s.relations.c.source_id)
            .where(
                s.relations.c.kind == "series", s.relations.c.target_key.in_(list(by_id.values()))
            )
            .where(sample.c.type == "GSM")
        )
        for source_id, organisms in connection.execute(down.distinct()):
            _add_organisms(derived, by_id[source_id], organisms)
        for key, organisms in connection.execute(up.distinct()):
            _add_organisms(derived, key, organisms)
    return derived


def _add_organisms(derived: dict[str, set[str]], key: str, organisms: str | None) -> None:
    found = derived.setdefault(key, set())
    if organisms:
        found.update(organisms.split("; "))


def organism_counts(hub: Hub) -> list[dict[str, object]]:
    """Organisms in the hub with their numbers of samples, series and platforms, most samples
    first (a series without organisms of its own counts those of its samples).

    The counts read every record, so they are kept per hub until its next write.
    """
    rows = _HUB_FACTS.get(hub, "organism counts", lambda: _count_organisms(hub))
    return [dict(row) for row in rows]


def _count_organisms(hub: Hub) -> list[dict[str, object]]:
    counts: dict[str, dict[str, int]] = {}

    def add(names: set[str], what: str, n: int = 1) -> None:
        for name in names:
            entry = counts.setdefault(name, {"samples": 0, "series": 0, "platforms": 0})
            entry[what] += n

    with hub.engine.connect() as connection:
        for rtype, organisms, n in connection.execute(
            select(s.records.c.type, s.records.c.organisms, func.count())
            .where(s.records.c.type.in_(("GSM", "GPL", "GSE")))
            .group_by(s.records.c.type, s.records.c.organisms)
        ):
            if organisms:
                what = {"GSM": "samples", "GPL": "platforms", "GSE": "series"}[rtype]
                add(set(organisms.split("; ")), what, int(n))
        for names in _derived_series_organisms(connection).values():
            add(names, "series")
    rows: list[dict[str, object]] = [{"name": name, **c} for name, c in counts.items()]
    rows.sort(key=lambda r: (-int(str(r["samples"])), str(r["name"])))
    return rows
