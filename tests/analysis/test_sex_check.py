"""Sex from refined expression on real GEO samples, and the QC of annotated sex.

GSM11805 (HG-U133A) says ``Gender = Female`` but expresses the Y genes (RPS4Y1 6109 P,
DDX3Y 1355 P, KDM5D 763 P in its own table) and not XIST (19 A, 136 A): the check flags it.
GDS507 (HG-U133B, same study) has only ZFY and XIST: the calls it makes agree within each
donor. A swap is simulated on GSE1623 (MG-U74A) by annotating its samples in a copy of the
family file and flipping one."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from exprhub.analysis.sex_check import (
    MARKERS,
    SexCall,
    call_sex,
    marker_levels,
    sex_disagreements,
    stated_sex,
)
from exprhub.api import Hub
from exprhub.records import Sample

# GDS507's "individual" subsets: the tumour and normal columns of one donor
DONORS = {
    "035": ["GSM11810", "GSM11815"],
    "023": ["GSM11827", "GSM11832"],
    "001": ["GSM12069", "GSM12078"],
    "005": ["GSM12083", "GSM12099"],
    "2": ["GSM12274", "GSM12287"],
    "3": ["GSM12299", "GSM12301"],
    "4": ["GSM12412", "GSM12448"],
}


@pytest.fixture(scope="module")
def kidney_hub(tmp_path_factory, geo_fixtures):
    hub = Hub.init(tmp_path_factory.mktemp("sexhub") / "hub")
    hub.import_files(
        [
            geo_fixtures / "geoquery/GPL96.txt.gz",
            geo_fixtures / "geoquery/GSM11805.txt.gz",
            geo_fixtures / "geoquery/GDS507.soft.gz",
            geo_fixtures / "geoquery/GPL97.annot.gz",
            geo_fixtures / "gemma/GSE3791_family.soft.gz",
        ]
    )
    hub.refine(workers=0)
    yield hub
    hub.close()


def test_gsm11805_expresses_y_genes_and_is_flagged(kidney_hub):
    calls = kidney_hub.predict_sex("GSM11805")
    row = calls.loc["GSM11805"]
    assert row["sex"] == "male" and row["tax_id"] == 9606
    assert row["y_level"] > 0.6 and row["x_level"] < 0.3 and row["confidence"] > 0.7
    assert set(row["y_genes"].split(";")) >= {"DDX3Y", "EIF1AY"}
    qc = kidney_hub.label_qc("GSM11805")
    assert qc.loc["GSM11805", "annotated"] == "female"
    assert qc.loc["GSM11805", "annotated_from"] == "description"
    assert bool(qc.loc["GSM11805", "flag"]) and qc.loc["GSM11805", "status"] == "disagree"
    flagged = kidney_hub.label_qc(flagged_only=True)
    assert list(flagged.index) == ["GSM11805"]


def test_gds507_calls_agree_within_each_donor(kidney_hub):
    calls = kidney_hub.predict_sex("GDS507")
    assert len(calls) == 17 and set(calls["y_genes"]) == {"ZFY"}  # U133B: no core Y gene
    by_sample = calls["sex"].to_dict()
    for donor, samples in DONORS.items():
        called = {by_sample[s] for s in samples} - {"uncertain"}
        assert len(called) <= 1, f"donor {donor}: {called}"
    female = sorted(s for s, sex in by_sample.items() if sex == "female")
    assert female == ["GSM11827", "GSM11832", "GSM12106"]
    # donor 035 (GSM11805's N035): XIST as low as in the male-called sample, not female
    assert calls.loc[DONORS["035"], "x_level"].max() < 0.5
    assert calls.loc["GSM12069", "sex"] == "male"
    # DataSet columns have no record stating a sex: nothing to flag
    assert not kidney_hub.label_qc("GDS507")["flag"].any()


def test_chopped_tables_without_markers_are_uncertain_with_the_reason(kidney_hub):
    qc = kidney_hub.label_qc("GSE3791")
    human = qc.loc[["GSM87191", "GSM87193", "GSM87199"]]
    assert set(human["annotated"]) == {"male"} and set(human["status"]) == {"uncertain"}
    assert human["reason"].str.contains("not measured").all()
    assert not qc["flag"].any()


def _annotated_copy(source, target, sexes: dict[str, str]) -> None:
    """GSE1623's family file with a ``sex`` characteristic added to each sample."""
    out: list[str] = []
    current = None
    with gzip.open(source, "rt", encoding="latin-1") as handle:
        for line in handle:
            out.append(line)
            if line.lower().startswith("^sample"):
                current = line.split("=", 1)[1].strip()
            elif line.startswith("!Sample_source_name_ch1") and current in sexes:
                out.append(f"!Sample_characteristics_ch1 = sex: {sexes[current]}\r\n")
    with gzip.open(target, "wt", encoding="latin-1") as handle:
        handle.writelines(out)


