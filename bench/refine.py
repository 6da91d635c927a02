"""The refinery end to end: simulated microarray samples -> gene-level, QN-normalized vectors.

Usage::

    python bench/refine.py [--samples 1000] [--per-series 20] [--probes N] [--workers 2]
                           [--keep DIR]

Simulates ``--samples`` microarray samples (series of ``--per-series`` samples on one human
platform; ``--probes`` probes, default the simulator's ~1,000), imports them and the simulated
NCBI gene files into a fresh hub (not timed), then times ``exprhub.refine.pipeline.refine`` on
every sample with a local pool of ``--workers`` processes: probe -> gene mapping, scale
detection, log2, collapse, QN target build, normalization, provenance and all hub writes. A
second run (everything current) is timed too. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from exprhub.hub import Hub
from exprhub.ingest.importer import import_file
from exprhub.refine.executor import LocalExecutor
from exprhub.refine.pipeline import RefineOptions, import_genes, refine
from exprhub.simulate import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--per-series", type=int, default=20)
    parser.add_argument("--probes", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="Keep the hub in this directory.")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="exprhub-bench-refine-"))
    try:
        series = max(1, args.samples // args.per_series)
        sim = work / "sim"
        t0 = time.perf_counter()
        manifest = simulate(
            sim,
            series=series,
            samples=args.per_series,
            platforms=1,
            seed=7,
            probes=args.probes,
            rnaseq_series=0,
        )
        home = args.keep or work / "hub"
        hub = Hub.init(home)
        for item in manifest.series:
            if item.kind == "microarray":
                import_file(hub, sim / f"{item.accession}_family.soft.gz")
        import_genes(hub, [str(sim / "gene_info.gz")], [str(sim / "gene2ensembl.gz")])
        setup = time.perf_counter() - t0

        with LocalExecutor(args.workers) as executor:
            t1 = time.perf_counter()
            report = refine(hub, [], executor=executor, options=RefineOptions())
            first = time.perf_counter() - t1
            t2 = time.perf_counter()
            again = refine(hub, [], executor=executor, options=RefineOptions())
            second = time.perf_counter() - t2
        hub.close()
        n = report.samples
        print(
            json.dumps(
                {
                    "benchmark": "refine",
                    "samples": n,
                    "series": series,
                    "probes": manifest.platforms[0].probes,
                    "genes": manifest.platforms[0].genes,
                    "workers": args.workers,
                    "failed": len(report.failed),
                    "refine_seconds": round(first, 3),
                    "samples_per_second": round(n / first, 1),
                    "rerun_seconds": round(second, 3),
                    "rerun_current": again.current,
                    "setup_seconds": round(setup, 1),
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                },
                indent=2,
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
