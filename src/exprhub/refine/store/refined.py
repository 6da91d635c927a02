"""Refined values in the hub: matrix naming, writing a sample's gene-level column, reading
refined samples back (as a DataFrame or a TSV file) and their provenance.

Matrices (genes x samples, Entrez Gene IDs as row labels), one per organism and value kind:

``genes/<tax_id>/<value kind>``
    Gene-level log2 values of each sample before quantile normalization (matrix kind
    ``gene-level``).
``refined/<tax_id>/<value kind>``
    The refined values: the gene-level values normalized to the organism's current QN target
    (or the gene-level values themselves when QN was skipped or does not apply; matrix kind
    ``refined``).

Each refined sample has one row in the hub's ``refined_samples`` table (status, checksums,
QN target digest) whose document holds the full provenance (see :func:`provenance`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from exprhub.hub import Hub, HubError, HubWriter, RecordNotFound
from exprhub.hub.joined_columns import joined_columns
from exprhub.hub.qn_history import qn_assignments, sample_target_moves, target_usage
from exprhub.hub.refinery_tables import (
    gene_symbols,
    processor_summaries,
    refine_states,
    refined_sample,
    targets,
)
from exprhub.records import normalize_accession

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "GENE_LEVEL_KIND",
    "REFINED_KIND",
    "gene_matrix_name",
    "processors",
    "provenance",
    "refined_matrix",
    "refined_matrix_name",
    "samples_for_accession",
    "target_listing",
    "write_refined_tsv",
    "write_sample_column",
]

#: Matrix kind of the gene-level values.
GENE_LEVEL_KIND = "gene-level"
#: Matrix kind of the refined values.
REFINED_KIND = "refined"


def gene_matrix_name(tax_id: int, value_kind: str) -> str:
    """Matrix of gene-level values before quantile normalization."""
    return f"genes/{tax_id}/{value_kind}"


def refined_matrix_name(tax_id: int, value_kind: str) -> str:
    """Matrix of refined (normalized) gene-level values."""
    return f"refined/{tax_id}/{value_kind}"


# ------------------------------------------------------------------------------- writing


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
    deactivated now. Rows are mapped once per gene list, so pass the same (unchanged) list
    object for samples sharing genes.
    """
    matrix = writer.matrix(matrix_name, kind, matrix_name.split("/", 1)[-1])
    rows = matrix.rows_for(genes)
    writer.deactivate_columns(sample_key, kind, keep=matrix)
    writer.add_column(matrix, sample_key, rows, np.asarray(values, dtype=np.float32))


# ------------------------------------------------------------------------------- reading


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
    kind = REFINED_KIND if stage == "refined" else GENE_LEVEL_KIND
    joined = joined_columns(hub, keys, kind)
    if not joined.parts:
        return pd.DataFrame(index=pd.Index([], name="gene_id"), dtype=np.float32)
    found = set(joined.samples)
    frame = joined.frame(hub, [k for k in keys if k in found])
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
    """Samples an accession stands for (:meth:`exprhub.hub.Hub.samples_of`).

    Raises
    ------
    RecordNotFound
        When the accession is unknown.
    """
    return hub.samples_of(accession)


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


# ------------------------------------------------------------------------------- provenance


def provenance(hub: Hub, gsm: str) -> dict[str, Any]:
    """How a sample was refined: status, processor, parameters, checksums, tool versions, QN
    target (``qn_target_version``, ``qn_target_sha256``, and ``qn_target_moves`` when the
    sample moved between versions), mapping statistics and scale decision, JSON-ready.

    Raises
    ------
    RecordNotFound
        If the sample has not been refined.
    """
    key = normalize_accession(gsm)
    found = refined_sample(hub, key)
    if found is None:
        raise RecordNotFound(f"{key} has not been refined (run `exprhub refine {key}`)")
    row = found.state
    out: dict[str, Any] = {
        "sample": key,
        "status": row.status,
        "message": row.message,
        "refined_at": found.refined_at,
        "processor": {"name": row.processor, "version": row.processor_version},
        "tax_id": row.tax_id,
        "value_kind": row.value_kind,
        "platform": row.platform_key,
        "batch": row.batch_key,
        "checksums": {"input_sha256": row.input_sha256, "values_sha256": row.values_sha256},
        "qn_target_sha256": row.qn_target_sha256,
    }
    assignment = qn_assignments(hub, [key]).get(key)
    out["qn_target_version"] = assignment.target_version if assignment is not None else None
    moves = sample_target_moves(hub, key)
    if moves:
        out["qn_target_moves"] = moves
    out.update({k: v for k, v in found.document.items() if k not in out})
    return out


def processors(hub: Hub) -> list[dict[str, Any]]:
    """Processors that refined samples here: name, version, samples done and the tool
    versions they recorded (as refine.bio's processor list)."""
    return [
        {
            "name": summary.name,
            "version": summary.version,
            "samples": summary.samples,
            "tools": summary.latest_document.get("tools", {}),
        }
        for summary in processor_summaries(hub)
    ]


def target_listing(hub: Hub, *, current_only: bool = False) -> list[dict[str, Any]]:
    """Stored QN target versions (JSON-ready, by organism, value kind and version), each with
    ``samples_using``: how many samples are normalized to it now. Per organism and value kind,
    ``samples_without_target`` counts the samples delivered without a target."""
    usage = target_usage(hub)
    out = []
    for target in targets(hub, current_only=current_only):
        row = target.as_dict()
        row["samples_using"] = usage.get((target.tax_id, target.value_kind, target.version), 0)
        row["samples_without_target"] = usage.get((target.tax_id, target.value_kind, None), 0)
        out.append(row)
    return out
