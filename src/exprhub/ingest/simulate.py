"""Simulated GEO data: realistic, deterministic SOFT, series matrix and DataSet files.

:func:`simulate` writes files that look like what GEO serves and go through the normal import
path: family SOFT files (``GSE<acc>_family.soft.gz``: SERIES, its PLATFORMs, its SAMPLEs with
tables), a series matrix, one curated DataSet (``GDS<acc>.soft.gz``), an RNA-seq series without
tables (plus an NCBI-style raw count matrix), a SuperSeries linking two SubSeries, and NCBI
``gene_info`` / ``gene2ensembl`` files for the simulated genes. A :class:`SimulationManifest`
(also written to ``manifest.json``) says what was written and what is true of the data: groups
per series, genes with a real difference between groups and their log2 fold changes, expected
record and row counts.

Output is byte-identical for the same arguments (gzip headers carry no time stamp). Accessions
are in ranges that real small records do not use: GPL90001.., GSE900001.., GSM90000001..,
GDS90001.. (the same for every seed, so two simulations into one hub overlap).

Files written to ``out_dir``:

- ``GSE<acc>_family.soft.gz`` per series (microarray, RNA-seq, and the SuperSeries, whose family
  file repeats its SubSeries' platforms and samples, as GEO's does);
- ``GPL<acc>.soft.gz``: each microarray platform alone (annotation table), like GEO's GPL view;
- ``GSE<acc>_series_matrix.txt.gz`` for the first microarray and the first RNA-seq series;
- ``GDS<acc>.soft.gz``: a DataSet of the first microarray series, subsets by the design factor
  and by gender, value type ``count`` (raw series) or ``transformed count`` (log2 series);
- ``GSE<acc>_raw_counts_<build>_NCBI.tsv.gz``: NCBI-style GeneID x GSM counts per RNA-seq series;
- ``gene_info.gz`` and ``gene2ensembl.gz`` for the simulated genes (:mod:`simulate_genes`);
- ``manifest.json``.

Microarray values are log-normal: a per-series gene baseline, probe offsets, a per-array shift,
noise with SD 0.25 (log2), and for the DE genes a shift of the case group by their fold change.
Series alternate between MAS5-like raw intensities (medians of several hundred) and RMA-like
log2 values. Half the series carry a ``DETECTION P-VALUE`` column, and in some of those a third
of the samples put it before ``VALUE``; series 2, 5, 8 ... drop a few rows from some samples,
series 3, 6, 9 ... write ``null`` for two values of one sample (all listed in the manifest).
The parts live in :mod:`~exprhub.ingest.simulate_platform` (probe tables),
:mod:`~exprhub.ingest.simulate_series` (designs, values, sample records) and
:mod:`~exprhub.ingest.simulate_records` (series, SuperSeries, matrix, DataSet, counts).

Sizes: values are formatted in bulk and files written with gzip level 1; memory is bounded by
one series' value matrix (probes x samples floats) plus the series matrix strings.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import BinaryIO

from exprhub.formats.matrix import write_series_matrix
from exprhub.ingest.simulate_genes import (
    Gene,
    gene_catalogue,
    open_text_output,
    organism_info,
    write_gene2ensembl,
    write_gene_info,
)
from exprhub.ingest.simulate_manifest import (
    DEGene,
    SimulatedDataSet,
    SimulatedFile,
    SimulatedPlatform,
    SimulatedSeries,
    SimulationManifest,
)
from exprhub.ingest.simulate_platform import PlatformSpec, build_platform, platform_record
from exprhub.ingest.simulate_records import (
    DataSetPlan,
    dataset_text,
    matrix_records,
    plan_dataset,
    rnaseq_counts_text,
    series_record,
    superseries_record,
)
from exprhub.ingest.simulate_series import SeriesPlan, plan_rnaseq, plan_series, sample_blocks

__all__ = [
    "DEGene",
    "Gene",
    "SimulatedDataSet",
    "SimulatedFile",
    "SimulatedPlatform",
    "SimulatedSeries",
    "SimulationManifest",
    "gene_catalogue",
    "simulate",
    "write_gene2ensembl",
    "write_gene_info",
]

GPL_BASE = 90_000
GSE_BASE = 900_000
GSM_BASE = 90_000_000
GDS_BASE = 90_000
#: gzip level of the simulated files: speed matters more than size here.
GZIP_LEVEL = 1


class _Output:
    """A gzip (or plain) output file with a fixed header, written in byte chunks."""

    def __init__(self, path: Path) -> None:
        self._stream, self._raw = open_text_output(path, compresslevel=GZIP_LEVEL)

    @property
    def binary(self) -> BinaryIO:
        """The underlying (compressing) byte stream."""
        return self._stream  # type: ignore[no-any-return]

    def write(self, text: str) -> None:
        self._stream.write(text.encode("utf-8"))

    def close(self) -> None:
        self._stream.close()
        if self._raw is not None:
            self._raw.close()

    def __enter__(self) -> _Output:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_DATABASE = (
    "^DATABASE = GeoMiame\n!Database_name = Gene Expression Omnibus (GEO)\n"
    "!Database_institute = NCBI NLM NIH\n!Database_web_link = http://www.ncbi.nlm.nih.gov/geo\n"
    "!Database_email = geo@ncbi.nlm.nih.gov\n"
)


def soft_block(
    entity: str,
    record_id: str,
    attributes: list[tuple[str, str]],
    columns: list[tuple[str, str]] | None = None,
) -> str:
    """The SOFT text of one record's header: ``^ENTITY`` line, attributes and columns."""
    lines = [f"^{entity} = {record_id}"]
    lines.extend(f"!{key} = {value}" for key, value in attributes)
    lines.extend(f"#{name} = {text}" for name, text in columns or [])
    return "\n".join(lines) + "\n"


