"""The files a simulation writes, one function per kind. GEO files are written from records by
the :mod:`exprhub.formats` writers; each function returns the manifest entry of its file."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from exprhub.formats.matrix import write_series_matrix
from exprhub.formats.soft import write_soft
from exprhub.records import Record, Series
from exprhub.simulate.counts import rnaseq_counts_text
from exprhub.simulate.genes import organism_info, write_gene2ensembl, write_gene_info
from exprhub.simulate.geo_records import (
    DataSetPlan,
    dataset_records,
    family_database,
    matrix_records,
)
from exprhub.simulate.manifest import SimulatedFile
from exprhub.simulate.output import FAST_GZIP, open_output
from exprhub.simulate.platform import PlatformSpec, platform_record
from exprhub.simulate.samples import sample_records
from exprhub.simulate.series import SeriesPlan

__all__ = [
    "FamilyFile",
    "family_records",
    "write_counts_file",
    "write_dataset_file",
    "write_family",
    "write_gene_files",
    "write_matrix_file",
    "write_platform_file",
]


def _write_soft_file(path: Path, records: Sequence[Record] | Iterator[Record]) -> None:
    with open_output(path, compresslevel=FAST_GZIP) as stream:
        write_soft(records, stream, table_markers="lower")


@dataclass
class FamilyFile:
    """A family SOFT file to write: its series, the platforms and series of its samples, and
    the SuperSeries each of those series belongs to."""

    path: Path
    series: Series
    platforms: list[PlatformSpec]
    plans: list[SeriesPlan]
    superseries: dict[str, str]

    def counts(self) -> dict[str, int]:
        """Records the file holds, by SOFT entity."""
        return {
            "SERIES": 1,
            "PLATFORM": len(self.platforms),
            "SAMPLE": sum(len(p.samples) for p in self.plans),
        }


def family_records(family: FamilyFile) -> Iterator[Record]:
    """The records of a family file in GEO's order, samples made one at a time."""
    yield family_database()
    yield family.series
    for spec in family.platforms:
        yield platform_record(spec)
    for plan in family.plans:
        yield from sample_records(plan, family.superseries)


def write_family(family: FamilyFile) -> None:
    """Write a family SOFT file (streamed: one sample's table in memory at a time)."""
    _write_soft_file(family.path, family_records(family))


def write_platform_file(out: Path, spec: PlatformSpec) -> SimulatedFile:
    """Write ``GPL<acc>.soft.gz``: the platform alone, with its annotation table."""
    name = f"{spec.accession}.soft.gz"
    _write_soft_file(out / name, [platform_record(spec)])
    return SimulatedFile(name, "platform_soft", spec.accession, {"PLATFORM": 1}, spec.n_probes)


def write_matrix_file(out: Path, plan: SeriesPlan, superseries: str | None) -> SimulatedFile:
    """Write ``GSE<acc>_series_matrix.txt.gz`` of a series."""
    name = f"{plan.accession}_series_matrix.txt.gz"
    series, samples = matrix_records(plan, superseries)
    with open_output(out / name, compresslevel=FAST_GZIP) as stream:
        write_series_matrix(series, samples, stream, gzip=False)
    counts = {"SERIES": 1, "SAMPLE": len(plan.samples)}
    rows = 0 if plan.rnaseq else plan.platform.n_probes
    return SimulatedFile(name, "series_matrix", plan.accession, counts, rows)


def write_dataset_file(out: Path, gds: DataSetPlan) -> SimulatedFile:
    """Write ``GDS<acc>.soft.gz``: the DataSet, its subsets and its value table."""
    name = f"{gds.accession}.soft.gz"
    _write_soft_file(out / name, dataset_records(gds))
    counts = {"DATASET": 1, "SUBSET": len(gds.info.subsets)}
    return SimulatedFile(name, "gds_soft", gds.accession, counts, gds.plan.platform.n_probes)


def write_counts_file(out: Path, plan: SeriesPlan) -> SimulatedFile:
    """Write the NCBI-style raw count matrix of an RNA-seq series."""
    build = organism_info(plan.organism).genome_build
    name = f"{plan.accession}_raw_counts_{build}_NCBI.tsv.gz"
    with open_output(out / name, compresslevel=FAST_GZIP) as stream:
        for chunk in rnaseq_counts_text(plan):
            stream.write(chunk.encode("utf-8"))
    return SimulatedFile(name, "rnaseq_counts", plan.accession, {}, plan.n_genes)


def write_gene_files(
    out: Path, platforms: list[PlatformSpec], rnaseq: list[SeriesPlan]
) -> tuple[list[SimulatedFile], dict[str, int]]:
    """Write ``gene_info.gz`` and ``gene2ensembl.gz`` covering every gene the platforms and
    RNA-seq series use; return their manifest entries and the genes written per organism."""
    need: dict[str, int] = {}
    for spec in platforms:
        need[spec.organism] = max(need.get(spec.organism, 0), spec.catalogue_size)
    for plan in rnaseq:
        need[plan.organism] = max(need.get(plan.organism, 0), plan.n_genes)
    organisms = sorted(need)
    if not organisms:
        return [], {}
    size = max(need.values())
    write_gene_info(out / "gene_info.gz", organisms, size)
    write_gene2ensembl(out / "gene2ensembl.gz", organisms, size)
    rows = size * len(organisms)
    files = [
        SimulatedFile("gene_info.gz", "gene_info", "", {}, rows),
        SimulatedFile("gene2ensembl.gz", "gene2ensembl", "", {}, rows),
    ]
    return files, {o: size for o in organisms}
