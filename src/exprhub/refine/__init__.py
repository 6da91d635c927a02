"""exprhub.refine: the refinery.

The numerical core, pure functions on numpy arrays and records (no hub, no database):

* :mod:`~exprhub.refine.qn` -- quantile-normalization targets and normalization
  (agrees with R preprocessCore ``normalize.quantiles.use.target``);
* :mod:`~exprhub.refine.scale` -- log-scale detection (GEO2R rule, GDS value types), value kinds;
* :mod:`~exprhub.refine.mapping` -- probe -> gene mapping and collapsing probes to genes;
* :mod:`~exprhub.refine.genes` -- NCBI gene reference per organism (gene_info, gene2ensembl,
  gene2accession);
* :mod:`~exprhub.refine.tximport` -- transcript -> gene summarization (agrees with R tximport);
* :mod:`~exprhub.refine.salmon` -- running Salmon.

On the hub: :mod:`~exprhub.refine.store` (what the refinery stores, on the hub's public API),
:mod:`~exprhub.refine.pipeline` (a refine run; ``pipeline_plan``, ``pipeline_work``,
``pipeline_qn``, ``pipeline_rnaseq``, ``executor``) and :mod:`~exprhub.refine.ncbi_genes`
(downloading an organism's NCBI gene reference).
"""

from exprhub.refine.genes import (
    Gene,
    GeneReference,
    read_gene2accession,
    read_gene2ensembl,
    read_gene_info,
)
from exprhub.refine.mapping import (
    MappingStats,
    ProbeMap,
    build_probe_map,
    collapse_to_genes,
    detect_gene_column,
    detect_id_column,
)
from exprhub.refine.qn import QuantileTarget, build_target, normalize_to_target
from exprhub.refine.salmon import (
    SalmonError,
    SalmonIndex,
    SalmonQuant,
    build_index,
    kmer_for_read_length,
    quant,
    salmon_version,
)
from exprhub.refine.scale import ScaleDecision, detect_scale, to_log2, value_kind
from exprhub.refine.tximport import QuantSF, TxImport, read_quant_sf, read_tx2gene, tximport

__all__ = [
    "Gene",
    "GeneReference",
    "MappingStats",
    "ProbeMap",
    "QuantSF",
    "QuantileTarget",
    "SalmonError",
    "SalmonIndex",
    "SalmonQuant",
    "ScaleDecision",
    "TxImport",
    "build_index",
    "build_probe_map",
    "build_target",
    "collapse_to_genes",
    "detect_gene_column",
    "detect_id_column",
    "detect_scale",
    "kmer_for_read_length",
    "normalize_to_target",
    "quant",
    "read_gene2accession",
    "read_gene2ensembl",
    "read_gene_info",
    "read_quant_sf",
    "read_tx2gene",
    "salmon_version",
    "to_log2",
    "tximport",
    "value_kind",
]
