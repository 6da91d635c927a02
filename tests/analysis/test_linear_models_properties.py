"""Invariants of the linear-model port (hypothesis) and small exact checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from exprhub.analysis.linear_models import (
    contrasts_fit,
    e_bayes,
    group_design,
    lm_fit,
    make_contrasts,
    p_adjust,
    top_table,
)

p_values = arrays(np.float64, st.integers(1, 60), elements=st.floats(0, 1))


@settings(deadline=None)
@given(p_values)
def test_bh_is_monotone_in_p_and_not_below_raw(p: np.ndarray) -> None:
    for method in ("BH", "BY", "holm", "bonferroni"):
        adjusted = p_adjust(p, method)
        assert np.all(adjusted >= p - 1e-15) and np.all(adjusted <= 1)
        order = np.argsort(p, kind="stable")
        assert np.all(np.diff(adjusted[order]) >= -1e-15)
    assert np.all(p_adjust(p, "BY") >= p_adjust(p, "BH") - 1e-15)
    assert np.all(p_adjust(p, "bonferroni") >= p_adjust(p, "holm") - 1e-15)


def test_p_adjust_small_example_and_missing_values() -> None:
    p = np.array([0.01, 0.04, np.nan, 0.03, 0.2])
    # R: p.adjust(c(0.01, 0.04, NA, 0.03, 0.2), "BH") -> 0.04 0.05333333 NA 0.05333333 0.2
    assert np.allclose(p_adjust(p, "BH"), [0.04, 0.16 / 3, np.nan, 0.16 / 3, 0.2], equal_nan=True)
    assert np.allclose(p_adjust(p, "holm"), [0.04, 0.09, np.nan, 0.09, 0.2], equal_nan=True)
    with pytest.raises(ValueError, match="adjust method"):
        p_adjust(p, "hommel")


def _experiment(seed: int, genes: int = 60) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    groups = ["a", "a", "a", "b", "b", "b", "c", "c"]
    covariates = pd.DataFrame({"age": rng.uniform(20, 60, 8)})
    design = group_design(groups, covariates=covariates, samples=[f"s{i}" for i in range(8)])
    values = pd.DataFrame(
        rng.normal(7, 1, (genes, 8)) * rng.uniform(0.2, 2, (genes, 1)),
        index=[f"g{i}" for i in range(genes)],
        columns=design.index,
    )
    return values, design


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.permutations(range(8)), st.booleans())
def test_permuting_samples_with_the_design_leaves_the_table_unchanged(
    seed: int, permutation: list[int], with_missing: bool
) -> None:
    values, design = _experiment(seed)
    if with_missing:
        values.iloc[::7, 2] = np.nan
    contrasts = make_contrasts(["b-a", "c-(a+b)/2"], design.columns)
    first = top_table(e_bayes(contrasts_fit(lm_fit(values, design), contrasts)), 0, number=None)
    shuffled = values.iloc[:, permutation]
    second = top_table(
        e_bayes(contrasts_fit(lm_fit(shuffled, design.iloc[permutation]), contrasts)),
        0,
        number=None,
    )
    pd.testing.assert_frame_equal(first, second, rtol=1e-9, atol=1e-12)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.floats(-5, 5), st.floats(0.1, 10))
def test_shift_and_scale_of_a_gene(seed: int, shift: float, scale: float) -> None:
    """Adding a constant to a gene leaves its logFC and t; scaling all values scales logFC."""
    values, design = _experiment(seed)
    contrasts = make_contrasts(["b-a"], design.columns)
    base = e_bayes(contrasts_fit(lm_fit(values, design), contrasts))
    moved = values.copy()
    moved.iloc[0] += shift
    shifted = e_bayes(contrasts_fit(lm_fit(moved, design), contrasts))
    assert np.allclose(shifted.t, base.t, rtol=1e-8, atol=1e-10)
    scaled = e_bayes(contrasts_fit(lm_fit(values * scale, design), contrasts))
    assert np.allclose(scaled.fit.coefficients, base.fit.coefficients * scale, rtol=1e-9)
    assert np.allclose(scaled.t, base.t, rtol=1e-7, atol=1e-9)
    assert scaled.df_prior[0] == pytest.approx(base.df_prior[0], rel=1e-8)


def test_top_table_sorting_filters_and_confint() -> None:
    values, design = _experiment(5, genes=200)
    values.iloc[:10, 3:6] += 3
    fit = e_bayes(contrasts_fit(lm_fit(values, design), make_contrasts(["b-a"], design.columns)))
    table = top_table(fit, "b-a", number=None)
    assert np.all(np.diff(table["B"].to_numpy()) <= 0)
    by_p = top_table(fit, 0, number=None, sort_by="P")
    assert np.all(np.diff(by_p["P.Value"].to_numpy()) >= 0)
    strict = top_table(fit, 0, number=None, p_value=0.05, lfc=1)
    assert (strict["adj.P.Val"] <= 0.05).all() and (strict["logFC"].abs() >= 1).all()
    assert len(top_table(fit, 0, number=7)) == 7
    ci = top_table(fit, 0, number=None, confint=True)
    assert (ci["CI.L"] < ci["logFC"]).all() and (ci["logFC"] < ci["CI.R"]).all()


def test_make_contrasts_expressions() -> None:
    levels = ["A", "B", "C", "my group"]
    matrix = make_contrasts({"x": "(A+B)/2 - C", "y": "2*B-`my group`", "z": "-A + .5*C"}, levels)
    assert matrix["x"].tolist() == [0.5, 0.5, -1.0, 0.0]
    assert matrix["y"].tolist() == [0.0, 2.0, 0.0, -1.0]
    assert matrix["z"].tolist() == [-1.0, 0.0, 0.5, 0.0]
    for bad in ("A*B", "A/B", "A+1", "A-", "D-A", "(A-B"):
        with pytest.raises(ValueError):
            make_contrasts([bad], levels)


def test_design_from_groups_and_factor_covariate() -> None:
    covariates = pd.DataFrame({"sex": ["f", "m", "f", "m"], "dose": [1.0, 2.0, 3.0, 4.0]})
    design = group_design(["x", "x", "y", "y"], covariates=covariates)
    assert list(design.columns) == ["x", "y", "sexm", "dose"]
    assert design["sexm"].tolist() == [0.0, 1.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="missing"):
        group_design(["x", "y"], covariates=pd.DataFrame({"d": [1.0, None]}))


def test_weights_equal_to_repeating_samples() -> None:
    """A sample weight of 2 gives the coefficients of listing that sample twice."""
    values, design = _experiment(9, genes=30)
    weights = np.ones(8)
    weights[0] = 2.0
    weighted = lm_fit(values, design, weights=weights)
    doubled = lm_fit(
        pd.concat([values, values.iloc[:, [0]].set_axis(["dup"], axis=1)], axis=1),
        pd.concat([design, design.iloc[[0]].set_axis(["dup"])]),
    )
    assert np.allclose(weighted.coefficients, doubled.coefficients, rtol=1e-9)
    per_value = lm_fit(values, design, weights=np.tile(weights, (30, 1)))
    assert np.allclose(per_value.coefficients, weighted.coefficients, rtol=1e-9)
    assert np.allclose(per_value.sigma, weighted.sigma, rtol=1e-9)


ratios = arrays(np.float64, st.integers(5, 80), elements=st.floats(1e-3, 1e4))


@settings(deadline=None, max_examples=60)
@given(ratios, st.sampled_from([2.0, 4.0, 7.0]), st.floats(0.5, 200))
def test_outlier_df_shrinkage_is_ordered_and_bounded(
    ratio: np.ndarray, df1: float, df2: float
) -> None:
    """More extreme genes never get a larger prior df; all lie between the outlier df and the
    bulk's, and the outlier df makes the largest ratio less extreme, up to the median."""
    from scipy import stats

    from exprhub.analysis.linear_models.outliers import shrink_outlier_df

    result = shrink_outlier_df(ratio, np.full(ratio.size, df1), df2)
    order = np.argsort(result.tail_p_value, kind="stable")
    shrunk = result.df2_shrunk[order]
    assert np.all(np.diff(shrunk) >= -1e-9 * df2)
    lowest = min(result.df2_outlier, df2)  # above df2 only when no gene is extreme
    assert np.all(shrunk <= df2 + 1e-12) and np.all(shrunk >= lowest - 1e-12)
    assert np.all((result.prob_outlier >= 0) & (result.prob_outlier <= 1))
    tail_at_outlier_df = stats.f.sf(ratio.max(), df1, result.df2_outlier)
    if result.df2_outlier < df2:
        assert stats.f.sf(ratio.max(), df1, df2) <= tail_at_outlier_df <= 0.5 + 1e-9


def test_no_outlier_leaves_every_prior_df_unchanged() -> None:
    from scipy import stats

    from exprhub.analysis.linear_models.outliers import shrink_outlier_df

    ratio = stats.f.ppf((np.arange(1, 201) - 0.5) / 200, 6, 5)
    result = shrink_outlier_df(ratio, np.full(200, 6.0), 5.0)
    assert np.max(np.abs(result.df2_shrunk - 5.0)) <= 1e-9
    chi2 = np.random.default_rng(5).chisquare(6, 600) / 6
    chi2[0] = 50.0
    infinite = shrink_outlier_df(chi2, np.full(600, 6.0), np.inf)
    assert np.isinf(infinite.df2_shrunk).sum() >= 500
    assert infinite.df2_shrunk[0] < 1e-6
