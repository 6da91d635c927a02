"""Scale detection (GEO2R rule, GDS value types) and value kinds.

``test_live_r_geo2r_rule`` evaluates GEO2R's own R expression now (skips without Rscript);
the others need no R.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from exprhub.refine.scale import (
    GDS_VALUE_TYPES,
    QUANTILE_PROBS,
    ScaleDecision,
    detect_scale,
    geo2r_needs_log,
    to_log2,
    value_kind,
)

from .conftest import require_r

rng = np.random.default_rng(0)
LINEAR = rng.lognormal(7, 1.5, size=2000)  # MAS5-like intensities
LOGGED = np.log2(LINEAR)


def test_linear_intensities_get_log2() -> None:
    d = detect_scale(LINEAR)
    assert (d.is_log, d.transform, d.value_kind) == (False, "log2", "intensity")
    assert "GEO2R" in d.reason and len(d.quantiles) == 6
    np.testing.assert_allclose(to_log2(LINEAR, d), LOGGED)


def test_logged_intensities_are_kept() -> None:
    d = detect_scale(LOGGED)
    assert (d.is_log, d.transform) == (True, "none")
    np.testing.assert_array_equal(to_log2(LOGGED, d), LOGGED)


def test_second_clause_of_the_rule() -> None:
    # q99 <= 100 but range > 50 with positive q25: linear
    x = np.concatenate([np.linspace(1, 90, 995), [99, 99.5, 100, 100, 100]])
    assert geo2r_needs_log(np.quantile(x, QUANTILE_PROBS))
    assert not geo2r_needs_log((-1.0, 0.0, 2.0, 3.0, 99.0, 100.0))
    assert detect_scale(x).transform == "log2"
    # same spread but q25 <= 0 (centred data): already log
    assert detect_scale(x - 60).transform == "none"


def test_nonpositive_values_become_nan() -> None:
    x = np.array([[-5.0, 0.0, 1000.0], [200.0, np.nan, 4000.0]])
    d = detect_scale(x)
    assert d.transform == "log2" and d.n_nonpositive == 2
    y = to_log2(x, d)
    assert np.isnan(y[0, 0]) and np.isnan(y[0, 1]) and np.isnan(y[1, 1])
    assert y[1, 0] == pytest.approx(np.log2(200.0))
    assert y.shape == x.shape


def test_refinebio_rule() -> None:
    x = np.array([-10.0, 0.0, 5.0, 101.0])  # q99 = 98.1, q25 = -2.5: GEO2R says log
    assert detect_scale(x, rule="refinebio").transform == "log2"
    assert detect_scale(x).transform == "none"
    with pytest.raises(ValueError, match="rule"):
        detect_scale(x, rule="other")  # type: ignore[arg-type]


def test_gds_value_types() -> None:
    ratios = rng.normal(0, 1, size=500)
    for vt, (kind, _, transform) in GDS_VALUE_TYPES.items():
        data = LOGGED if kind == "intensity" and vt == "transformed count" else ratios
        data = LINEAR if vt == "count" else data
        d = detect_scale(data, value_type=vt)
        assert d.value_kind == kind and d.transform == transform, vt
    d = detect_scale(ratios, value_type="log10 ratio")
    np.testing.assert_allclose(to_log2(ratios, d), ratios * np.log2(10))
    d = detect_scale(ratios, value_type="log e ratio")
    np.testing.assert_allclose(to_log2(ratios, d), ratios / np.log(2))
    # big log ratios never get a log transform
    assert detect_scale(ratios * 500, value_type="log2 ratio").transform == "none"
    # stated types contradicted by the data: the data win for intensities
    d = detect_scale(LOGGED, value_type="count")
    assert d.transform == "none" and "disagree" in d.reason
    assert detect_scale(LINEAR, value_type="transformed count").transform == "log2"


def test_value_kind() -> None:
    assert value_kind() == "intensity"
    assert value_kind(channel_count=1) == "intensity"
    assert value_kind(channel_count=2) == "log-ratio"
    assert value_kind("Log2 Ratio", channel_count=1) == "log-ratio"
    assert value_kind("Z-score") == "z-score"
    assert value_kind("transformed count", channel_count=2) == "intensity"
    with pytest.raises(ValueError, match="unknown GDS value type"):
        value_kind("fold change")
    assert detect_scale(rng.normal(0, 1, 100), channel_count=2).reason.startswith("log-ratio")


def test_empty_input() -> None:
    d = detect_scale(np.array([np.nan, np.nan]))
    assert isinstance(d, ScaleDecision) and d.transform == "none"
    assert all(np.isnan(q) for q in d.quantiles)


def test_live_r_geo2r_rule() -> None:
    """Our quantiles and decision equal GEO2R's R code on the same values (skips without R)."""
    require_r("stats")
    cases = [LINEAR[:300], LOGGED[:300], np.linspace(-3, 80, 301), np.arange(1.0, 60.0)]
    for x in cases:
        values = ",".join(repr(float(v)) for v in x)
        code = (
            f"ex <- c({values}); qx <- as.numeric(quantile(ex, c(0., 0.25, 0.5, 0.75, 0.99, 1.0),"
            " na.rm=T)); LogC <- (qx[5] > 100) || (qx[6]-qx[1] > 50 && qx[2] > 0);"
            " cat(sprintf('%.17g', qx), LogC)"
        )
        out = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, check=True)
        *qs, logc = out.stdout.split()
        d = detect_scale(x)
        np.testing.assert_allclose(d.quantiles, [float(v) for v in qs], rtol=1e-12)
        assert (d.transform == "log2") == (logc == "TRUE")
    assert QUANTILE_PROBS == (0.0, 0.25, 0.5, 0.75, 0.99, 1.0)
