"""Box plot statistics checked against matplotlib's, PCA against an SVD by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from exprhub.analysis.distributions import box_statistics, principal_components


def test_box_statistics_match_matplotlib(gds507):
    from matplotlib.cbook import boxplot_stats

    values, _, _ = gds507
    stats = box_statistics(values)
    assert stats.attrs["log2_applied"]
    logged = np.log2(values.to_numpy(np.float64))
    for j, sample in enumerate(values.columns):
        column = logged[:, j][np.isfinite(logged[:, j])]
        [ref] = boxplot_stats(column, whis=1.5)
        row = stats.loc[sample]
        assert row["q1"] == pytest.approx(ref["q1"])
        assert row["median"] == pytest.approx(ref["med"])
        assert row["q3"] == pytest.approx(ref["q3"])
        assert row["lower_whisker"] == pytest.approx(ref["whislo"])
        assert row["upper_whisker"] == pytest.approx(ref["whishi"])
        assert row["outliers"] == len(ref["fliers"])
        assert row["n"] + row["missing"] == len(values)


def test_box_statistics_of_an_empty_sample():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [np.nan] * 3})
    stats = box_statistics(frame, log="no")
    assert stats.loc["b", "n"] == 0 and stats.loc["b", "missing"] == 3
    assert np.isnan(stats.loc["b", "median"]) and stats.loc["a", "median"] == 2.0


def test_pca_matches_svd_and_splits_rcc_from_normal(gds507):
    values, rcc, normal = gds507
    result = principal_components(values, components=3)
    logged = np.log2(values.to_numpy(np.float64)).T
    logged = logged[:, np.isfinite(logged).all(axis=0)]
    centred = logged - logged.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    for i in range(3):  # components agree up to sign
        ours = result.coordinates[f"PC{i + 1}"].to_numpy()
        theirs = u[:, i] * s[i]
        assert min(np.abs(ours - theirs).max(), np.abs(ours + theirs).max()) < 1e-6
    ratio = s**2 / (s**2).sum()
    np.testing.assert_allclose(result.explained_variance_ratio, ratio[:3], rtol=1e-8)
    pc1 = result.coordinates["PC1"]
    assert (pc1[rcc].min() > pc1[normal].max()) or (pc1[rcc].max() < pc1[normal].min())
    data = result.to_dict()
    assert len(data["samples"]) == 17 and data["rows_used"] == result.rows_used


def test_pca_needs_two_samples():
    with pytest.raises(ValueError, match="at least 2 samples"):
        principal_components(pd.DataFrame({"a": [1.0, 2.0]}))
