"""The linear-model port agrees with R limma 3.54 (committed references, and R run live).

References: tests/reference/make_limma_reference.R (re-run it to regenerate). Compared: logFC,
t, P.Value, adj.P.Val (BH, BY, Holm, Bonferroni), B, moderated F and its p-values, AveExpr,
df.total, the prior df and variance, var.prior and decideTests calls.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exprhub.analysis.linear_models import group_design, make_contrasts
from tests.analysis.limma_reference import (
    R_SCRIPT,
    REFERENCE,
    check,
    max_differences,
    read_case,
    read_expected,
    run_port,
)

CASES = [
    ("covariate", None),
    ("missing", None),
    ("infinite", None),
    ("trend", None),
    # robust cases: see test_robust_agreement
]


@pytest.mark.parametrize(("name", "inputs"), CASES)
def test_agrees_with_r_limma(name: str, inputs: str | None) -> None:
    case = read_case(REFERENCE, name, inputs)
    assert case.meta["limma"] == "3.54.1"
    fit = run_port(case.values, case.design, case.contrasts, trend=case.trend, robust=case.robust)
    differences = max_differences(fit, case.expected)
    check(differences, case.meta, fit)


def test_infinite_prior_df_case_is_infinite() -> None:
    case = read_case(REFERENCE, "infinite")
    fit = run_port(case.values, case.design, case.contrasts, trend=False, robust=False)
    assert np.isinf(fit.df_prior).all()
    assert case.meta["df.prior"] == "Inf"


def test_missing_values_case_has_unestimable_contrasts() -> None:
    case = read_case(REFERENCE, "missing")
    fit = run_port(case.values, case.design, case.contrasts, trend=False, robust=False)
    assert np.isnan(fit.t[2, 0]) and np.isnan(case.expected["t_1"].iloc[2])
    assert fit.fit.df_residual[3] == 0


@pytest.mark.parametrize(
    ("name", "trend", "outliers"), [("robust", False, 112), ("robust_trend", True, 115)]
)
def test_robust_agrees_with_r_on_the_bulk_and_flags_the_same_outliers(
    name: str, trend: bool, outliers: int
) -> None:
    """robust=TRUE (with and without trend): the prior (Winsorized moments, LOWESS trend)
    agrees to 1e-9, the outlying genes are the same and the other genes' statistics agree to
    1e-6; the shrunk prior df of outlying genes follow our rule (docs/analysis.md), so their t
    differ from R's by less than 0.06."""
    case = read_case(REFERENCE, name, "robust")
    fit = run_port(case.values, case.design, case.contrasts, trend=trend, robust=True)
    r_df = case.expected["df.prior"].to_numpy()
    ours = np.broadcast_to(fit.df_prior, r_df.shape)
    assert abs(ours.max() - r_df.max()) <= 1e-6 * r_df.max()
    r_outliers = r_df < r_df.max() * (1 - 1e-9)
    assert r_outliers.sum() == outliers
    assert np.array_equal(ours < ours.max() * (1 - 1e-9), r_outliers)
    s2 = np.broadcast_to(fit.s2_prior, r_df.shape)
    assert np.max(np.abs(s2 / case.expected["s2.prior"].to_numpy() - 1)) <= 1e-9
    for j in range(3):
        t_diff = np.abs(fit.t[:, j] - case.expected[f"t_{j + 1}"].to_numpy())
        p_diff = np.abs(fit.p_value[:, j] - case.expected[f"P.Value_{j + 1}"].to_numpy())
        assert t_diff[~r_outliers].max() <= 1e-6
        assert p_diff[~r_outliers].max() <= 1e-6
        assert t_diff[r_outliers].max() <= 0.06
        # var.prior comes from the largest |t|, which may include outlying genes
        expected = float(case.meta[f"var.prior_{j + 1}"])
        assert abs(fit.var_prior[j] - expected) <= 0.01 * expected


def test_lowess_agrees_with_r() -> None:
    """The LOWESS of the robust trend against R stats::lowess on tied, outlying points."""
    from exprhub.analysis.linear_models.lowess import lowess

    rng = np.random.default_rng(4)
    x = np.round(rng.uniform(0, 10, 300), 2)
    y = np.sin(x) + rng.normal(0, 0.3, 300)
    y[4] = 8.0
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed")
    script = (
        "d <- read.delim(file('stdin')); o <- rank(d$x, ties.method = 'first'); "
        "cat(sprintf('%.17g', lowess(d$x, d$y)$y[o]), sprintf('%.17g', lowess(d$x, d$y, "
        "f = 0.4, iter = 2)$y[o]), sep = '\\n')"
    )
    text = pd.DataFrame({"x": x, "y": y}).to_csv(sep="\t", index=False, float_format="%.17g")
    out = subprocess.run(
        ["Rscript", "-e", script], input=text, capture_output=True, text=True, check=True
    ).stdout.split()
    expected = np.array(out, dtype=float).reshape(2, -1)
    assert np.max(np.abs(lowess(x, y) - expected[0])) <= 1e-12
    assert np.max(np.abs(lowess(x, y, f=0.4, iterations=2) - expected[1])) <= 1e-12


