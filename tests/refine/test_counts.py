"""RNA-seq series the way GEO publishes them: no per-sample tables, a genes x samples counts
file (NCBI-generated or the submitter's) attached with ``exprhub import TABLE --series GSE``.

The series are real (GSE29006: 8 human SRA samples, family SOFT; GSE99709: 12 mouse samples,
series matrix); the counts tables are written here for their real GSM accessions and titles,
in NCBI's exact layout (``GeneID`` of Entrez ids, then one column per GSM, tab-separated,
gzip) and in a submitter's (CSV, Ensembl ids, a symbol column, sample titles as headers).
Gene ids come from the human NCBI gene files written from org.Hs.eg.db (``ncbi_human``).
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import exprhub
from exprhub.cli import main
from exprhub.formats.counts_table import parse_ncbi_counts_name, read_counts_table
from exprhub.formats.errors import FormatError
from exprhub.hub import COUNTS_KIND
from exprhub.ingest.fetch import fetch, ncbi_counts_file
from exprhub.refine import store
from exprhub.refine.executor import SerialExecutor
from exprhub.refine.pipeline import RefineOptions, refine
from exprhub.refine.pipeline_counts import counts_to_log2
from tests.conftest import copy_hub
from tests.ingest.geo_server import GeoServer
from tests.refine.conftest import read_matrix, require_r, run_rscript

GSE29006 = "gemma/GSE29006_family.soft.gz"
GSE99709 = "phantasus/GSE99709_series_matrix.txt.gz"
GSE29006_SAMPLES = [f"GSM7187{n:02d}" for n in range(7, 15)]
GSE29006_TITLES = {
    "GSM718707": "Healthy non-smoker (NS_Illumina)",
    "GSM718708": "Healthy smoker (S_Illumina)",
    "GSM718709": "Smoker without Lung Cancer (NC_Illumina)",
    "GSM718710": "Smoker with Lung Cancer (C_Illumina)",
    "GSM718711": "Healthy non-smoker (NS_NuGEN)",
    "GSM718712": "Healthy smoker (S_NuGEN)",
    "GSM718713": "Smoker without Lung Cancer (NC_NuGEN)",
    "GSM718714": "Smoker with Lung Cancer (C_NuGEN)",
}
N_GENES = 3000


def _human_genes(ncbi_human: dict[str, Path]) -> list[tuple[str, str]]:
    """(Entrez id, Ensembl gene id) of the first human genes and Ensembl ids that name each
    other only."""
    ensembl: dict[str, set[str]] = {}
    genes: dict[str, set[str]] = {}
    with gzip.open(ncbi_human["gene2ensembl"], "rt") as handle:
        next(handle)
        for line in handle:
            cells = line.split("\t")
            if cells[0] == "9606":
                ensembl.setdefault(cells[1], set()).add(cells[2])
                genes.setdefault(cells[2], set()).add(cells[1])
    out = []
    for gene, ids in ensembl.items():
        if len(ids) == 1 and len(genes[next(iter(ids))]) == 1:
            out.append((gene, next(iter(ids))))
        if len(out) == N_GENES:
            break
    return out


def _counts(n_genes: int, n_samples: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mu = np.exp2(rng.normal(5.0, 2.5, n_genes)).clip(0.1, 1e5)[:, None] * rng.uniform(
        0.5, 1.5, n_samples
    )
    return rng.negative_binomial(5, 5 / (5 + mu))


def _write_ncbi(path: Path, genes: list[str], samples: list[str], counts: np.ndarray) -> None:
    """NCBI's raw counts layout: ``GeneID`` then one column per GSM, tab-separated."""
    lines = ["GeneID\t" + "\t".join(samples)]
    lines += [
        g + "\t" + "\t".join(str(int(v)) for v in row) for g, row in zip(genes, counts, strict=True)
    ]
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(lines) + "\n")


@pytest.fixture
def gse29006_hub(tmp_path, gse29006_genes_home) -> Iterator[exprhub.Hub]:
    """GSE29006 and NCBI's human genes (a copy of the session's hub)."""
    with exprhub.Hub(copy_hub(gse29006_genes_home, tmp_path / "hub")) as hub:
        yield hub


