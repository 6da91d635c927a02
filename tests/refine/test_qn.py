"""Quantile normalization: agreement with R preprocessCore, targets, properties.

Two kinds of R comparison:
* ``test_reference_*`` use the committed outputs in tests/reference/qn_*.tsv, written by
  tests/reference/make_qn_reference.R (preprocessCore 1.60.2); they need no R.
* ``test_live_r_*`` run preprocessCore now through tests/reference/qn_use_target.R on freshly
  generated matrices; they skip when Rscript or preprocessCore is missing (CI installs them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from exprhub.refine.qn import (
    QuantileTarget,
    build_target,
    interpolate_sorted,
    normalize_to_target,
)

from .conftest import REFERENCE, read_matrix, read_vector, require_r, run_rscript, write_matrix

CASES = ["ties_na", "complete", "longer_target", "shorter_target", "edges"]


def assert_same(ours: np.ndarray, theirs: np.ndarray, tol: float = 1e-9) -> None:
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol, equal_nan=True)


@pytest.mark.parametrize("case", CASES)
def test_reference_use_target(case: str) -> None:
    """Committed preprocessCore outputs (no R needed)."""
    x = read_matrix(REFERENCE / f"qn_{case}_x.tsv")
    target = read_vector(REFERENCE / f"qn_{case}_target.tsv")
    expected = read_matrix(REFERENCE / f"qn_{case}_expected.tsv")
    assert_same(normalize_to_target(x, target), expected)
    # block size and threads do not change the result
    assert_same(normalize_to_target(x, target, threads=2, block=2), expected, tol=0)


def test_reference_determine_target() -> None:
    """build_target equals normalize.quantiles.determine.target (committed output, no R)."""
    x = read_matrix(REFERENCE / "qn_ties_na_x.tsv")
    expected = read_vector(REFERENCE / "qn_determine_expected.tsv")
    target = build_target(x.T, sample_ids=[f"S{i}" for i in range(x.shape[1])])
    np.testing.assert_allclose(target.values, expected, rtol=1e-12, atol=1e-12)


def _random_case(rng: np.random.Generator, case: int) -> tuple[np.ndarray, np.ndarray]:
    n = int(rng.integers(2, 300))
    c = int(rng.integers(1, 9))
    if case % 3 == 0:
        x = rng.integers(0, 6, size=(n, c)).astype(float)  # heavy ties
    elif case % 3 == 1:
        x = np.round(rng.normal(size=(n, c)), 1)  # some ties, negatives
    else:
        x = rng.lognormal(size=(n, c))
    if case % 2 == 0:
        x[rng.random((n, c)) < 0.2] = np.nan
    length = n if case % 4 < 2 else int(rng.integers(2, 2 * n + 3))
    target = np.sort(rng.lognormal(size=length))
    if case % 5 == 0:
        target = np.round(target, 1)  # ties in the target too
    return x, target


def test_live_r_use_target(tmp_path) -> None:
    """Fresh matrices with ties and NaNs against preprocessCore run now (skips without R)."""
    require_r("preprocessCore")
    rng = np.random.default_rng(7)
    cases = [_random_case(rng, case) for case in range(24)]
    files: list[Path] = []
    for case, (x, target) in enumerate(cases):
        write_matrix(x, tmp_path / f"x{case}.tsv")
        (tmp_path / f"t{case}.tsv").write_text("\n".join(repr(float(v)) for v in target) + "\n")
        files += [tmp_path / f"x{case}.tsv", tmp_path / f"t{case}.tsv", tmp_path / f"y{case}.tsv"]
    run_rscript(REFERENCE / "qn_use_target.R", *files)  # all cases in one R process
    for case, (x, target) in enumerate(cases):
        expected = read_matrix(tmp_path / f"y{case}.tsv").reshape(x.shape)
        assert_same(normalize_to_target(x, target), expected)


def test_live_r_many_columns(tmp_path) -> None:
    """More columns than one block, mixed complete and partial columns (skips without R)."""
    require_r("preprocessCore")
    rng = np.random.default_rng(11)
    x = np.round(rng.normal(size=(500, 300)), 2)
    x[rng.random(x.shape) < 0.01] = np.nan
    target = np.sort(rng.normal(size=500))
    write_matrix(x, tmp_path / "x.tsv")
    (tmp_path / "t.tsv").write_text("\n".join(repr(float(v)) for v in target) + "\n")
    run_rscript(
        REFERENCE / "qn_use_target.R", tmp_path / "x.tsv", tmp_path / "t.tsv", tmp_path / "y.tsv"
    )
    assert_same(normalize_to_target(x, target, block=64), read_matrix(tmp_path / "y.tsv"))


def test_distinct_values_get_the_target_exactly() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1000, 20))
    target = np.sort(rng.lognormal(size=1000))
    y = normalize_to_target(x, target)
    np.testing.assert_array_equal(np.sort(y, axis=0), np.tile(target[:, None], (1, 20)))
    np.testing.assert_array_equal(np.argsort(y, axis=0), np.argsort(x, axis=0))


def test_near_equal_values_are_ordered_exactly() -> None:
    """Values differing in the last bits still get distinct, correctly ordered targets."""
    base = 1234.5678
    col = base + np.arange(64) * np.spacing(base)
    rng = np.random.default_rng(3)
    x = rng.permutation(col)[:, None].repeat(3, axis=1)
    x[:, 1] = -x[:, 1]
    target = np.arange(64, dtype=float)
    y = normalize_to_target(x, target)
    np.testing.assert_array_equal(y[:, 0], np.argsort(np.argsort(x[:, 0])).astype(float))
    np.testing.assert_array_equal(y[:, 1], np.argsort(np.argsort(x[:, 1])).astype(float))
    # the percentile path (a NaN in the column) orders them exactly too
    x[10, 2] = np.nan
    y = normalize_to_target(x, np.arange(63, dtype=float))
    keep = ~np.isnan(x[:, 2])
    np.testing.assert_array_equal(y[keep, 2], np.argsort(np.argsort(x[keep, 2])).astype(float))


def test_ties_get_target_at_average_rank() -> None:
    x = np.array([[1.0], [1.0], [1.0], [5.0], [7.0], [7.0]])
    target = np.array([10.0, 20.0, 30.0, 40.0, 50.0, 60.0])
    y = normalize_to_target(x, target)[:, 0]
    # ranks 2, 2, 2 -> target[2] = 20; ranks 5.5 -> (50 + 60) / 2
    np.testing.assert_array_equal(y, [20.0, 20.0, 20.0, 40.0, 55.0, 55.0])


def test_negative_zero_ties_with_zero() -> None:
    """-0.0 == 0.0 in R, so they share an average rank, also when nothing else ties."""
    x = np.array([[-0.0, -0.0], [0.0, 0.0], [1.0, 1.0], [-1.0, np.nan], [2.0, 2.0]])
    target = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    y = normalize_to_target(x, target)
    np.testing.assert_array_equal(y[:, 0], [2.5, 2.5, 4.0, 1.0, 5.0])
    np.testing.assert_allclose(y[[0, 1, 2, 4], 1], [1 + 4 / 6, 1 + 4 / 6, 1 + 4 * 2 / 3, 5.0])


def test_nan_rows_stay_nan_and_others_are_undisturbed() -> None:
    x = np.array([[3.0, 1.0], [np.nan, 2.0], [1.0, 3.0], [2.0, np.nan]])
    target = np.array([1.0, 2.0, 3.0, 4.0])
    y = normalize_to_target(x, target)
    assert np.isnan(y[1, 0]) and np.isnan(y[3, 1])
    # three observed values spread over the four target values (type-7 interpolation)
    np.testing.assert_allclose(y[[2, 3, 0], 0], [1.0, 2.5, 4.0])


def test_output_layout_and_input_untouched() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 7))
    keep = x.copy()
    y = normalize_to_target(x, np.sort(rng.normal(size=50)))
    np.testing.assert_array_equal(x, keep)
    assert y.flags.f_contiguous and y.shape == x.shape
    assert normalize_to_target(np.empty((0, 3)), np.ones(2)).shape == (0, 3)


def test_errors() -> None:
    with pytest.raises(ValueError, match="no values"):
        normalize_to_target(np.ones((3, 2)), np.array([np.nan]))
    with pytest.raises(ValueError, match="genes x samples"):
        normalize_to_target(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="at least 3 samples"):
        build_target([np.ones(4), np.ones(4)], min_samples=3)
    with pytest.raises(ValueError, match="S1 has no observed"):
        build_target([np.ones(2), np.full(2, np.nan)], sample_ids=["S0", "S1"])


def test_build_target_streams_and_hashes() -> None:
    rng = np.random.default_rng(5)
    cols = [rng.lognormal(size=100) for _ in range(10)]
    target = build_target(
        (c for c in cols),
        min_samples=5,
        sample_ids=[f"GSM{i}" for i in range(10)],
        organism="Homo sapiens",
        version="2026-11",
    )
    np.testing.assert_allclose(target.values, np.mean([np.sort(c) for c in cols], axis=0))
    assert target.n_samples == 10 and len(target) == 100
    again = build_target(
        cols, sample_ids=[f"GSM{i}" for i in range(10)], organism="Homo sapiens", version="2026-11"
    )
    assert again.sha256 == target.sha256 and len(target.sha256) == 64
    other = build_target(
        cols, sample_ids=[f"GSM{i}" for i in range(10)], organism="Mus musculus", version="2026-11"
    )
    assert other.sha256 != target.sha256
    with pytest.raises(ValueError, match="hash mismatch"):
        QuantileTarget(values=target.values, sha256="0" * 64)
    assert not target.values.flags.writeable
    assert target.metadata()["n_samples"] == 10
    y = normalize_to_target(np.column_stack(cols), target)
    assert y.shape == (100, 10)


def test_build_target_resamples_shorter_samples() -> None:
    target = build_target([np.array([0.0, 1.0, 2.0, 3.0, 4.0]), np.array([0.0, np.nan, 4.0])])
    np.testing.assert_allclose(target.values, [0.0, 1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(interpolate_sorted(np.array([0.0, 10.0]), 3), [0.0, 5.0, 10.0])


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(
    x=arrays(
        np.float64,
        st.tuples(st.integers(1, 40), st.integers(1, 5)),
        elements=st.one_of(finite, st.just(np.nan), st.sampled_from([0.0, 1.0, -1.0])),
    ),
    t=arrays(np.float64, st.integers(1, 60), elements=finite),
)
def test_properties(x: np.ndarray, t: np.ndarray) -> None:
    """NaNs kept, order within a column kept, values inside the target's range."""
    y = normalize_to_target(x, t)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(x))
    lo, hi = t.min(), t.max()
    obs = y[~np.isnan(y)]
    assert np.all(obs >= lo - 1e-9 * max(1, abs(lo))) and np.all(obs <= hi + 1e-9 * max(1, abs(hi)))
    for j in range(x.shape[1]):
        keep = ~np.isnan(x[:, j])
        xs, ys = x[keep, j], y[keep, j]
        order = np.argsort(xs, kind="stable")
        assert np.all(np.diff(ys[order]) >= -1e-9 * max(1.0, np.abs(t).max()))
        same = xs[:, None] == xs[None, :]
        assert np.all((ys[:, None] == ys[None, :])[same])  # ties get one value
    np.testing.assert_array_equal(y, normalize_to_target(x, t, threads=2, block=1))
