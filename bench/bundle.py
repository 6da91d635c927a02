"""A species bundle of simulated, quantile-normalized samples: time and peak memory.

Usage::

    python bench/bundle.py [--samples 1000] [--genes 20000] [--per-series 100]
                           [--format h5ad] [--keep DIR]

Setup (not timed): a fresh hub gets ``--samples`` simulated human sample records in series of
``--per-series``; their gene-level log2 values (``--genes`` genes, per-gene means and noise,
seed 0) are quantile-normalized to a target built from them (``exprhub.refine.qn``) and written
straight into the refinery's array store through its public API
(``exprhub.refine.store.write_sample_column``), with each sample's refine state, the QN target
and the assignments, as ``exprhub refine`` leaves them. No GEO files are imported.

Timed: ``exprhub.api.Hub.bundle(series=all series, aggregate="species", format=...)`` in a
fresh Python process (so that its peak RSS is the build's own, not the setup's), twice; the
second file must be byte-identical. ``seconds`` is the build (``cpu_seconds`` its CPU time, all
threads); ``import_seconds`` the import of exprhub (and anndata for h5ad) before it. With
``--keep DIR`` the hub stays in ``DIR`` and a later run with the same ``DIR`` reuses it (the
other formats at the same size without a second setup). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from exprhub.hub import Hub
from exprhub.records import Sample, Series
from exprhub.refine import store
from exprhub.refine.qn import build_target, normalize_to_target

TAX_ID = 9606
KIND = "intensity"


def _series_keys(n_samples: int, per_series: int) -> list[str]:
    return [f"GSE9{i:05d}" for i in range((n_samples + per_series - 1) // per_series)]


def setup(home: Path, n_samples: int, n_genes: int, per_series: int) -> dict[str, float]:
    """Fill a fresh hub with the simulated refined samples."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    genes = [str(100 + i) for i in range(n_genes)]
    means = rng.normal(7.0, 2.0, n_genes)
    keys = [f"GSM9{i:06d}" for i in range(n_samples)]
    series_keys = _series_keys(n_samples, per_series)
    with Hub.init(home) as hub:
        records: list[Sample | Series] = []
        for s, series in enumerate(series_keys):
            members = keys[s * per_series : (s + 1) * per_series]
            records.append(
                Series(
                    series,
                    [
                        ("Series_title", f"Simulated series {series}"),
                        ("Series_geo_accession", series),
                        ("Series_platform_id", "GPL570"),
                        *[("Series_sample_id", k) for k in members],
                    ],
                )
            )
            for i, key in enumerate(members):
                records.append(
                    Sample(
                        key,
                        [
                            ("Sample_title", f"simulated sample {key}"),
                            ("Sample_geo_accession", key),
                            ("Sample_channel_count", "1"),
                            ("Sample_organism_ch1", "Homo sapiens"),
                            ("Sample_source_name_ch1", "liver" if i % 2 else "lung"),
                            (
                                "Sample_characteristics_ch1",
                                f"tissue: {'liver' if i % 2 else 'lung'}",
                            ),
                            ("Sample_characteristics_ch1", f"age: {20 + i % 50}"),
                            ("Sample_platform_id", "GPL570"),
                            ("Sample_series_id", series),
                        ],
                    )
                )
        hub.put_records(records)
        first = (means[:, None] + rng.normal(0, 1, (n_genes, min(n_samples, 100)))).astype(
            np.float32
        )
        target = build_target(
            (first[:, j] for j in range(first.shape[1])),
            sample_ids=keys[: first.shape[1]],
            organism="Homo sapiens",
            value_kind=KIND,
        )
        with hub.writer() as writer:
            version = store.store_target(
                writer,
                tax_id=TAX_ID,
                organism="Homo sapiens",
                value_kind=KIND,
                sha256=target.sha256,
                values=target.values,
                sample_ids=keys[: first.shape[1]],
                platform_key="GPL570",
            )
        stored = store.target_version(hub, TAX_ID, KIND, version)
        name = store.refined_matrix_name(TAX_ID, KIND)
        block = 250
        for start in range(0, n_samples, block):
            batch = keys[start : start + block]
            values = (means[:, None] + rng.normal(0, 1, (n_genes, len(batch)))).astype(np.float32)
            normalized = normalize_to_target(values, target).astype(np.float32)
            with hub.writer() as writer:
                for j, key in enumerate(batch):
                    store.write_sample_column(
                        writer, name, store.REFINED_KIND, key, genes, normalized[:, j]
                    )
                states = [
                    (
                        store.RefineState(
                            sample_key=key,
                            status="done",
                            batch_key=None,
                            tax_id=TAX_ID,
                            value_kind=KIND,
                            platform_key="GPL570",
                            processor="exprhub-refinery",
                            processor_version="1",
                            input_sha256="0" * 64,
                            values_sha256=None,
                            genes_observed=n_genes,
                            qn_target_sha256=target.sha256,
                            message=None,
                        ),
                        {"tools": {"exprhub": "bench"}},
                    )
                    for key in batch
                ]
                store.put_refine_states(writer, states)
                store.assign_targets(writer, batch, tax_id=TAX_ID, value_kind=KIND, target=stored)
    return {"setup_seconds": round(time.perf_counter() - t0, 2)}