def _refine(hub: exprhub.Hub, *accessions: str, **options) -> dict:
    return refine(
        hub, list(accessions), executor=SerialExecutor(), options=RefineOptions(**options)
    ).to_dict()


def test_samples_without_values_are_skipped_not_failed(gse29006_hub, tmp_path):
    report = _refine(gse29006_hub, "GSE29006")
    assert report["failed"] == {}
    assert sorted(report["skipped"]) == GSE29006_SAMPLES
    assert all(m.startswith("skipped: no values") for m in report["skipped"].values())
    coverage = store.refined_coverage(gse29006_hub, "GSE29006")
    assert len(coverage.skipped) == 8 and not coverage.failed and not coverage.not_refined
    assert "8 skipped (no values)" in coverage.summary()
    # counts attached later (to 6 of the 8 samples): those refine, the other two stay skipped
    table = tmp_path / "GSE29006_raw_counts_GRCh38.p13_NCBI.tsv.gz"
    _write_ncbi(table, ["1", "2", "9", "10"], GSE29006_SAMPLES[:6], _counts(4, 6, seed=4))
    [result] = gse29006_hub.import_files(table, series="GSE29006")
    assert result.details["samples_without_column"] == GSE29006_SAMPLES[6:]
    report = _refine(gse29006_hub, "GSE29006")
    assert report["normalized"] == 6 and sorted(report["skipped"]) == GSE29006_SAMPLES[6:]
    coverage = store.refined_coverage(gse29006_hub, "GSE29006")
    assert sorted(coverage.refined) == GSE29006_SAMPLES[:6] and len(coverage.skipped) == 2


def test_gse29006_refines_from_ncbi_raw_counts(gse29006_hub, ncbi_human, tmp_path):
    genes = [g for g, _ in _human_genes(ncbi_human)]
    counts = _counts(len(genes), 8, seed=29006)
    table = tmp_path / "GSE29006_raw_counts_GRCh38.p13_NCBI.tsv.gz"
    _write_ncbi(table, genes, GSE29006_SAMPLES, counts)
    [result] = gse29006_hub.import_files(table, series="GSE29006")
    assert result.format == "counts-table" and result.outcomes == {"attached": 8}
    assert result.matches[0] == "GSM718707 <- 'GSM718707' (accession)"
    assert result.details["quantity"] == "counts" and result.details["quantity_from"] == "file name"
    assert result.details["gene_ids"] == "entrez" and result.details["ncbi_build"] == "GRCh38.p13"
    # the same file again changes nothing
    [again] = gse29006_hub.import_files(table, series="GSE29006")
    assert again.outcomes == {"unchanged": 8}

    report = _refine(gse29006_hub, "GSE29006")
    assert report["failed"] == {} and report["skipped"] == {} and report["waiting"] == {}
    assert report["gene_level"] == 8 and report["normalized"] == 8
    [target] = report["targets"]
    assert target["value_kind"] == "rna-seq" and target["n_samples"] == 8
    refined = gse29006_hub.expression("GSE29006", values="refined")
    assert sorted(refined.columns) == GSE29006_SAMPLES
    assert refined.notna().all().all()

    doc = store.provenance(gse29006_hub, "GSM718710")
    assert doc["status"] == "done" and doc["qn"]["applied"] is True
    assert doc["parameters"]["transform"] == "log2(CPM + 1)"
    sha = hashlib.sha256(table.read_bytes()).hexdigest()
    inputs = doc["inputs"]
    assert inputs["counts_file"] == table.name and inputs["counts_sha256"] == sha
    assert inputs["ncbi"] == {
        "pipeline": "NCBI GEO RNA-seq pipeline",
        "genome_build": "GRCh38.p13",
        "annotation": "Human.GRCh38.p13.annot.tsv.gz",
    }
    assert doc["mapping"]["gene_ids"] == "entrez"
    assert doc["mapping"]["rows_resolved"] == len(genes)

    # gene level = log2(CPM + 1), CPM = 1e6 * count / column sum, by hand
    gene_level = store.refined_matrix(gse29006_hub, GSE29006_SAMPLES, stage="genes")
    j = GSE29006_SAMPLES.index("GSM718710")
    expected = np.log2(counts[:, j] / counts[:, j].sum() * 1e6 + 1.0)
    got = gene_level.loc[genes, "GSM718710"].to_numpy(dtype=np.float64)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    assert inputs["library_size"] == float(counts[:, j].sum())

    # a second run is current: nothing recomputed
    again_report = _refine(gse29006_hub, "GSE29006")
    assert again_report["gene_level"] == 0 and again_report["current"] == 8


