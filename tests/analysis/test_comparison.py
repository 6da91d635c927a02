"""Comparing two sets of samples: t-tests checked against SciPy and R's t.test on GDS507
(RCC vs normal kidney), the fold methods, thresholds and what is refused."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exprhub.analysis.comparison import (
    Thresholds,
    adjust_p_values,
    as_top_table,
    compare_sets,
    rank_percentiles,
)

HERE = Path(__file__).parent


def test_student_and_welch_agree_with_scipy_on_every_gds507_row(gds507):
    from scipy import stats

    values, rcc, normal = gds507
    for method, equal in (("t-test", True), ("welch", False)):
        table = compare_sets(values, rcc, normal, method=method, log="no").reindex(values.index)
        ref = stats.ttest_ind(
            values[rcc].to_numpy(np.float64), values[normal].to_numpy(np.float64),
            axis=1, equal_var=equal,
        )  # fmt: skip
        assert np.allclose(table["statistic"], ref.statistic, rtol=1e-10, atol=1e-12)
        assert np.allclose(table["p_value"], ref.pvalue, rtol=1e-9, atol=1e-300)
    assert table.attrs["scale"] == "linear" and not table.attrs["log2_applied"]


def test_t_tests_agree_with_r_t_test(gds507, tmp_path):
    """R's t.test on 300 GDS507 rows after log2 (GEO2R's auto-detect applies it to these
    counts), with values knocked out so that missing values and too-small sets occur."""
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed (CI installs R)")
    values, rcc, normal = gds507
    logged = np.log2(values[rcc + normal].iloc[::75].astype(np.float64).where(values > 0))
    rng = np.random.default_rng(7)
    holes = rng.random(logged.shape) < 0.08
    logged = logged.mask(holes)
    logged.iloc[0, 1:9] = np.nan  # set A down to one value: no test
    path = tmp_path / "values.tsv"
    logged.to_csv(path, sep="\t", na_rep="NA", float_format="%.17g")
    out = tmp_path / "r.tsv"
    subprocess.run(
        ["Rscript", str(HERE / "ttest_reference.R"), str(path), str(len(rcc)), str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    ref = pd.read_csv(out, sep="\t", index_col=0, na_values=["NA"])
    ref.index = ref.index.astype(str)
    student = compare_sets(logged, rcc, normal, log="no").reindex(logged.index)
    welch = compare_sets(logged, rcc, normal, method="welch", log="no").reindex(logged.index)
    assert np.isnan(student["statistic"].iloc[0]) and np.isnan(ref["t"].iloc[0])
    np.testing.assert_allclose(student["statistic"], ref["t"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(student["p_value"], ref["p"], rtol=1e-8, atol=1e-300)
    np.testing.assert_allclose(student["adj_p_value"], ref["bh"], rtol=1e-8, atol=1e-300)
    np.testing.assert_allclose(welch["statistic"], ref["welch_t"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(welch["df"], ref["welch_df"], rtol=1e-9)
    np.testing.assert_allclose(welch["p_value"], ref["welch_p"], rtol=1e-8, atol=1e-300)


def test_gds507_rcc_vs_normal_log2_auto(gds507):
    values, rcc, normal = gds507
    table = compare_sets(values, rcc, normal, thresholds=Thresholds(adj_p_value=0.01, fold=2))
    assert table.attrs["log2_applied"] and table.attrs["scale"] == "log2"
    assert 0 < table.attrs["rows_kept"] < table.attrs["rows_tested"] == len(values)
    assert (table["adj_p_value"] <= 0.01).all() and (table["log2_fold"].abs() >= 1).all()
    assert table["p_value"].is_monotonic_increasing
    # fold is A over B on the linear scale: 2 ** (difference of log2 means)
    np.testing.assert_allclose(table["fold"], np.exp2(table["mean_a"] - table["mean_b"]))
    row = table.index[0]
    expected = np.log2(values.loc[row, rcc].astype(float)).mean()
    assert table.loc[row, "mean_a"] == pytest.approx(expected)


def test_limma_method_is_geo2rs_moderated_t_as_r_limma_computes_it(gds507):
    """``method="limma"`` is GEO2R's test: on GDS507 (RCC vs normal, log2 by GEO2R's rule) its
    moderated t, total df and p-value equal R limma 3.54's (tests/reference/limma, computed
    for normal - RCC, so t changes sign)."""
    import pandas as pd

    values, rcc, normal = gds507
    table = compare_sets(values, rcc, normal, method="limma")
    assert table.attrs["method"] == "limma" and table.attrs["log2_applied"]
    assert table.attrs["rows_kept"] == len(values) and table["p_value"].is_monotonic_increasing
    reference = Path(__file__).parents[1] / "reference" / "limma" / "gds507_expected.tsv"
    expected = pd.read_csv(reference, sep="\t", index_col=0)
    got = table.loc[expected.index]
    np.testing.assert_allclose(got["statistic"], -expected["t_1"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(got["p_value"], expected["P.Value_1"], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(got["df"], expected["df.total"], rtol=1e-9)
    np.testing.assert_allclose(got["log2_fold"], -expected["logFC_1"], rtol=0, atol=1e-9)
    # it shrinks variances: the moderated t is not Student's
    student = compare_sets(values, rcc, normal, method="t-test").loc[expected.index]
    assert not np.allclose(got["statistic"], student["statistic"])


def test_fold_methods_by_hand():
    # linear-looking values (GEO2R's rule): the fold is a ratio of means
    frame = 100 * pd.DataFrame(
        {
            "a1": [10.0, 1.0, 5.0],
            "a2": [30.0, 3.0, 5.0],
            "b1": [5.0, 2.0, 50.0],
            "b2": [5.0, 2.0, 50.0],
        },
        index=["p1", "p2", "p3"],
    )
    table = compare_sets(frame, ["a1", "a2"], ["b1", "b2"], method="fold", log="no")
    assert table.attrs["scale"] == "linear"
    assert table.loc["p1", "fold"] == pytest.approx(20 / 5)
    assert table.loc["p2", "fold"] == pytest.approx(2 / 2)
    assert table.loc["p3", "fold"] == pytest.approx(5 / 50)
    assert list(table.index) == ["p3", "p1", "p2"]  # by distance of the fold from 1
    assert table["p_value"].isna().all()
    kept = compare_sets(frame, ["a1", "a2"], ["b1", "b2"], method="fold", log="no",
                        thresholds=Thresholds(fold=3))  # fmt: skip
    assert list(kept.index) == ["p3", "p1"]
    ranks = rank_percentiles(frame)
    assert ranks["a1"].tolist() == pytest.approx([100.0, 100 / 3, 200 / 3])
    by_rank = compare_sets(frame, ["a1", "a2"], ["b1", "b2"], method="rank-fold")
    assert by_rank.attrs["scale"] == "rank"
    assert by_rank.loc["p1", "mean_a"] == pytest.approx(100.0)
    top = as_top_table(table)
    assert list(top.columns) == ["logFC", "AveExpr", "P.Value", "adj.P.Val"]


def test_benjamini_hochberg_and_bonferroni():
    from scipy.stats import false_discovery_control

    p = np.array([0.01, 0.04, np.nan, 0.03, 0.2, 0.0001])
    present = ~np.isnan(p)
    bh = adjust_p_values(p, "BH")
    assert np.isnan(bh[2])
    np.testing.assert_allclose(bh[present], false_discovery_control(p[present]))
    np.testing.assert_allclose(
        adjust_p_values(p, "bonferroni")[present], np.minimum(p[present] * 5, 1)
    )


def test_refusals():
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [2.0, 3.0], "c": [3.0, 4.0]})
    with pytest.raises(ValueError, match="both sets"):
        compare_sets(frame, ["a", "b"], ["b", "c"])
    with pytest.raises(ValueError, match="at least 2 samples"):
        compare_sets(frame, ["a"], ["b", "c"])
    with pytest.raises(ValueError, match="not samples"):
        compare_sets(frame, ["a", "x"], ["b", "c"], method="fold")
    with pytest.raises(ValueError, match="method"):
        compare_sets(frame, ["a"], ["b"], method="anova")
    with pytest.raises(ValueError, match="fold threshold"):
        Thresholds(fold=0.5)
