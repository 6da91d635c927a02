"""Which QN target version each refined sample is normalized to (``qn_assignments``), every
move of samples between versions (``qn_target_moves``), and stored target versions by number.

Plain storage, like :mod:`exprhub.hub.refinery_tables`: the rule that decides when a sample
moves is the refinery's (:mod:`exprhub.refine.pipeline_qn`). Writes take the
:class:`~exprhub.hub.HubWriter` of a transaction; reads take the hub.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select, update

from exprhub.hub import schema as s
from exprhub.hub.refinery_tables import StoredTarget, _target, _timestamp

if TYPE_CHECKING:
    from exprhub.hub.hub import Hub
    from exprhub.hub.writer import HubWriter

__all__ = [
    "QNAssignment",
    "TargetMove",
    "assign_targets",
    "make_target_current",
    "qn_assignments",
    "record_target_moves",
    "sample_target_moves",
    "target_by_digest",
    "target_moves",
    "target_usage",
    "target_version",
]

_KEY_CHUNK = 500


@dataclass(frozen=True)
class QNAssignment:
    """The target version a delivered sample is normalized to (``None``: no target)."""

    sample_key: str
    tax_id: int
    value_kind: str
    target_version: int | None
    target_sha256: str | None
    assigned_at: str


@dataclass(frozen=True)
class TargetMove:
    """Samples of one organism and value kind that one run moved from a target version to
    another (``None``: no target)."""

    run_id: str
    tax_id: int
    value_kind: str
    from_version: int | None
    to_version: int | None
    reason: str
    samples: int
    moved_at: str
    sample_ids: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {
            "run_id": self.run_id,
            "tax_id": self.tax_id,
            "value_kind": self.value_kind,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "reason": self.reason,
            "samples": self.samples,
            "moved_at": self.moved_at,
            "sample_ids": list(self.sample_ids),
        }


def _assignment(row: Any) -> QNAssignment:
    return QNAssignment(
        row.sample_key,
        row.tax_id,
        row.value_kind,
        row.target_version,
        row.target_sha256,
        _timestamp(row.assigned_at),
    )


def qn_assignments(
    hub: Hub,
    keys: Iterable[str] | None = None,
    *,
    tax_id: int | None = None,
    value_kind: str | None = None,
) -> dict[str, QNAssignment]:
    """Assignments by sample key: those of ``keys``, or of one organism and value kind, or all."""
    table = s.qn_assignments
    base = select(table)
    if tax_id is not None:
        base = base.where(table.c.tax_id == tax_id)
    if value_kind is not None:
        base = base.where(table.c.value_kind == value_kind)
    if keys is None:
        queries = [base]
    else:
        wanted = sorted(set(keys))
        queries = [
            base.where(table.c.sample_key.in_(wanted[i : i + _KEY_CHUNK]))
            for i in range(0, len(wanted), _KEY_CHUNK)
        ]
    out: dict[str, QNAssignment] = {}
    with hub.engine.connect() as connection:
        for query in queries:
            for row in connection.execute(query):
                out[row.sample_key] = _assignment(row)
    return out


def assign_targets(
    writer: HubWriter,
    keys: Iterable[str],
    *,
    tax_id: int,
    value_kind: str,
    target: StoredTarget | None,
) -> None:
    """Record that ``keys`` are normalized to ``target`` (``None``: delivered without one)."""
    wanted = sorted(set(keys))
    if not wanted:
        return
    connection = writer.connection
    table = s.qn_assignments
    for i in range(0, len(wanted), _KEY_CHUNK):
        connection.execute(delete(table).where(table.c.sample_key.in_(wanted[i : i + _KEY_CHUNK])))
    connection.execute(
        insert(table),
        [
            {
                "sample_key": key,
                "tax_id": tax_id,
                "value_kind": value_kind,
                "target_version": target.version if target is not None else None,
                "target_sha256": target.sha256 if target is not None else None,
                "assigned_at": writer.now,
            }
            for key in wanted
        ],
    )


def record_target_moves(
    writer: HubWriter,
    run_id: str,
    moves: Iterable[tuple[str, int | None]],
    *,
    tax_id: int,
    value_kind: str,
    to_version: int | None,
    reason: str,
) -> None:
    """Record that samples moved (``(sample key, from version)`` pairs) to ``to_version``."""
    rows = [
        {
            "run_id": run_id,
            "sample_key": key,
            "tax_id": tax_id,
            "value_kind": value_kind,
            "from_version": from_version,
            "to_version": to_version,
            "reason": reason,
            "moved_at": writer.now,
        }
        for key, from_version in moves
    ]
    if rows:
        writer.connection.execute(insert(s.qn_target_moves), rows)


def target_moves(hub: Hub, *, with_samples: bool = False) -> list[TargetMove]:
    """Every recorded move, one entry per run, organism, value kind and pair of versions,
    oldest first (with the moved samples' keys if ``with_samples``)."""
    table = s.qn_target_moves
    group = (
        table.c.run_id,
        table.c.tax_id,
        table.c.value_kind,
        table.c.from_version,
        table.c.to_version,
        table.c.reason,
    )
    query = (
        select(*group, func.count(), func.min(table.c.moved_at), func.min(table.c.id))
        .group_by(*group)
        .order_by(func.min(table.c.id))
    )
    out: list[TargetMove] = []
    with hub.engine.connect() as connection:
        for run_id, tax, kind, from_v, to_v, reason, n, moved_at, _ in connection.execute(query):
            ids: tuple[str, ...] = ()
            if with_samples:
                ids = tuple(
                    connection.execute(
                        select(table.c.sample_key)
                        .where(
                            table.c.run_id == run_id,
                            table.c.tax_id == tax,
                            table.c.value_kind == kind,
                            table.c.from_version.is_(None)
                            if from_v is None
                            else table.c.from_version == from_v,
                            table.c.to_version.is_(None)
                            if to_v is None
                            else table.c.to_version == to_v,
                        )
                        .order_by(table.c.sample_key)
                    ).scalars()
                )
            out.append(
                TargetMove(
                    run_id, tax, kind, from_v, to_v, reason, int(n), _timestamp(moved_at), ids
                )
            )
    return out


def sample_target_moves(hub: Hub, key: str) -> list[dict[str, Any]]:
    """The moves of one sample between target versions, oldest first (JSON-ready)."""
    table = s.qn_target_moves
    with hub.engine.connect() as connection:
        rows = connection.execute(
            select(table).where(table.c.sample_key == key).order_by(table.c.id)
        ).fetchall()
    return [
        {
            "from_version": r.from_version,
            "to_version": r.to_version,
            "reason": r.reason,
            "run_id": r.run_id,
            "moved_at": _timestamp(r.moved_at),
        }
        for r in rows
    ]


def target_usage(hub: Hub) -> dict[tuple[int, str, int | None], int]:
    """How many samples are normalized to each target version (``None``: to none), by
    ``(tax_id, value_kind, version)``."""
    table = s.qn_assignments
    query = select(
        table.c.tax_id, table.c.value_kind, table.c.target_version, func.count()
    ).group_by(table.c.tax_id, table.c.value_kind, table.c.target_version)
    with hub.engine.connect() as connection:
        return {(int(t), k, v): int(n) for t, k, v, n in connection.execute(query)}


def target_version(hub: Hub, tax_id: int, value_kind: str, version: int) -> StoredTarget | None:
    """One stored target version of an organism and value kind (with its values), if any."""
    table = s.qn_targets
    with hub.engine.connect() as connection:
        row = connection.execute(
            select(table).where(
                table.c.tax_id == tax_id,
                table.c.value_kind == value_kind,
                table.c.version == version,
            )
        ).first()
    return _target(row, True) if row is not None else None


def target_by_digest(hub: Hub, tax_id: int, value_kind: str, sha256: str) -> StoredTarget | None:
    """The oldest stored target of an organism and value kind with this digest, if any."""
    table = s.qn_targets
    with hub.engine.connect() as connection:
        row = connection.execute(
            select(table)
            .where(
                table.c.tax_id == tax_id,
                table.c.value_kind == value_kind,
                table.c.sha256 == sha256,
            )
            .order_by(table.c.version)
            .limit(1)
        ).first()
    return _target(row, True) if row is not None else None


def make_target_current(writer: HubWriter, tax_id: int, value_kind: str, version: int) -> None:
    """Make an existing target version the current one of its organism and value kind (target
    values are never changed: only which version is current)."""
    table = s.qn_targets
    where = (table.c.tax_id == tax_id, table.c.value_kind == value_kind)
    writer.connection.execute(update(table).where(*where).values(current=False))
    writer.connection.execute(
        update(table).where(*where, table.c.version == version).values(current=True)
    )
