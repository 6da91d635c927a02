"""limma-style differential expression: exprhub's port vs R limma, timed in the same run.

Usage::

    python bench/de.py [--genes 20000] [--samples 100] [--repeat 3] [--missing 0] [--no-r]

One genes x samples matrix (normal log-expression, seed 0; 5 % of genes shifted in group 2),
two groups of equal size plus a numeric covariate; design ``~ group + covariate`` (intercept,
group effect, covariate). Timed: the fit, moderation and full top table for the group
coefficient, i.e. exprhub ``lm_fit`` + ``e_bayes`` + ``top_table(number=None)`` and R
``lmFit`` + ``eBayes`` + ``topTable(coef = 2, number = Inf)`` (R timed inside R with
``system.time`` around the same three calls; the data reach R as raw float64). Best of
``--repeat``. Prints one JSON object with the times, their ratio and the largest absolute
difference of t, logFC and P.Value between the two.
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
import pandas as pd

from exprhub.analysis.linear_models import e_bayes, lm_fit, top_table

R_SCRIPT = r"""
suppressPackageStartupMessages(library(limma))
args <- commandArgs(trailingOnly = TRUE)
rows <- as.integer(args[1]); cols <- as.integer(args[2]); reps <- as.integer(args[6])
y <- matrix(readBin(args[3], "double", rows * cols, size = 8, endian = "little"), rows, cols)
y[is.nan(y)] <- NA
rownames(y) <- sprintf("g%d", seq_len(rows))
group <- factor(readBin(args[4], "integer", cols, size = 4, endian = "little"))
covariate <- readBin(args[5], "double", cols, size = 8, endian = "little")
design <- model.matrix(~ group + covariate)
best <- Inf; best_cpu <- Inf
for (i in seq_len(reps)) {
  t <- system.time({
    fit <- lmFit(y, design)
    fit <- eBayes(fit)
    tt <- topTable(fit, coef = 2, number = Inf, sort.by = "none")
  })
  best <- min(best, t[["elapsed"]])
  best_cpu <- min(best_cpu, t[["user.self"]] + t[["sys.self"]])
}
writeBin(c(tt$t, tt$logFC, tt$P.Value), args[7], size = 8, endian = "little")
cat(sprintf("%.6f %.6f\n", best, best_cpu))
cat(as.character(packageVersion("limma")), "\n")
"""


def best_of(repeat: int, func):  # type: ignore[no-untyped-def]
    """Best wall time and best CPU time of ``repeat`` calls, and the last result."""
    best = best_cpu = float("inf")
    result = None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = func()
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    return best, best_cpu, result


def run_r(
    y: np.ndarray, group: np.ndarray, covariate: np.ndarray, repeat: int
) -> tuple[float, float, np.ndarray, str]:
    """Time R limma in an Rscript subprocess; returns (wall s, CPU s, [t; logFC; P], version)."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        np.asfortranarray(y).T.astype("<f8").tofile(d / "y.bin")  # column-major, as R stores
        group.astype("<i4").tofile(d / "g.bin")
        covariate.astype("<f8").tofile(d / "c.bin")
        (d / "de.R").write_text(R_SCRIPT)
        proc = subprocess.run(
            [
                "Rscript",
                str(d / "de.R"),
                str(y.shape[0]),
                str(y.shape[1]),
                str(d / "y.bin"),
                str(d / "g.bin"),
                str(d / "c.bin"),
                str(repeat),
                str(d / "out.bin"),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        lines = proc.stdout.split()
        out = np.fromfile(d / "out.bin", dtype="<f8").reshape(3, y.shape[0])
        return float(lines[0]), float(lines[1]), out, lines[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genes", type=int, default=20000)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--missing", type=float, default=0.0, help="fraction of values set to NaN")
    parser.add_argument("--no-r", action="store_true", help="skip R even if available")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    n = args.samples
    group = np.repeat([1, 2], [n // 2, n - n // 2])
    covariate = np.round(rng.uniform(20, 70, n), 1)
    sd = np.sqrt(4 / rng.chisquare(4, args.genes)) * 0.3
    y = rng.normal(8, 2, (args.genes, 1)) + rng.normal(0, 1, (args.genes, n)) * sd[:, None]
    y[: args.genes // 20, group == 2] += 1.0
    y += 0.01 * covariate[None, :]
    if args.missing:
        y[rng.random(y.shape) < args.missing] = np.nan
    design = pd.DataFrame(
        {"(Intercept)": 1.0, "group2": (group == 2).astype(float), "covariate": covariate}
    )
    values = pd.DataFrame(y, index=[f"g{i + 1}" for i in range(args.genes)])

    def ours() -> pd.DataFrame:
        fit = e_bayes(lm_fit(values, design))
        return top_table(fit, "group2", number=None, sort_by="none")

    ours_s, ours_cpu, table = best_of(args.repeat, ours)
    report: dict[str, object] = {
        "shape": [args.genes, n],
        "missing": args.missing,
        "repeat": args.repeat,
        "cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "exprhub_s": round(ours_s, 4),
        "exprhub_cpu_s": round(ours_cpu, 4),
    }
    if not args.no_r and shutil.which("Rscript"):
        r_s, r_cpu, r_out, version = run_r(y, group, covariate, args.repeat)
        ours_out = table[["t", "logFC", "P.Value"]].to_numpy().T
        diffs = np.nanmax(np.abs(ours_out - r_out), axis=1)
        report.update(
            {
                "r_limma_version": version,
                "r_s": round(r_s, 4),
                "r_cpu_s": round(r_cpu, 4),
                "exprhub_over_r": round(ours_s / r_s, 3) if r_s > 0 else None,
                "target_met": bool(ours_s <= r_s),
                "max_abs_diff_t": float(diffs[0]),
                "max_abs_diff_logFC": float(diffs[1]),
                "max_abs_diff_P": float(diffs[2]),
            }
        )
    else:
        report["r_s"] = None
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