def build(home: Path, out: Path, fmt: str, n_samples: int, per_series: int) -> dict[str, object]:
    """Time one bundle build in this process; its peak RSS (this process is fresh)."""
    t_import = time.perf_counter()
    import exprhub

    if fmt == "h5ad":
        import anndata  # noqa: F401  (its import, seconds on a busy machine, is timed apart)
    imports = time.perf_counter() - t_import
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    with exprhub.Hub(home) as hub:
        result = hub.bundle(
            out,
            series=_series_keys(n_samples, per_series),
            aggregate="species",
            format=fmt,
        )
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    summary = result.as_dict()
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "import_seconds": round(imports, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "file": summary["file"],
        "size_mb": round(summary["size"] / 2**20, 1),
        "aggregates": summary["aggregates"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--per-series", type=int, default=100)
    parser.add_argument("--format", default="h5ad", choices=["tsv", "h5ad", "parquet"])
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="Keep the hub in this directory; when it already holds one, reuse it (no setup).",
    )
    parser.add_argument(
        "--runs", type=int, default=2, help="Builds (2: also check they are byte-identical)."
    )
    parser.add_argument("--build", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build is not None:  # the child process: one timed build
        print(json.dumps(build(args.build, args.out, args.format, args.samples, args.per_series)))
        return

    work = Path(tempfile.mkdtemp(prefix="exprhub-bench-bundle-"))
    try:
        home = args.keep or work / "hub"
        report: dict[str, object] = {
            "benchmark": "bundle",
            "samples": args.samples,
            "genes": args.genes,
            "format": args.format,
            "aggregate": "species",
            "quantile_normalized": True,
            "started_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        }
        if args.keep is not None and (args.keep / "hub.json").exists():
            report["setup_seconds"] = "reused"
        else:
            report.update(setup(home, args.samples, args.genes, args.per_series))
        runs = []
        for run in ("first", "second")[: max(1, min(2, args.runs))]:
            out = work / run
            out.mkdir()
            child = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--build",
                    str(home),
                    "--out",
                    str(out),
                    "--format",
                    args.format,
                    "--samples",
                    str(args.samples),
                    "--per-series",
                    str(args.per_series),
                ],
                capture_output=True,
                text=True,
                check=True,
                env=os.environ,
            )
            runs.append(json.loads(child.stdout))
        report["runs"] = runs
        if len(runs) == 2:
            report["byte_identical"] = runs[0]["file"] == runs[1]["file"] and (
                (work / "first" / runs[0]["file"]).read_bytes()
                == (work / "second" / runs[1]["file"]).read_bytes()
            )
        report["targets"] = {"seconds_at_10000": 60, "peak_rss_mb_at_10000": 4096}
        report["machine"] = {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }
        print(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