def test_submitter_table_matched_by_title_alias_and_tpm(gse29006_hub, ncbi_human, tmp_path):
    pairs = _human_genes(ncbi_human)
    rng = np.random.default_rng(7)
    tpm = rng.gamma(0.5, 40.0, (len(pairs), 8))
    # headers: four full titles, four parenthesised parts of titles; Ensembl ids with versions
    headers = [
        GSE29006_TITLES[k] if i < 4 else GSE29006_TITLES[k].split("(")[1].rstrip(")")
        for i, k in enumerate(GSE29006_SAMPLES)
    ]
    rows = ["gene_id,Symbol," + ",".join(f'"{h}"' for h in headers)]
    for (_, ens), values in zip(pairs, tpm, strict=True):
        rows.append(f"{ens}.3,X," + ",".join(f"{v:.4f}" for v in values))
    table = tmp_path / "GSE29006_tpm.csv"
    table.write_text("\n".join(rows) + "\n")
    with pytest.raises(exprhub.ImportFailed, match="not whole numbers"):
        gse29006_hub.import_files(table, series="GSE29006")
    [result] = gse29006_hub.import_files(table, series="GSE29006", quantity="tpm")
    assert result.details["gene_ids"] == "ensembl" and result.details["skipped_columns"] == [
        "Symbol"
    ]
    assert "GSM718707 <- 'Healthy non-smoker (NS_Illumina)' (title: " in result.matches[0]
    assert result.matches[4] == (
        "GSM718711 <- 'NS_NuGEN' (alias: part of the title in parentheses)"
    )
    report = _refine(gse29006_hub, "GSE29006")
    assert report["failed"] == {} and report["normalized"] == 8
    doc = store.provenance(gse29006_hub, "GSM718711")
    assert doc["parameters"]["transform"] == "log2(TPM + 1)" and doc["inputs"]["ncbi"] is None
    # Ensembl ids resolve through gene2ensembl, except those gene_info's cross-references
    # give to a second gene too (ambiguous: left out)
    ref = store.gene_reference(gse29006_hub, 9606)
    assert ref is not None
    resolved = [i for i, (gene, ens) in enumerate(pairs) if ref.resolve(ens) == gene]
    assert len(resolved) > 0.99 * len(pairs)
    assert doc["mapping"]["rows_resolved"] == len(resolved)
    gene_level = store.refined_matrix(gse29006_hub, ["GSM718711"], stage="genes")
    got = gene_level.loc[[pairs[i][0] for i in resolved], "GSM718711"].to_numpy(np.float64)
    expected = np.log2(np.round(tpm[resolved, 4], 4).astype(np.float32) + 1.0)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_refusals_store_nothing(gse29006_hub, tmp_path):
    counts = _counts(5, 2, seed=1)
    unknown = tmp_path / "unknown.tsv"
    _write_ncbi(unknown, ["1", "2", "9", "10", "12"], ["GSM718707", "liver_3"], counts)
    with pytest.raises(
        exprhub.ImportFailed, match="column 'liver_3' matches no sample of GSE29006"
    ):
        gse29006_hub.import_files(unknown, series="GSE29006")
    twice = tmp_path / "twice.tsv"
    _write_ncbi(twice, ["1", "2", "9", "10", "12"], ["GSM718707", "NS_Illumina"], counts)
    with pytest.raises(exprhub.ImportFailed, match="both match GSM718707"):
        gse29006_hub.import_files(twice, series="GSE29006")
    foreign = tmp_path / "foreign.tsv"
    _write_ncbi(foreign, ["1", "2", "9", "10", "12"], ["GSM718707", "GSM1"], counts)
    with pytest.raises(exprhub.ImportFailed, match="'GSM1' is not a sample of GSE29006"):
        gse29006_hub.import_files(foreign, series="GSE29006")
    assert gse29006_hub.current_columns(GSE29006_SAMPLES, (COUNTS_KIND,)) == {}


