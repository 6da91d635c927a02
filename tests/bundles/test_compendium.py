"""Compendia from real GEO files: GDS507 (GPL97, 17 samples) and GSM11805 (GPL96), both human,
refined, then built with refine.bio's rules; the matrix is checked against the same rules
applied in memory with exprhub.refine.qn, and the outputs against each other."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from exprhub.api import Hub
from exprhub.hub import HubError
from exprhub.ingest.importer import import_file
from exprhub.refine import store
from exprhub.refine.executor import SerialExecutor
from exprhub.refine.pipeline import RefineOptions, refine
from exprhub.refine.qn import build_target, normalize_to_target

FILES = ["GDS507.soft.gz", "GPL97.annot.gz", "GPL96.txt.gz", "GSM11805.txt.gz"]


@pytest.fixture(scope="module")
def human(tmp_path_factory, geo_fixtures):
    hub = Hub.init(tmp_path_factory.mktemp("human") / "hub")
    for name in FILES:
        import_file(hub, geo_fixtures / "geoquery" / name)
    report = refine(hub, [], executor=SerialExecutor(), options=RefineOptions())
    assert report.failed == {} and report.samples == 18
    yield hub
    hub.close()


def _in_memory(hub, gene_limit=0.3, sample_limit=0.5) -> tuple[pd.DataFrame, list, list]:
    """refine.bio's filters applied to the whole refined matrix in memory."""
    frame = store.refined_matrix(hub, sorted(store.refine_states(hub)))
    missing = frame.isna().sum(axis=1)
    dropped_genes = list(frame.index[missing > gene_limit * frame.shape[1]])
    frame = frame.loc[missing <= gene_limit * frame.shape[1]]
    per_sample = frame.isna().sum(axis=0)
    dropped_samples = list(frame.columns[per_sample > sample_limit * frame.shape[0]])
    return frame.loc[:, per_sample <= sample_limit * frame.shape[0]], dropped_genes, dropped_samples


def _read_tsv(path) -> pd.DataFrame:
    frame = pd.read_csv(path, sep="\t", dtype={"gene_id": str}, index_col="gene_id")
    return frame.drop(columns="symbol").astype(np.float32)


def test_refine_bio_rules_on_real_series(human, tmp_path):
    report = human.compendium("Homo sapiens", tmp_path / "c")
    out = tmp_path / "c"
    expected, dropped_genes, dropped_samples = _in_memory(human)
    # GSM11805 (U133A) lacks 58% of the genes the 17 U133B samples share: dropped, recorded
    assert dropped_samples == ["GSM11805"]
    assert report.samples == 17 and report.dropped_samples == 1
    assert report.genes == expected.shape[0] and report.dropped_genes == len(dropped_genes)
    filtered = pd.read_csv(out / "filtered_samples_metadata.tsv", sep="\t")
    assert list(filtered["accession"]) == ["GSM11805"]
    assert filtered["missing_fraction"][0] > 0.5
    assert "more than 50%" in filtered["reason"][0]
    assert filtered["platform"][0] == "GPL96" and filtered["series"][0] == "GSE781"
    genes = pd.read_csv(out / "dropped_genes.tsv", sep="\t", dtype={"gene_id": str})
    assert sorted(genes["gene_id"]) == sorted(dropped_genes)
    assert (genes["missing_fraction"] > 0.3).all()
    # no missing cell is left, so the values are the QN of the refined values (refine.qn)
    assert report.missing_cells == 0 and not report.imputation["applied"]
    values = expected.to_numpy(dtype=np.float64)
    target = build_target(values.T)
    wanted = normalize_to_target(values, target).astype(np.float32)
    got = _read_tsv(out / "HOMO_SAPIENS" / "HOMO_SAPIENS.tsv")
    assert list(got.columns) == list(expected.columns)
    assert list(got.index) == list(expected.index)
    np.testing.assert_allclose(got.to_numpy(), wanted, rtol=1e-6)
    # layout and metadata
    assert sorted(report.files) == sorted(
        [
            "HOMO_SAPIENS/HOMO_SAPIENS.tsv",
            "HOMO_SAPIENS/metadata_HOMO_SAPIENS.json",
            "HOMO_SAPIENS/metadata_HOMO_SAPIENS.tsv",
            "LICENSE.TXT",
            "README.md",
            "aggregated_metadata.json",
            "dropped_genes.tsv",
            "filtered_samples_metadata.tsv",
        ]
    )
    meta = json.loads((out / "aggregated_metadata.json").read_text())
    assert meta["options"]["max_gene_missing"] == 0.3 and meta["options"]["rank"] == 10
    assert meta["processors"] == {"exprhub-refinery 1": 17}
    assert (
        meta["quantile_normalization"]["target_sha256"]
        == report.quantile_normalization["target_sha256"]
    )
    assert meta["dropped"] == {"genes": len(dropped_genes), "samples": 1}
    samples = pd.read_csv(out / "HOMO_SAPIENS" / "metadata_HOMO_SAPIENS.tsv", sep="\t")
    assert list(samples["accession"]) == list(expected.columns)
    assert set(samples["refined_platform"]) == {"GPL97"}


