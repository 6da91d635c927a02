"""The refinery's storage in the hub: refined and gene-level matrices, gene references,
accession -> gene links, QN targets and per-sample provenance.

Built on the hub's public API (:class:`~exprhub.hub.HubWriter`, :class:`~exprhub.hub.Hub`,
:mod:`exprhub.hub.refinery_tables`); this package holds what the stored things mean (matrix
naming, provenance documents, TSV output, gene reference handling) and is the rest of the
program's one entry to refinery storage:

* :mod:`~exprhub.refine.store.refined` -- refined matrices, provenance, TSV export;
* :mod:`~exprhub.refine.store.genes` -- organisms and tax ids, importing NCBI gene files,
  an organism's gene reference;
* :mod:`~exprhub.refine.store.gene_accessions` -- accession -> gene links (gene2accession).

QN target versions, which version each sample is normalized to and the moves between versions
are rows of :mod:`exprhub.hub.qn_history`, re-exported here.

The rows of the refinery's tables (genes, QN targets, refined samples) are read and written
by the hub functions re-exported here.
"""

from exprhub.hub.qn_history import (
    QNAssignment,
    TargetMove,
    assign_targets,
    make_target_current,
    qn_assignments,
    record_target_moves,
    sample_target_moves,
    target_by_digest,
    target_moves,
    target_usage,
    target_version,
)
from exprhub.hub.refinery_tables import (
    GeneRow,
    RefineState,
    StoredTarget,
    add_missing_genes,
    current_target,
    gene_counts,
    gene_rows,
    gene_symbols,
    put_refine_states,
    refine_documents,
    refine_states,
    replace_genes,
    store_target,
    targets,
)
from exprhub.refine.store.coverage import RefinedCoverage, refined_coverage
from exprhub.refine.store.gene_accessions import (
    accession_counts,
    accession_digest,
    genes_for_accessions,
    has_accessions,
    replace_accessions,
)
from exprhub.refine.store.genes import (
    ORGANISM_TAX_IDS,
    gene_reference,
    genes_fetch_command,
    import_gene_accessions,
    import_genes,
    ncbi_file_kind,
    organism_name,
    reference_digest,
    tax_id_for,
)
from exprhub.refine.store.refined import (
    GENE_LEVEL_KIND,
    REFINED_KIND,
    gene_matrix_name,
    processors,
    provenance,
    refined_matrix,
    refined_matrix_name,
    samples_for_accession,
    target_listing,
    write_refined_tsv,
    write_sample_column,
)

__all__ = [
    "GENE_LEVEL_KIND",
    "ORGANISM_TAX_IDS",
    "REFINED_KIND",
    "GeneRow",
    "QNAssignment",
    "RefineState",
    "RefinedCoverage",
    "StoredTarget",
    "TargetMove",
    "accession_counts",
    "accession_digest",
    "add_missing_genes",
    "assign_targets",
    "current_target",
    "gene_counts",
    "gene_matrix_name",
    "gene_reference",
    "gene_rows",
    "gene_symbols",
    "genes_fetch_command",
    "genes_for_accessions",
    "has_accessions",
    "import_gene_accessions",
    "import_genes",
    "make_target_current",
    "ncbi_file_kind",
    "organism_name",
    "processors",
    "provenance",
    "put_refine_states",
    "qn_assignments",
    "record_target_moves",
    "reference_digest",
    "refine_documents",
    "refine_states",
    "refined_coverage",
    "refined_matrix",
    "refined_matrix_name",
    "replace_accessions",
    "replace_genes",
    "sample_target_moves",
    "samples_for_accession",
    "store_target",
    "target_by_digest",
    "target_listing",
    "target_moves",
    "target_usage",
    "target_version",
    "targets",
    "tax_id_for",
    "write_refined_tsv",
    "write_sample_column",
]
