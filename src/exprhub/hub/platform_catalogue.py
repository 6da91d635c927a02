"""Set-based reads about many records at once for the gene look-up: what
:meth:`~exprhub.hub.queries.RecordQueries.related`, ``record_origin`` and
``platform_table_tag`` give for one key, for every key asked, in a fixed number of queries
(one per 500 keys and table) instead of a few queries per key; and the platforms the hub
knows probes of, with those facts.

Plain reads: which genes a platform's probes measure belongs to
:mod:`exprhub.analysis.probe_genes`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, or_, select

from exprhub.hub import schema as s
from exprhub.hub.queries import _INCOMING_KINDS, _KEY_CHUNK, _add_incoming
from exprhub.records import RecordType, normalize_accession

if TYPE_CHECKING:
    from exprhub.hub.hub import Hub

__all__ = ["PlatformFacts", "platform_facts", "platforms_with_probes", "related_of_keys"]


@dataclass(frozen=True)
class PlatformFacts:
    """What the gene look-up needs to know of one platform.

    Attributes
    ----------
    key
        The platform accession.
    series, datasets
        The series and DataSets on it, as :meth:`Hub.related` lists them (``"series"``,
        ``"dataset"``).
    table_tag
        :meth:`Hub.platform_table_tag` of the platform.
    origins
        :meth:`Hub.record_origin` of the platform and of each of its DataSets, by key.
    """

    key: str
    series: tuple[str, ...]
    datasets: tuple[str, ...]
    table_tag: str
    origins: dict[str, tuple[str | None, int] | None]


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[i : i + _KEY_CHUNK] for i in range(0, len(items), _KEY_CHUNK)]


def _related(connection: Connection, keys: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    wanted = list(dict.fromkeys(normalize_accession(k) for k in keys))
    rows: dict[str, Any] = {}  # normalized key -> the row Hub.related resolves it to
    for chunk in _chunks(wanted):
        found = connection.execute(
            select(s.records.c.id, s.records.c.key, s.records.c.accession)
            .where(or_(s.records.c.key.in_(chunk), s.records.c.accession.in_(chunk)))
            .order_by(s.records.c.id)
        ).fetchall()
        names = set(chunk)
        for r in found:  # the lowest id whose key or accession is the key, as _find_row
            for name in {r.key, r.accession} & names:
                rows.setdefault(name, r)
    outgoing: dict[int, dict[str, list[str]]] = {}
    ids = sorted({r.id for r in rows.values()})
    for chunk in _chunks(ids):
        for source_id, kind, other in connection.execute(
            select(s.relations.c.source_id, s.relations.c.kind, s.relations.c.target_key)
            .where(s.relations.c.source_id.in_(chunk))
            .order_by(s.relations.c.source_id, s.relations.c.position)
        ):
            outgoing.setdefault(source_id, {}).setdefault(kind, []).append(other)
    targets = {name: (rows[name].key if name in rows else name) for name in wanted}
    incoming: dict[str, list[tuple[str, str, str]]] = {}
    for chunk in _chunks(sorted(set(targets.values()))):
        for source_type, source_key, kind, target in connection.execute(
            select(s.records.c.type, s.records.c.key, s.relations.c.kind, s.relations.c.target_key)
            .join(s.relations, s.relations.c.source_id == s.records.c.id)
            .where(s.relations.c.kind.in_(_INCOMING_KINDS), s.relations.c.target_key.in_(chunk))
            .order_by(s.records.c.id)
        ):
            incoming.setdefault(target, []).append((source_type, source_key, kind))
    out: dict[str, dict[str, list[str]]] = {}
    for name in wanted:
        row = rows.get(name)
        relations = {k: list(v) for k, v in outgoing.get(row.id, {}).items()} if row else {}
        _add_incoming(relations, incoming.get(targets[name], ()))
        if row is not None or relations:
            out[name] = relations
    return out


def related_of_keys(hub: Hub, keys: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    """:meth:`Hub.related` of many keys, by key (normalized as accessions): the same lists
    in the same order. Keys no record has and none names (where :meth:`Hub.related`
    raises ``RecordNotFound``) are absent."""
    with hub.engine.connect() as connection:
        return _related(connection, keys)


def _origins(
    connection: Connection, keys: Sequence[str]
) -> dict[str, tuple[str | None, int] | None]:
    out: dict[str, tuple[str | None, int] | None] = {}
    for chunk in _chunks(list(dict.fromkeys(keys))):
        for key, sha256, version in connection.execute(
            select(s.records.c.key, s.records.c.source_sha256, s.records.c.version)
            .where(s.records.c.key.in_(chunk))
            .order_by(s.records.c.id)
        ):
            out.setdefault(key, (sha256, version))
    return {key: out.get(key) for key in keys}


def _table_tags(connection: Connection, keys: Sequence[str]) -> dict[str, str]:
    records: dict[str, Any] = {}
    annotations: dict[str, Any] = {}
    for chunk in _chunks(keys):
        for key, ref in connection.execute(
            select(s.records.c.key, s.records.c.table_ref)
            .where(s.records.c.key.in_(chunk), s.records.c.type == RecordType.PLATFORM.value)
            .order_by(s.records.c.id)
        ):
            records.setdefault(key, ref)
        for key, ref in connection.execute(
            select(s.platform_annotations.c.platform_key, s.platform_annotations.c.table_ref).where(
                s.platform_annotations.c.platform_key.in_(chunk)
            )
        ):
            annotations[key] = ref
    return {key: f"{records.get(key)}:{annotations.get(key)}" for key in keys}


def _facts(connection: Connection, keys: Sequence[str]) -> dict[str, PlatformFacts]:
    related = _related(connection, keys)
    tags = _table_tags(connection, keys)
    on = {k: related.get(normalize_accession(k), {}) for k in keys}
    datasets = sorted({d for r in on.values() for d in r.get("dataset", [])})
    origins = _origins(connection, [*keys, *datasets])
    return {
        key: PlatformFacts(
            key,
            tuple(on[key].get("series", [])),
            tuple(on[key].get("dataset", [])),
            tags[key],
            {k: origins[k] for k in (key, *on[key].get("dataset", []))},
        )
        for key in keys
    }


def platform_facts(hub: Hub, keys: Sequence[str]) -> dict[str, PlatformFacts]:
    """:class:`PlatformFacts` of the platforms ``keys`` (accessions as stored), by key, in
    a few queries whatever their number (a key of no stored platform gets empty facts)."""
    with hub.engine.connect() as connection:
        return _facts(connection, list(dict.fromkeys(keys)))


def platforms_with_probes(hub: Hub) -> dict[str, PlatformFacts]:
    """Every platform the hub knows probes of (a platform record, a stored GEO annotation
    or a stored DataSet on it), in key order, with its :class:`PlatformFacts`."""
    with hub.engine.connect() as connection:
        found = set(
            connection.execute(
                select(s.records.c.key).where(s.records.c.type == RecordType.PLATFORM.value)
            ).scalars()
        )
        found.update(connection.execute(select(s.platform_annotations.c.platform_key)).scalars())
        datasets = connection.execute(
            select(s.records.c.key).where(s.records.c.type == RecordType.DATASET.value)
        ).scalars()
        for relations in _related(connection, list(datasets)).values():
            found.update(relations.get("platform", []))
        return _facts(connection, sorted(found))