def test_imputation_keeps_observed_values(human, tmp_path):
    report = human.compendium(
        "Homo sapiens", tmp_path / "c", max_sample_missing=0.7, qn=False, max_iters=15
    )
    expected, _, _ = _in_memory(human, sample_limit=0.7)
    got = _read_tsv(tmp_path / "c" / "HOMO_SAPIENS" / "HOMO_SAPIENS.tsv")
    assert report.samples == 18 and report.dropped_samples == 0
    assert report.missing_cells == int(expected.isna().sum().sum()) > 4000
    assert report.imputation["iterations"] <= 15 and report.imputation["converged"]
    observed = expected.notna().to_numpy()
    np.testing.assert_array_equal(got.to_numpy()[observed], expected.to_numpy()[observed])
    imputed = got.to_numpy()[~observed]
    assert np.isfinite(imputed).all()
    # GSM11805's imputed genes look like expression values, not like zeros
    low, high = np.nanpercentile(expected.to_numpy(), [0.1, 99.9])
    assert low - 2 < imputed.mean() < high
    assert report.imputation["method"].startswith("IterativeSVD (fancyimpute's rule")
    # the fast fixed-point imputation, with the same rules around it
    previous = human.compendium(
        "Homo sapiens",
        tmp_path / "p",
        max_sample_missing=0.7,
        qn=False,
        max_iters=15,
        imputer="als",
    )
    assert previous.imputation["method"].startswith("IterativeSVD fixed point")
    again = _read_tsv(tmp_path / "p" / "HOMO_SAPIENS" / "HOMO_SAPIENS.tsv")
    np.testing.assert_array_equal(again.to_numpy()[observed], expected.to_numpy()[observed])
    assert np.isfinite(again.to_numpy()).all()
    with pytest.raises(ValueError, match="imputer must be one of als, iterative-svd"):
        human.compendium("Homo sapiens", tmp_path / "x", imputer="knn")