@pytest.mark.parametrize("name", ["gds507", "gds507_trend"])
def test_gds507_by_disease_state_agrees_with_r(geo_fixtures: Path, name: str) -> None:
    import exprhub
    from exprhub.refine.scale import QUANTILE_PROBS, geo2r_needs_log

    gds = exprhub.read(geo_fixtures / "geoquery" / "GDS507.soft.gz")
    values = gds.expression()
    groups: dict[str, str] = {}
    for subset in gds.subsets.values():
        attributes = dict(subset.attributes)
        if attributes["subset_type"] == "disease state":
            for sample in attributes["subset_sample_id"].split(","):
                groups[sample] = attributes["subset_description"]
    quantiles = np.nanquantile(values.to_numpy(), QUANTILE_PROBS)
    expected, meta = read_expected(REFERENCE, name)
    assert geo2r_needs_log(quantiles) == (meta["log2"] == "TRUE")
    matrix = values.to_numpy()
    logged = np.log2(np.where(matrix > 0, matrix, np.nan))
    used = [s for s in values.columns if s in groups]
    frame = pd.DataFrame(logged, index=values.index, columns=values.columns)[used]
    design = group_design([groups[s] for s in used], levels=["RCC", "normal"], samples=used)
    contrasts = make_contrasts(["normal-RCC"], design.columns)
    fit = run_port(frame, design, contrasts, trend=name.endswith("trend"), robust=False)
    assert int(meta["genes"]) == len(frame)
    check(max_differences(fit, expected), meta, fit)


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript is not installed")
def test_fresh_random_case_agrees_with_r_run_live(tmp_path: Path) -> None:
    probe = subprocess.run(
        ["Rscript", "-e", "suppressMessages(library(limma))"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        pytest.skip("R limma is not installed")
    rng = np.random.default_rng(20261207)
    genes, n = 400, 10
    groups = np.array(["ctl"] * 3 + ["drug"] * 4 + ["mix"] * 3)
    batch = pd.DataFrame({"batch": rng.choice(["b1", "b2"], n), "dose": rng.uniform(0, 2, n)})
    batch.loc[0, "batch"], batch.loc[1, "batch"] = "b1", "b2"
    design = group_design(groups, covariates=batch, samples=[f"s{i}" for i in range(n)])
    sd = np.sqrt(4 / rng.chisquare(5, genes)) * 0.4
    values = rng.normal(6, 2, (genes, 1)) + rng.normal(0, 1, (genes, n)) * sd[:, None]
    values[: genes // 8, 3:7] += rng.normal(0, 1.5, (genes // 8, 1))
    values[rng.random(values.shape) < 0.03] = np.nan
    values = np.round(values, 6)
    frame = pd.DataFrame(values, index=[f"p{i}" for i in range(genes)], columns=design.index)
    contrasts = make_contrasts({"drug-ctl": "drug-ctl", "mix-ctl": "mix - ctl"}, design.columns)
    frame.to_csv(tmp_path / "live_values.tsv", sep="\t", na_rep="NA", index_label="gene")
    design.to_csv(tmp_path / "live_design.tsv", sep="\t", index_label="sample")
    contrasts.to_csv(tmp_path / "live_contrasts.tsv", sep="\t", index_label="coefficient")
    for trend, robust in ((False, False), (True, False), (False, True), (True, True)):
        subprocess.run(
            [
                "Rscript",
                str(R_SCRIPT),
                "--case",
                str(tmp_path),
                "live",
                str(trend).upper(),
                str(robust).upper(),
            ],
            check=True,
            capture_output=True,
        )
        case = read_case(tmp_path, "live")
        fit = run_port(frame, design, contrasts, trend=trend, robust=robust)
        if not robust:
            check(max_differences(fit, case.expected), case.meta, fit)
            continue
        # robust with missing values (genes on different residual df): R's rule for mixed df
        # is not reproduced; measured here: prior df equal (13 % apart with trend), prior
        # variance within 0.7 % (3.3 % with trend) (see docs/analysis.md)
        r_df = case.expected["df.prior"].to_numpy()
        df_gap = abs(np.max(fit.df_prior) / r_df.max() - 1)
        s2 = np.broadcast_to(fit.s2_prior, r_df.shape)
        s2_gap = np.max(np.abs(s2 / case.expected["s2.prior"].to_numpy() - 1))
        assert df_gap <= (0.15 if trend else 1e-6), df_gap
        assert s2_gap <= (0.05 if trend else 0.01), s2_gap
