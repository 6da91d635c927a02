"""RNA-seq in bundles: GSE29006 (real series, 8 SRA samples) with an NCBI raw counts table,
refined first without quantile normalization (only ``--no-qn`` bundles can deliver it, and a
normalized bundle says why not), then normalized."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

import exprhub
from exprhub.bundles.selection import BundleError
from exprhub.refine import store
from tests.conftest import copy_hub
from tests.refine.test_counts import (
    GSE29006_SAMPLES,
    _counts,
    _human_genes,
    _write_ncbi,
)

from .conftest import read_tsv_matrix


def test_rnaseq_counts_with_and_without_qn(tmp_path, ncbi_human, gse29006_genes_home):
    # GSE29006 and NCBI's human gene_info and gene2ensembl
    hub = exprhub.Hub(copy_hub(gse29006_genes_home, tmp_path / "hub"))
    genes = [g for g, _ in _human_genes(ncbi_human)]
    table = tmp_path / "GSE29006_raw_counts_GRCh38.p13_NCBI.tsv.gz"
    _write_ncbi(table, genes, GSE29006_SAMPLES, _counts(len(genes), 8, seed=3))
    hub.import_files(table, series="GSE29006")
    hub.refine("GSE29006", workers=0, skip_qn=True)

    with pytest.raises(BundleError, match="refined without quantile normalization"):
        hub.bundle(tmp_path, series="GSE29006")
    raw = hub.bundle(tmp_path, series="GSE29006", qn=False)
    assert raw.metadata["samples"]["GSM718707"]["value_kind"] == "rna-seq"
    assert raw.metadata["gene_references"]["9606"]["gene_info_sha256"] != "none"
    with zipfile.ZipFile(raw.path) as archive:
        gene_ids, samples, values = read_tsv_matrix(archive, "GSE29006")
    gene_level = store.refined_matrix(hub, GSE29006_SAMPLES, stage="genes").dropna()
    assert samples == GSE29006_SAMPLES and gene_ids == [str(g) for g in gene_level.index]
    np.testing.assert_array_equal(values, gene_level.to_numpy(np.float32))

    hub.refine("GSE29006", workers=0, retarget=True)
    normalized = hub.bundle(tmp_path, series="GSE29006", aggregate="species")
    [target] = normalized.metadata["quantile_normalization"]["targets"]
    assert target["value_kind"] == "rna-seq" and target["samples_in_bundle"] == 8
    with zipfile.ZipFile(normalized.path) as archive:
        gene_ids, _, values = read_tsv_matrix(archive, "HOMO_SAPIENS")
    refined = store.refined_matrix(hub, GSE29006_SAMPLES).dropna()
    np.testing.assert_array_equal(values, refined.to_numpy(np.float32))
    assert not np.array_equal(values, gene_level.loc[refined.index].to_numpy(np.float32))
    hub.close()