def _write_family(
    path: Path,
    series_attrs: list[tuple[str, str]],
    accession: str,
    platforms: list[PlatformSpec],
    plans: list[SeriesPlan],
    superseries: dict[str, str],
) -> None:
    with _Output(path) as out:
        out.write(_DATABASE)
        out.write(soft_block("SERIES", accession, series_attrs))
        for spec in platforms:
            attrs, columns = platform_record(spec)
            out.write(soft_block("PLATFORM", spec.accession, attrs, columns))
            if not spec.sequencing:
                out.write("!platform_table_begin\n")
                out.write(spec.table_text())
                out.write("!platform_table_end\n")
        for plan in plans:
            for gsm, attrs, columns, text in sample_blocks(plan, superseries):
                out.write(soft_block("SAMPLE", gsm, attrs, columns))
                if text is not None:
                    out.write("!sample_table_begin\n")
                    out.write(text)
                    out.write("!sample_table_end\n")


_FamilyJob = tuple[
    Path, list[tuple[str, str]], str, list[PlatformSpec], list[SeriesPlan], dict[str, str]
]


def _run_family(job: _FamilyJob) -> None:
    _write_family(*job)


def _family_counts(plans: list[SeriesPlan]) -> dict[str, int]:
    platforms = {p.platform.accession for p in plans}
    return {"SERIES": 1, "PLATFORM": len(platforms), "SAMPLE": sum(len(p.samples) for p in plans)}


def _default_probes(index: int, seed: int) -> int:
    return 600 + ((index * 7 + seed * 3) % 5) * 150


