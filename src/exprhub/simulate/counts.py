"""Simulated RNA-seq counts: the NCBI-style raw count matrix (``GeneID`` x GSM) GEO offers for
RNA-seq series. It is a plain TAB-separated table, not a GEO record file."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from exprhub.simulate.genes import gene_catalogue
from exprhub.simulate.series import SeriesPlan

__all__ = ["rnaseq_counts", "rnaseq_counts_text"]

#: Genes per chunk of the count matrix text.
_ROWS_PER_CHUNK = 5000


def rnaseq_counts(plan: SeriesPlan) -> np.ndarray:
    """Raw counts, genes x samples, of an RNA-seq series: negative binomial around a per-gene
    mean, shifted in the case group for its DE genes, scaled by a per-library size factor."""
    rng = np.random.default_rng([plan.seed, 5, int(plan.accession[3:])])
    n = len(plan.samples)
    log_mu = rng.normal(5.0, 2.2, plan.n_genes).clip(-2.0, 15.0)
    effect = np.zeros(plan.n_genes)
    for g, lfc in plan.de.items():
        effect[g] = lfc
    case = np.array([s.group == 1 for s in plan.samples])
    library = rng.uniform(0.7, 1.3, n)
    mu = np.exp2(log_mu[:, None] + np.where(case[None, :], effect[:, None], 0.0)) * library
    dispersion = 10.0
    counts: np.ndarray = rng.negative_binomial(dispersion, dispersion / (dispersion + mu))
    return counts


def rnaseq_counts_text(plan: SeriesPlan) -> Iterator[str]:
    """The count matrix of an RNA-seq series as text, in chunks: a ``GeneID`` + GSM header,
    then one row per gene (Entrez id, counts)."""
    counts = rnaseq_counts(plan)
    yield "GeneID\t" + "\t".join(plan.sample_ids) + "\n"
    ids = [str(g.entrez_id) for g in gene_catalogue(plan.organism, plan.n_genes)]
    tail = "\t%d" * len(plan.samples) + "\n"
    for start in range(0, plan.n_genes, _ROWS_PER_CHUNK):
        stop = min(start + _ROWS_PER_CHUNK, plan.n_genes)
        template = "".join(i + tail for i in ids[start:stop])
        yield template % tuple(counts[start:stop].ravel().tolist())