def test_formats_agree_and_rebuilds_are_identical(human, tmp_path):
    import anndata

    human.compendium("Homo sapiens", tmp_path / "a.zip")
    human.compendium("Homo sapiens", tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        archive.extractall(tmp_path / "a")
    tsv = _read_tsv(tmp_path / "a" / "HOMO_SAPIENS" / "HOMO_SAPIENS.tsv")
    human.compendium("Homo sapiens", tmp_path / "h", format="h5ad")
    human.compendium("Homo sapiens", tmp_path / "h2", format="h5ad")
    h5ad = "HOMO_SAPIENS/HOMO_SAPIENS.h5ad"
    assert (tmp_path / "h" / h5ad).read_bytes() == (tmp_path / "h2" / h5ad).read_bytes()
    adata = anndata.read_h5ad(tmp_path / "h" / "HOMO_SAPIENS" / "HOMO_SAPIENS.h5ad")
    assert list(adata.obs_names) == list(tsv.columns)
    assert list(adata.var_names) == list(tsv.index)
    np.testing.assert_array_equal(adata.X, tsv.to_numpy().T)
    assert json.loads(adata.uns["aggregated_metadata"])["samples"] == 17
    assert adata.obs.loc["GSM11810", "refined_platform"] == "GPL97"
    human.compendium("Homo sapiens", tmp_path / "p", format="parquet")
    tidy = pd.read_parquet(tmp_path / "p" / "HOMO_SAPIENS" / "HOMO_SAPIENS.parquet")
    wide = tidy.pivot(index="gene_id", columns="sample_id", values="value")
    wide = wide.loc[list(tsv.index), list(tsv.columns)]
    np.testing.assert_array_equal(wide.to_numpy(np.float32), tsv.to_numpy())


def test_errors_leave_nothing_behind(human, tmp_path, monkeypatch):
    with pytest.raises(HubError, match="unknown organism"):
        human.compendium("Homo nonsensus", tmp_path / "x")
    with pytest.raises(HubError, match="no refined samples"):
        human.compendium("Mus musculus", tmp_path / "y")
    with pytest.raises(ValueError, match="format must be one of"):
        human.compendium("Homo sapiens", tmp_path / "z.zip", format="xlsx")
    with pytest.raises(ValueError, match="max_sample_missing"):
        human.compendium("Homo sapiens", tmp_path / "w", max_sample_missing=2)
    # a failure half way (here: while writing) removes what was written
    from exprhub.bundles import compendium

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(compendium, "write_metadata_files", broken)
    with pytest.raises(OSError, match="disk full"):
        human.compendium("Homo sapiens", tmp_path / "v.zip")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    (tmp_path / "exists").mkdir()
    (tmp_path / "exists" / "f").write_text("x")
    with pytest.raises(HubError, match="exists"):
        human.compendium("Homo sapiens", tmp_path / "exists")


def test_cli_builds_a_zip(human, tmp_path, capsys):
    from exprhub.cli.app import main

    code = main(
        [
            "compendium",
            "build",
            "Homo sapiens",
            "-o",
            str(tmp_path / "c.zip"),
            "--format",
            "parquet",
            "--max-sample-missing",
            "0.7",
            "--rank",
            "3",
            "--max-iters",
            "5",
            "--home",
            str(human.home),
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["samples"] == 18 and out["imputation"]["rank"] == 3
    with zipfile.ZipFile(tmp_path / "c.zip") as archive:
        assert "HOMO_SAPIENS/HOMO_SAPIENS.parquet" in archive.namelist()
    assert main(["compendium", "build", "Nowhere", "--home", str(human.home)]) == 1


def test_http_job_builds_and_serves_the_zip(human):
    from fastapi.testclient import TestClient

    from exprhub.web import create_app
    from tests.web.conftest import assert_error, wait_for_job

    with TestClient(create_app(human)) as client:
        assert_error(client.post("/api/v1/compendia", json={"organism": "Atlantis"}), 422)
        assert_error(client.post("/api/v1/compendia", json={"organism": "9606", "rank": 0}), 422)
        submitted = client.post("/api/v1/compendia", json={"organism": "Homo sapiens"})
        assert submitted.status_code == 202
        job_id = submitted.json()["id"]
        assert submitted.headers["location"] == f"/api/v1/jobs/{job_id}"
        assert wait_for_job(client, job_id)["status"] == "done"
        result = client.get(f"/api/v1/jobs/{job_id}/result").json()["result"]
        assert result["files"] == ["HOMO_SAPIENS_compendium.zip"]
        assert result["compendium"]["samples"] == 17
        download = client.get(result["download_url"])
        assert download.status_code == 200 and download.content[:2] == b"PK"
        with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
            assert "HOMO_SAPIENS/HOMO_SAPIENS.tsv" in archive.namelist()
        # built in a child process: its one-line error becomes the job's
        failing = client.post("/api/v1/compendia", json={"organism": "Mus musculus"}).json()
        status = wait_for_job(client, failing["id"])
        assert status["status"] == "failed" and "no refined samples" in status["error"]


def test_dask_cluster_gives_the_same_bytes(human, tmp_path):
    """The same build on a real dask.distributed LocalCluster (two worker processes, which
    open the hub themselves) and on local threads: every pass (missing counts, imputation,
    QN, writing) gives identical files."""
    import distributed

    # ALS, whose one-pass iterations multiply blocks on the workers: the case where BLAS
    # threads and array alignment could change the last bits
    options = {"max_sample_missing": 0.7, "max_iters": 8, "chunk": 5, "imputer": "als"}
    local = human.compendium("Homo sapiens", tmp_path / "local.zip", **options)
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        remote = human.compendium(
            "Homo sapiens", tmp_path / "cluster.zip", scheduler=cluster.scheduler_address, **options
        )
    assert local.imputation["iterations"] == remote.imputation["iterations"] == 8
    assert (tmp_path / "local.zip").read_bytes() == (tmp_path / "cluster.zip").read_bytes()


def test_mouse_from_two_series_one_of_them_two_organisms(tmp_path, geo_fixtures):
    """GSE1623 (GPL81) and GSE3791 (human GPL96/97 and mouse GPL339/340): the mouse
    compendium holds the 14 mouse samples of both, imputes the cells left missing and keeps
    every observed value."""
    hub = Hub.init(tmp_path / "hub")
    for name in ("GSE1623_family.soft.txt.gz", "GSE3791_family.soft.gz"):
        import_file(hub, geo_fixtures / "gemma" / name)
    assert refine(hub, [], executor=SerialExecutor(), options=RefineOptions()).failed == {}
    states = store.refine_states(hub)
    mouse = sorted(k for k, s in states.items() if s.tax_id == 10090)
    assert len(mouse) == 14 and len(states) == 20
    report = hub.compendium("Mus musculus", tmp_path / "m", qn=False, max_iters=20)
    got = _read_tsv(tmp_path / "m" / "MUS_MUSCULUS" / "MUS_MUSCULUS.tsv")
    assert sorted(got.columns) == mouse
    platforms = pd.read_csv(tmp_path / "m" / "MUS_MUSCULUS" / "metadata_MUS_MUSCULUS.tsv", sep="\t")
    assert set(platforms["refined_platform"]) == {"GPL81", "GPL339", "GPL340"}
    refined = store.refined_matrix(hub, mouse).loc[got.index, got.columns]
    observed = refined.notna().to_numpy()
    assert report.missing_cells == int((~observed).sum()) > 0
    np.testing.assert_array_equal(got.to_numpy()[observed], refined.to_numpy()[observed])
    assert np.isfinite(got.to_numpy()).all()
    hub.close()
