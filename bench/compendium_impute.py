"""How close the compendium's imputations come to the iterative SVD fixed point, and in how
many passes over the data.

Usage::

    python bench/compendium_impute.py                 # real fixtures and simulated matrices
    python bench/compendium_impute.py --no-real --genes 2000 --samples 1000

Matrices (after refine.bio's gene and sample rules):

* ``human``: GDS507 (17 samples, GPL97) and GSM11805 (GPL96), refined, with
  ``max_sample_missing=0.7`` so that GSM11805 (58 % of the genes missing) stays in;
* ``mouse``: the mouse samples of GSE1623 and GSE3791 (three platforms), refined;
* ``sim-random``: ``--genes`` x ``--samples``, a rank-5 structure plus noise (as in
  bench/compendium.py), 1 % of the cells missing at random;
* ``sim-platforms``: the same plus 10 % of the samples missing 40 % of the genes (a platform
  that does not measure them).

For each, the reference is the fixed point itself: alternating least squares run to a relative
change of 1e-10 (or 300 iterations), checked by one exact truncated SVD of the matrix it
fills (``fixed_point``: how far that step moves the imputed cells, relative; every result
gets the same check). Then, relative to that reference (root
sum of squares of the difference at the missing cells over that of the reference; and the
largest absolute difference):

* ``als``: the compendium's default (``imputer="als"``, tolerance 3e-3, 200 iterations at
  most); ``als-1e-4``: the same with ``tolerance=1e-4``;
* ``iterative-svd``: the previous implementation at the same settings (randomized SVD by
  subspace iteration, two passes an iteration);
* ``fancyimpute-default``: refine.bio's call ``IterativeSVD(rank=10)`` as fancyimpute
  describes it, written here from its documented rule (in memory, exact SVDs): zero first
  fill, rank 1, 2, 4, 8 then 10, stop when the squared change of the imputed cells over their
  squared previous values is below 1e-5, or after 200 reconstructions.

Each is also compared with ``fancyimpute-default`` the same way (``..._to_fancyimpute``).
Passes are reads of the whole matrix by the imputation (the gene means included). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np

from exprhub.bundles.compendium_als import impute_als
from exprhub.bundles.compendium_passes import (
    BlockRunner,
    fill_block,
    gene_means,
    impute_iterative_svd,
)

FIXTURES = Path(os.environ.get("EXPRHUB_GEO_FIXTURES", "/work/shared/fixtures/geo"))
RANK = 10
#: Most iterations of the reference (ALS to a relative change of 1e-10).
REFERENCE_ITERS = 300
#: The compendium's default stopping rule (fancyimpute's, as a relative change).
TOLERANCE = 3e-3


def _rules(frame: Any, gene_limit: float, sample_limit: float) -> np.ndarray:
    missing = frame.isna().sum(axis=1)
    frame = frame.loc[missing <= gene_limit * frame.shape[1]]
    per_sample = frame.isna().sum(axis=0)
    return frame.loc[:, per_sample <= sample_limit * frame.shape[0]].to_numpy(np.float64)


def real_matrix(work: Path, files: list[str], tax_id: int, sample_limit: float) -> np.ndarray:
    """Import and refine fixture files into a new hub; the organism's matrix after the rules."""
    from exprhub.api import Hub
    from exprhub.ingest.importer import import_file
    from exprhub.refine import store
    from exprhub.refine.executor import SerialExecutor
    from exprhub.refine.pipeline import RefineOptions, refine

    hub = Hub.init(work / f"hub-{tax_id}")
    try:
        for name in files:
            import_file(hub, FIXTURES / name)
        refine(hub, [], executor=SerialExecutor(), options=RefineOptions())
        keys = sorted(k for k, s in store.refine_states(hub).items() if s.tax_id == tax_id)
        return _rules(store.refined_matrix(hub, keys), 0.3, sample_limit)
    finally:
        hub.close()


