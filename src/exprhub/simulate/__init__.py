"""Simulated GEO data: realistic, deterministic SOFT, series matrix and DataSet files.

:func:`simulate` writes files that look like what GEO serves and go through the normal import
path: family SOFT files (``GSE<acc>_family.soft.gz``: SERIES, its PLATFORMs, its SAMPLEs with
tables), a series matrix, one curated DataSet (``GDS<acc>.soft.gz``), an RNA-seq series without
tables (plus an NCBI-style raw count matrix), a SuperSeries linking two SubSeries, and NCBI
``gene_info`` / ``gene2ensembl`` files for the simulated genes. A :class:`SimulationManifest`
(also written to ``manifest.json``) says what was written and what is true of the data: groups
per series, genes with a real difference between groups and their log2 fold changes, expected
record and row counts.

The simulator builds :mod:`exprhub.records` and writes them with the :mod:`exprhub.formats`
writers (:func:`~exprhub.formats.soft.write_soft`,
:func:`~exprhub.formats.matrix.write_series_matrix`), so reading a simulated file back gives
the records that were generated. Output is byte-identical for the same arguments (gzip headers
carry no time stamp). Accessions are in ranges that real small records do not use:
GPL90001.., GSE900001.., GSM90000001.., GDS90001.. (the same for every seed, so two simulations
into one hub overlap).

Files written to ``out_dir``:

- ``GSE<acc>_family.soft.gz`` per series (microarray, RNA-seq, and the SuperSeries, whose family
  file repeats its SubSeries' platforms and samples, as GEO's does);
- ``GPL<acc>.soft.gz``: each microarray platform alone (annotation table), like GEO's GPL view;
- ``GSE<acc>_series_matrix.txt.gz`` for the first microarray and the first RNA-seq series;
- ``GDS<acc>.soft.gz``: a DataSet of the first microarray series, subsets by the design factor
  and by gender, value type ``count`` (raw series) or ``transformed count`` (log2 series);
- ``GSE<acc>_raw_counts_<build>_NCBI.tsv.gz``: NCBI-style GeneID x GSM counts per RNA-seq series;
- ``gene_info.gz`` and ``gene2ensembl.gz`` for the simulated genes (:mod:`~exprhub.simulate.genes`);
- ``manifest.json``.

Microarray values are log-normal: a per-series gene baseline, probe offsets, a per-array shift,
noise with SD 0.25 (log2), and for the DE genes a shift of the case group by their fold change.
Series alternate between MAS5-like raw intensities (medians of several hundred) and RMA-like
log2 values. Half the series carry a ``DETECTION P-VALUE`` column, and in some of those a third
of the samples put it before ``VALUE``; series 2, 5, 8 ... drop a few rows from some samples,
series 3, 6, 9 ... write ``null`` for two values of one sample (all listed in the manifest).

Modules: :mod:`~exprhub.simulate.simulation` (the layout and the order of writing),
:mod:`~exprhub.simulate.platform` (probe tables), :mod:`~exprhub.simulate.series` (designs and
values), :mod:`~exprhub.simulate.samples` (sample records),
:mod:`~exprhub.simulate.geo_records` (series, SuperSeries, matrix and DataSet records),
:mod:`~exprhub.simulate.counts` (RNA-seq count matrices), :mod:`~exprhub.simulate.files` (one
writer per kind of file), :mod:`~exprhub.simulate.genes` and :mod:`~exprhub.simulate.vocab`.

Sizes: family files are streamed one sample at a time and written with gzip level 1; memory is
bounded by one series' value matrix (probes x samples floats) plus, for the series matrix, the
strings of one series' values.
"""

from exprhub.simulate.genes import Gene, gene_catalogue, write_gene2ensembl, write_gene_info
from exprhub.simulate.manifest import (
    DEGene,
    SimulatedDataSet,
    SimulatedFile,
    SimulatedPlatform,
    SimulatedSeries,
    SimulationManifest,
)
from exprhub.simulate.simulation import iter_family_files, simulate

__all__ = [
    "DEGene",
    "Gene",
    "SimulatedDataSet",
    "SimulatedFile",
    "SimulatedPlatform",
    "SimulatedSeries",
    "SimulationManifest",
    "gene_catalogue",
    "iter_family_files",
    "simulate",
    "write_gene2ensembl",
    "write_gene_info",
]
