"""The refinery's tables in the hub's database: gene references (``genes``), quantile-
normalization targets (``qn_targets``) and the per-sample bookkeeping and provenance of
refined samples (``refined_samples``).

Plain storage: what the rows mean and how they are made is the refinery's
(:mod:`exprhub.refine.store`). Writes take the :class:`~exprhub.hub.HubWriter` of a
transaction; reads take the hub.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import delete, func, insert, select, update

from exprhub.hub import schema as s

if TYPE_CHECKING:
    from exprhub.hub.hub import Hub
    from exprhub.hub.writer import HubWriter

__all__ = [
    "GeneRow",
    "ProcessorSummary",
    "RefineState",
    "RefinedSample",
    "StoredTarget",
    "add_missing_genes",
    "current_target",
    "gene_counts",
    "gene_rows",
    "gene_symbols",
    "processor_summaries",
    "put_refine_states",
    "refine_documents",
    "refine_states",
    "refined_sample",
    "replace_genes",
    "store_target",
    "targets",
]

_INSERT_CHUNK = 5_000
#: Keys per ``IN (...)`` list.
_KEY_CHUNK = 500

# ------------------------------------------------------------------------------- genes


@dataclass(frozen=True)
class GeneRow:
    """One gene of an organism as stored in the hub."""

    tax_id: int
    gene_id: str
    symbol: str
    synonyms: tuple[str, ...] = ()
    ensembl_ids: tuple[str, ...] = ()
    description: str = ""
    type_of_gene: str = ""
    source: str = "gene_info"

    def as_row(self) -> dict[str, Any]:
        """Column values for the ``genes`` table."""
        return {
            "tax_id": self.tax_id,
            "gene_id": self.gene_id,
            "symbol": self.symbol[:255],
            "synonyms": "|".join(self.synonyms),
            "ensembl_ids": "|".join(self.ensembl_ids),
            "description": self.description,
            "type_of_gene": self.type_of_gene[:64],
            "source": self.source[:255],
        }


def _split(text: str) -> tuple[str, ...]:
    return tuple(x for x in text.split("|") if x)


def replace_genes(writer: HubWriter, tax_id: int, rows: Iterable[GeneRow]) -> int:
    """Replace every stored gene of ``tax_id`` by ``rows``; return how many were stored."""
    connection = writer.connection
    connection.execute(delete(s.genes).where(s.genes.c.tax_id == tax_id))
    n = 0
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row.as_row())
        if len(chunk) >= _INSERT_CHUNK:
            connection.execute(insert(s.genes), chunk)
            n += len(chunk)
            chunk = []
    if chunk:
        connection.execute(insert(s.genes), chunk)
        n += len(chunk)
    return n


def add_missing_genes(writer: HubWriter, tax_id: int, rows: Iterable[GeneRow]) -> int:
    """Store the genes among ``rows`` that the hub does not know yet for ``tax_id`` (the first
    row of a gene id wins); return how many were added."""
    connection = writer.connection
    known = set(
        connection.execute(select(s.genes.c.gene_id).where(s.genes.c.tax_id == tax_id)).scalars()
    )
    new = []
    for row in rows:
        if row.gene_id not in known:
            known.add(row.gene_id)
            new.append(row.as_row())
    for i in range(0, len(new), _INSERT_CHUNK):
        connection.execute(insert(s.genes), new[i : i + _INSERT_CHUNK])
    return len(new)


def gene_rows(hub: Hub, tax_id: int, *, source: str | None = None) -> list[GeneRow]:
    """Stored genes of an organism by gene id (optionally only those from one source)."""
    query = select(s.genes).where(s.genes.c.tax_id == tax_id).order_by(s.genes.c.gene_id)
    if source is not None:
        query = query.where(s.genes.c.source == source)
    with hub.engine.connect() as connection:
        return [
            GeneRow(
                r.tax_id,
                r.gene_id,
                r.symbol,
                _split(r.synonyms),
                _split(r.ensembl_ids),
                r.description,
                r.type_of_gene,
                r.source,
            )
            for r in connection.execute(query)
        ]


def gene_counts(hub: Hub) -> dict[int, dict[str, int]]:
    """Number of stored genes per tax id and source."""
    out: dict[int, dict[str, int]] = {}
    with hub.engine.connect() as connection:
        for tax, source, n in connection.execute(
            select(s.genes.c.tax_id, s.genes.c.source, func.count()).group_by(
                s.genes.c.tax_id, s.genes.c.source
            )
        ):
            out.setdefault(int(tax), {})[source] = int(n)
    return out


def gene_symbols(hub: Hub, tax_id: int) -> dict[str, str]:
    """Gene id -> symbol for an organism."""
    with hub.engine.connect() as connection:
        return {
            g: sym
            for g, sym in connection.execute(
                select(s.genes.c.gene_id, s.genes.c.symbol).where(s.genes.c.tax_id == tax_id)
            )
        }


# ------------------------------------------------------------------------------- QN targets


@dataclass(frozen=True)
class StoredTarget:
    """A quantile-normalization target stored in the hub (versioned, one current per
    organism and value kind; the values are stored as little-endian float64 bytes)."""

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


def _timestamp(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _target(row: Any, with_values: bool) -> StoredTarget:
    values = None
    if with_values:
        values = np.frombuffer(row.target_values, dtype="<f8").copy()
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
        _timestamp(row.created_at),
        bool(row.current),
        values,
    )


def targets(hub: Hub, *, current_only: bool = False, values: bool = False) -> list[StoredTarget]:
    """Stored QN targets, by organism, value kind and version (with their values if
    ``values``)."""
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


# ------------------------------------------------------------------------------- refined samples


@dataclass(frozen=True)
class RefineState:
    """The refinery's bookkeeping for one sample (a ``refined_samples`` row without its
    provenance document)."""

    sample_key: str
    status: str
    batch_key: str | None
    tax_id: int | None
    value_kind: str | None
    platform_key: str | None
    processor: str
    processor_version: str
    input_sha256: str
    values_sha256: str | None
    genes_observed: int | None
    qn_target_sha256: str | None
    message: str | None


@dataclass(frozen=True)
class RefinedSample:
    """A ``refined_samples`` row in full: bookkeeping, provenance document and when it was
    written (ISO 8601)."""

    state: RefineState
    document: dict[str, Any]
    refined_at: str


@dataclass(frozen=True)
class ProcessorSummary:
    """One processor version that refined samples: how many it finished and the provenance
    document of the last one it finished."""

    name: str
    version: str
    samples: int
    latest_document: dict[str, Any]


_STATE_COLUMNS = [c for c in s.refined_samples.c if c.name not in ("document", "refined_at")]


def _key_chunks(keys: Iterable[str]) -> list[list[str]]:
    wanted = sorted(set(keys))
    return [wanted[i : i + _KEY_CHUNK] for i in range(0, len(wanted), _KEY_CHUNK)]


def refine_states(hub: Hub, keys: Iterable[str] | None = None) -> dict[str, RefineState]:
    """Bookkeeping rows of refined samples (all, or those among ``keys``), by sample key."""
    out: dict[str, RefineState] = {}
    with hub.engine.connect() as connection:
        if keys is None:
            queries = [select(*_STATE_COLUMNS)]
        else:
            queries = [
                select(*_STATE_COLUMNS).where(s.refined_samples.c.sample_key.in_(chunk))
                for chunk in _key_chunks(keys)
            ]
        for query in queries:
            for row in connection.execute(query):
                out[row.sample_key] = RefineState(**row._mapping)
    return out


def refine_documents(hub: Hub, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Provenance documents of the refined samples among ``keys``, by sample key."""
    out: dict[str, dict[str, Any]] = {}
    with hub.engine.connect() as connection:
        for chunk in _key_chunks(keys):
            for key, doc in connection.execute(
                select(s.refined_samples.c.sample_key, s.refined_samples.c.document).where(
                    s.refined_samples.c.sample_key.in_(chunk)
                )
            ):
                out[key] = json.loads(doc)
    return out


