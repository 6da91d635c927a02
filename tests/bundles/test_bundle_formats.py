"""Bundles are byte-identical when rebuilt; the h5ad opens with anndata and equals the TSV
(and hub.to_anndata); the Parquet tables hold the same values; diff says what differs."""

from __future__ import annotations

import io
import json
import time
import zipfile

import numpy as np
import pytest

from exprhub.api.bundling import diff_bundles, diff_lines
from exprhub.bundles.selection import BundleError
from exprhub.cli import main

from .conftest import read_tsv_matrix

SELECTION = {"series": ["GSE1623", "GSE3791"], "samples": ["GSM11805", "GSM718707"]}


@pytest.mark.parametrize("format", ["tsv", "h5ad", "parquet"])
def test_rebuild_is_byte_identical(hub, tmp_path, format):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = hub.bundle(tmp_path / "a", **SELECTION, aggregate="species", format=format)
    time.sleep(1.1)  # a timestamp of the build (to the second) would now differ
    second = hub.bundle(tmp_path / "b", **SELECTION, aggregate="species", format=format)
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.path.name == second.path.name and first.sha256[:16] in first.path.name


def test_h5ad_equals_tsv_and_to_anndata(hub, tmp_path):
    import anndata

    tsv = hub.bundle(tmp_path, **SELECTION, aggregate="species", format="tsv")
    h5ad = hub.bundle(tmp_path, **SELECTION, aggregate="species", format="h5ad")
    keys = ["HOMO_SAPIENS", "MUS_MUSCULUS"]
    with zipfile.ZipFile(tsv.path) as tsv_zip, zipfile.ZipFile(h5ad.path) as h5ad_zip:
        assert h5ad_zip.namelist()[:2] == [f"{k}.h5ad" for k in keys]
        for key in keys:
            genes, samples, values = read_tsv_matrix(tsv_zip, key)
            h5ad_zip.extract(f"{key}.h5ad", tmp_path / "x")
            adata = anndata.read_h5ad(tmp_path / "x" / f"{key}.h5ad")
            assert adata.X.dtype == np.float32 and adata.shape == (len(samples), len(genes))
            assert list(adata.obs_names) == samples and list(adata.var_names) == genes
            np.testing.assert_array_equal(adata.X, values.T)
            assert adata.uns["aggregate"] == key
            assert json.loads(adata.uns["aggregated_metadata"])["options"]["format"] == "h5ad"
            assert set(adata.var.columns) == {"symbol", "n_samples"}
            assert "platform" in adata.obs.columns
            memory = hub.to_anndata(**SELECTION, aggregate="species", key=key)
            np.testing.assert_array_equal(memory.X, adata.X)
            assert list(memory.obs_names) == samples
            assert list(memory.obs.columns) == list(adata.obs.columns)
            assert (memory.obs.astype(str) == adata.obs.astype(str)).all().all()
    with pytest.raises(BundleError, match="makes 2 aggregates"):
        hub.to_anndata(**SELECTION, aggregate="species")


def test_single_aggregate_h5ad_is_one_file(hub, tmp_path):
    import anndata

    result = hub.bundle(tmp_path, series="GSE1623", format="h5ad")
    assert result.path.suffix == ".h5ad"
    adata = anndata.read_h5ad(result.path)
    assert adata.shape == (8, 9055)
    metadata = json.loads(adata.uns["aggregated_metadata"])
    assert metadata == result.metadata


