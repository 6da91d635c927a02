"""What a search index is built from: records changed since a time, with their attributes and
relations, and the platform facts that documents of other records borrow.

The search layer (:mod:`exprhub.search.hub_index`) turns these into documents; it reads the
hub only through this module and :meth:`exprhub.hub.Hub.latest_write`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from exprhub.hub import schema as s
from exprhub.hub.listing import sample_organisms_of_series
from exprhub.records import Record

if TYPE_CHECKING:
    from exprhub.hub.hub import Hub

__all__ = ["FeedRecord", "changed_records", "platform_fields"]

#: Records per batch of :func:`changed_records`.
FEED_BATCH = 2000


@dataclass(frozen=True)
class FeedRecord:
    """A record as the search index needs it.

    Attributes
    ----------
    type, key, title
        The record's type (``GSE``...), key and title.
    organisms
        The organisms the record names itself (empty when it names none).
    sample_organisms
        For a series naming no organism: those of its stored samples.
    release_date, submission_date, last_update_date
        The record's dates, if known.
    attributes
        Every ``(key, value)`` attribute, in file order.
    relations
        Related record keys by relation kind (outgoing relations, in file order).
    """

    type: str
    key: str
    title: str | None
    organisms: list[str]
    sample_organisms: list[str]
    release_date: date | None
    submission_date: date | None
    last_update_date: date | None
    attributes: list[tuple[str, str]]
    relations: dict[str, list[str]]


def changed_records(
    hub: Hub,
    types: Collection[str],
    since: datetime | None = None,
    *,
    batch: int = FEED_BATCH,
) -> Iterator[list[FeedRecord]]:
    """Records of ``types`` added or replaced after ``since`` (all of them when None), in
    the order they were stored, in batches of at most ``batch``.

    Parameters
    ----------
    hub
        The hub read.
    types
        Record types (``"GSE"``, ``"GSM"``...).
    since
        Only records whose last write (``Hub.latest_write`` compares to it) is later.
    batch
        Largest number of records per yielded list.

    Yields
    ------
    list of FeedRecord
        The next batch; each batch's details are read on a connection of its own, closed
        before the batch is yielded.
    """
    query = select(
        s.records.c.id,
        s.records.c.type,
        s.records.c.key,
        s.records.c.title,
        s.records.c.organisms,
        s.records.c.release_date,
        s.records.c.submission_date,
        s.records.c.last_update_date,
    ).where(s.records.c.type.in_(list(types)))
    if since is not None:
        query = query.where(s.records.c.updated_at > since)
    with hub.engine.connect() as connection:
        rows = connection.execute(query.order_by(s.records.c.id)).fetchall()
    for start in range(0, len(rows), batch):
        yield _details(hub, rows[start : start + batch])


def _details(hub: Hub, rows: Sequence[Any]) -> list[FeedRecord]:
    ids = [r.id for r in rows]
    attributes: dict[int, list[tuple[str, str]]] = {i: [] for i in ids}
    relations: dict[int, dict[str, list[str]]] = {i: {} for i in ids}
    with hub.engine.connect() as connection:
        for rid, key, value in connection.execute(
            select(s.attributes.c.record_id, s.attributes.c.key, s.attributes.c.value)
            .where(s.attributes.c.record_id.in_(ids))
            .order_by(s.attributes.c.record_id, s.attributes.c.position)
        ):
            attributes[rid].append((key, value))
        for rid, kind, target in connection.execute(
            select(s.relations.c.source_id, s.relations.c.kind, s.relations.c.target_key)
            .where(s.relations.c.source_id.in_(ids))
            .order_by(s.relations.c.source_id, s.relations.c.position)
        ):
            relations[rid].setdefault(kind, []).append(target)
        bare_series = [r.key for r in rows if r.type == "GSE" and not r.organisms]
        from_samples = sample_organisms_of_series(connection, bare_series)
    return [
        FeedRecord(
            r.type,
            r.key,
            r.title,
            r.organisms.split("; ") if r.organisms else [],
            from_samples.get(r.key, []),
            r.release_date,
            r.submission_date,
            r.last_update_date,
            attributes[r.id],
            relations[r.id],
        )
        for r in rows
    ]


def platform_fields(hub: Hub, fields: Collection[str]) -> dict[str, dict[str, list[str]]]:
    """Values of some attributes of every stored platform: platform key -> field name ->
    values in file order (fields named as :meth:`exprhub.records.Record.field_name` names
    them, e.g. ``technology``, ``organism``; a platform lacking a field has no entry for it).
    """
    wanted = set(fields)
    out: dict[str, dict[str, list[str]]] = {}
    with hub.engine.connect() as connection:
        for key, akey, value in connection.execute(
            select(s.records.c.key, s.attributes.c.key, s.attributes.c.value)
            .join(s.attributes, s.attributes.c.record_id == s.records.c.id)
            .where(s.records.c.type == "GPL")
            .order_by(s.records.c.id, s.attributes.c.position)
        ):
            name = Record.field_name(akey)
            if name in wanted:
                out.setdefault(key, {}).setdefault(name, []).append(value)
    return out
