"""Hub-side storage of the refinery: gene references, QN targets, provenance, refined matrices.

Everything here is plain storage (rows, arrays, JSON); the numerical work is in
:mod:`exprhub.refine` and the orchestration in :mod:`exprhub.refine.pipeline`.

Matrices (genes x samples, Entrez Gene IDs as row labels), one per organism and value kind:

``genes/<tax_id>/<value kind>``
    Gene-level log2 values of each sample before quantile normalization.
``refined/<tax_id>/<value kind>``
    The refined values: the gene-level values normalized to the organism's current QN target
    (or the gene-level values themselves when QN was skipped or does not apply).

Each refined sample has one row in ``refined_samples`` (status, checksums, QN target digest)
whose ``document`` holds the full provenance (see :func:`provenance`).

This module is the refinery's one entry to hub storage: it also re-exports the gene
reference (:mod:`exprhub.hub.genes`) and the QN targets (:mod:`exprhub.hub.qn_targets`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import delete, func, insert, select, update

from exprhub.hub import schema as s
from exprhub.hub.errors import HubError, RecordNotFound
from exprhub.hub.genes import (
    ORGANISM_TAX_IDS,
    GeneRow,
    add_platform_genes,
    gene_counts,
    gene_rows,
    gene_symbols,
    replace_genes,
    tax_id_for,
)
from exprhub.hub.qn_targets import StoredTarget, current_target, store_target, targets
from exprhub.records import RecordType, normalize_accession

if TYPE_CHECKING:
    import pandas as pd

    from exprhub.hub.hub import Hub
    from exprhub.hub.writer import HubWriter

__all__ = [
    "ORGANISM_TAX_IDS",
    "GeneRow",
    "RefineState",
    "StoredTarget",
    "add_platform_genes",
    "current_target",
    "gene_counts",
    "gene_matrix_name",
    "gene_rows",
    "gene_symbols",
    "provenance",
    "put_refine_state",
    "put_refine_states",
    "read_sample_columns",
    "refine_states",
    "refined_matrix",
    "refined_matrix_name",
    "replace_genes",
    "samples_for_accession",
    "store_target",
    "targets",
    "tax_id_for",
    "write_refined_tsv",
    "write_sample_column",
]


def gene_matrix_name(tax_id: int, value_kind: str) -> str:
    """Matrix of gene-level values before quantile normalization."""
    return f"genes/{tax_id}/{value_kind}"


def refined_matrix_name(tax_id: int, value_kind: str) -> str:
    """Matrix of refined (normalized) gene-level values."""
    return f"refined/{tax_id}/{value_kind}"


# ------------------------------------------------------------------------------- provenance


@dataclass(frozen=True)
class RefineState:
    """The refinery's bookkeeping for one sample."""

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


def refine_states(hub: Hub, keys: Iterable[str] | None = None) -> dict[str, RefineState]:
    """Bookkeeping rows of refined samples (all, or those among ``keys``)."""
    cols = [c for c in s.refined_samples.c if c.name not in ("document", "refined_at")]
    out: dict[str, RefineState] = {}
    with hub.engine.connect() as connection:
        if keys is None:
            queries = [select(*cols)]
        else:
            wanted = sorted(set(keys))
            queries = [
                select(*cols).where(s.refined_samples.c.sample_key.in_(wanted[i : i + 500]))
                for i in range(0, len(wanted), 500)
            ]
        for query in queries:
            for row in connection.execute(query):
                out[row.sample_key] = RefineState(**row._mapping)
    return out


def put_refine_state(writer: HubWriter, state: RefineState, document: dict[str, Any]) -> None:
    """Store (replace) the bookkeeping row and provenance document of one sample."""
    put_refine_states(writer, [(state, document)])


def put_refine_states(
    writer: HubWriter, items: Sequence[tuple[RefineState, dict[str, Any]]]
) -> None:
    """Store (replace) the bookkeeping rows and provenance documents of several samples."""
    if not items:
        return
    connection = writer.connection
    keys = [state.sample_key for state, _ in items]
    for i in range(0, len(keys), 500):
        connection.execute(
            delete(s.refined_samples).where(s.refined_samples.c.sample_key.in_(keys[i : i + 500]))
        )
    rows = []
    for state, document in items:
        row = dict(state.__dict__)
        row["document"] = json.dumps(document, ensure_ascii=False, default=str)
        row["refined_at"] = writer.now
        rows.append(row)
    connection.execute(insert(s.refined_samples), rows)


