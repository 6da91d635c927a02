"""The demo hub: realistic simulated GEO files taken through the normal import, refine and
index paths, so that `exprhub demo` shows everything working on the embedded defaults."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from exprhub.hub import Hub
from exprhub.ingest.importer import import_files
from exprhub.simulate import SimulationManifest, simulate

#: Simulated files that are GEO records (the rest are gene references and count tables).
GEO_KINDS = ("family_soft", "gds_soft", "series_matrix")


def _noop(_: str) -> None:
    pass


def build_demo(
    home: str | Path,
    *,
    series: int = 4,
    samples: int = 12,
    platforms: int = 2,
    seed: int = 7,
    report: Callable[[str], None] = _noop,
) -> dict[str, Any]:
    """Build (or bring up to date) a demo hub at ``home``; return a JSON-ready summary.

    Running it again on the same directory re-imports nothing (imports are idempotent).
    """
    home = Path(home)
    files = home / "demo-files"
    with Hub.init(home) as hub:
        manifest_path = files / "manifest.json"
        if manifest_path.exists():
            manifest = SimulationManifest.load(manifest_path)
        else:
            report("simulating GEO files")
            manifest = simulate(
                files, series=series, samples=samples, platforms=platforms, seed=seed
            )
        report("importing")
        geo_files = [files / f.path for f in manifest.files if f.kind in GEO_KINDS]
        results = import_files(hub, geo_files)
        refined = _refine(hub, files, manifest, report)
        report("indexing")
        from exprhub.search.hub_index import HubSearch

        with HubSearch(hub) as search:
            search.sync()
        return {
            "home": str(home.resolve()),
            "files": [str(r.path) for r in results],
            "counts": hub.counts(),
            "refined": refined,
        }


def _refine(
    hub: Hub, files: Path, manifest: SimulationManifest, report: Callable[[str], None]
) -> dict[str, Any]:
    from exprhub.refine.pipeline import refine
    from exprhub.refine.store import import_genes

    report("importing the gene reference")
    gene_info = [str(files / f.path) for f in manifest.files_of_kind("gene_info")]
    gene2ensembl = [str(files / f.path) for f in manifest.files_of_kind("gene2ensembl")]
    if gene_info:
        import_genes(hub, gene_info, gene2ensembl)
    report("refining")
    result = refine(hub)
    return {
        "samples": result.samples,
        "normalized": result.normalized,
        "failed": len(result.failed),
        "targets": len(result.targets),
    }