def refined_sample(hub: Hub, key: str) -> RefinedSample | None:
    """The full ``refined_samples`` row of one sample (by its exact key), None if the sample
    was never refined."""
    with hub.engine.connect() as connection:
        row = connection.execute(
            select(s.refined_samples).where(s.refined_samples.c.sample_key == key)
        ).first()
    if row is None:
        return None
    state = RefineState(**{c.name: getattr(row, c.name) for c in _STATE_COLUMNS})
    return RefinedSample(state, json.loads(row.document), _timestamp(row.refined_at))


def put_refine_states(
    writer: HubWriter, items: Sequence[tuple[RefineState, dict[str, Any]]]
) -> None:
    """Store (replace) the bookkeeping rows and provenance documents of several samples."""
    if not items:
        return
    connection = writer.connection
    keys = [state.sample_key for state, _ in items]
    for i in range(0, len(keys), _KEY_CHUNK):
        connection.execute(
            delete(s.refined_samples).where(
                s.refined_samples.c.sample_key.in_(keys[i : i + _KEY_CHUNK])
            )
        )
    rows = []
    for state, document in items:
        row = asdict(state)
        row["document"] = json.dumps(document, ensure_ascii=False, default=str)
        row["refined_at"] = writer.now
        rows.append(row)
    connection.execute(insert(s.refined_samples), rows)


def processor_summaries(hub: Hub) -> list[ProcessorSummary]:
    """Each processor name and version that finished (status ``done``) samples, by name and
    version."""
    table = s.refined_samples
    out: list[ProcessorSummary] = []
    with hub.engine.connect() as connection:
        groups = connection.execute(
            select(table.c.processor, table.c.processor_version, func.count())
            .where(table.c.status == "done")
            .group_by(table.c.processor, table.c.processor_version)
            .order_by(table.c.processor, table.c.processor_version)
        ).fetchall()
        for name, version, count in groups:
            document = connection.execute(
                select(table.c.document)
                .where(
                    table.c.processor == name,
                    table.c.processor_version == version,
                    table.c.status == "done",
                )
                .order_by(table.c.refined_at.desc())
                .limit(1)
            ).scalar_one()
            out.append(ProcessorSummary(name, version, int(count), json.loads(document)))
    return out
