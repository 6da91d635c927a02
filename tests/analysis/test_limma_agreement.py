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
    ("robust", None),
    ("robust_trend", "robust"),
    ("robust_missing", "missing"),
    ("robust_missing_trend", "missing"),
    ("robust_planted", "planted"),
    ("robust_planted_trend", "planted"),
    ("robust_infinite", None),
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
    ("name", "inputs", "outliers"),
    [
        ("robust", None, 112),
        ("robust_trend", "robust", 115),
        ("robust_planted", "planted", 50),
        ("robust_planted_trend", "planted", 50),
        ("robust_infinite", None, 60),
    ],
)
def test_robust_shrinks_the_prior_df_of_the_same_outlying_genes_as_r(
    name: str, inputs: str | None, outliers: int
) -> None:
    """robust=TRUE: the genes given a reduced prior df are R's, hypovariable genes are not
    among them (Winsorizing only discounts them), and the reduced df agree to 1e-8."""
    case = read_case(REFERENCE, name, inputs)
    fit = run_port(case.values, case.design, case.contrasts, trend=case.trend, robust=True)
    r_df = case.expected["df.prior"].to_numpy()
    ours = np.broadcast_to(fit.df_prior, r_df.shape)
    r_outliers = r_df < r_df.max()
    assert r_outliers.sum() == outliers
    assert np.array_equal(ours < ours.max(), r_outliers)
    finite = np.isfinite(r_df)
    assert np.max(np.abs(ours[finite] - r_df[finite])) <= 1e-8
    variances = fit.fit.sigma**2
    hypovariable = np.argsort(np.where(np.isnan(variances), np.inf, variances))[:30]
    assert not r_outliers[hypovariable].any()


@pytest.mark.parametrize("variant", ["plain", "covariate"])
def test_fit_f_dist_robustly_components_agree_with_r(variant: str) -> None:
    """Every component of fitFDistRobustly (mixed df, a tie, a zero, six large and three tiny
    variances; with and without a covariate)."""
    from exprhub.analysis.linear_models.robust import fit_f_dist_robustly

    inputs = pd.read_csv(REFERENCE / "fdist_inputs.tsv", sep="\t")
    expected = pd.read_csv(REFERENCE / f"fdist_{variant}_expected.tsv", sep="\t")
    covariate = inputs["covariate"].to_numpy() if variant == "covariate" else None
    fit = fit_f_dist_robustly(inputs["x"].to_numpy(), inputs["df1"].to_numpy(), covariate=covariate)

    def relative(ours: object, theirs: object) -> float:
        return float(np.max(np.abs(np.asarray(ours) / np.asarray(theirs) - 1)))

    scale = np.broadcast_to(fit.scale, len(inputs))
    # R stops its Newton iteration for df2 at about 1e-8 relative
    assert relative(fit.df2, expected["df2"].iloc[0]) <= 1e-7
    assert relative(scale, expected["scale"]) <= 1e-7
    assert relative(fit.tail_p_value, expected["tail.p.value"]) <= 1e-6
    assert np.max(np.abs(fit.prob_outlier - expected["prob.outlier"])) <= 1e-6
    assert relative(fit.df2_outlier, expected["df2.outlier"].iloc[0]) <= 1e-7
    assert np.max(np.abs(fit.df2_shrunk - expected["df2.shrunk"])) <= 1e-6
    assert (expected["df2.shrunk"] < expected["df2"]).sum() >= 5


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
    # planted hypervariable (residuals x 5) and hypovariable (x 0.05) genes for robust=TRUE
    centre = values.mean(axis=1, keepdims=True)
    values[-12:] = centre[-12:] + (values[-12:] - centre[-12:]) * 5
    values[-24:-12] = centre[-24:-12] + (values[-24:-12] - centre[-24:-12]) * 0.05
    values[rng.random(values.shape) < 0.03] = np.nan
    values = np.round(values, 6)
    frame = pd.DataFrame(values, index=[f"p{i}" for i in range(genes)], columns=design.index)
    contrasts = make_contrasts({"drug-ctl": "drug-ctl", "mix-ctl": "mix - ctl"}, design.columns)
    frame.to_csv(tmp_path / "live_values.tsv", sep="\t", na_rep="NA", index_label="gene")
    design.to_csv(tmp_path / "live_design.tsv", sep="\t", index_label="sample")
    contrasts.to_csv(tmp_path / "live_contrasts.tsv", sep="\t", index_label="coefficient")
    settings = [(False, False), (True, False), (False, True), (True, True)]
    cases = []
    for trend, robust in settings:  # the four fits in one R process
        cases += [f"live_{trend}_{robust}".lower(), str(trend).upper(), str(robust).upper()]
    subprocess.run(
        ["Rscript", str(R_SCRIPT), "--cases", str(tmp_path), "live", *cases],
        check=True,
        capture_output=True,
    )
    for trend, robust in settings:
        case = read_case(tmp_path, f"live_{trend}_{robust}".lower(), inputs="live")
        fit = run_port(frame, design, contrasts, trend=trend, robust=robust)
        check(max_differences(fit, case.expected), case.meta, fit)
        if robust:
            df_prior = np.asarray(fit.df_prior)
            assert (df_prior < df_prior.max()).sum() >= 12
