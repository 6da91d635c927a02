"""Hub.compare / cluster / distributions / pca on real records: GDS507 (its own table and
disease state subsets), GDS1794 / GSE2870 (subsets reached from the series), GSE1623 refined,
GSE3791 (four platforms, two organisms: refused with the reason, or one platform chosen)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import exprhub
from exprhub.refine.executor import SerialExecutor
from exprhub.refine.pipeline import RefineOptions, refine


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, geo_fixtures: Path):
    with exprhub.Hub.init(tmp_path_factory.mktemp("explore") / "hub") as opened:
        opened.import_files(
            [
                geo_fixtures / "geoquery/GDS507.soft.gz",
                geo_fixtures / "gemma/GDS1794.soft.gz",
                geo_fixtures / "gemma/GSE2870_family.soft.gz",
                geo_fixtures / "gemma/GSE1623_family.soft.txt.gz",
                geo_fixtures / "gemma/GSE3791_family.soft.gz",
            ]
        )
        report = refine(
            opened, ["GSE1623", "GSE3791"], executor=SerialExecutor(), options=RefineOptions()
        )
        assert report.to_dict()["failed"] == {}
        yield opened


def test_compare_gds507_by_subset_field_and_sample_list(hub):
    by_field = hub.compare("GDS507", "disease state=RCC", "disease state=normal")
    by_subset = hub.compare("GDS507", "GDS507_1", "GDS507_2")
    rcc = hub.record("GDS507_1").sample_ids
    by_list = hub.compare("GDS507", ",".join(rcc), "rest")
    assert by_field.attrs["a_label"] == "disease state = RCC" and by_field.attrs["b"] == (
        hub.record("GDS507_2").sample_ids
    )
    for other in (by_subset, by_list):
        assert list(other.index[:50]) == list(by_field.index[:50])
        np.testing.assert_allclose(other["p_value"], by_field["p_value"])
    assert by_field.attrs["rows_tested"] == 22645 and by_field.attrs["log2_applied"]
    top = by_field.iloc[0]
    assert top["identifier"] == "KCNJ10" and top["adj_p_value"] < 1e-5
    values = hub.expression("GDS507")
    row = np.log2(values.loc[by_field.index[0]].astype(float))
    assert top["mean_a"] == pytest.approx(row[rcc].mean())


def test_compare_thresholds_and_refusals(hub):
    kept = hub.compare("GDS507", "GDS507_1", method="welch", adj_p_value=0.05, fold=2)
    assert 0 < len(kept) < 22645 and (kept["log2_fold"].abs() >= 1).all()
    with pytest.raises(ValueError, match="no sample has disease state = 'cancer'; values: RCC"):
        hub.compare("GDS507", "disease state=cancer")
    with pytest.raises(ValueError, match="no field 'tumour'"):
        hub.compare("GDS507", "tumour=yes")
    with pytest.raises(ValueError, match="not a sample, a subset"):
        hub.compare("GDS507", "RCC")


def test_compare_a_series_by_the_subsets_of_its_dataset(hub):
    table = hub.compare("GSE2870", "stress=control", method="fold")
    assert table.attrs["a_label"] == "stress = control" and len(table.attrs["a"]) == 9
    assert table.attrs["platform"] == "GPL1355" and table["p_value"].isna().all()


def test_refined_compare_has_gene_symbols(hub):
    table = hub.compare("GSE1623", "GSM27446,GSM27447,GSM27451,GSM27452", values="refined")
    assert table.index.name == "gene_id" and table.attrs["values"] == "refined"
    assert table["identifier"].notna().mean() > 0.9


def test_cluster_gds507_and_gds1794(hub):
    result = hub.cluster("GDS507", k=2)
    state = result.annotations["disease state"]
    clusters = dict(zip(result.values.columns, result.column_clusters, strict=True))
    assert len({clusters[s] for s in state.index if state[s] == "RCC"}) == 1
    data = result.to_dict()
    assert data["request"] == "GDS507" and data["rows_clustered"] == 1000
    chopped = hub.cluster("GDS1794", method="kmedians", k=3, top=None)
    assert chopped.values.shape == (100, 18)  # the file's table was cut to 100 rows
    assert sorted(set(chopped.row_clusters)) == [1, 2, 3]


def test_distributions_grouped_by_subset(hub):
    result = hub.distributions("GDS1794", by="tissue")
    frame = result.frame()
    assert set(frame["group"]) == {"amygdala", "hippocampus", "cortex"}
    assert result.to_dict()["by"] == "tissue" and len(result.to_dict()["samples"]) == 18


def test_pca_of_refined_values_across_series_shows_the_batch(hub):
    samples = ["GSE1623", "GSM87195", "GSM87197", "GSM87201"]
    result = hub.pca(samples, values="refined")
    assert result.color == "series"
    pc1 = result.frame().groupby("series")["PC1"]
    assert pc1.max().min() < pc1.min().max()  # the series sit apart on PC1
    assert result.rows_used < 200  # only genes both platforms measure
    assert hub.pca("GDS1794").color == "tissue"
    assert hub.pca("GDS1794", color="stress").color == "stress"


def test_several_platforms_are_refused_with_the_reason(hub):
    with pytest.raises(ValueError, match=r"4 platforms \(GPL339, GPL340, GPL96, GPL97\)"):
        hub.cluster("GSE3791")
    with pytest.raises(ValueError, match="2 organisms"):
        hub.pca("GSE3791", values="refined")
    one = hub.pca("GSE3791", platform="GPL96")
    assert list(one.coordinates.index) == ["GSM87191", "GSM87193", "GSM87199"]


def test_samples_without_values_are_named(hub):
    result = hub.pca(["GSE1623", "GSE2870"], values="refined")
    missing = result.to_dict()["missing"]
    assert len(missing) == 18 and missing["GSM53299"] == "not refined yet"
    assert len(result.coordinates) == 8


def test_grouping_by_a_characteristic_across_organisms(hub):
    """Box plots need no common genes: GSE3791's refined values of both organisms, grouped by
    the characteristic ``Strain`` (submitted as ``Strain: CD1`` by the mouse samples only)."""
    result = hub.distributions("GSE3791", values="refined", by="strain")
    groups = result.frame()["group"]
    assert result.by == "ch1.Strain" and len(groups) == 12
    mouse = [k for k in groups.index if hub.record(k).organisms == ["Mus musculus"]]
    assert {groups[k] for k in mouse} == {"CD1"} and groups.drop(mouse).isna().all()