def provenance(hub: Hub, gsm: str) -> dict[str, Any]:
    """How a sample was refined: status, processor, parameters, checksums, tool versions, QN
    target, mapping statistics and scale decision, JSON-ready.

    Raises
    ------
    RecordNotFound
        If the sample has not been refined.
    """
    key = normalize_accession(gsm)
    with hub.engine.connect() as connection:
        row = connection.execute(
            select(s.refined_samples).where(s.refined_samples.c.sample_key == key)
        ).first()
    if row is None:
        raise RecordNotFound(f"{key} has not been refined (run `exprhub refine {key}`)")
    document = json.loads(row.document)
    out: dict[str, Any] = {
        "sample": key,
        "status": row.status,
        "message": row.message,
        "refined_at": row.refined_at.isoformat()
        if hasattr(row.refined_at, "isoformat")
        else str(row.refined_at),
        "processor": {"name": row.processor, "version": row.processor_version},
        "tax_id": row.tax_id,
        "value_kind": row.value_kind,
        "platform": row.platform_key,
        "batch": row.batch_key,
        "checksums": {"input_sha256": row.input_sha256, "values_sha256": row.values_sha256},
        "qn_target_sha256": row.qn_target_sha256,
    }
    out.update({k: v for k, v in document.items() if k not in out})
    return out


# ------------------------------------------------------------------------------- matrices


def write_sample_column(
    writer: HubWriter,
    matrix_name: str,
    kind: str,
    sample_key: str,
    genes: Sequence[str],
    values: np.ndarray,
) -> None:
    """Append one sample's gene-level values to a refinery matrix inside a transaction.

    A previous column of the sample in this matrix becomes inactive when the writer flushes;
    its columns in other matrices of the same kind (another organism or value kind) are
    deactivated now. Row indices are cached per gene list, so pass the same list object for
    samples sharing genes.
    """
    state = writer._matrix(matrix_name, kind, matrix_name.split("/", 1)[-1])
    cache: dict[tuple[int, int], tuple[Sequence[str], np.ndarray]] = writer.__dict__.setdefault(
        "_refined_rows", {}
    )
    cached = cache.get((id(state), id(genes)))
    if cached is None or cached[0] is not genes:
        rows = state.rows_for(np.asarray(list(genes), dtype=object))
        cache[(id(state), id(genes))] = (genes, rows)
    else:
        rows = cached[1]
    other = writer.__dict__.setdefault("_refined_other", {})
    if kind not in other:
        other[kind] = [
            i
            for (i,) in writer.connection.execute(
                select(s.matrices.c.id).where(s.matrices.c.kind == kind)
            )
            if i != state.id
        ]
    if other[kind]:
        writer.connection.execute(
            update(s.matrix_columns)
            .where(
                s.matrix_columns.c.sample_key == sample_key,
                s.matrix_columns.c.matrix_id.in_(other[kind]),
                s.matrix_columns.c.matrix_id != state.id,
            )
            .values(active=False)
        )
    writer._add_column(state, sample_key, rows, np.asarray(values, dtype=np.float32))


def read_sample_columns(
    hub: Hub, matrix_name: str, samples: Sequence[str]
) -> tuple[list[str], list[str], np.ndarray]:
    """Current columns of ``samples`` in a matrix: ``(features, found samples, values)``.

    Only the requested columns are read; values are float32, features x found samples.
    """
    with hub.engine.connect() as connection:
        row = connection.execute(
            select(s.matrices.c.id, s.matrices.c.n_rows).where(s.matrices.c.name == matrix_name)
        ).first()
    if row is None:
        return [], [], np.empty((0, 0), dtype=np.float32)
    columns = dict(hub.matrix_samples(matrix_name))
    found = [k for k in samples if k in columns]
    features = hub.matrix_features(matrix_name)
    if not found:
        return features, [], np.empty((row.n_rows, 0), dtype=np.float32)
    values = hub.store.open(matrix_name).columns([columns[k] for k in found], row.n_rows)
    return features, found, values


def _sample_matrices(hub: Hub, samples: Sequence[str], kind: str) -> dict[str, list[str]]:
    wanted = set(samples)
    out: dict[str, list[str]] = {}
    with hub.engine.connect() as connection:
        for name, key in connection.execute(
            select(s.matrices.c.name, s.matrix_columns.c.sample_key)
            .join(s.matrix_columns, s.matrix_columns.c.matrix_id == s.matrices.c.id)
            .where(s.matrices.c.kind == kind, s.matrix_columns.c.active)
        ):
            if key in wanted:
                out.setdefault(name, []).append(key)
    return out