def simulate(
    out_dir: str | Path,
    *,
    series: int = 3,
    samples: int = 12,
    platforms: int = 2,
    seed: int = 0,
    probes: int | None = None,
    rnaseq_series: int | None = None,
    workers: int = 1,
) -> SimulationManifest:
    """Write a deterministic, realistic set of GEO files to ``out_dir``.

    Parameters
    ----------
    out_dir
        Output directory (created if missing). Existing files of the same names are replaced.
    series
        Number of microarray series.
    samples
        Samples per series (at least 2: a control and a case group).
    platforms
        Number of microarray platforms (alternately Homo sapiens and Mus musculus).
    seed
        Seed of every random choice; the same arguments give byte-identical files.
    probes
        Probes per microarray platform; by default 600 to 1,200, varying by platform.
    rnaseq_series
        Number of RNA-seq series (default 1).
    workers
        Processes writing family files in parallel (output is the same for any number).

    Returns
    -------
    SimulationManifest
        What was written; also saved as ``out_dir/manifest.json``.
    """
    if series < 0 or platforms < 1 or samples < 2:
        raise ValueError("simulate needs series >= 0, platforms >= 1 and samples >= 2")
    if probes is not None and probes < 20:
        raise ValueError(f"probes must be at least 20, got {probes}")
    n_rnaseq = 1 if rnaseq_series is None else rnaseq_series
    if n_rnaseq < 0:
        raise ValueError(f"rnaseq_series must be >= 0, got {n_rnaseq}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest = SimulationManifest(
        seed=seed,
        parameters={
            "series": series,
            "samples": samples,
            "platforms": platforms,
            "probes": probes,
            "rnaseq_series": n_rnaseq,
        },
    )

    # --- platforms ------------------------------------------------------------------------
    specs: list[PlatformSpec] = []
    for i in range(platforms):
        organism = "Homo sapiens" if i % 2 == 0 else "Mus musculus"
        n_probes = probes if probes is not None else _default_probes(i, seed)
        specs.append(build_platform(f"GPL{GPL_BASE + 1 + i}", i, organism, n_probes, seed))
    rnaseq_specs: list[PlatformSpec] = []
    for j in range(min(n_rnaseq, 2)):
        organism = "Homo sapiens" if j % 2 == 0 else "Mus musculus"
        rnaseq_specs.append(
            build_platform(
                f"GPL{GPL_BASE + platforms + 1 + j}", j, organism, 0, seed, sequencing=True
            )
        )

    # --- series plans ---------------------------------------------------------------------
    gsm_next = GSM_BASE + 1
    plans: list[SeriesPlan] = []
    for s in range(series):
        spec = specs[s % platforms]
        plan = plan_series(f"GSE{GSE_BASE + 1 + s}", s, spec, samples, gsm_next, seed)
        gsm_next += samples
        plans.append(plan)
    for j in range(n_rnaseq):
        spec = rnaseq_specs[j % len(rnaseq_specs)]
        n_genes = probes if probes is not None else _default_probes(j + 1, seed)
        plan = plan_rnaseq(
            f"GSE{GSE_BASE + 1 + series + j}", series + j, spec, samples, gsm_next, seed, n_genes
        )
        gsm_next += samples
        plans.append(plan)
    for spec in [*specs, *rnaseq_specs]:
        spec.series_ids = [p.accession for p in plans if p.platform is spec]
        spec.sample_ids = [g for p in plans if p.platform is spec for g in p.sample_ids]

    # --- the SuperSeries --------------------------------------------------------------------
    micro = [p for p in plans if not p.rnaseq]
    rnaseq_plans = [p for p in plans if p.rnaseq]
    sub: list[SeriesPlan] = []
    if len(micro) >= 2:
        sub = micro[-2:]
    elif micro and rnaseq_plans:
        sub = [micro[-1], rnaseq_plans[0]]
    super_acc = f"GSE{GSE_BASE + 1 + series + n_rnaseq}" if sub else None
    super_of: dict[str, str] = {p.accession: super_acc for p in sub} if super_acc else {}

    # --- family files -----------------------------------------------------------------------
    jobs: list[_FamilyJob] = []
    for plan in plans:
        name = f"{plan.accession}_family.soft.gz"
        attrs = series_record(plan, super_of.get(plan.accession))
        jobs.append((out / name, attrs, plan.accession, [plan.platform], [plan], super_of))
        manifest.files.append(
            SimulatedFile(name, "family_soft", plan.accession, _family_counts([plan]))
        )
        plan.info.files.append(name)
        if plan.accession in super_of:
            plan.info.superseries = [super_of[plan.accession]]
        manifest.series.append(plan.info)
    if super_acc:
        name = f"{super_acc}_family.soft.gz"
        used: list[PlatformSpec] = []
        for plan in sub:
            if plan.platform not in used:
                used.append(plan.platform)
        attrs, info = superseries_record(super_acc, sub, seed)
        jobs.append((out / name, attrs, super_acc, used, sub, super_of))
        info.files.append(name)
        manifest.files.append(SimulatedFile(name, "family_soft", super_acc, _family_counts(sub)))
        manifest.series.append(info)

    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            list(pool.map(_run_family, jobs))
    else:
        for job in jobs:
            _run_family(job)

    for spec in specs:
        name = f"{spec.accession}.soft.gz"
        attrs, columns = platform_record(spec)
        with _Output(out / name) as handle:
            handle.write(soft_block("PLATFORM", spec.accession, attrs, columns))
            handle.write("!platform_table_begin\n" + spec.table_text() + "!platform_table_end\n")
        manifest.files.append(
            SimulatedFile(name, "platform_soft", spec.accession, {"PLATFORM": 1}, spec.n_probes)
        )

    # --- series matrix, DataSet, RNA-seq counts ---------------------------------------------
    matrix_plans = [micro[0]] if micro else []
    matrix_plans += rnaseq_plans[:1]
    for plan in matrix_plans:
        name = f"{plan.accession}_series_matrix.txt.gz"
        series_rec, sample_recs = matrix_records(plan, super_of.get(plan.accession))
        with _Output(out / name) as handle:
            write_series_matrix(series_rec, sample_recs, handle.binary, gzip=False)
        rows = 0 if plan.rnaseq else plan.platform.n_probes
        manifest.files.append(
            SimulatedFile(
                name,
                "series_matrix",
                plan.accession,
                {"SERIES": 1, "SAMPLE": len(plan.samples)},
                rows,
            )
        )
        plan.info.files.append(name)
    if micro:
        gds: DataSetPlan = plan_dataset(f"GDS{GDS_BASE + 1}", micro[0], seed)
        name = f"{gds.accession}.soft.gz"
        with _Output(out / name) as handle:
            for chunk in dataset_text(gds):
                handle.write(chunk)
        manifest.files.append(
            SimulatedFile(
                name,
                "gds_soft",
                gds.accession,
                {"DATASET": 1, "SUBSET": len(gds.info.subsets)},
                micro[0].platform.n_probes,
            )
        )
        manifest.datasets.append(gds.info)
    for plan in rnaseq_plans:
        name = (
            f"{plan.accession}_raw_counts_{organism_info(plan.organism).genome_build}_NCBI.tsv.gz"
        )
        with _Output(out / name) as handle:
            for chunk in rnaseq_counts_text(plan):
                handle.write(chunk)
        manifest.files.append(
            SimulatedFile(name, "rnaseq_counts", plan.accession, {}, plan.n_genes)
        )
        plan.info.files.append(name)

    # --- genes ------------------------------------------------------------------------------
    need: dict[str, int] = {}
    for spec in specs:
        need[spec.organism] = max(need.get(spec.organism, 0), spec.catalogue_size)
    for plan in rnaseq_plans:
        need[plan.organism] = max(need.get(plan.organism, 0), plan.n_genes)
    organisms = sorted(need)
    size = max(need.values()) if need else 0
    if organisms:
        write_gene_info(out / "gene_info.gz", organisms, size)
        write_gene2ensembl(out / "gene2ensembl.gz", organisms, size)
        manifest.files.append(
            SimulatedFile("gene_info.gz", "gene_info", "", {}, size * len(organisms))
        )
        manifest.files.append(
            SimulatedFile("gene2ensembl.gz", "gene2ensembl", "", {}, size * len(organisms))
        )
    manifest.genes = {o: size for o in organisms}

    # --- manifest ---------------------------------------------------------------------------
    manifest.platforms = [s.info() for s in [*specs, *rnaseq_specs]]
    manifest.accessions = {
        "GPL": [s.accession for s in [*specs, *rnaseq_specs]],
        "GSE": [p.accession for p in plans] + ([super_acc] if super_acc else []),
        "GSM": [g for p in plans for g in p.sample_ids],
        "GDS": [d.accession for d in manifest.datasets],
    }
    manifest.files.append(SimulatedFile("manifest.json", "manifest", ""))
    (out / "manifest.json").write_text(manifest.to_json() + "\n", encoding="utf-8")
    return manifest


def iter_family_files(manifest: SimulationManifest, out_dir: str | Path) -> Iterator[Path]:
    """Paths of the family SOFT files a simulation wrote."""
    for item in manifest.files_of_kind("family_soft"):
        yield Path(out_dir) / item.path
