"""Hub storage of quantile-normalization targets: versioned, one current per organism and
value kind, the values stored as little-endian float64 bytes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import func, insert, select, update

from exprhub.hub import schema as s

if TYPE_CHECKING:
    from exprhub.hub.hub import Hub
    from exprhub.hub.writer import HubWriter

__all__ = ["StoredTarget", "current_target", "store_target", "targets"]


@dataclass(frozen=True)
class StoredTarget:
    """A quantile-normalization target stored in the hub."""

    id: int
    tax_id: int
    organism: str
    value_kind: str
    version: int
    sha256: str
    length: int
    n_samples: int
    platform_key: str | None
    sample_ids: tuple[str, ...]
    created_at: str
    current: bool
    values: np.ndarray | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready description (without the values)."""
        return {
            "tax_id": self.tax_id,
            "organism": self.organism,
            "value_kind": self.value_kind,
            "version": self.version,
            "sha256": self.sha256,
            "length": self.length,
            "n_samples": self.n_samples,
            "platform": self.platform_key,
            "sample_ids": list(self.sample_ids),
            "created_at": self.created_at,
            "current": self.current,
        }


def _target(row: Any, with_values: bool) -> StoredTarget:
    values = None
    if with_values:
        values = np.frombuffer(row.target_values, dtype="<f8").copy()
    created = row.created_at
    return StoredTarget(
        row.id,
        row.tax_id,
        row.organism,
        row.value_kind,
        row.version,
        row.sha256,
        row.length,
        row.n_samples,
        row.platform_key,
        tuple(json.loads(row.sample_ids)),
        created.isoformat() if hasattr(created, "isoformat") else str(created),
        bool(row.current),
        values,
    )


def targets(hub: Hub, *, current_only: bool = False, values: bool = False) -> list[StoredTarget]:
    """Stored QN targets, by organism, value kind and version."""
    query = select(s.qn_targets).order_by(
        s.qn_targets.c.tax_id, s.qn_targets.c.value_kind, s.qn_targets.c.version
    )
    if current_only:
        query = query.where(s.qn_targets.c.current)
    with hub.engine.connect() as connection:
        return [_target(r, values) for r in connection.execute(query)]


def current_target(hub: Hub, tax_id: int, value_kind: str) -> StoredTarget | None:
    """The current QN target of an organism and value kind (with its values), if any."""
    with hub.engine.connect() as connection:
        row = connection.execute(
            select(s.qn_targets).where(
                s.qn_targets.c.tax_id == tax_id,
                s.qn_targets.c.value_kind == value_kind,
                s.qn_targets.c.current,
            )
        ).first()
    return _target(row, True) if row is not None else None


def store_target(
    writer: HubWriter,
    *,
    tax_id: int,
    organism: str,
    value_kind: str,
    sha256: str,
    values: np.ndarray,
    sample_ids: Sequence[str],
    platform_key: str | None,
) -> int:
    """Store a new target version and make it current; return its version number."""
    connection = writer.connection
    where = (s.qn_targets.c.tax_id == tax_id, s.qn_targets.c.value_kind == value_kind)
    latest = connection.execute(select(func.max(s.qn_targets.c.version)).where(*where)).scalar()
    version = int(latest or 0) + 1
    connection.execute(update(s.qn_targets).where(*where).values(current=False))
    connection.execute(
        insert(s.qn_targets).values(
            tax_id=tax_id,
            organism=organism,
            value_kind=value_kind,
            version=version,
            sha256=sha256,
            length=int(np.asarray(values).size),
            n_samples=len(sample_ids),
            platform_key=platform_key,
            sample_ids=json.dumps(list(sample_ids)),
            target_values=np.ascontiguousarray(values, dtype="<f8").tobytes(),
            current=True,
            created_at=writer.now,
        )
    )
    return version