def refined_matrix(
    hub: Hub, samples: Sequence[str], *, stage: str = "refined", sort: bool = True
) -> pd.DataFrame:
    """Refined values of ``samples`` as a genes x samples DataFrame (float32).

    Parameters
    ----------
    samples
        Sample accessions; those without refined values are left out.
    stage
        ``"refined"`` (normalized) or ``"genes"`` (gene-level before normalization).
    sort
        Sort the rows by gene id (numerically when all ids are numbers).

    Only the requested columns are read from the store. Samples of several organisms or value
    kinds are joined on the gene id (NaN where a sample lacks a gene).
    """
    import pandas as pd

    if stage not in ("refined", "genes"):
        raise ValueError(f"stage must be 'refined' or 'genes', got {stage!r}")
    keys = [normalize_accession(k) for k in samples]
    frames = []
    kind = "refined" if stage == "refined" else "gene-level"
    for name, found in sorted(_sample_matrices(hub, keys, kind).items()):
        features, got, values = read_sample_columns(hub, name, found)
        frames.append(pd.DataFrame(values, index=pd.Index(features, name="gene_id"), columns=got))
    if not frames:
        return pd.DataFrame(index=pd.Index([], name="gene_id"), dtype=np.float32)
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, axis=1, join="outer")
    frame = frame[[k for k in keys if k in frame.columns]]
    frame = frame.dropna(how="all")
    if sort:
        ids = frame.index.to_series()
        numeric = pd.to_numeric(ids, errors="coerce")
        if numeric.notna().all():
            frame = frame.iloc[np.argsort(numeric.to_numpy(), kind="stable")]
        else:
            frame = frame.sort_index()
    frame.index.name = "gene_id"
    return frame


def samples_for_accession(hub: Hub, accession: str) -> list[str]:
    """Samples an accession stands for: a sample itself, a series' or platform's samples, or
    a DataSet's sample columns (sample records or not).

    Raises
    ------
    RecordNotFound
        When the accession is unknown.
    """
    key = normalize_accession(accession)
    if key.startswith("GSM"):
        if not hub.has(key):
            related = hub.related(key)  # raises when nothing names it
            if not related:
                raise RecordNotFound(f"{key} is not in the hub")
        return [key]
    if key.startswith("GDS"):
        record = hub.record(key, RecordType.DATASET, table=False)
        names = (
            [n for n, _ in hub.matrix_samples(f"dataset/{record.key}")]
            if _has_matrix(hub, f"dataset/{record.key}")
            else []
        )
        return names or _dataset_samples(hub, record.key)
    related = hub.related(key)
    out = list(dict.fromkeys(related.get("sample", [])))
    if key.startswith("GSE"):
        for sub in related.get("subseries", []):
            out += [k for k in hub.related(sub).get("sample", []) if k not in out]
    if key.startswith("GPL"):  # samples known only as columns of the platform's DataSets
        for gds in related.get("dataset", []):
            if hub.has(gds, RecordType.DATASET):
                out += [k for k in samples_for_accession(hub, gds) if k not in out]
    return out


def _has_matrix(hub: Hub, name: str) -> bool:
    with hub.engine.connect() as connection:
        return (
            connection.execute(select(s.matrices.c.id).where(s.matrices.c.name == name)).first()
            is not None
        )


def _dataset_samples(hub: Hub, gds: str) -> list[str]:
    out: list[str] = []
    for subset in hub.related(gds).get("subset", []):
        for sample in hub.related(subset).get("sample", []):
            if sample not in out:
                out.append(sample)
    return out


def write_refined_tsv(
    hub: Hub, accession: str, target_path: str | Path, *, samples: Sequence[str] | None = None
) -> int:
    """Write the refined values of a sample, series, platform or DataSet as a genes x samples
    TSV (``gene_id``, ``symbol``, then one column per sample; empty for missing); return the
    number of samples written. ``samples``: only these (default: all of the accession's).
    Values are written exactly: each reads back as the stored float32.

    Raises
    ------
    HubError
        When none of the accession's samples has refined values.
    """
    samples = samples_for_accession(hub, accession) if samples is None else list(samples)
    frame = refined_matrix(hub, samples)
    if frame.shape[1] == 0:
        raise HubError(
            f"{normalize_accession(accession)} has no refined samples "
            f"(run `exprhub refine {normalize_accession(accession)}` first)"
        )
    symbols: dict[str, str] = {}
    states = refine_states(hub, list(frame.columns))
    for tax in sorted({st.tax_id for st in states.values() if st.tax_id is not None}):
        for gene, symbol in gene_symbols(hub, tax).items():
            symbols.setdefault(gene, symbol)
    path = Path(target_path)
    values = frame.to_numpy(dtype=np.float32)
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("\t".join(["gene_id", "symbol", *frame.columns]) + "\n")
        for gene, row in zip(frame.index, values, strict=True):
            # str of a float32 is its shortest repr that reads back to the same float32
            # (about 2 s per million values; "%.9g" is exact too, but longer)
            cells = ["" if v != v else str(v) for v in row]
            handle.write("\t".join([str(gene), symbols.get(str(gene), ""), *cells]) + "\n")
    return int(frame.shape[1])


def processors(hub: Hub) -> list[dict[str, Any]]:
    """Processors that refined samples here: name, version, samples done and the tool
    versions they recorded (as refine.bio's processor list)."""
    table = s.refined_samples
    out: list[dict[str, Any]] = []
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
            tools = json.loads(document).get("tools", {})
            out.append({"name": name, "version": version, "samples": int(count), "tools": tools})
    return out
