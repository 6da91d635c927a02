"""Benchmark of the matrix store (exprhub.storage.arrays) on a simulated expression matrix.

Builds a rows x cols float32 matrix in batches of columns (log-normal values, ~0.5 % NaN),
then times warm-cache reads of one feature across all samples and of one sample across all
features, the cost of appending one sample versus a batch, and rollback. Prints a JSON summary
with pass/fail against the targets (one row <= 50 ms, one sample <= 20 ms, medians and p95).

With the append tier (the default for new matrices) the build compacts complete stripes after
each batch, as the hub does after each write, and then appends ``--tail`` more columns in
``--tail-batch``-column appends without compacting them (the state right after many small
imports); the reads are timed in that state, and again after ``compact(whole=True)``.
``--no-tier`` builds a matrix written in both layouts at every append (the layout before the
append tier, with its chunk shapes).

Usage::

    python bench/store.py                         # full size: 20,000 x 100,000
    python bench/store.py --rows 2000 --cols 5000  # quick run
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from exprhub.storage.arrays import MatrixStore

ROW_TARGET_MS = 50.0
SAMPLE_TARGET_MS = 20.0


def _values(rng: np.random.Generator, base: np.ndarray, k: int) -> np.ndarray:
    """Log-normal expression values for ``k`` samples (gene baseline + sample noise)."""
    noise = rng.standard_normal((base.size, k), dtype=np.float32) * np.float32(0.5)
    values = np.exp2(base[:, None] + noise + rng.normal(0, 0.2, size=k).astype(np.float32))
    values[rng.random(values.shape, dtype=np.float32) < 0.005] = np.nan
    return values


def _stats(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1e3
    return {
        "median_ms": round(float(np.median(ms)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
        "max_ms": round(float(ms.max()), 3),
    }


def _time_reads(fn: Any, indices: np.ndarray, extent: int) -> list[float]:
    out = []
    for i in indices:
        t = time.perf_counter()
        fn(int(i), extent)
        out.append(time.perf_counter() - t)
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Build the matrix, time it and return the summary."""
    rng = np.random.default_rng(args.seed)
    workdir = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="exprhub-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    store = MatrixStore(workdir / "store", append_tier=args.tier)
    if store.exists("bench"):
        store.delete("bench")
    matrix = store.open("bench", create=True, dtype="float32")
    base = rng.normal(7.0, 2.0, size=args.rows).astype(np.float32)
    n_rows, n_cols = args.rows, 0

    batch_seconds = []
    t_build = time.perf_counter()
    while n_cols < args.cols:
        k = min(args.batch, args.cols - n_cols)
        values = _values(rng, base, k)
        t = time.perf_counter()
        matrix.append_columns(n_cols, values)
        n_cols += k
        matrix.compact(n_rows, n_cols)
        batch_seconds.append(time.perf_counter() - t)
        if args.verbose:
            print(f"appended {n_cols}/{args.cols} in {batch_seconds[-1]:.2f}s", file=sys.stderr)
    build_s = time.perf_counter() - t_build
    tail_seconds = []
    tail_end = n_cols + args.tail
    while n_cols < tail_end:  # many small imports, not compacted
        k = min(args.tail_batch, tail_end - n_cols)
        values = _values(rng, base, k)
        t = time.perf_counter()
        matrix.append_columns(n_cols, values)
        tail_seconds.append(time.perf_counter() - t)
        n_cols += k

    # Appending one sample, then rolling back (the committed extent stays n_cols).
    one_seconds, discard_seconds = [], []
    for _ in range(args.single_appends):
        t = time.perf_counter()
        matrix.append_columns(n_cols, _values(rng, base, 1))
        one_seconds.append(time.perf_counter() - t)
        t = time.perf_counter()
        matrix.discard_beyond(n_rows, n_cols)
        discard_seconds.append(time.perf_counter() - t)

    row_idx = rng.integers(0, n_rows, size=args.reads)
    col_idx = rng.integers(0, n_cols, size=args.reads)
    uncompacted = n_cols - matrix.feature_columns(n_cols)
    first_rows = _time_reads(matrix.row, row_idx, n_cols)  # warms the page cache
    first_cols = _time_reads(matrix.column, col_idx, n_rows)
    row_times = _time_reads(matrix.row, row_idx, n_cols)
    col_times = _time_reads(matrix.column, col_idx, n_rows)
    t = time.perf_counter()
    matrix.compact(n_rows, n_cols, whole=True)
    compact_whole_s = time.perf_counter() - t
    _time_reads(matrix.row, row_idx, n_cols)
    compacted_rows = _time_reads(matrix.row, row_idx, n_cols)

    gene_set = rng.choice(n_rows, size=min(100, n_rows), replace=False)
    samples = rng.choice(n_cols, size=min(100, n_cols), replace=False)
    matrix.rows(gene_set, n_cols)
    matrix.columns(samples, n_rows)
    t = time.perf_counter()
    matrix.rows(gene_set, n_cols)
    rows100_s = time.perf_counter() - t
    t = time.perf_counter()
    matrix.columns(samples, n_rows)
    cols100_s = time.perf_counter() - t

    # Sanity: both layouts agree on a few cells.
    check = matrix.rows(row_idx[:5], n_cols)
    for j in col_idx[:5]:
        if not np.array_equal(check[:, j], matrix.column(int(j), n_rows)[row_idx[:5]], True):
            raise AssertionError(f"layouts disagree at column {j}")

    disk = matrix.nbytes_on_disk()
    raw = n_rows * n_cols * 4
    row_stats, col_stats = _stats(row_times), _stats(col_times)
    per_sample_batch = statistics.median(batch_seconds) / args.batch
    summary: dict[str, Any] = {
        "shape": [n_rows, n_cols],
        "dtype": "float32",
        "append_tier": matrix.tiered,
        "chunks": {"by_feature": list(matrix._fm.chunks), "by_sample": list(matrix._sm.chunks)},
        "batch_columns": args.batch,
        "build_s": round(build_s, 1),
        "tail_appends": len(tail_seconds),
        "tail_append_s_median": (
            round(statistics.median(tail_seconds), 4) if tail_seconds else None
        ),
        "uncompacted_columns_at_read": uncompacted,
        "compact_whole_s": round(compact_whole_s, 2),
        "row_all_samples_after_compact_whole": _stats(compacted_rows),
        "append_batch_s_median": round(statistics.median(batch_seconds), 3),
        "append_per_sample_in_batch_ms": round(per_sample_batch * 1e3, 3),
        "append_one_sample_s_median": (
            round(statistics.median(one_seconds), 3) if one_seconds else None
        ),
        "discard_one_sample_s_median": (
            round(statistics.median(discard_seconds), 3) if discard_seconds else None
        ),
        "disk_bytes": disk,
        "disk_gb": round(disk / 1e9, 2),
        "raw_gb_per_layout": round(raw / 1e9, 2),
        "disk_over_raw": round(disk / raw, 3),
        "row_all_samples": row_stats,
        "row_all_samples_first_pass": _stats(first_rows),
        "sample_all_rows": col_stats,
        "sample_all_rows_first_pass": _stats(first_cols),
        "rows_100_random_s": round(rows100_s, 3),
        "columns_100_random_s": round(cols100_s, 3),
        "targets": {"row_ms": ROW_TARGET_MS, "sample_ms": SAMPLE_TARGET_MS},
    }
    summary["pass"] = {
        "row": row_stats["median_ms"] <= ROW_TARGET_MS and row_stats["p95_ms"] <= ROW_TARGET_MS,
        "sample": col_stats["median_ms"] <= SAMPLE_TARGET_MS
        and col_stats["p95_ms"] <= SAMPLE_TARGET_MS,
    }
    if not args.keep:
        shutil.rmtree(workdir if not args.dir else workdir / "store", ignore_errors=True)
    else:
        summary["dir"] = str(workdir)
    return summary


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=20_000, help="features (default 20000)")
    p.add_argument("--cols", type=int, default=100_000, help="samples (default 100000)")
    p.add_argument("--batch", type=int, default=2_000, help="columns per append (default 2000)")
    p.add_argument("--tail", type=int, default=1_000, help="columns appended at the end")
    p.add_argument("--tail-batch", type=int, default=20, help="columns per tail append")
    p.add_argument(
        "--no-tier", dest="tier", action="store_false", help="write both layouts at each append"
    )
    p.add_argument("--reads", type=int, default=50, help="timed reads per pattern (default 50)")
    p.add_argument("--single-appends", type=int, default=3, help="one-sample appends to time")
    p.add_argument("--dir", help="work directory (default: a new temp dir under /tmp)")
    p.add_argument("--keep", action="store_true", help="keep the matrix on disk")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
    args = p.parse_args(argv)
    summary = run(args)
    print(json.dumps(summary, indent=2))
    return 0 if all(summary["pass"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
