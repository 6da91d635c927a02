"""The compendium's out-of-core passes on synthetic matrices: iterative SVD imputation
recovers a low-rank matrix, the two-pass QN equals exprhub.refine.qn in memory, missing counts
and the streaming writers."""

from __future__ import annotations

import dask.array as da
import numpy as np

from exprhub.bundles.compendium_passes import (
    BlockRunner,
    fill_block,
    gene_means,
    impute_iterative_svd,
    missing_counts,
    normalized_blocks,
    quantile_target,
    sample_missing_counts,
)
from exprhub.refine.qn import build_target, normalize_to_target


def _low_rank(genes=400, samples=150, rank=4, missing=0.15, seed=7):
    rng = np.random.default_rng(seed)
    # the offset adds one to the rank: rank + 1 in all
    truth = 8 + rng.normal(size=(genes, rank)) @ rng.normal(size=(rank, samples))
    holes = rng.random(truth.shape) < missing
    observed = truth.copy()
    observed[holes] = np.nan
    return truth, observed, holes


def test_imputation_recovers_a_low_rank_matrix():
    truth, observed, holes = _low_rank()
    x = da.from_array(observed, chunks=(observed.shape[0], 32))
    runner = BlockRunner(workers=2, batch=3)
    result = impute_iterative_svd(
        runner, x, gene_means(runner, x), rank=5, max_iters=500, tolerance=1e-9
    )
    assert result.converged and result.iterations > 3
    filled = fill_block(observed, result.factors.U, result.factors.W)
    np.testing.assert_array_equal(filled[~holes], truth[~holes])
    error = np.abs(filled[holes] - truth[holes])
    assert error.max() < 1e-3 * np.abs(truth).max()
    # the gene means alone are far off: the SVD did the work
    means = np.nanmean(observed, axis=1)[:, None] * np.ones(observed.shape[1])
    assert np.abs(means[holes] - truth[holes]).mean() > 100 * error.mean()


def _iterative_svd_in_memory(X, rank, max_iters, tolerance):
    """IterativeSVD with exact truncated SVDs, in memory (fancyimpute's loop, gene-mean
    start): the reference for the out-of-core version."""
    missing = np.isnan(X)
    filled = np.where(missing, np.nanmean(X, axis=1)[:, None], X)
    for i in range(max_iters):
        r = min(2**i, rank)
        U, S, Vt = np.linalg.svd(filled, full_matrices=False)
        new = ((U[:, :r] * S[:r]) @ Vt[:r])[missing]
        old = filled[missing]
        converged = np.sqrt(((old - new) ** 2).sum()) / np.sqrt((old**2).sum()) < tolerance
        filled[missing] = new
        if converged:
            break
    return filled, i + 1


def test_imputation_matches_in_memory_iterative_svd():
    """With a subspace (rank + 10 = 15) much narrower than the samples (120), the randomized
    reconstruction follows the exact one: same iterations, same values to 1e-6."""
    rng = np.random.default_rng(5)
    noise = rng.normal(0, 0.05, (300, 120))
    values = 8 + rng.normal(size=(300, 4)) @ rng.normal(size=(4, 120)) + noise
    values[rng.random(values.shape) < 0.1] = np.nan
    expected, iterations = _iterative_svd_in_memory(values.copy(), 5, 500, 1e-7)
    x = da.from_array(values, chunks=(300, 25))
    runner = BlockRunner(workers=2)
    result = impute_iterative_svd(
        runner, x, gene_means(runner, x), rank=5, max_iters=500, tolerance=1e-7
    )
    assert result.converged and result.iterations == iterations
    got = fill_block(values, result.factors.U, result.factors.W)
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_imputation_does_not_depend_on_blocks():
    _, observed, _ = _low_rank(samples=64, seed=3)
    runner = BlockRunner(workers=1)
    outs = []
    for chunk in (64, 16):
        x = da.from_array(observed, chunks=(observed.shape[0], chunk))
        result = impute_iterative_svd(runner, x, gene_means(runner, x), rank=5, max_iters=30)
        outs.append(fill_block(observed, result.factors.U, result.factors.W))
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-8)


def test_two_pass_qn_equals_refine_qn():
    rng = np.random.default_rng(1)
    values = rng.gamma(2.0, 2.0, size=(300, 70))
    ties = rng.random(values.shape) < 0.05
    values[ties] = np.round(values[ties])  # ties take preprocessCore's average-rank rule
    x = da.from_array(values, chunks=(300, 16))
    runner = BlockRunner(workers=2)
    target = quantile_target(runner, x, None, organism="Homo sapiens", value_kind="test")
    reference = build_target(values.T)
    np.testing.assert_allclose(target.values, reference.values, rtol=1e-13)
    got = np.concatenate(list(normalized_blocks(runner, x, None, target)), axis=1)
    np.testing.assert_array_equal(
        got, normalize_to_target(values, target.values).astype(np.float32)
    )


def test_qn_with_missing_values_follows_preprocesscore():
    rng = np.random.default_rng(2)
    values = rng.normal(8, 2, size=(200, 30))
    values[rng.random(values.shape) < 0.1] = np.nan
    x = da.from_array(values, chunks=(200, 7))
    runner = BlockRunner(workers=1)
    target = quantile_target(runner, x, None, organism="", value_kind="test")
    np.testing.assert_allclose(target.values, build_target(values.T).values, rtol=1e-13)
    got = np.concatenate(list(normalized_blocks(runner, x, None, target)), axis=1)
    np.testing.assert_array_equal(
        got, normalize_to_target(values, target.values).astype(np.float32)
    )


def test_missing_counts():
    _, observed, holes = _low_rank(genes=50, samples=40)
    x = da.from_array(observed, chunks=(50, 9))
    runner = BlockRunner(workers=2, batch=2)
    np.testing.assert_array_equal(missing_counts(runner, x), holes.sum(axis=1))
    np.testing.assert_array_equal(sample_missing_counts(runner, x), holes.sum(axis=0))
    np.testing.assert_allclose(gene_means(runner, x), np.nanmean(observed, axis=1))
