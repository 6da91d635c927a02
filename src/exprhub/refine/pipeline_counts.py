"""RNA-seq refinement from attached genes x samples tables of counts or TPM (phase 1 for the
samples ``exprhub import TABLE --series GSE...`` gave values to; see docs/refine.md,
"RNA-seq from counts tables").

Per attached file (one ``counts/<GSE>/<quantity>/<sha256>`` matrix) and organism:

1. **Gene ids** (the table's first column) are resolved to NCBI Gene ids: Entrez ids
   directly (dropped when absent from a stored gene reference, kept as they are without one),
   Ensembl ids (version stripped) through ``gene2ensembl`` and symbols through ``gene_info``
   (:meth:`exprhub.refine.genes.GeneReference.resolve`). Ensembl ids or symbols without the
   organism's gene reference make the samples wait for it (status ``waiting``).
2. **Scale**: raw counts become counts per million, ``CPM = 1e6 * count / library size``, the
   library size being the column's sum over every row of the file (before mapping, as edgeR's
   ``cpm()`` with ``lib.size = colSums(counts)``, no TMM factors); TPM values are used as
   given. Rows resolving to one gene are summed (in CPM / TPM, before the log). The stored
   gene-level value is ``log2(CPM + 1)`` or ``log2(TPM + 1)`` (value kind ``rna-seq``).
   Not limma-voom's log-CPM, ``log2((count + 0.5) / (library size + 1) * 1e6)``.
3. Normalization is the pipeline's phase 2-3 for kind ``rna-seq``: quantile normalization to
   the organism's ``rna-seq`` target (shared with samples refined from ``quant.sf`` files).

Provenance records the file (name, size, SHA-256), the column, the quantity and how each
step went, and for NCBI-generated files the pipeline, genome build and annotation file named
by the file name (``GSE1_raw_counts_GRCh38.p13_NCBI.tsv.gz``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from exprhub.formats.counts_table import gene_id_type, parse_ncbi_counts_name
from exprhub.hub import Hub, parse_counts_matrix_name
from exprhub.refine import store
from exprhub.refine.genes import GeneReference
from exprhub.refine.pipeline_work import (
    COUNTS_PROCESSOR,
    COUNTS_VERSION,
    SampleInput,
    tool_versions,
)
from exprhub.refine.store import RefineState
from exprhub.refine.store.genes import genes_fetch_command

__all__ = ["CountsOutcome", "counts_to_log2", "refine_counts"]

#: Value kind of samples refined from counts tables.
RNASEQ_KIND = "rna-seq"


def counts_to_log2(values: np.ndarray, quantity: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-million scaling and log: ``(log2(x + 1), library sizes)``.

    Parameters
    ----------
    values
        Genes x samples, raw counts or TPM; NaN is missing (left out of the library size).
    quantity
        ``counts``: ``x = 1e6 * count / column sum`` (CPM); ``tpm``: ``x`` = the TPM value.

    Returns
    -------
    tuple of numpy.ndarray
        The float64 scaled values before the log (same shape), and the library sizes (the
        column sums for counts, NaN for TPM).
    """
    data = np.asarray(values, dtype=np.float64)
    if quantity == "counts":
        library = np.nansum(data, axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = np.where(library > 0, data / library * 1e6, np.nan)
        return scaled, library
    if quantity == "tpm":
        return data, np.full(data.shape[1], np.nan)
    raise ValueError(f"unknown quantity {quantity!r}: expected counts or tpm")


class CountsOutcome:
    """What refining from counts tables did: gene-level samples, failures and waits."""

    def __init__(self) -> None:
        self.gene_level = 0
        self.failed: dict[str, str] = {}
        self.waiting: dict[str, str] = {}
        self.missing: list[dict[str, Any]] = []
        self.states: list[tuple[RefineState, dict[str, Any]]] = []


def _digest(smp: SampleInput, ref_digest: str) -> str:
    payload = {
        "processor": [COUNTS_PROCESSOR, COUNTS_VERSION],
        "counts": smp.counts,
        "column": smp.counts_column,
        "genes": ref_digest,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def plan_digests(samples: Sequence[SampleInput], ref_digests: dict[int, str]) -> dict[str, str]:
    """The input checksum of each counts sample (file, column, gene reference, version)."""
    return {s.key: _digest(s, ref_digests.get(s.tax_id or 0, "")) for s in samples}


def refine_counts(
    hub: Hub,
    samples: Sequence[SampleInput],
    refs: dict[int, GeneReference | None],
    digests: dict[str, str],
) -> CountsOutcome:
    """Phase 1 for samples with a counts table: gene-level ``log2(CPM + 1)`` or
    ``log2(TPM + 1)`` stored in ``genes/<tax>/rna-seq`` with provenance (module docs).

    The caller passes only the samples to refine (not current ones) with a tax id; their
    states are written here, one transaction per file and organism.
    """
    out = CountsOutcome()
    groups: dict[tuple[str, int], list[SampleInput]] = {}
    for smp in samples:
        assert smp.counts is not None and smp.tax_id is not None
        groups.setdefault((smp.counts, smp.tax_id), []).append(smp)
    for (matrix, tax), members in sorted(groups.items()):
        parsed = parse_counts_matrix_name(matrix)
        if parsed is None:  # not written by exprhub.ingest.counts_import
            for smp in members:
                out.failed[smp.key] = f"{matrix}: not a counts matrix"
            continue
        series, quantity, file_sha = parsed
        members = sorted(members, key=lambda s: s.key)
        features, found, values = hub.read_columns(matrix, [s.key for s in members])
        if list(found) != [s.key for s in members]:
            for smp in members:
                out.failed[smp.key] = f"{matrix}: the sample's counts column is missing"
            continue
        ref = refs.get(tax)
        id_type = gene_id_type(features)
        if id_type != "entrez" and ref is None:
            command = genes_fetch_command(tax)
            reason = (
                f"the counts table of {series} names genes by {id_type} ids and the hub has "
                f"no NCBI gene reference for tax {tax}"
            )
            for smp in members:
                out.waiting[smp.key] = f"{reason}; run `{command}`"
            out.missing.append(
                {
                    "platform": members[0].platform,
                    "tax_id": tax,
                    "reason": reason,
                    "command": command,
                    "samples": len(members),
                }
            )
            continue
        scaled, library = counts_to_log2(values, quantity)
        if ref is None:
            ids: list[str | None] = [f if f.isdigit() else None for f in features]
        else:
            ids = [ref.resolve(f) for f in features]
        keep = [i for i, g in enumerate(ids) if g]
        if not keep:
            for smp in members:
                out.failed[smp.key] = (
                    f"no gene id of the counts table of {series} resolves to an NCBI gene"
                )
            continue
        genes, summed = _sum_by_gene([str(ids[i]) for i in keep], scaled[keep])
        logged = np.log2(summed + 1.0)
        kept = hub.kept_file(file_sha) or {"sha256": file_sha}
        ncbi = parse_ncbi_counts_name(str(kept.get("name") or ""))
        transform = "log2(CPM + 1)" if quantity == "counts" else "log2(TPM + 1)"
        for j, smp in enumerate(members):
            column = logged[:, j]
            observed = int(np.count_nonzero(~np.isnan(column)))
            values_sha = hashlib.sha256(
                np.ascontiguousarray(column, dtype="<f4").tobytes()
            ).hexdigest()
            state = RefineState(
                smp.key,
                "gene-level",
                series,
                tax,
                RNASEQ_KIND,
                smp.platform,
                COUNTS_PROCESSOR,
                COUNTS_VERSION,
                digests[smp.key],
                values_sha,
                observed,
                None,
                None,
            )
            doc: dict[str, Any] = {
                "parameters": {
                    "quantity": quantity,
                    "transform": transform,
                    "library_size": "column sum over every row of the file"
                    if quantity == "counts"
                    else None,
                    "duplicate_genes": "summed before the log",
                },
                "inputs": {
                    "counts_file": kept.get("name"),
                    "counts_sha256": file_sha,
                    "counts_size": kept.get("size"),
                    "series": series,
                    "column": smp.counts_column,
                    "library_size": None if np.isnan(library[j]) else float(library[j]),
                    "ncbi": None
                    if ncbi is None
                    else {
                        "pipeline": ncbi.pipeline,
                        "genome_build": ncbi.build,
                        "annotation": ncbi.annotation,
                    },
                },
                "mapping": {
                    "gene_ids": id_type,
                    "rows": len(features),
                    "rows_resolved": len(keep),
                    "genes": len(genes),
                },
                "scale": {"applied": {"transform": transform, "value_kind": RNASEQ_KIND}},
                "tools": tool_versions(),
                "organism": smp.organism,
            }
            out.states.append((state, doc))
        with hub.writer() as writer:
            for j, smp in enumerate(members):
                store.write_sample_column(
                    writer,
                    store.gene_matrix_name(tax, RNASEQ_KIND),
                    store.GENE_LEVEL_KIND,
                    smp.key,
                    genes,
                    logged[:, j],
                )
            store.put_refine_states(writer, out.states[-len(members) :])
        out.gene_level += len(members)
    return out


def _sum_by_gene(ids: list[str], values: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Rows naming one gene summed (NaN only where every row is NaN); genes sorted by id."""
    unique, inverse = np.unique(np.asarray(ids, dtype=str), return_inverse=True)
    sums = np.zeros((unique.size, values.shape[1]))
    np.add.at(sums, inverse, np.nan_to_num(values, nan=0.0))
    seen = np.zeros((unique.size, values.shape[1]), dtype=bool)
    np.logical_or.at(seen, inverse, ~np.isnan(values))
    sums[~seen] = np.nan
    return unique.tolist(), sums