def test_a_swapped_annotation_is_exactly_what_is_flagged(tmp_path, geo_fixtures, database_url):
    source = geo_fixtures / "gemma/GSE1623_family.soft.txt.gz"
    samples = ["GSM27446", "GSM27447", "GSM27451", "GSM27452"]
    samples += ["GSM27453", "GSM27454", "GSM27456", "GSM27457"]
    sexes = dict.fromkeys(samples, "female")
    sexes["GSM27456"] = "male"  # the swap
    copy = tmp_path / "GSE1623_family.soft.gz"
    _annotated_copy(source, copy, sexes)
    hub = Hub.init(tmp_path / "hub", database_url=database_url)
    try:
        hub.import_files(copy)
        hub.refine("GSE1623", workers=0)
        qc = hub.label_qc("GSE1623")
        assert set(qc["annotated_from"]) == {"characteristics"}
        assert list(qc.index[qc["flag"]]) == ["GSM27456"]
        assert qc.loc["GSM27456", "predicted"] == "female"
        assert qc.loc["GSM27452", "status"] == "agree"
        # the unswapped annotation flags nothing
        unswapped = hub.label_qc("GSE1623", annotated=dict.fromkeys(samples, "female"))
        assert not unswapped["flag"].any()
    finally:
        hub.close()


def test_the_rule_thresholds():
    assert call_sex(0.9, 0.2)[0] == "male"
    assert call_sex(0.1, 0.9)[0] == "female"
    assert call_sex(0.9, 0.9)[0] == "uncertain"  # a pool of both sexes
    assert call_sex(0.3, 0.3)[0] == "uncertain"  # neither expressed
    assert call_sex(0.55, 0.2)[0] == "uncertain"  # Y too low to call male
    assert call_sex(0.1, 0.65)[0] == "uncertain"  # XIST too low to call female
    assert call_sex(None, 0.9) == ("uncertain", 0.0, None)
    sex, confidence, score = call_sex(0.8, 0.3)
    assert (sex, score) == ("male", pytest.approx(0.5)) and confidence == pytest.approx(0.5 / 0.6)


def test_marker_levels_rank_within_the_sample():
    values = pd.Series({str(i): float(i) for i in range(1, 101)})  # gene "i" has value i
    symbols = {"100": "RPS4Y1", "90": "DDX3Y", "10": "XIST", "95": "ZFY"}
    y, x, used = marker_levels(values, symbols, MARKERS[9606])
    assert used == ["RPS4Y1", "DDX3Y"]  # ZFY only where no core gene is measured
    assert y == pytest.approx((1.0 + 0.9) / 2) and x == pytest.approx(0.1)
    y, _, used = marker_levels(values, {"95": "ZFY", "10": "XIST"}, MARKERS[9606])
    assert used == ["ZFY"] and y == pytest.approx(0.95)


def test_stated_sex_reads_characteristics_then_description():
    sample = Sample("GSM1", [("Sample_description", "Age = 70; Gender = Female; Right Kidney")])
    assert stated_sex(sample) == ("female", "description")
    sample = Sample("GSM2", [("Sample_characteristics_ch1", "gender: M")])
    assert stated_sex(sample) == ("male", "characteristics")
    pooled = Sample("GSM3", [("Sample_characteristics_ch1", "gender: 1 Male, 2 Female")])
    assert stated_sex(pooled) is None


def test_disagreements_only_from_confident_calls():
    calls = [
        SexCall("A", 9606, "male", 0.9, 0.5, 0.8, 0.3, "RPS4Y1", ""),
        SexCall("B", 9606, "female", 0.9, -0.5, 0.2, 0.9, "RPS4Y1", ""),
        SexCall("C", 9606, "uncertain", 0.0, 0.0, 0.4, 0.4, "RPS4Y1", ""),
        SexCall("D", 9606, "male", 0.9, 0.5, 0.8, 0.3, "RPS4Y1", ""),
    ]
    checks = sex_disagreements({"A": "female", "B": "female", "C": "male", "D": "mixed"}, calls)
    assert [(c.sample, c.flag, c.status) for c in checks] == [
        ("A", True, "disagree"),
        ("B", False, "agree"),
        ("C", False, "uncertain"),
        ("D", False, "not annotated"),
    ]


def test_ranks_are_pandas_percentile_ranks_with_ties():
    import numpy as np

    from exprhub.analysis.sex_check import _ranks

    rng = np.random.default_rng(5)
    values = pd.Series(rng.integers(0, 20, 500).astype(float), index=[str(i) for i in range(500)])
    values.iloc[::7] = np.nan
    expected = values.dropna().rank(pct=True)
    got = _ranks(values, [str(i) for i in range(0, 500, 3)])
    assert got == pytest.approx({k: expected[k] for k in got})
    assert "0" not in got  # NaN: not measured
