"""Bundles from real GEO series: the TSV layout, exact values, metadata, samples left out with
reasons, one-sample experiments, series over two platforms or two organisms, a sample in two
selected series, and the versions recorded in aggregated_metadata.json."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from exprhub.bundles.selection import BundleError
from exprhub.refine import store

from .conftest import read_table, read_tsv_matrix

GSE1623 = [f"GSM274{n}" for n in (46, 47, 51, 52, 53, 54, 56, 57)]
#: Samples of both the SuperSeries GSE11897 and its SubSeries GSE7774.
SHARED = ["GSM178084", "GSM178085", "GSM178086", "GSM180004", "GSM180005"]


def _metadata(path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("aggregated_metadata.json"))


def test_tsv_layout(hub, tmp_path):
    result = hub.bundle(
        tmp_path,
        series=["GSE1623", "GSE3791"],
        samples=["GSM11805", "GSM718707", "GSM999999"],
        aggregate="experiment",
    )
    assert result.path.name == f"exprhub-bundle-experiment-tsv-{result.sha256[:16]}.zip"
    keys = ["GSE1623", "GSE3791_HOMO_SAPIENS", "GSE3791_MUS_MUSCULUS", "GSE781"]
    with zipfile.ZipFile(result.path) as archive:
        names = archive.namelist()
        expected = [
            f"{k}/{f}"
            for k in keys
            for f in (f"{k}.tsv", f"genes_{k}.tsv", f"metadata_{k}.json", f"metadata_{k}.tsv")
        ]
        assert names == [
            *expected,
            "LICENSE.TXT",
            "README.md",
            "aggregated_metadata.json",
            "filtered_samples_metadata.tsv",
        ]
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in archive.infolist())
        metadata = json.loads(archive.read("aggregated_metadata.json"))
        readme = archive.read("README.md").decode()
        filtered = read_table(archive, "filtered_samples_metadata.tsv")
        sample_rows = read_table(archive, "GSE1623/metadata_GSE1623.tsv")
        human = read_table(archive, "GSE3791_HOMO_SAPIENS/metadata_GSE3791_HOMO_SAPIENS.tsv")
        gene_rows = read_table(archive, "GSE1623/genes_GSE1623.tsv")
        document = json.loads(archive.read("GSE1623/metadata_GSE1623.json"))
        genes, samples, values = read_tsv_matrix(archive, "GSE1623")
    assert list(metadata["aggregates"]) == keys
    assert "| GSE781 | 1 | 12633 | 0 |" in readme
    # samples left out are listed with the reason, never skipped silently
    reasons = {row["accession"]: row["reason"] for row in filtered}
    assert set(reasons) == {"GSM718707", "GSM999999"}
    assert reasons["GSM999999"] == "not in the hub"
    assert reasons["GSM718707"].startswith("skipped: no values")
    assert filtered[0]["title"]  # their metadata beside the reason
    assert metadata["filtered_samples"] == reasons
    # values read back exactly as stored (GSE1623 measures the same genes in every sample)
    stored = store.refined_matrix(hub, GSE1623)
    assert samples == GSE1623 and genes == [str(g) for g in stored.index]
    np.testing.assert_array_equal(values, stored.to_numpy(dtype=np.float32))
    assert [r["gene_id"] for r in gene_rows] == genes and gene_rows[0]["n_samples"] == "8"
    # the one-sample experiment (GSE781's other samples are not in the hub)
    assert metadata["aggregates"]["GSE781"]["samples"] == ["GSM11805"]
    # metadata: original attributes, characteristics, refinement
    first = sample_rows[0]
    assert first["accession"] == "GSM27446" and first["platform"] == "GPL81"
    assert first["attr.title"] == first["title"] and first["series"] == "GSE1623"
    assert (
        human[0]["ch1.Gender"] == "Male" and human[0]["sex"] == "male"
    )  # as submitted; harmonized
    assert human[0]["attr.characteristics_ch1"].startswith("Gender:")
    # standardized labels (docs/labels.md), as stored in the hub
    assert human[0]["label.sex"] == "male" and human[0]["label.organism"] == "Homo sapiens"
    assert first["label.organism"] == "Mus musculus"
    assert first["refined.qn_target_sha256"] == metadata["samples"]["GSM27446"]["qn_target_sha256"]
    assert document["samples"]["GSM27446"]["refinement"]["processor"] == "exprhub-refinery"


def test_metadata_records_every_version(hub, tmp_path):
    result = hub.bundle(tmp_path / "b.zip", series="GSE1623", aggregate="species", scale="robust")
    metadata = result.metadata
    assert metadata == _metadata(result.path)
    assert metadata["options"] == {
        "aggregate": "species",
        "scale": "robust",
        "quantile_normalize": True,
        "format": "tsv",
    }
    assert metadata["exprhub_version"] and metadata["layout_version"] == 1
    [target] = metadata["quantile_normalization"]["targets"]
    stored = {(t["tax_id"], t["version"]): t for t in hub.qn_targets()}
    assert target["sha256"] == stored[(10090, target["version"])]["sha256"]
    assert target["samples_in_bundle"] == 8
    [processor] = metadata["processors"]
    assert processor["name"] == "exprhub-refinery" and "numpy" in processor["tools"]
    reference = metadata["gene_references"]["10090"]
    assert reference["organism"] == "Mus musculus" and reference["gene_info_sha256"] == "none"
    sample = metadata["samples"]["GSM27446"]
    provenance = hub.provenance("GSM27446")
    assert sample["qn_target_sha256"] == provenance["qn_target_sha256"]
    assert sample["values_sha256"] == provenance["checksums"]["values_sha256"]
    assert sample["processor_version"] == provenance["processor"]["version"]
    assert len(metadata["aggregates"]["MUS_MUSCULUS"]["values_sha256"]) == 64


def test_two_organisms_by_species_and_no_shared_gene_in_all(hub, tmp_path):
    result = hub.bundle(tmp_path, series="GSE3791", aggregate="species")
    aggregates = result.metadata["aggregates"]
    assert list(aggregates) == ["HOMO_SAPIENS", "MUS_MUSCULUS"]
    assert aggregates["HOMO_SAPIENS"]["samples"] == [f"GSM8719{n}" for n in (1, 2, 3, 4, 9)] + [
        "GSM87200"
    ]
    assert aggregates["MUS_MUSCULUS"]["organisms"] == ["Mus musculus"]
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(BundleError, match=r"aggregate ALL: no gene is measured in every one"):
        hub.bundle(tmp_path, series="GSE3791", aggregate="all")
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_series_over_two_platforms_keeps_genes_both_measured(hub, tmp_path):
    human = [f"GSM8719{n}" for n in (1, 2, 3, 4, 9)] + ["GSM87200"]
    result = hub.bundle(tmp_path, samples=human, aggregate="all")
    summary = result.metadata["aggregates"]["ALL"]
    stored = store.refined_matrix(hub, human)
    everywhere = stored.notna().all(axis=1)
    assert summary["n_genes"] == int(everywhere.sum()) > 0
    assert summary["genes_dropped"]["count"] == int((~everywhere).sum()) > 0
    assert "every sample" in summary["genes_dropped"]["reason"]
    assert set(summary["genes_by_platform"]) == {"GPL96", "GPL97"}
    with zipfile.ZipFile(result.path) as archive:
        genes, _, values = read_tsv_matrix(archive, "ALL")
    assert genes == [str(g) for g in stored.index[everywhere]]
    np.testing.assert_array_equal(values, stored[everywhere].to_numpy(dtype=np.float32))


def test_sample_in_two_selected_series(hub, tmp_path):
    by_series = hub.bundle(tmp_path, series=["GSE11897", "GSE7774"], aggregate="experiment")
    aggregates = by_series.metadata["aggregates"]
    for sample in SHARED:
        assert sample in aggregates["GSE7774"]["samples"]
        assert sample in aggregates["GSE11897"]["samples"]
    several = by_series.metadata["samples_in_several_series"]
    assert sorted(several) == SHARED
    assert several[SHARED[0]] == ["GSE11897", "GSE7774"]
    once = hub.bundle(tmp_path, series=["GSE11897", "GSE7774"], aggregate="species")
    [(key, summary)] = once.metadata["aggregates"].items()
    assert key == "MUS_MUSCULUS" and summary["samples"] == sorted(summary["samples"])
    assert len(summary["samples"]) == len(set(summary["samples"])) == 11
    assert summary["n_samples"] == 11


def test_gds_subsets_in_sample_metadata(hub, tmp_path):
    result = hub.bundle(tmp_path, series="GSE2870")
    with zipfile.ZipFile(result.path) as archive:
        rows = read_table(archive, "GSE2870/metadata_GSE2870.tsv")
    subsets = [c for c in rows[0] if c.startswith("subset.GDS1794.")]
    assert sorted(subsets) == ["subset.GDS1794.stress", "subset.GDS1794.tissue"]
    assert all(row["subset.GDS1794.tissue"] for row in rows)


def test_no_qn_delivers_gene_level_values(hub, tmp_path):
    result = hub.bundle(tmp_path, series="GSE1623", qn=False)
    assert result.metadata["quantile_normalization"] == {"applied": False, "targets": []}
    with zipfile.ZipFile(result.path) as archive:
        genes, samples, values = read_tsv_matrix(archive, "GSE1623")
    gene_level = store.refined_matrix(hub, GSE1623, stage="genes")
    refined = store.refined_matrix(hub, GSE1623)
    assert samples == GSE1623 and genes == [str(g) for g in refined.index]
    np.testing.assert_array_equal(values, gene_level.loc[refined.index].to_numpy(np.float32))
    assert not np.array_equal(values, refined.to_numpy(np.float32))


@pytest.mark.parametrize("scale", ["minmax", "standard", "robust"])
def test_scaling_matches_scikit_learn(hub, tmp_path, scale):
    from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

    scaler = {"minmax": MinMaxScaler, "standard": StandardScaler, "robust": RobustScaler}[scale]
    result = hub.bundle(tmp_path, series="GSE1623", scale=scale)
    with zipfile.ZipFile(result.path) as archive:
        _, _, values = read_tsv_matrix(archive, "GSE1623")
    refined = store.refined_matrix(hub, GSE1623).to_numpy(np.float64)
    expected = scaler().fit_transform(refined.T).T  # samples x genes, per gene
    np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-5)


def test_nothing_deliverable_is_an_error(hub, tmp_path):
    with pytest.raises(BundleError, match=r"no selected sample can be delivered: GSM718707"):
        hub.bundle(tmp_path, series="GSE29006")
    with pytest.raises(BundleError, match="select series, samples or a search query"):
        hub.bundle(tmp_path)
    with pytest.raises(BundleError, match="scale must be one of"):
        hub.bundle(tmp_path, series="GSE1623", scale="zscore")
    assert list(tmp_path.iterdir()) == []


def test_query_selects_what_search_finds(hub, tmp_path):
    result = hub.bundle(tmp_path, query="GSE1623[ACCN]")
    assert result.metadata["selection"]["query_accessions"] == ["GSE1623"]
    assert result.metadata["aggregates"]["GSE1623"]["samples"] == GSE1623


def test_sample_a_series_lists_but_the_hub_lacks_is_listed(hub):
    from exprhub.bundles.aggregate import deliverable
    from exprhub.bundles.selection import BundleOptions, Selection

    selection = Selection(requested={}, series_of={"GSM27446": ["GSE1623"], "GSM9": ["GSE1623"]})
    delivered, filtered = deliverable(hub, selection, BundleOptions())
    assert [d.sample for d in delivered] == ["GSM27446"]
    assert filtered == {"GSM9": "not in the hub"}


def test_bundle_on_each_database(make_hub, geo_fixtures, tmp_path):
    from exprhub.api.bundling import build_bundle
    from exprhub.ingest.importer import import_file
    from exprhub.refine.executor import SerialExecutor
    from exprhub.refine.pipeline import refine

    hub = make_hub()
    import_file(hub, geo_fixtures / "gemma/GSE1623_family.soft.txt.gz")
    import_file(hub, geo_fixtures / "geoquery/GSM11805.txt.gz")  # never refined
    refine(hub, ["GSE1623"], executor=SerialExecutor())
    result = build_bundle(hub, tmp_path, series="GSE1623", samples=["GSM1", "GSM11805"])  # type: ignore[arg-type]
    assert result.metadata["filtered_samples"] == {
        "GSM1": "not in the hub",
        "GSM11805": "not refined (run `exprhub refine GSM11805`)",
    }
    with zipfile.ZipFile(result.path) as archive:
        genes, samples, values = read_tsv_matrix(archive, "GSE1623")
        rows = read_table(archive, "GSE1623/metadata_GSE1623.tsv")
    stored = store.refined_matrix(hub, GSE1623)
    assert samples == GSE1623 and genes == [str(g) for g in stored.index]
    np.testing.assert_array_equal(values, stored.to_numpy(np.float32))
    assert [r["accession"] for r in rows] == GSE1623 and rows[0]["attr.title"]