def simulated(genes: int, samples: int, platforms: bool, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = (
        rng.uniform(4, 12, genes)[:, None]
        + rng.normal(0, 1, (genes, 5)) @ rng.normal(0, 0.7, (5, samples))
        + rng.normal(0, 0.3, (genes, samples))
    )
    values[rng.random(values.shape) < 0.01] = np.nan
    if platforms:
        values[: int(genes * 0.4), rng.random(samples) < 0.1] = np.nan
    return values


def fancyimpute_default(values: np.ndarray, rank: int = RANK) -> tuple[np.ndarray, int]:
    """IterativeSVD with fancyimpute's documented defaults (see the module docstring)."""
    missing = np.isnan(values)
    filled = np.where(missing, 0.0, values)
    for i in range(200):
        r = min(2**i, rank)
        U, S, Vt = np.linalg.svd(filled, full_matrices=False)
        new = ((U[:, :r] * S[:r]) @ Vt[:r])[missing]
        old = filled[missing]
        norm2 = float((old**2).sum())
        done = norm2 > 0 and float(((old - new) ** 2).sum()) / norm2 < 1e-5
        filled[missing] = new
        if done:
            return filled, i + 1
    return filled, 200


def fixed_point_step(filled: np.ndarray, missing: np.ndarray, rank: int = RANK) -> float:
    """How far one exact rank-k reconstruction moves the imputed cells (relative)."""
    U, S, Vt = np.linalg.svd(filled, full_matrices=False)
    step = ((U[:, :rank] * S[:rank]) @ Vt[:rank])[missing]
    return float(np.linalg.norm(step - filled[missing]) / np.linalg.norm(filled[missing]))


def compare(name: str, values: np.ndarray, chunk: int) -> dict[str, Any]:
    missing = np.isnan(values)
    x = da.from_array(values, chunks=(values.shape[0], chunk))
    runner = BlockRunner(workers=1)
    rank = min(RANK, *values.shape)
    runs: dict[str, Any] = {}

    def record(label: str, filled: np.ndarray, seconds: float, **extra: Any) -> None:
        runs[label] = {"seconds": round(seconds, 2), **extra, "filled": filled}

    start = time.perf_counter()
    reference, _ = impute_als(runner, x, rank=rank, max_iters=REFERENCE_ITERS, tolerance=1e-10)
    ref = fill_block(values, reference.factors.U, reference.factors.W)
    ref_seconds = time.perf_counter() - start
    for label, tolerance in (("als", TOLERANCE), ("als-1e-4", 1e-4)):
        start = time.perf_counter()
        als, _ = impute_als(runner, x, rank=rank, tolerance=tolerance)
        record(
            label,
            fill_block(values, als.factors.U, als.factors.W),
            time.perf_counter() - start,
            iterations=als.iterations,
            passes=2 + als.iterations,
            converged=als.converged,
        )
    start = time.perf_counter()
    old = impute_iterative_svd(runner, x, gene_means(runner, x), rank=rank, tolerance=TOLERANCE)
    record(
        "iterative-svd",
        fill_block(values, old.factors.U, old.factors.W),
        time.perf_counter() - start,
        iterations=old.iterations,
        passes=1 + 2 * old.iterations + (1 if old.converged else 0),
        converged=old.converged,
    )
    start = time.perf_counter()
    fancy, iterations = fancyimpute_default(values.copy(), rank)
    record(
        "fancyimpute-default",
        fancy,
        time.perf_counter() - start,
        iterations=iterations,
        passes=None,
        converged=iterations < 200,
    )
    scale = float(np.linalg.norm(ref[missing]))
    out: dict[str, Any] = {
        "shape": list(values.shape),
        "missing_cells": int(missing.sum()),
        "reference": {
            "iterations": reference.iterations,
            "converged": reference.converged,
            "seconds": round(ref_seconds, 2),
            "fixed_point": fixed_point_step(ref, missing, rank),
        },
    }
    fancy_cells = runs["fancyimpute-default"]["filled"][missing]
    for label, run in runs.items():
        filled = run.pop("filled")
        diff = filled[missing] - ref[missing]
        run["relative_difference"] = float(np.linalg.norm(diff) / scale)
        run["max_abs_difference"] = float(np.abs(diff).max())
        versus = filled[missing] - fancy_cells
        run["relative_difference_to_fancyimpute"] = float(
            np.linalg.norm(versus) / np.linalg.norm(fancy_cells)
        )
        run["max_abs_difference_to_fancyimpute"] = float(np.abs(versus).max())
        run["fixed_point"] = fixed_point_step(filled, missing, rank)
        assert np.array_equal(filled[~missing], values[~missing]), label
        out[label] = run
    print(name, json.dumps(out), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--genes", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--chunk", type=int, default=256)
    parser.add_argument("--no-real", action="store_true", help="simulated matrices only")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    work = Path(tempfile.mkdtemp(prefix="exprhub-impute-bench-"))
    try:
        for platforms in (False, True):
            name = "sim-platforms" if platforms else "sim-random"
            values = simulated(args.genes, args.samples, platforms)
            results[name] = compare(name, values, args.chunk)
        if not args.no_real:
            human = real_matrix(
                work,
                [
                    "geoquery/GDS507.soft.gz",
                    "geoquery/GPL97.annot.gz",
                    "geoquery/GPL96.txt.gz",
                    "geoquery/GSM11805.txt.gz",
                ],
                9606,
                0.7,
            )
            results["human"] = compare("human", human, args.chunk)
            mouse = real_matrix(
                work,
                ["gemma/GSE1623_family.soft.txt.gz", "gemma/GSE3791_family.soft.gz"],
                10090,
                0.5,
            )
            results["mouse"] = compare("mouse", mouse, args.chunk)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"load_average": os.getloadavg(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
