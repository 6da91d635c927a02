"""Reading the R limma reference cases (tests/reference/limma, written by
tests/reference/make_limma_reference.R) and running the Python port on the same inputs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from exprhub.analysis.linear_models import (
    ModeratedFit,
    contrasts_fit,
    decide_tests,
    e_bayes,
    lm_fit,
    top_table,
)

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "limma"
R_SCRIPT = REFERENCE.parent / "make_limma_reference.R"


@dataclass
class Case:
    """One reference case: inputs, R's results and its settings."""

    values: pd.DataFrame
    design: pd.DataFrame
    contrasts: pd.DataFrame
    expected: pd.DataFrame
    meta: dict[str, str]

    @property
    def trend(self) -> bool:
        return self.meta["trend"] == "TRUE"

    @property
    def robust(self) -> bool:
        return self.meta["robust"] == "TRUE"


def read_expected(directory: Path, name: str) -> tuple[pd.DataFrame, dict[str, str]]:
    expected = pd.read_csv(directory / f"{name}_expected.tsv", sep="\t", index_col=0)
    meta_frame = pd.read_csv(directory / f"{name}_meta.tsv", sep="\t", dtype=str)
    return expected, dict(zip(meta_frame["key"], meta_frame["value"], strict=True))


def read_case(directory: Path, name: str, inputs: str | None = None) -> Case:
    stem = inputs or name
    values = pd.read_csv(directory / f"{stem}_values.tsv", sep="\t", index_col=0)
    design = pd.read_csv(directory / f"{stem}_design.tsv", sep="\t", index_col=0)
    contrasts = pd.read_csv(directory / f"{stem}_contrasts.tsv", sep="\t", index_col=0)
    expected, meta = read_expected(directory, name)
    return Case(values, design, contrasts, expected, meta)


def run_port(
    values: pd.DataFrame,
    design: pd.DataFrame,
    contrasts: pd.DataFrame,
    *,
    trend: bool,
    robust: bool,
) -> ModeratedFit:
    return e_bayes(contrasts_fit(lm_fit(values, design), contrasts), trend=trend, robust=robust)


def max_differences(fit: ModeratedFit, expected: pd.DataFrame) -> dict[str, float]:
    """Largest absolute difference of every compared quantity (genes matched by name)."""
    out: dict[str, float] = {}
    genes = expected.index.astype(str)
    position = pd.Index(fit.genes.astype(str)).get_indexer(genes)
    assert (position >= 0).all(), "reference genes missing from the fit"

    def diff(key: str, ours: np.ndarray, theirs: np.ndarray) -> None:
        a, b = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
        assert np.array_equal(np.isnan(a), np.isnan(b)), f"{key}: missing values differ"
        both = ~np.isnan(a) & ~np.isinf(a)
        assert np.array_equal(np.isinf(a), np.isinf(b)), f"{key}: infinite values differ"
        out[key] = float(np.max(np.abs(a[both] - b[both]), initial=0.0))

    for j, name in enumerate(fit.coefficient_names):
        table = top_table(fit, j, number=None, sort_by="none").iloc[position]
        tag = f"_{j + 1}"
        for column in ("logFC", "t", "P.Value", "adj.P.Val", "B"):
            diff(column + tag, table[column].to_numpy(), expected[column + tag].to_numpy())
        if j == 0:
            for method, column in (
                ("BY", "BY_1"),
                ("holm", "holm_1"),
                ("bonferroni", "bonferroni_1"),
            ):
                adjusted = top_table(fit, j, number=None, sort_by="none", adjust_method=method)
                diff(column, adjusted["adj.P.Val"].to_numpy()[position], expected[column])
        for method in ("separate", "global"):
            calls = decide_tests(fit, method=method)[name].to_numpy(dtype=float, na_value=np.nan)
            calls = calls[position]
            diff(method + tag, calls, expected[method + tag].to_numpy())
    diff("AveExpr", fit.fit.amean[position], expected["AveExpr"].to_numpy())
    diff("df.total", fit.df_total[position], expected["df.total"].to_numpy())
    s2_prior = np.broadcast_to(fit.s2_prior, fit.df_total.shape)[position]
    df_prior = np.broadcast_to(fit.df_prior, fit.df_total.shape)[position]
    diff("s2.prior", s2_prior, expected["s2.prior"].to_numpy())
    diff("df.prior", df_prior, expected["df.prior"].to_numpy())
    if "F" in expected:
        table = top_table(fit, number=None, sort_by="none").iloc[position]
        diff("F", table["F"].to_numpy(), expected["F"].to_numpy())
        diff("F.P.Value", table["P.Value"].to_numpy(), expected["F.P.Value"].to_numpy())
        diff("F.adj.P.Val", table["adj.P.Val"].to_numpy(), expected["F.adj.P.Val"].to_numpy())
    return out


#: Largest absolute differences allowed (the issue asks 1e-6 for t, logFC and P.Value).
TOLERANCE = {"t": 1e-6, "logFC": 1e-6, "P.Value": 1e-6, "adj.P.Val": 1e-6, "B": 1e-6}
HYPER_TOLERANCE = 1e-6


def check(differences: dict[str, float], meta: dict[str, str], fit: ModeratedFit) -> None:
    """Assert every difference is within tolerance (relative for the prior variance and df)."""
    for key, value in differences.items():
        if key.startswith(("separate", "global")):
            assert value == 0, f"decideTests {key} differs from R"
        elif key == "s2.prior":
            assert value <= 1e-9, f"s2.prior: max abs difference {value:.3g}"
        elif key == "df.prior":
            assert value <= 1e-6, f"df.prior: max abs difference {value:.3g}"
        else:
            assert value <= 1e-6, f"{key}: max abs difference {value:.3g} > 1e-6"
    if meta["df.prior"] not in ("vector",):
        expected = float(meta["df.prior"])
        ours = float(np.asarray(fit.df_prior).ravel()[0])
        if np.isinf(expected):
            assert np.isinf(ours)
        else:
            assert abs(ours - expected) <= HYPER_TOLERANCE * max(1.0, expected)
    if meta["s2.prior"] != "vector":
        expected = float(meta["s2.prior"])
        ours = float(np.asarray(fit.s2_prior).ravel()[0])
        assert abs(ours - expected) <= HYPER_TOLERANCE * expected
    for j in range(len(fit.coefficient_names)):
        expected = float(meta[f"var.prior_{j + 1}"])
        assert abs(fit.var_prior[j] - expected) <= HYPER_TOLERANCE * expected
