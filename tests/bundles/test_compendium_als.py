"""The compendium's default imputation (alternating least squares) reaches the iterative SVD
fixed point, in a few passes, whatever the blocks."""

from __future__ import annotations

import dask.array as da
import numpy as np
from threadpoolctl import threadpool_limits

from exprhub.bundles.compendium_als import impute_als, means_and_sketch
from exprhub.bundles.compendium_passes import (
    BlockRunner,
    fill_block,
    gene_means,
    impute_iterative_svd,
)


def _platforms(genes=300, samples=120, seed=5):
    """Rank 4 plus noise, 10 % of the cells missing at random, and a tenth of the samples
    without the first third of the genes (another platform)."""
    rng = np.random.default_rng(seed)
    values = 8 + rng.normal(size=(genes, 4)) @ rng.normal(size=(4, samples))
    values += rng.normal(0, 0.1, values.shape)
    values[rng.random(values.shape) < 0.1] = np.nan
    values[: genes // 3, : samples // 10] = np.nan
    return values


def _iterative_svd(values, rank, iterations):
    """fancyimpute's IterativeSVD loop in memory with exact SVDs (gene-mean start)."""
    missing = np.isnan(values)
    filled = np.where(missing, np.nanmean(values, axis=1)[:, None], values)
    for i in range(iterations):
        r = min(2**i, rank)
        U, S, Vt = np.linalg.svd(filled, full_matrices=False)
        filled[missing] = ((U[:, :r] * S[:r]) @ Vt[:r])[missing]
    return filled


def _step(filled, missing, rank):
    """How far one exact rank-``rank`` reconstruction moves the imputed cells (relative)."""
    U, S, Vt = np.linalg.svd(filled, full_matrices=False)
    step = ((U[:, :rank] * S[:rank]) @ Vt[:rank])[missing]
    return np.linalg.norm(step - filled[missing]) / np.linalg.norm(filled[missing])


def test_als_reaches_the_iterative_svd_fixed_point_in_few_passes():
    values = _platforms()
    missing = np.isnan(values)
    runner = BlockRunner(workers=2, batch=3)
    x = da.from_array(values, chunks=(values.shape[0], 25))
    result, _ = impute_als(runner, x, rank=5, tolerance=1e-6)
    assert result.converged and result.iterations <= 12
    got = fill_block(values, result.factors.U, result.factors.W)
    np.testing.assert_array_equal(got[~missing], values[~missing])
    # a fixed point: one more exact reconstruction leaves the imputed cells where they are
    assert _step(got, missing, 5) < 1e-5
    # iterative SVD itself, run long in memory, ends at the same values (400 iterations: the
    # imputed cells stop moving, to machine precision, by about 300 on this matrix; one BLAS
    # thread, several times faster at this size than contended threads)
    with threadpool_limits(1):
        reference = _iterative_svd(values.copy(), 5, 400)
    assert _step(reference, missing, 5) < 1e-6
    error = np.linalg.norm(got[missing] - reference[missing]) / np.linalg.norm(reference[missing])
    assert error < 1e-5
    # ... which the previous out-of-core iterations approach far more slowly
    old = impute_iterative_svd(runner, x, gene_means(runner, x), rank=5, max_iters=12)
    filled = fill_block(values, old.factors.U, old.factors.W)
    old_error = np.linalg.norm(filled[missing] - reference[missing])
    assert old_error / np.linalg.norm(reference[missing]) > 100 * error


def test_als_does_not_depend_on_blocks_or_workers():
    values = _platforms(samples=64, seed=3)
    outs = []
    for chunk, workers in ((64, 1), (16, 2), (7, 2)):
        x = da.from_array(values, chunks=(values.shape[0], chunk))
        result, _ = impute_als(BlockRunner(workers=workers), x, rank=5, max_iters=6)
        outs.append(fill_block(values, result.factors.U, result.factors.W))
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-9)
    np.testing.assert_allclose(outs[2], outs[0], rtol=1e-9)


def test_means_and_sketch_in_one_pass():
    values = _platforms(genes=40, samples=30)
    x = da.from_array(values, chunks=(40, 8))
    means, sketch = means_and_sketch(BlockRunner(workers=1), x, 6, seed=1)
    np.testing.assert_allclose(means, np.nanmean(values, axis=1))
    omega = np.random.default_rng(1).standard_normal((30, 6))
    filled = np.where(np.isnan(values), means[:, None], values)
    np.testing.assert_allclose(sketch, filled @ omega, rtol=1e-10)


def test_rank_above_the_samples_and_a_sample_with_one_value():
    """Rank 10 of 6 samples is rank 6; a sample with a single observed gene still gets
    finite values (its least squares system is singular and takes the minimum-norm fit)."""
    rng = np.random.default_rng(0)
    values = rng.normal(8, 1, (50, 6))
    values[rng.random(values.shape) < 0.05] = np.nan
    values[1:, 0] = np.nan
    x = da.from_array(values, chunks=(50, 4))
    result, _ = impute_als(BlockRunner(workers=1), x, rank=10, max_iters=5)
    assert result.factors.U.shape == (50, 6)
    got = fill_block(values, result.factors.U, result.factors.W)
    assert np.isfinite(got).all()
