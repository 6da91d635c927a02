"""Stored profile flags (``profile_flag_sets``, ``profile_flags``) and the record stamps their
data versions are made of.

Plain storage: the flags are computed by :mod:`exprhub.analysis.stored_flags`. A set holds
the rows flagged in one DataSet or series for one value kind (and platform), with the
thresholds and the ``data_version`` of the values and groups they were computed from; a
newer computation replaces the set in one transaction and the previous set is returned, so
callers can say what changed.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select

from exprhub.hub import schema as s
from exprhub.hub.refinery_tables import _timestamp

if TYPE_CHECKING:
    from exprhub.hub.hub import Hub
    from exprhub.hub.writer import HubWriter

__all__ = [
    "FlagSet",
    "flag_sets",
    "flagged_features",
    "flagged_rows",
    "record_stamps",
    "write_flag_set",
]

_KEY_CHUNK = 500


@dataclass(frozen=True)
class FlagSet:
    """One stored computation of flags.

    Attributes
    ----------
    accession, value_kind, platform
        What was flagged: a DataSet or series, ``submitted`` or ``refined`` values, and the
        platform of submitted values ("" when not one platform's).
    data_version
        A digest of what the flags were computed from (values, groups, method, thresholds).
    method
        The flag test and its version (``anova-bh/1``).
    fdr, min_log2_fold
        The thresholds.
    rows_tested, rows_flagged
        Rows of values, and (row, subset type) pairs flagged.
    subset_types
        The subset types tested.
    computed_at
        When.
    """

    accession: str
    value_kind: str
    platform: str
    data_version: str
    method: str
    fdr: float
    min_log2_fold: float
    rows_tested: int
    rows_flagged: int
    subset_types: list[str] = field(default_factory=list)
    computed_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "accession": self.accession,
            "value_kind": self.value_kind,
            "platform": self.platform or None,
            "data_version": self.data_version,
            "method": self.method,
            "fdr": self.fdr,
            "min_log2_fold": self.min_log2_fold,
            "rows_tested": self.rows_tested,
            "rows_flagged": self.rows_flagged,
            "subset_types": list(self.subset_types),
            "computed_at": _timestamp(self.computed_at) if self.computed_at else None,
        }


def _chunks(keys: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, len(keys), _KEY_CHUNK):
        yield list(keys[start : start + _KEY_CHUNK])


def record_stamps(hub: Hub, keys: Collection[str]) -> dict[str, str]:
    """``type:version:updated_at`` of the stored records with these keys (absent keys are
    left out): a stamp changes whenever its record is replaced or marked updated."""
    wanted = sorted(set(keys))
    table = s.records
    out: dict[str, str] = {}
    with hub.engine.connect() as connection:
        for chunk in _chunks(wanted):
            query = select(table.c.key, table.c.type, table.c.version, table.c.updated_at).where(
                table.c.key.in_(chunk)
            )
            for key, kind, version, updated in connection.execute(query):
                stamp = f"{kind}:{version}:{_timestamp(updated)}"
                out[key] = stamp if key not in out else f"{out[key]}|{stamp}"
    return out


def _flag_set(row: Any) -> FlagSet:
    return FlagSet(
        accession=row.accession,
        value_kind=row.value_kind,
        platform=row.platform,
        data_version=row.data_version,
        method=row.method,
        fdr=float(row.fdr),
        min_log2_fold=float(row.min_log2_fold),
        rows_tested=int(row.rows_tested),
        rows_flagged=int(row.rows_flagged),
        subset_types=list(json.loads(row.subset_types)),
        computed_at=row.computed_at,
    )


def flag_sets(
    hub: Hub, accessions: Collection[str] | None = None, value_kind: str | None = None
) -> list[FlagSet]:
    """The stored flag sets (of ``accessions`` and ``value_kind`` when given), by accession."""
    table = s.profile_flag_sets
    base = select(table).order_by(table.c.accession, table.c.value_kind, table.c.platform)
    if value_kind is not None:
        base = base.where(table.c.value_kind == value_kind)
    with hub.engine.connect() as connection:
        if accessions is None:
            return [_flag_set(r) for r in connection.execute(base)]
        out: list[FlagSet] = []
        for chunk in _chunks(sorted(set(accessions))):
            out += [
                _flag_set(r) for r in connection.execute(base.where(table.c.accession.in_(chunk)))
            ]
    return sorted(out, key=lambda f: (f.accession, f.value_kind, f.platform))


def write_flag_set(
    writer: HubWriter, flag_set: FlagSet, rows: Iterable[tuple[str, str, float, float]]
) -> FlagSet | None:
    """Store a set of flags with its flagged rows ``(subset type, feature, fdr, log2 fold)``,
    replacing the set of the same accession, value kind and platform; returns the set it
    replaced (None if there was none)."""
    table = s.profile_flag_sets
    connection = writer.connection
    where = (
        (table.c.accession == flag_set.accession)
        & (table.c.value_kind == flag_set.value_kind)
        & (table.c.platform == flag_set.platform)
    )
    old = connection.execute(select(table).where(where)).first()
    if old is not None:
        connection.execute(delete(s.profile_flags).where(s.profile_flags.c.set_id == old.id))
        connection.execute(delete(table).where(table.c.id == old.id))
    inserted = connection.execute(
        insert(table).values(
            accession=flag_set.accession,
            value_kind=flag_set.value_kind,
            platform=flag_set.platform,
            data_version=flag_set.data_version,
            method=flag_set.method,
            fdr=flag_set.fdr,
            min_log2_fold=flag_set.min_log2_fold,
            rows_tested=flag_set.rows_tested,
            rows_flagged=flag_set.rows_flagged,
            subset_types=json.dumps(list(flag_set.subset_types)),
            computed_at=flag_set.computed_at or writer.now,
        )
    ).inserted_primary_key
    assert inserted is not None
    set_id = inserted[0]
    batch = [
        {"set_id": set_id, "subset_type": kind, "feature": feature, "fdr": q, "log2_fold": fold}
        for kind, feature, q, fold in rows
    ]
    if batch:
        connection.execute(insert(s.profile_flags), batch)
    return _flag_set(old) if old is not None else None


def flagged_rows(
    hub: Hub, accession: str, value_kind: str, platform: str = ""
) -> list[tuple[str, str, float, float]]:
    """The stored flagged rows of one set: ``(subset type, feature, fdr, log2 fold)``,
    lowest FDR first (empty when no set is stored)."""
    sets, flags = s.profile_flag_sets, s.profile_flags
    query = (
        select(flags.c.subset_type, flags.c.feature, flags.c.fdr, flags.c.log2_fold)
        .join(sets, sets.c.id == flags.c.set_id)
        .where(
            sets.c.accession == accession,
            sets.c.value_kind == value_kind,
            sets.c.platform == platform,
        )
        .order_by(flags.c.fdr, flags.c.feature, flags.c.subset_type)
    )
    with hub.engine.connect() as connection:
        return [(k, f, float(q), float(d)) for k, f, q, d in connection.execute(query)]


def flagged_features(
    hub: Hub, accessions: Collection[str], features: Collection[str]
) -> dict[tuple[str, str, str], list[tuple[str, str]]]:
    """Which of ``features`` are flagged in the stored sets of ``accessions``:
    ``(accession, value kind, platform)`` -> ``(subset type, feature)`` pairs."""
    sets, flags = s.profile_flag_sets, s.profile_flags
    wanted = sorted(set(features))
    out: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
    if not wanted or not accessions:
        return out
    with hub.engine.connect() as connection:
        for names in _chunks(sorted(set(accessions))):
            for chunk in _chunks(wanted):
                query = (
                    select(
                        sets.c.accession,
                        sets.c.value_kind,
                        sets.c.platform,
                        flags.c.subset_type,
                        flags.c.feature,
                    )
                    .join(sets, sets.c.id == flags.c.set_id)
                    .where(sets.c.accession.in_(names), flags.c.feature.in_(chunk))
                )
                for acc, kind, platform, subset_type, feature in connection.execute(query):
                    out.setdefault((acc, kind, platform), []).append((subset_type, feature))
    return out