def test_parquet_tables_hold_the_same_values(hub, tmp_path):
    import pyarrow.parquet as pq

    tsv = hub.bundle(tmp_path, series="GSE3791", aggregate="species", format="tsv")
    parquet = hub.bundle(tmp_path, series="GSE3791", aggregate="species", format="parquet")
    with zipfile.ZipFile(parquet.path) as archive:
        values = pq.read_table(io.BytesIO(archive.read("values.parquet"))).to_pandas()
        samples = pq.read_table(io.BytesIO(archive.read("samples.parquet"))).to_pandas()
        genes = pq.read_table(io.BytesIO(archive.read("genes.parquet"))).to_pandas()
    assert list(values.columns) == ["aggregate", "gene_id", "sample", "value"]
    with zipfile.ZipFile(tsv.path) as archive:
        for key in ("HOMO_SAPIENS", "MUS_MUSCULUS"):
            gene_ids, sample_ids, matrix = read_tsv_matrix(archive, key)
            part = values[values["aggregate"] == key]
            wide = part.pivot(index="gene_id", columns="sample", values="value")
            wide = wide.loc[gene_ids, sample_ids]
            np.testing.assert_array_equal(wide.to_numpy(np.float32), matrix)
            assert list(samples[samples["aggregate"] == key]["sample"]) == sample_ids
            assert list(genes[genes["aggregate"] == key]["gene_id"]) == gene_ids


def test_diff_says_what_differs_and_why(hub, tmp_path):
    base = hub.bundle(tmp_path / "base.zip", series="GSE1623", aggregate="species")
    same = hub.bundle(tmp_path / "same.zip", series="GSE1623", aggregate="species")
    assert diff_bundles(base.path, same.path)["identical"]
    assert diff_lines(diff_bundles(base.path, same.path)) == [
        "the bundles are identical (same bytes)"
    ]
    scaled = hub.bundle(
        tmp_path / "scaled.zip", series="GSE1623", aggregate="species", scale="minmax"
    )
    result = diff_bundles(base.path, scaled.path)
    assert result["options"] == {"scale": {"a": "none", "b": "minmax"}}
    assert result["values"]["MUS_MUSCULUS"]["why"] == ["options"]
    assert "genes" not in result and "samples" not in result
    more = hub.bundle(
        tmp_path / "more.h5ad", series=["GSE1623", "GSE3791"], aggregate="species", format="h5ad"
    )
    result = diff_bundles(base.path, more.path)
    assert result["aggregates"] == {"only_in_a": [], "only_in_b": ["HOMO_SAPIENS"]}
    mouse = result["samples"]["MUS_MUSCULUS"]
    assert mouse["only_in_a"]["count"] == 0 and mouse["only_in_b"]["count"] == 6
    assert result["genes"]["MUS_MUSCULUS"]["a"] == 9055
    assert result["genes"]["MUS_MUSCULUS"]["b"] < 9055
    assert set(result["values"]["MUS_MUSCULUS"]["why"]) >= {"samples", "genes", "options"}
    assert any(
        "QN target Homo sapiens intensity v1 only in B" in line for line in diff_lines(result)
    )
    no_qn = hub.bundle(tmp_path / "noqn.zip", series="GSE1623", aggregate="species", qn=False)
    lines = diff_lines(diff_bundles(base.path, no_qn.path))
    assert lines[0] == "option quantile_normalize: True -> False"
    assert "QN target Mus musculus intensity v1 only in A" in lines
    assert lines[-1] == "MUS_MUSCULUS: values differ because of: options, qn_targets"


def test_cli_create_and_diff(bundle_home, tmp_path, capsys):
    home = ["--home", str(bundle_home)]
    args = ["bundle", "create", "--series", "GSE1623,GSE3791", "--samples", "GSM718707"]
    assert main([*args, "--aggregate", "species", "-o", str(tmp_path), "--json", *home]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["aggregates"]["MUS_MUSCULUS"]["n_samples"] == 14
    assert created["filtered_samples"]["GSM718707"].startswith("skipped")
    out = tmp_path / "robust.zip"
    assert main([*args, "--scale", "robust", "--aggregate", "species", "-o", str(out), *home]) == 0
    text = capsys.readouterr().out
    assert "left out GSM718707: skipped" in text and "genes dropped" in text
    assert main(["bundle", "diff", created["path"], str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["options"]["scale"]["b"] == "robust"
    assert main(["bundle", "diff", created["path"], str(out)]) == 0
    assert capsys.readouterr().out.startswith("option scale: none -> robust")
    assert main([*args, "--aggregate", "all", "-o", str(tmp_path / "all.zip"), *home]) == 1
    assert "choose --aggregate species" in capsys.readouterr().err
    assert not (tmp_path / "all.zip").exists()