def test_mouse_series_matrix_titles_without_gene_reference(tmp_path, geo_fixtures):
    """GSE99709 (mouse, series matrix, titles ``EV2_6``...): Entrez ids are kept as they are
    when the hub has no mouse gene reference."""
    hub = exprhub.Hub.init(tmp_path / "hub")
    hub.import_files(geo_fixtures / GSE99709)
    titles = ["EV2_6", "EV2_11", "EV2_12", "EC2_6", "EC2_11", "EC2_12"]
    titles += ["CV2_6", "CV2_11", "CV2_12", "CC2_5", "CC2_11", "CC2_12"]
    genes = [str(g) for g in range(11287, 11287 + 400)]
    table = tmp_path / "GSE99709_counts.txt"
    _write_ncbi(table, genes, titles, _counts(400, 12, seed=99709))
    [result] = hub.import_files(table, series="GSE99709")
    assert result.outcomes == {"attached": 12}
    assert result.matches[0] == "GSM2650749 <- 'EV2_6' (title: EV2_6)"
    report = _refine(hub, "GSE99709")
    assert report["failed"] == {} and report["normalized"] == 12
    assert store.provenance(hub, "GSM2650760")["mapping"]["genes"] == 400


def test_cli_import_series(gse29006_hub, tmp_path, capsys):
    table = tmp_path / "GSE29006_raw_counts_GRCh38.p13_NCBI.tsv.gz"
    _write_ncbi(table, ["1", "2", "9"], GSE29006_SAMPLES, _counts(3, 8, seed=2))
    home = str(gse29006_hub.home)
    assert main(["import", str(table), "--series", "GSE29006", "--home", home]) == 0
    out = capsys.readouterr().out
    assert "counts-table, 8 attached" in out
    assert "3 genes (entrez ids), counts (from file name), series GSE29006" in out
    assert "GSM718714 <- 'GSM718714' (accession)" in out
    bad = tmp_path / "bad.tsv"
    _write_ncbi(bad, ["1", "2", "9"], ["nobody"], _counts(3, 1, seed=3))
    assert main(["import", str(bad), "--series", "GSE29006", "--home", home]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: {bad}: column 'nobody' matches no sample of GSE29006 by accession, "
        "title or alias (rename the header to the sample's GSM accession)"
    ]


def test_counts_table_reader(tmp_path):
    name = parse_ncbi_counts_name("GSE164073_norm_counts_TPM_GRCh38.p13_NCBI.tsv.gz")
    assert name is not None and name.quantity == "tpm" and name.build == "GRCh38.p13"
    assert parse_ncbi_counts_name("GSE1_counts.tsv") is None
    # R's write.table: no header cell over the row names; featureCounts annotation columns
    path = tmp_path / "t.tsv"
    path.write_text('"Length"\t"GSM1"\t"GSM2"\n"TP53"\t100\t5\t6\n"EGFR"\t200\t0\t1\n')
    table = read_counts_table(path)
    assert table.columns == ["GSM1", "GSM2"] and table.skipped_columns == ["Length"]
    assert table.id_type == "symbol" and table.quantity == "counts"
    negative = tmp_path / "n.tsv"
    negative.write_text("GeneID\tGSM1\n1\t-2.5\n")
    with pytest.raises(FormatError, match="negative values"):
        read_counts_table(negative)
    scaled, library = counts_to_log2(np.array([[1.0, 0.0], [3.0, 4.0]]), "counts")
    np.testing.assert_allclose(scaled, [[250000.0, 0.0], [750000.0, 1e6]])
    np.testing.assert_allclose(library, [4.0, 4.0])


