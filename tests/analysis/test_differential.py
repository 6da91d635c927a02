"""GEO2R-style differential expression on the real GDS507 DataSet and on small matrices."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exprhub.analysis.differential import differential_expression
from tests.analysis.limma_reference import REFERENCE, read_expected


def _gds507(geo_fixtures: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    import exprhub

    gds = exprhub.read(geo_fixtures / "geoquery" / "GDS507.soft.gz")
    groups: dict[str, str] = {}
    for subset in gds.subsets.values():
        attributes = dict(subset.attributes)
        if attributes["subset_type"] == "disease state":
            for sample in attributes["subset_sample_id"].split(","):
                groups[sample] = attributes["subset_description"]
    return gds.expression(), groups


def test_gds507_disease_state_matches_r_limma_top_table(geo_fixtures: Path) -> None:
    values, groups = _gds507(geo_fixtures)
    result = differential_expression(values, groups, contrasts=["normal-RCC"], number=2000)
    expected, meta = read_expected(REFERENCE, "gds507")
    assert result.log2 and meta["log2"] == "TRUE"
    assert "linear, log2-transformed" in result.log2_reason
    assert result.genes_tested == 22645 and result.genes_dropped == 0
    assert list(result.table.columns) == ["logFC", "AveExpr", "t", "P.Value", "adj.P.Val", "B"]
    expected = expected.loc[result.table.index]
    # R's top 2,000 by B are ours, in the same order
    r_order = expected.sort_values("B_1", ascending=False, kind="stable").index
    assert list(r_order) == list(result.table.index)
    for ours, theirs in (
        ("logFC", "logFC_1"),
        ("t", "t_1"),
        ("P.Value", "P.Value_1"),
        ("adj.P.Val", "adj.P.Val_1"),
        ("B", "B_1"),
    ):
        assert np.max(np.abs(result.table[ours] - expected[theirs])) <= 1e-6
    assert result.df_prior == pytest.approx(float(meta["df.prior"]), rel=1e-9)
    assert result.samples == list(values.columns.intersection(list(groups)))


def test_default_contrasts_are_all_pairs_earlier_minus_later() -> None:
    rng = np.random.default_rng(1)
    values = pd.DataFrame(rng.normal(8, 1, (300, 9)), columns=[f"s{i}" for i in range(9)])
    groups = {f"s{i}": g for i, g in enumerate("AAABBBCCC")}
    result = differential_expression(values, groups)
    assert list(result.contrasts.columns) == ["A-B", "A-C", "B-C"]
    assert list(result.table.columns[:3]) == ["A-B", "A-C", "B-C"]
    assert "F" in result.table.columns and "B" not in result.table.columns
    assert not result.log2  # values around 8: already log scale by GEO2R's rule
    table = result.table
    assert np.all(np.diff(table["F"].to_numpy()) <= 0)


def test_samples_outside_groups_are_left_out_and_names_need_not_be_identifiers() -> None:
    rng = np.random.default_rng(2)
    values = pd.DataFrame(rng.lognormal(7, 1, (200, 8)), columns=[f"GSM{i}" for i in range(8)])
    groups = {
        "GSM0": "wild type",
        "GSM1": "wild type",
        "GSM2": "wild type",
        "GSM4": "knock-out",
        "GSM5": "knock-out",
        "GSM6": "knock-out",
    }
    result = differential_expression(values, groups, number=10)
    assert result.samples == ["GSM0", "GSM1", "GSM2", "GSM4", "GSM5", "GSM6"]
    assert list(result.contrasts.columns) == ["wild type-knock-out"]
    assert result.log2
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["columns"][0] == "ID" and len(payload["table"]) == 10
    assert payload["genes_tested"] == 200


def test_covariate_and_missing_values_modes() -> None:
    rng = np.random.default_rng(3)
    values = pd.DataFrame(rng.normal(6, 1, (300, 10)), columns=[f"s{i}" for i in range(10)])
    values.iloc[:20, 0] = np.nan
    groups = {f"s{i}": "a" if i < 5 else "b" for i in range(10)}
    covariates = pd.DataFrame({"age": rng.uniform(20, 60, 10)}, index=values.columns)
    dropped = differential_expression(values, groups, covariates=covariates)
    assert dropped.genes_dropped == 20 and dropped.genes_tested == 280
    assert list(dropped.design.columns) == ["a", "b", "age"]
    kept = differential_expression(values, groups, covariates=covariates, missing="fit")
    assert kept.genes_tested == 300 and kept.genes_dropped == 0


def test_log2_override_and_errors() -> None:
    values = pd.DataFrame(np.arange(1, 41, dtype=float).reshape(10, 4), columns=list("wxyz"))
    groups = {"w": "a", "x": "a", "y": "b", "z": "b"}
    assert differential_expression(values, groups, log2=True).log2
    with pytest.raises(ValueError, match="at least two groups"):
        differential_expression(values, {"w": "a", "x": "a"})
    with pytest.raises(ValueError, match="not columns"):
        differential_expression(values, {"w": "a", "q": "b"})
    with pytest.raises(ValueError, match="cannot read contrast"):
        differential_expression(values, groups, contrasts=["a-c"])
    with pytest.raises(ValueError, match="residual degrees of freedom"):
        differential_expression(values[["w", "y"]], {"w": "a", "y": "b"})
