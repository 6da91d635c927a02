"""Compendium build time and peak memory at N simulated samples x 20,000 genes.

Usage::

    python bench/compendium.py 10000 25000 [--genes 20000] [--format parquet]
        [--imputer als|iterative-svd] [--max-iters 200]

For each N: a new hub whose refined matrices are written straight through the hub's public
writer API (``HubWriter`` + ``exprhub.refine.store.write_sample_column`` and
``put_refine_states``), no GEO files: 85 % "microarray" samples measuring the first 90 % of the
genes (1 % of their cells missing at random), 15 % "RNA-seq" samples measuring all genes, and
0.5 % of the samples measuring only a quarter of the genes (dropped by the sample rule). The
values are log2-like: a rank-5 structure plus noise. Then ``exprhub compendium build`` runs in a
child process (``hub.compendium``), whose wall time and peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss`` in the child), and CPU time (all its threads,
steadier than wall time on a shared machine) are measured alone. Prints one JSON object.

``--imputer als`` (the default) runs the imputation to convergence (each iteration one
streaming pass); ``--imputer iterative-svd`` is the previous method (two passes an iteration,
far more iterations: give ``--max-iters``). The JSON gives the iterations run and the
passes over the data in all (missing counts 2, imputation, QN 2).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from exprhub.hub import Hub
from exprhub.refine.store import RefineState, put_refine_states, write_sample_column
from exprhub.refine.store.refined import refined_matrix_name

TAX_ID = 9606
BATCH = 500


def fill_hub(home: Path, n_samples: int, n_genes: int, seed: int = 0) -> float:
    """Write the simulated refined samples; return the seconds it took."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    genes = [str(g + 1) for g in range(n_genes)]
    array_genes = genes[: int(n_genes * 0.9)]
    poor_genes = genes[: n_genes // 4]
    loadings = rng.normal(0, 1, (n_genes, 5))
    base = rng.uniform(4, 12, n_genes)
    hub = Hub.init(home)
    for first in range(0, n_samples, BATCH):
        keys = [f"GSM{100000 + i}" for i in range(first, min(first + BATCH, n_samples))]
        scores = rng.normal(0, 0.7, (5, len(keys)))
        values = base[:, None] + loadings @ scores + rng.normal(0, 0.3, (n_genes, len(keys)))
        states = []
        with hub.writer() as writer:
            for j, key in enumerate(keys):
                draw = rng.random()
                if draw < 0.005:
                    kind, names, column = "intensity", poor_genes, values[: len(poor_genes), j]
                elif draw < 0.15:
                    kind, names, column = "rna-seq", genes, values[:, j]
                else:
                    kind, names = "intensity", array_genes
                    column = values[: len(array_genes), j].copy()
                    column[rng.random(column.size) < 0.01] = np.nan
                write_sample_column(
                    writer, refined_matrix_name(TAX_ID, kind), "refined", key, names, column
                )
                states.append(
                    (
                        RefineState(
                            key,
                            "done",
                            None,
                            TAX_ID,
                            kind,
                            "GPLSIM",
                            "bench",
                            "1",
                            "0" * 64,
                            None,
                            len(names),
                            None,
                            None,
                        ),
                        {},
                    )
                )
            put_refine_states(writer, states)
    hub.close()
    return time.perf_counter() - start


CHILD = """
import json, resource, sys, time
from exprhub.api import Hub
home, out, fmt, iters, imputer = sys.argv[1:4] + [int(sys.argv[4]), sys.argv[5]]
start = time.perf_counter()
report = Hub(home).compendium(
    "Homo sapiens", out, format=fmt, max_iters=iters, imputer=imputer
)
usage = resource.getrusage(resource.RUSAGE_SELF)
seconds = time.perf_counter() - start
cpu = usage.ru_utime + usage.ru_stime
out = {"seconds": seconds, "cpu": cpu, "peak_kb": usage.ru_maxrss, "report": report.to_dict()}
print(json.dumps(out))
"""


def build(home: Path, out: Path, fmt: str, max_iters: int, imputer: str) -> dict[str, object]:
    """Run the build in a child process; its wall time, peak RSS and report."""
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    load_before = os.getloadavg()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(home), str(out), fmt, str(max_iters), imputer],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    report = result["report"]
    imputation = report["imputation"]
    iterations = imputation.get("iterations") or 0
    if not imputation.get("applied"):
        impute_passes = 0
    elif imputer == "als":
        impute_passes = 2 + iterations
    else:
        impute_passes = 1 + 2 * iterations + (1 if imputation.get("converged") else 0)
    return {
        "started_utc": started,
        "load_average_before": [round(v, 1) for v in load_before],
        "load_average_after": [round(v, 1) for v in os.getloadavg()],
        "build_seconds": round(result["seconds"], 1),
        "build_cpu_seconds": round(result["cpu"], 1),
        "peak_rss_mb": round(result["peak_kb"] / 1024, 1),
        "samples_kept": report["samples"],
        "genes_kept": report["genes"],
        "dropped_genes": report["dropped_genes"],
        "dropped_samples": report["dropped_samples"],
        "missing_cells": report["missing_cells"],
        "iterations": imputation.get("iterations"),
        "converged": imputation.get("converged"),
        "last_change": imputation.get("last_change"),
        "passes": 2 + impute_passes + (2 if report["quantile_normalization"]["applied"] else 1),
        "output_mb": round(sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", type=int, nargs="+", help="numbers of samples")
    parser.add_argument("--genes", type=int, default=20000)
    parser.add_argument("--format", default="parquet", choices=["tsv", "h5ad", "parquet"])
    parser.add_argument("--max-iters", type=int, default=200)
    parser.add_argument("--imputer", default="als", choices=["als", "iterative-svd"])
    parser.add_argument("--keep", type=Path, help="keep the hubs and outputs under this folder")
    args = parser.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="exprhub-compendium-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    runs = []
    try:
        for n in args.sizes:
            home = work / f"hub-{n}"
            shutil.rmtree(home, ignore_errors=True)
            fill = fill_hub(home, n, args.genes)
            out = work / f"out-{n}"
            shutil.rmtree(out, ignore_errors=True)
            run = {"samples": n, "genes": args.genes, "fill_seconds": round(fill, 1)}
            run.update(build(home, out, args.format, args.max_iters, args.imputer))
            print(json.dumps(run), file=sys.stderr, flush=True)
            runs.append(run)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(
        json.dumps(
            {
                "format": args.format,
                "max_iters": args.max_iters,
                "imputer": args.imputer,
                "load_average": os.getloadavg(),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "runs": runs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