def test_fetch_gets_ncbi_counts_when_geo_has_them(tmp_path, geo_fixtures):
    """`fetch GSE29006` downloads the family file, then NCBI's generated counts from GEO's
    download service (a local server here) and attaches them; GSE99709 has none: a notice."""
    assert ncbi_counts_file("GSE164073", "Homo sapiens").path == (
        "https://www.ncbi.nlm.nih.gov/geo/download/?type=rnaseq_counts&acc=GSE164073"
        "&format=file&file=GSE164073_raw_counts_GRCh38.p13_NCBI.tsv.gz"
    )
    table = tmp_path / "served.tsv.gz"
    _write_ncbi(table, ["1", "2", "9", "10"], GSE29006_SAMPLES, _counts(4, 8, seed=5))
    extra = {
        "/geo/series/GSE29nnn/GSE29006/soft/GSE29006_family.soft.gz": geo_fixtures / GSE29006,
        "download:GSE29006_raw_counts_GRCh38.p13_NCBI.tsv.gz": table,
    }
    hub = exprhub.Hub.init(tmp_path / "hub")
    notices: list[str] = []
    with GeoServer(geo_fixtures, extra) as server:
        results = fetch(
            hub, ["GSE29006"], base_url=server.url, annotations=False, on_notice=notices.append
        )
        matrix = fetch(
            hub,
            ["GSE99709"],
            base_url=server.url,
            format="matrix",
            annotations=False,
            on_notice=notices.append,
        )
        # nothing is fetched twice: the samples have counts now
        fetch(hub, ["GSE29006"], base_url=server.url, annotations=False, on_notice=notices.append)
    downloads = [path for path, _ in server.requests if path.startswith("/geo/download/")]
    assert len(downloads) == 2  # GSE29006's counts once, GSE99709's (404) once
    assert [r.format for r in results] == ["soft", "counts-table"]
    assert [r.format for r in matrix] == ["series-matrix"]
    assert results[1].outcomes == {"attached": 8}
    assert results[1].sha256 == hashlib.sha256(table.read_bytes()).hexdigest()
    assert notices == [
        "GSE99709: GEO has no NCBI-generated counts (GSE99709_raw_counts_GRCm39_NCBI.tsv.gz)"
    ]


def test_log2_cpm_equals_r(tmp_path):
    """log2(CPM + 1) of an NCBI-format table equals R's on the same file (base R: edgeR's
    ``cpm()`` without TMM factors is ``t(t(x) / colSums(x)) * 1e6``)."""
    require_r("stats")
    counts = _counts(500, 8, seed=11)
    table = tmp_path / "GSE29006_raw_counts_GRCh38.p13_NCBI.tsv.gz"
    _write_ncbi(table, [str(g) for g in range(1, 501)], GSE29006_SAMPLES, counts)
    script = tmp_path / "cpm.R"
    script.write_text(
        "args <- commandArgs(TRUE)\n"
        "x <- as.matrix(read.delim(gzfile(args[1]), row.names = 1, check.names = FALSE))\n"
        "y <- log2(t(t(x) / colSums(x)) * 1e6 + 1)\n"
        "write.table(format(y, digits = 17), args[2], sep = '\\t', quote = FALSE, "
        "row.names = FALSE, col.names = FALSE)\n"
    )
    run_rscript(script, table, tmp_path / "r.tsv")
    from_r = read_matrix(tmp_path / "r.tsv")
    parsed = read_counts_table(table)
    scaled, _ = counts_to_log2(parsed.values, parsed.quantity)
    np.testing.assert_allclose(np.log2(scaled + 1.0), from_r, rtol=1e-12, atol=1e-12)


def test_counts_tables_on_one_annotation_share_one_feature_list(gse29006_hub, tmp_path):
    """Each counts table is a matrix of its own, but tables listing the same genes store
    their feature list once (feature_lists): a series adds its values, not its genes again."""
    from sqlalchemy import select

    from exprhub.hub import counts_matrix_name
    from exprhub.hub import schema as s

    genes = [str(g) for g in range(1, 2001)]
    names = []
    for seed in (1, 2):
        table = tmp_path / f"GSE29006_raw_counts_GRCh38.p13_NCBI.{seed}.tsv.gz"
        _write_ncbi(table, genes, GSE29006_SAMPLES[:4], _counts(len(genes), 4, seed=seed))
        [result] = gse29006_hub.import_files(table, series="GSE29006")
        names.append(counts_matrix_name("GSE29006", "counts", result.sha256))
    assert names[0] != names[1]
    for name in names:
        assert gse29006_hub.matrix_features(name) == genes
    with gse29006_hub.engine.connect() as connection:
        lists = {
            name: digest
            for name, digest in connection.execute(
                select(s.matrices.c.name, s.matrices.c.feature_list).where(
                    s.matrices.c.kind == COUNTS_KIND
                )
            )
        }
        stored = connection.execute(select(s.feature_lists.c.n_features)).scalars().all()
    assert lists[names[0]] == lists[names[1]] is not None
    assert stored.count(len(genes)) == 1
