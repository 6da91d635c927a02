"""Quantile normalization to a target: exprhub vs qnorm (PyPI) vs R preprocessCore.

Usage::

    python bench/qn.py [--genes 20000] [--samples 1000] [--repeat 3] [--ties] [--no-r]

All three normalize the same genes x samples matrix (log-normal values, seed 0) onto the same
target. Times (wall clock, and CPU time summed over threads) are the best of ``--repeat`` runs
of the call alone: exprhub's
``normalize_to_target``; ``qnorm.quantile_normalize(matrix, target=...)`` (ncpus=1, its default);
R ``normalize.quantiles.use.target`` timed inside R with ``system.time`` around the call only
(the data reach R as raw float64 files). Prints one JSON object with the times, the ratios and
the largest absolute difference between each pair of results.

``--ties`` rounds the data to integers: preprocessCore gives a tie the target at its average rank,
qnorm the mean of the target over its ranks, so qnorm then differs from the other two.
``--missing F`` sets a fraction F of the values to NaN: preprocessCore (and exprhub) interpolate
the target at each observed value's percentile, qnorm maps the observed values onto the first
target values, so qnorm differs there too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from exprhub.refine.qn import _default_threads, normalize_to_target

R_SCRIPT = r"""
suppressPackageStartupMessages(library(preprocessCore))
args <- commandArgs(trailingOnly = TRUE)
rows <- as.integer(args[1]); cols <- as.integer(args[2]); reps <- as.integer(args[5])
x <- matrix(readBin(args[3], "double", rows * cols, size = 8, endian = "little"), rows, cols)
x[is.nan(x)] <- NA  # preprocessCore skips NA only (a raw NaN would be ranked as data)
target <- readBin(args[4], "double", rows, size = 8, endian = "little")
best <- Inf
best_cpu <- Inf
for (i in seq_len(reps)) {
  t <- system.time(y <- normalize.quantiles.use.target(x, target))
  best <- min(best, t[["elapsed"]])
  best_cpu <- min(best_cpu, t[["user.self"]] + t[["sys.self"]])
}
writeBin(as.vector(y), args[6], size = 8, endian = "little")
cat(sprintf("%.6f %.6f\n", best, best_cpu))
cat(as.character(packageVersion("preprocessCore")), "\n")
"""


def best_of(repeat: int, func):  # type: ignore[no-untyped-def]
    """Best wall time and best CPU time (all threads) of ``repeat`` calls, and the last result."""
    best = best_cpu = float("inf")
    result = None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = func()
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    return best, best_cpu, result


def run_r(x: np.ndarray, target: np.ndarray, repeat: int) -> tuple[float, float, np.ndarray, str]:
    """Time preprocessCore in an Rscript subprocess; returns (wall s, CPU s, result, version)."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        np.asfortranarray(x).T.astype("<f8").tofile(d / "x.bin")  # column-major, as R stores
        target.astype("<f8").tofile(d / "t.bin")
        (d / "qn.R").write_text(R_SCRIPT)
        proc = subprocess.run(
            [
                "Rscript",
                str(d / "qn.R"),
                str(x.shape[0]),
                str(x.shape[1]),
                str(d / "x.bin"),
                str(d / "t.bin"),
                str(repeat),
                str(d / "y.bin"),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        lines = proc.stdout.split()
        y = np.fromfile(d / "y.bin", dtype="<f8").reshape(x.shape[1], x.shape[0]).T
        return float(lines[0]), float(lines[1]), y, lines[2]


def max_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Largest absolute difference (NaN positions must agree)."""
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return float("inf")
    with np.errstate(invalid="ignore"):
        return float(np.nanmax(np.abs(a - b)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genes", type=int, default=20000)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=None, help="exprhub threads (default: its own choice)"
    )
    parser.add_argument("--ties", action="store_true", help="round values to integers")
    parser.add_argument("--missing", type=float, default=0.0, help="fraction of values set to NaN")
    parser.add_argument("--no-r", action="store_true", help="skip R even if available")
    args = parser.parse_args()

    import qnorm

    rng = np.random.default_rng(0)
    x = rng.lognormal(5.0, 2.0, size=(args.genes, args.samples))
    if args.ties:
        x = np.round(x)
    target = np.sort(rng.lognormal(5.0, 2.0, size=args.genes))
    if args.missing:
        x[rng.random(x.shape) < args.missing] = np.nan

    one_s, one_cpu, _ = best_of(args.repeat, lambda: normalize_to_target(x, target, threads=1))
    ours_s, ours_cpu, ours = best_of(
        args.repeat, lambda: normalize_to_target(x, target, threads=args.threads)
    )
    qnorm_s, qnorm_cpu, theirs = best_of(
        args.repeat, lambda: qnorm.quantile_normalize(x, target=target)
    )
    report: dict[str, object] = {
        "shape": [args.genes, args.samples],
        "ties": args.ties,
        "missing": args.missing,
        "repeat": args.repeat,
        "cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "qnorm_version": getattr(qnorm, "__version__", "?"),
        "exprhub_threads": args.threads or _default_threads(),
        "exprhub_s": round(ours_s, 4),
        "exprhub_cpu_s": round(ours_cpu, 4),
        "exprhub_1thread_s": round(one_s, 4),
        "exprhub_1thread_cpu_s": round(one_cpu, 4),
        "qnorm_s": round(qnorm_s, 4),
        "qnorm_cpu_s": round(qnorm_cpu, 4),
        "exprhub_over_qnorm": round(ours_s / qnorm_s, 3),
        "exprhub_1thread_over_qnorm": round(one_s / qnorm_s, 3),
        "max_abs_diff_exprhub_qnorm": max_diff(ours, theirs),
    }
    if not args.no_r and shutil.which("Rscript"):
        r_s, r_cpu, r_y, r_version = run_r(x, target, args.repeat)
        report.update(
            {
                "r_preprocesscore_version": r_version,
                "r_s": round(r_s, 4),
                "r_cpu_s": round(r_cpu, 4),
                "exprhub_over_r": round(ours_s / r_s, 3) if r_s > 0 else None,
                "max_abs_diff_exprhub_r": max_diff(ours, r_y),
                "max_abs_diff_qnorm_r": max_diff(theirs, r_y),
            }
        )
    else:
        report["r_s"] = None
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
