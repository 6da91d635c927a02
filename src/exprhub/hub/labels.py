"""Stored sample labels (``sample_labels``) and the changes relabelling made
(``sample_label_changes``).

Plain storage: the labeller is :mod:`exprhub.curate.labels`. Writes take the
:class:`~exprhub.hub.HubWriter` of a transaction; reads take the hub. A labeller owns the
labels of its methods (rules and ontology matches; an expression model; an LLM):
:func:`write_labels` replaces only those of the methods it is given, so a rule relabel never
removes an expression model's labels. Every value a rewrite changes (a field whose values
differ from the stored ones of those methods) is recorded and returned: nothing changes
silently.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    union,
    union_all,
    update,
)

from exprhub.hub import schema as s
from exprhub.hub.refinery_tables import _timestamp

if TYPE_CHECKING:
    from exprhub.hub.hub import Hub
    from exprhub.hub.writer import HubWriter

__all__ = [
    "LabelChange",
    "StoredLabel",
    "label_changes",
    "label_versions",
    "labelled_samples",
    "owner_label_condition",
    "sample_labels",
    "samples_with_label",
    "unrecorded_members",
    "unrecorded_samples",
    "write_labels",
]

_KEY_CHUNK = 500
#: The methods of the rule labeller (what it replaces when it relabels): rules, ontology
#: matches, and values read from a DataSet's curated subsets.
RULE_METHODS: tuple[str, ...] = ("rule", "ontology", "curated subset")


@dataclass(frozen=True)
class StoredLabel:
    """One stored label value of a sample (see ``exprhub.curate.labels.Label`` for the
    meaning of the fields), with the labeller version and time that wrote it."""

    sample_key: str
    field: str
    value: str
    ontology_id: str | None
    source: str
    evidence: str
    start: int
    end: int
    method: str
    confidence: float
    labeller_version: str = ""
    labelled_at: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return asdict(self)


@dataclass(frozen=True)
class LabelChange:
    """A field of a sample whose values a relabel changed (``None``: no value)."""

    sample_key: str
    field: str
    old_value: str | None
    new_value: str | None
    old_version: str | None
    new_version: str
    changed_at: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return asdict(self)


def _chunks(keys: Iterable[str]) -> list[list[str]]:
    wanted = sorted(set(keys))
    return [wanted[i : i + _KEY_CHUNK] for i in range(0, len(wanted), _KEY_CHUNK)]


def _stored(row: Any) -> StoredLabel:
    return StoredLabel(
        row.sample_key,
        row.field,
        row.value,
        row.ontology_id,
        row.source,
        row.evidence,
        row.span_start,
        row.span_end,
        row.method,
        float(row.confidence),
        row.labeller_version,
        _timestamp(row.labelled_at),
    )


def _read(
    connection: Any,
    keys: Iterable[str],
    methods: Collection[str] | None,
    fields: Collection[str] | None = None,
) -> list[Any]:
    table = s.sample_labels
    rows: list[Any] = []
    for chunk in _chunks(keys):
        query = select(table).where(table.c.sample_key.in_(chunk))
        if methods is not None:
            query = query.where(table.c.method.in_(sorted(methods)))
        if fields is not None:
            query = query.where(table.c.field.in_(sorted(fields)))
        rows += connection.execute(
            query.order_by(table.c.sample_key, table.c.field, table.c.position)
        ).fetchall()
    return rows


def _values(rows: Iterable[Any]) -> dict[tuple[str, str], tuple[str, str]]:
    """(sample, field) -> (values joined by "; ", labeller version)."""
    grouped: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        grouped.setdefault((row.sample_key, row.field), []).append(row)
    return {
        key: ("; ".join(sorted({r.value for r in group})), group[0].labeller_version)
        for key, group in grouped.items()
    }


def _touch_changed_samples(
    writer: HubWriter,
    old: Mapping[tuple[str, str], tuple[str, str]],
    new: Mapping[tuple[str, str], tuple[str, str]],
) -> None:
    """Mark the samples whose label values changed (a first labelling included) as updated
    now, so that what follows records (the search index) takes their new labels. Samples
    whose record this transaction wrote are updated now already (and, having a record, have
    no owners to mark)."""
    stamped = writer.updated_now("GSM")
    changed = sorted(
        {
            place[0]
            for place in set(old) | set(new)
            if place[0] not in stamped
            and (old.get(place) or (None,))[0] != (new.get(place) or (None,))[0]
        }
    )
    for chunk in _chunks(changed):
        writer.connection.execute(
            update(s.records)
            .where(s.records.c.type == "GSM", s.records.c.key.in_(chunk))
            .values(updated_at=writer.now)
        )
        # a sample without a record is searched through the series and DataSets listing it
        owners = [k for keys in _owners_of(writer.connection, chunk).values() for k in keys]
        if owners:
            writer.connection.execute(
                update(s.records).where(s.records.c.key.in_(owners)).values(updated_at=writer.now)
            )


def _unrecorded(target: Any) -> ColumnElement[bool]:
    """``target`` (a sample key column) names no sample record."""
    return ~exists().where(s.records.c.type == "GSM", s.records.c.key == target)


def _owner_pairs(samples: Any) -> list[Any]:
    """(owner key, sample key) queries: series and platforms listing samples without a
    record, and DataSets whose subsets hold them; ``samples`` restricts the sample keys
    (a list, or a query of them)."""
    owner, subset = s.records.alias(), s.records.alias()
    link, member = s.relations.alias(), s.relations.alias()
    direct = (
        select(owner.c.key.label("owner"), s.relations.c.target_key.label("sample"))
        .join(s.relations, s.relations.c.source_id == owner.c.id)
        .where(
            owner.c.type.in_(("GSE", "GPL")),
            s.relations.c.kind == "sample",
            s.relations.c.target_key.in_(samples),
            _unrecorded(s.relations.c.target_key),
        )
    )
    via_subsets = (
        select(link.c.target_key.label("owner"), member.c.target_key.label("sample"))
        .select_from(subset)
        .join(link, link.c.source_id == subset.c.id)
        .join(member, member.c.source_id == subset.c.id)
        .where(
            subset.c.type == "SUBSET",
            link.c.kind == "dataset",
            member.c.kind == "sample",
            member.c.target_key.in_(samples),
            _unrecorded(member.c.target_key),
        )
    )
    return [direct, via_subsets]


def _owners_of(connection: Any, samples: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    pairs = union_all(*_owner_pairs(list(samples))).subquery()
    for owner, sample in connection.execute(select(pairs.c.owner, pairs.c.sample)):
        if owner not in out.setdefault(sample, []):
            out[sample].append(owner)
    return out


def unrecorded_members(hub: Hub, owners: Iterable[str]) -> dict[str, list[str]]:
    """The samples without a record of their own that each of ``owners`` (series,
    platforms, DataSets) lists, by owner key (owners listing none are left out)."""
    wanted = set(owners)
    out: dict[str, list[str]] = {}
    if not wanted:
        return out
    listed = select(s.relations.c.target_key).where(s.relations.c.kind == "sample")
    with hub.engine.connect() as connection:
        for chunk in _chunks(wanted):
            for query in _owner_pairs(listed):
                pairs = query.subquery()
                chosen = select(pairs.c.owner, pairs.c.sample).where(pairs.c.owner.in_(chunk))
                for owner, sample in connection.execute(chosen):
                    if sample not in out.setdefault(owner, []):
                        out[owner].append(sample)
    return out


def owner_label_condition(
    field: str, values: Iterable[str], ontology_ids: Iterable[str] = ()
) -> Any:
    """A SQL condition on ``records``: series, platforms and DataSets listing a sample
    without a record of its own that has such a label (used by listings), or None."""
    labelled = _labelled(field, values, ontology_ids)
    if labelled is None:
        return None
    owners = union(*(select(q.subquery().c.owner) for q in _owner_pairs(labelled)))
    return s.records.c.key.in_(owners)


def write_labels(
    writer: HubWriter,
    labels: Mapping[str, Sequence[StoredLabel]],
    *,
    version: str,
    methods: Collection[str] = RULE_METHODS,
    fields: Collection[str] | None = None,
) -> list[LabelChange]:
    """Replace the labels of ``methods`` of each sample in ``labels`` (sample key -> its new
    labels, possibly none) with the given ones, stamped with labeller ``version``; with
    ``fields``, only those of these fields (an expression model of one field leaves the
    labels another model made of another field alone).

    Returns the changes: each field of a sample labelled before whose values differ now
    (recorded in the hub as well; a sample's first labelling is no change).

    Raises
    ------
    ValueError
        If a label's method is not one of ``methods`` (or its field not one of ``fields``).
    """
    table = s.sample_labels
    connection = writer.connection
    owned = set(methods)
    for key, given in labels.items():
        for label in given:
            if label.method not in owned:
                raise ValueError(f"{key}: a {label.method!r} label is not one of {sorted(owned)}")
            if fields is not None and label.field not in fields:
                raise ValueError(f"{key}: a {label.field!r} label is not one of {sorted(fields)}")
    # one read: the rows this call replaces, and another labeller's (which stay)
    stored_rows = _read(connection, labels, None)
    old_rows: list[Any] = []
    others: list[Any] = []
    for row in stored_rows:
        mine = row.method in owned and (fields is None or row.field in fields)
        (old_rows if mine else others).append(row)
    old = _values(old_rows)
    labelled_before = {row.sample_key for row in old_rows}
    new_rows: list[dict[str, Any]] = []
    for key, given in labels.items():
        positions: dict[str, int] = {}
        for label in given:
            position = positions.get(label.field, 0)
            positions[label.field] = position + 1
            new_rows.append(
                {
                    "sample_key": key,
                    "field": label.field,
                    "position": position,
                    "value": label.value,
                    "ontology_id": label.ontology_id,
                    "source": label.source,
                    "evidence": label.evidence,
                    "span_start": label.start,
                    "span_end": label.end,
                    "method": label.method,
                    "confidence": label.confidence,
                    "labeller_version": version,
                    "labelled_at": writer.now,
                }
            )
    for chunk in _chunks(labelled_before):  # a first labelling has nothing to delete
        owned_rows = [table.c.sample_key.in_(chunk), table.c.method.in_(sorted(owned))]
        if fields is not None:
            owned_rows.append(table.c.field.in_(sorted(fields)))
        connection.execute(delete(table).where(*owned_rows))
    # another labeller's values of a field keep their positions: new ones go after them
    taken: dict[tuple[str, str], int] = {}
    for other in others:
        place = (str(other.sample_key), str(other.field))
        taken[place] = max(taken.get(place, 0), int(other.position) + 1)
    for new in new_rows:
        new["position"] += taken.get((new["sample_key"], new["field"]), 0)
    if new_rows:
        connection.execute(insert(table), new_rows)
    grouped: dict[tuple[str, str], set[str]] = {}
    for new in new_rows:
        grouped.setdefault((new["sample_key"], new["field"]), set()).add(new["value"])
    new_values = {place: ("; ".join(sorted(v)), version) for place, v in grouped.items()}
    _touch_changed_samples(writer, old, new_values)
    changes = []
    for place in sorted(set(old) | set(new_values)):
        if place[0] not in labelled_before:
            continue
        before = old.get(place)
        after = new_values.get(place)
        if before is not None and after is not None and before[0] == after[0]:
            continue
        changes.append(
            LabelChange(
                place[0],
                place[1],
                before[0] if before else None,
                after[0] if after else None,
                before[1] if before else None,
                version,
                _timestamp(writer.now),
            )
        )
    if changes:
        connection.execute(
            insert(s.sample_label_changes),
            [
                {
                    "sample_key": c.sample_key,
                    "field": c.field,
                    "old_value": c.old_value,
                    "new_value": c.new_value,
                    "old_version": c.old_version,
                    "new_version": c.new_version,
                    "changed_at": writer.now,
                }
                for c in changes
            ],
        )
    return changes


def sample_labels(
    hub: Hub, keys: Iterable[str], *, methods: Collection[str] | None = None
) -> dict[str, list[StoredLabel]]:
    """Stored labels by sample key (samples without labels are left out), fields in stored
    order; only those of ``methods`` if given."""
    out: dict[str, list[StoredLabel]] = {}
    with hub.engine.connect() as connection:
        for row in _read(connection, keys, methods):
            out.setdefault(row.sample_key, []).append(_stored(row))
    return out


def samples_with_label(
    hub: Hub, field: str, values: Iterable[str] = (), ontology_ids: Iterable[str] = ()
) -> list[str]:
    """Keys of samples with a label of ``field`` whose value is one of ``values`` (ignoring
    case) or whose term is one of ``ontology_ids``, sorted."""
    table = s.sample_labels
    wanted = sorted({v.strip().lower() for v in values})
    ids = sorted(set(ontology_ids))
    if not wanted and not ids:
        return []
    found: set[str] = set()
    with hub.engine.connect() as connection:
        for i in range(0, max(len(ids), 1), _KEY_CHUNK):
            conditions = []
            if i == 0 and wanted:
                conditions.append(func.lower(table.c.value).in_(wanted))
            if ids[i : i + _KEY_CHUNK]:
                conditions.append(table.c.ontology_id.in_(ids[i : i + _KEY_CHUNK]))
            if not conditions:
                continue
            query = select(table.c.sample_key).where(table.c.field == field, or_(*conditions))
            found.update(k for (k,) in connection.execute(query.distinct()))
    return sorted(found)


def _labelled(field: str, values: Iterable[str], ontology_ids: Iterable[str]) -> Any:
    """A query of the keys of samples with a label of ``field`` whose value is one of
    ``values`` (ignoring case) or whose term is one of ``ontology_ids``; None for neither."""
    table = s.sample_labels
    wanted = sorted({v.strip().lower() for v in values})
    conditions = [func.lower(table.c.value).in_(wanted)] if wanted else []
    ids = sorted(set(ontology_ids))
    if ids:
        conditions.append(table.c.ontology_id.in_(ids))
    if not conditions:
        return None
    return select(table.c.sample_key).where(table.c.field == field, or_(*conditions))


def label_condition(field: str, values: Iterable[str], ontology_ids: Iterable[str] = ()) -> Any:
    """A SQL condition on ``records``: samples with such a label (used by listings)."""
    having = _labelled(field, values, ontology_ids)
    return None if having is None else s.records.c.key.in_(having)


def labelled_samples(hub: Hub, *, version: str | None = None) -> list[str]:
    """Keys of samples with stored labels (of labeller ``version`` if given), sorted."""
    table = s.sample_labels
    query = select(table.c.sample_key).distinct()
    if version is not None:
        query = query.where(table.c.labeller_version == version)
    with hub.engine.connect() as connection:
        return sorted(k for (k,) in connection.execute(query))


def label_versions(hub: Hub) -> dict[str, int]:
    """Number of labelled samples per labeller version."""
    table = s.sample_labels
    query = select(table.c.labeller_version, func.count(table.c.sample_key.distinct())).group_by(
        table.c.labeller_version
    )
    with hub.engine.connect() as connection:
        return {str(v): int(n) for v, n in connection.execute(query)}


def label_changes(hub: Hub, keys: Iterable[str] | None = None) -> list[LabelChange]:
    """Recorded label changes, oldest first (of the samples ``keys`` if given)."""
    table = s.sample_label_changes
    queries = (
        [select(table)]
        if keys is None
        else [select(table).where(table.c.sample_key.in_(chunk)) for chunk in _chunks(keys)]
    )
    rows: list[Any] = []
    with hub.engine.connect() as connection:
        for query in queries:
            rows += connection.execute(query).fetchall()
    rows.sort(key=lambda r: r.id)
    return [
        LabelChange(
            r.sample_key,
            r.field,
            r.old_value,
            r.new_value,
            r.old_version,
            r.new_version,
            _timestamp(r.changed_at),
        )
        for r in rows
    ]


def unrecorded_samples(hub: Hub, keys: Iterable[str] | None = None) -> list[str]:
    """Keys of samples that stored records list (a DataSet subset, a series, a platform) but
    that have no sample record of their own, sorted; only those among ``keys`` if given."""
    query = (
        select(s.relations.c.target_key)
        .where(s.relations.c.kind == "sample", _unrecorded(s.relations.c.target_key))
        .distinct()
    )
    with hub.engine.connect() as connection:
        if keys is None:
            return sorted(str(k) for (k,) in connection.execute(query))
        found: set[str] = set()
        for chunk in _chunks(keys):
            found.update(
                str(k)
                for (k,) in connection.execute(query.where(s.relations.c.target_key.in_(chunk)))
            )
    return sorted(found)
