"""The statistics of profiles against independent implementations: one-way ANOVA and BH
against scipy, neighbours against numpy's correlation, rank percentiles against scipy's
ranks, and GEO2R's log2 rule."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from exprhub.analysis.flags import (
    FlagOptions,
    anova_rows,
    bh_fdr,
    flag_table,
    log2_if_unlogged,
    looks_unlogged,
)
from exprhub.analysis.neighbours import NeighbourOptions, zscore_rows


def test_anova_matches_scipy_with_missing_values_and_unassigned_samples():
    rng = np.random.default_rng(7)
    x = rng.normal(8, 1, size=(200, 12))
    x[:50, :4] += 2.0
    x[rng.random(x.shape) < 0.08] = np.nan
    labels = ["a"] * 4 + ["b"] * 4 + ["c"] * 3 + [None]
    result = anova_rows(x, labels)
    checked = 0
    for i in range(x.shape[0]):
        groups = [x[i, [j for j, g in enumerate(labels) if g == name]] for name in ("a", "b", "c")]
        groups = [g[np.isfinite(g)] for g in groups]
        groups = [g for g in groups if g.size]
        if len(groups) < 2 or sum(g.size for g in groups) - len(groups) < 1:
            assert np.isnan(result.p[i])
            continue
        expected = stats.f_oneway(*groups)
        assert result.f[i] == pytest.approx(expected.statistic, rel=1e-9)
        assert result.p[i] == pytest.approx(expected.pvalue, rel=1e-7, abs=1e-300)
        means = [g.mean() for g in groups]
        assert result.fold[i] == pytest.approx(max(means) - min(means), rel=1e-12)
        checked += 1
    assert checked > 190


def test_bh_matches_scipy():
    rng = np.random.default_rng(3)
    p = rng.random(500) ** 3
    expected = stats.false_discovery_control(p, method="bh")
    assert np.allclose(bh_fdr(p), expected, rtol=1e-12)
    with_nan = p.copy()
    with_nan[::7] = np.nan
    got = bh_fdr(with_nan)
    assert np.isnan(got[::7]).all()
    finite = np.isfinite(with_nan)
    assert np.allclose(got[finite], stats.false_discovery_control(with_nan[finite]), rtol=1e-12)


def test_flag_table_thresholds():
    rng = np.random.default_rng(11)
    x = rng.normal(8, 0.2, size=(100, 10))
    x[0, :5] += 3.0  # a strong, large difference: flagged
    x[1, :5] += 0.5  # significant but below a two-fold change: not flagged
    types = {"agent": {f"S{j}": ("drug" if j < 5 else "control") for j in range(10)}}
    samples = [f"S{j}" for j in range(10)]
    table = flag_table([f"p{i}" for i in range(100)], x, types, samples)
    flagged = set(table.loc[table["flagged"], "feature"])
    assert "p0" in flagged and "p1" not in flagged
    assert table.loc[1, "fdr"] <= 0.05
    looser = flag_table(
        [f"p{i}" for i in range(100)], x, types, samples, FlagOptions(min_log2_fold=0.4)
    )
    assert "p1" in set(looser.loc[looser["flagged"], "feature"])
    with pytest.raises(ValueError, match="fdr"):
        FlagOptions(fdr=0)


def test_geo2r_log_rule():
    counts = np.array([[10.0, 5000.0], [300.0, 20000.0]])
    assert looks_unlogged(counts)
    logged, taken = log2_if_unlogged(np.array([[-1.0, 1024.0], [300.0, 20000.0]]))
    assert taken and np.isnan(logged[0, 0]) and logged[0, 1] == 10.0
    already = np.array([[4.2, 12.5], [8.0, 13.9]])
    assert not looks_unlogged(already)
    same, taken = log2_if_unlogged(already)
    assert not taken and np.array_equal(same, already)


def test_neighbours_are_pearson_on_complete_rows():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 17))
    x[10] = 2 * x[0] + rng.normal(scale=0.1, size=17)  # close to row 0
    x[20] = -x[0]  # perfectly anti-correlated
    x[30] = 5.0  # constant: never a neighbour
    z = zscore_rows([f"r{i}" for i in range(300)], x)
    r = z.correlations(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.corrcoef(x)[0]
    usable = np.arange(300) != 30
    assert np.allclose(r[usable], expected[usable], atol=1e-5)
    assert np.isnan(r[30])
    found = z.neighbours(0, NeighbourOptions(min_r=0.7, count=5))
    assert found[0][0] == 10 and all(i != 0 for i, _ in found)
    both = z.neighbours(0, NeighbourOptions(min_r=0.99, count=5, negative=True))
    assert np.corrcoef(x[0], x[10])[0, 1] > 0.99
    assert set(dict(both)) == {10, 20}
    assert dict(both)[20] == pytest.approx(-1.0, abs=1e-5)
