"""The simulation as a whole: lay out platforms and series, write every file, keep the
manifest."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from exprhub.simulate.files import (
    FamilyFile,
    write_counts_file,
    write_dataset_file,
    write_family,
    write_gene_files,
    write_matrix_file,
    write_platform_file,
)
from exprhub.simulate.geo_records import plan_dataset, series_record, superseries_record
from exprhub.simulate.manifest import SimulatedFile, SimulationManifest
from exprhub.simulate.platform import PlatformSpec, build_platform
from exprhub.simulate.series import SeriesPlan, plan_rnaseq, plan_series

__all__ = ["iter_family_files", "simulate"]

GPL_BASE = 90_000
GSE_BASE = 900_000
GSM_BASE = 90_000_000
GDS_BASE = 90_000


@dataclass
class _Layout:
    """What a simulation writes, before any file is written."""

    out: Path
    seed: int
    arrays: list[PlatformSpec] = field(default_factory=list)
    sequencers: list[PlatformSpec] = field(default_factory=list)
    plans: list[SeriesPlan] = field(default_factory=list)
    superseries: str | None = None
    subseries: list[SeriesPlan] = field(default_factory=list)

    @property
    def microarray(self) -> list[SeriesPlan]:
        """The microarray series, in order."""
        return [p for p in self.plans if not p.rnaseq]

    @property
    def rnaseq(self) -> list[SeriesPlan]:
        """The RNA-seq series, in order."""
        return [p for p in self.plans if p.rnaseq]

    @property
    def superseries_of(self) -> dict[str, str]:
        """SuperSeries accession by SubSeries accession."""
        if self.superseries is None:
            return {}
        return {p.accession: self.superseries for p in self.subseries}


def _default_probes(index: int, seed: int) -> int:
    return 600 + ((index * 7 + seed * 3) % 5) * 150


def _organism(index: int) -> str:
    return "Homo sapiens" if index % 2 == 0 else "Mus musculus"


def _lay_out_platforms(layout: _Layout, platforms: int, n_rnaseq: int, probes: int | None) -> None:
    seed = layout.seed
    for i in range(platforms):
        n_probes = probes if probes is not None else _default_probes(i, seed)
        layout.arrays.append(
            build_platform(f"GPL{GPL_BASE + 1 + i}", i, _organism(i), n_probes, seed)
        )
    for j in range(min(n_rnaseq, 2)):
        accession = f"GPL{GPL_BASE + platforms + 1 + j}"
        layout.sequencers.append(
            build_platform(accession, j, _organism(j), 0, seed, sequencing=True)
        )


def _lay_out_series(
    layout: _Layout, series: int, samples: int, n_rnaseq: int, probes: int | None
) -> None:
    seed = layout.seed
    gsm_next = GSM_BASE + 1
    for s in range(series):
        spec = layout.arrays[s % len(layout.arrays)]
        plan = plan_series(f"GSE{GSE_BASE + 1 + s}", s, spec, samples, gsm_next, seed)
        layout.plans.append(plan)
        gsm_next += samples
    for j in range(n_rnaseq):
        spec = layout.sequencers[j % len(layout.sequencers)]
        n_genes = probes if probes is not None else _default_probes(j + 1, seed)
        accession = f"GSE{GSE_BASE + 1 + series + j}"
        layout.plans.append(
            plan_rnaseq(accession, series + j, spec, samples, gsm_next, seed, n_genes)
        )
        gsm_next += samples
    for spec in [*layout.arrays, *layout.sequencers]:
        spec.series_ids = [p.accession for p in layout.plans if p.platform is spec]
        spec.sample_ids = [g for p in layout.plans if p.platform is spec for g in p.sample_ids]
    # The last two microarray series (or one microarray and one RNA-seq) form a SuperSeries.
    micro, rnaseq = layout.microarray, layout.rnaseq
    if len(micro) >= 2:
        layout.subseries = micro[-2:]
    elif micro and rnaseq:
        layout.subseries = [micro[-1], rnaseq[0]]
    if layout.subseries:
        layout.superseries = f"GSE{GSE_BASE + 1 + series + n_rnaseq}"


def _family_files(layout: _Layout, manifest: SimulationManifest) -> list[FamilyFile]:
    """The family files to write, entered in the manifest with their series."""
    families: list[FamilyFile] = []
    super_of = layout.superseries_of
    for plan in layout.plans:
        series = series_record(plan, super_of.get(plan.accession))
        path = layout.out / f"{plan.accession}_family.soft.gz"
        families.append(FamilyFile(path, series, [plan.platform], [plan], super_of))
        plan.info.files.append(path.name)
        if plan.accession in super_of:
            plan.info.superseries = [super_of[plan.accession]]
        manifest.series.append(plan.info)
    if layout.superseries is not None:
        subs = layout.subseries
        series, info = superseries_record(layout.superseries, subs)
        path = layout.out / f"{layout.superseries}_family.soft.gz"
        platforms = list({id(p.platform): p.platform for p in subs}.values())
        families.append(FamilyFile(path, series, platforms, subs, super_of))
        info.files.append(path.name)
        manifest.series.append(info)
    for family in families:
        name, accession = family.path.name, family.series.id
        manifest.files.append(SimulatedFile(name, "family_soft", accession, family.counts()))
    return families


def _write_families(families: list[FamilyFile], workers: int) -> None:
    if workers > 1 and len(families) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            list(pool.map(write_family, families))
    else:
        for family in families:
            write_family(family)


def _write_series_files(layout: _Layout, manifest: SimulationManifest) -> None:
    """Platform files, series matrices, the DataSet and RNA-seq count matrices."""
    out, super_of = layout.out, layout.superseries_of
    for spec in layout.arrays:
        manifest.files.append(write_platform_file(out, spec))
    micro, rnaseq = layout.microarray, layout.rnaseq
    for plan in micro[:1] + rnaseq[:1]:
        item = write_matrix_file(out, plan, super_of.get(plan.accession))
        manifest.files.append(item)
        plan.info.files.append(item.path)
    if micro:
        gds = plan_dataset(f"GDS{GDS_BASE + 1}", micro[0])
        manifest.files.append(write_dataset_file(out, gds))
        manifest.datasets.append(gds.info)
    for plan in rnaseq:
        item = write_counts_file(out, plan)
        manifest.files.append(item)
        plan.info.files.append(item.path)


def _finish_manifest(layout: _Layout, manifest: SimulationManifest) -> None:
    platforms = [*layout.arrays, *layout.sequencers]
    manifest.platforms = [s.info() for s in platforms]
    superseries = [layout.superseries] if layout.superseries else []
    manifest.accessions = {
        "GPL": [s.accession for s in platforms],
        "GSE": [p.accession for p in layout.plans] + superseries,
        "GSM": [g for p in layout.plans for g in p.sample_ids],
        "GDS": [d.accession for d in manifest.datasets],
    }
    manifest.files.append(SimulatedFile("manifest.json", "manifest", ""))
    (layout.out / "manifest.json").write_text(manifest.to_json() + "\n", encoding="utf-8")


def _check_parameters(parameters: dict[str, int | None]) -> None:
    series, samples, platforms = (parameters[k] or 0 for k in ("series", "samples", "platforms"))
    if series < 0 or platforms < 1 or samples < 2:
        raise ValueError("simulate needs series >= 0, platforms >= 1 and samples >= 2")
    probes = parameters["probes"]
    if probes is not None and probes < 20:
        raise ValueError(f"probes must be at least 20, got {probes}")
    if (parameters["rnaseq_series"] or 0) < 0:
        raise ValueError(f"rnaseq_series must be >= 0, got {parameters['rnaseq_series']}")


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
        Probes per microarray platform (at least 20); by default 600 to 1,200, varying by
        platform.
    rnaseq_series
        Number of RNA-seq series (default 1).
    workers
        Processes writing family files in parallel (output is the same for any number).

    Returns
    -------
    SimulationManifest
        What was written; also saved as ``out_dir/manifest.json``.

    Raises
    ------
    ValueError
        If ``series``, ``samples``, ``platforms``, ``probes`` or ``rnaseq_series`` is out of
        range.
    """
    n_rnaseq = 1 if rnaseq_series is None else rnaseq_series
    parameters = {
        "series": series,
        "samples": samples,
        "platforms": platforms,
        "probes": probes,
        "rnaseq_series": n_rnaseq,
    }
    _check_parameters(parameters)
    layout = _Layout(Path(out_dir), seed)
    layout.out.mkdir(parents=True, exist_ok=True)
    manifest = SimulationManifest(seed=seed, parameters=parameters)
    _lay_out_platforms(layout, platforms, n_rnaseq, probes)
    _lay_out_series(layout, series, samples, n_rnaseq, probes)
    _write_families(_family_files(layout, manifest), workers)
    _write_series_files(layout, manifest)
    gene_files, manifest.genes = write_gene_files(layout.out, layout.arrays, layout.rnaseq)
    manifest.files += gene_files
    _finish_manifest(layout, manifest)
    return manifest


def iter_family_files(manifest: SimulationManifest, out_dir: str | Path) -> Iterator[Path]:
    """Paths of the family SOFT files a simulation wrote."""
    for item in manifest.files_of_kind("family_soft"):
        yield Path(out_dir) / item.path
