"""The refinery pipeline on real GEO fixtures and simulated data: gene-level vectors, mapping
statistics, scale decisions, QN targets, provenance, idempotence and failures."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from exprhub.hub import Hub
from exprhub.ingest.importer import import_file
from exprhub.refine import store
from exprhub.refine.executor import SerialExecutor
from exprhub.refine.pipeline import (
    RefineOptions,
    gene_reference,
    import_genes,
    refine,
)
from exprhub.refine.pipeline_qn import refined_with_target
from exprhub.simulate import simulate


def _refine(hub: Hub, *accessions: str, **options) -> dict:
    return refine(
        hub, list(accessions), executor=SerialExecutor(), options=RefineOptions(**options)
    ).to_dict()


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    manifest = simulate(out, series=2, samples=8, platforms=1, seed=1)
    return out, manifest


def _sim_hub(tmp_path, simulated, database_url=None) -> Hub:
    out, manifest = simulated
    hub = Hub.init(tmp_path / "hub", database_url=database_url)
    for series in manifest.series:
        if series.kind == "microarray":
            import_file(hub, out / f"{series.accession}_family.soft.gz")
    import_genes(hub, [str(out / "gene_info.gz")], [str(out / "gene2ensembl.gz")])
    return hub


def test_simulated_de_genes_keep_direction(tmp_path, simulated, database_url):
    _, manifest = simulated
    hub = _sim_hub(tmp_path, simulated, database_url)
    report = _refine(hub)
    assert report["failed"] == {}
    assert report["samples"] == 16 and report["gene_level"] == 16 and report["normalized"] == 16
    [target] = report["targets"]
    assert target["n_samples"] == 16 and target["value_kind"] == "intensity"
    checked = 0
    for series in manifest.series:
        if series.kind != "microarray":
            continue
        frame = store.refined_matrix(hub, series.samples)
        assert frame.shape[1] == len(series.samples)
        control = series.groups[series.control_group]
        case = series.groups[series.case_group]
        for gene in series.de_genes:
            row = frame.loc[str(gene.entrez_id)]
            diff = float(row[case].mean() - row[control].mean())
            assert np.sign(diff) == np.sign(gene.log2_fold_change), gene
            checked += 1
    assert checked > 20
    hub.close()


def test_idempotent_rerun_and_provenance(tmp_path, simulated):
    hub = _sim_hub(tmp_path, simulated)
    _refine(hub)
    before = store.refined_matrix(hub, [f"GSM{90000001 + i}" for i in range(16)])
    again = _refine(hub)
    assert again["gene_level"] == 0 and again["normalized"] == 0 and again["current"] == 16
    after = store.refined_matrix(hub, list(before.columns))
    assert before.equals(after)
    prov = store.provenance(hub, "GSM90000010")
    assert prov["status"] == "done"
    assert prov["processor"]["name"] == "exprhub-refinery"
    assert prov["checksums"]["input_sha256"] and prov["checksums"]["values_sha256"]
    assert prov["inputs"]["source_sha256"] == hub._find_row("GSM90000010").source_sha256
    assert prov["qn"]["applied"] and prov["qn"]["target_sha256"] == prov["qn_target_sha256"]
    assert prov["scale"]["applied"]["transform"] == "log2"  # MAS5-like raw series
    assert prov["tools"]["numpy"] == np.__version__
    stats = prov["mapping"]["platform_stats"]
    assert (
        stats["probes_total"]
        == stats["mapped"] + stats["multi_gene"] + stats["control"] + (stats["unmapped"])
    )
    assert prov["mapping"]["sample"]["genes"] > 0
    # the RMA-like series is already log2
    assert store.provenance(hub, "GSM90000001")["scale"]["applied"]["transform"] == "none"
    json.dumps(prov)
    hub.close()


def test_skip_qn_delivers_gene_level_values(tmp_path, simulated):
    hub = _sim_hub(tmp_path, simulated)
    report = _refine(hub, "GSE900002", skip_qn=True)
    assert report["targets"] == [] and report["normalized"] == 8
    samples = [f"GSM{90000009 + i}" for i in range(8)]
    refined = store.refined_matrix(hub, samples)
    genes = store.refined_matrix(hub, samples, stage="genes")
    assert refined.equals(genes)
    assert store.provenance(hub, samples[0])["qn"] == {"applied": False, "reason": "--skip-qn"}
    assert store.targets(hub) == []
    hub.close()


def test_qn_target_versions_and_retarget(tmp_path, simulated, database_url):
    """Refining a second series leaves the first one's values alone (they keep target v1);
    ``retarget`` builds v2, moves every sample to it and says so; v1 stays reproducible."""
    hub = _sim_hub(tmp_path, simulated, database_url)
    first_series = [f"GSM{90000001 + i}" for i in range(8)]
    second_series = [f"GSM{90000009 + i}" for i in range(8)]
    first = _refine(hub, "GSE900001")
    [v1] = first["targets"]
    assert v1["version"] == 1 and v1["n_samples"] == 8 and v1["built"]
    under_v1 = store.refined_matrix(hub, first_series)
    second = _refine(hub, "GSE900002")
    [target] = second["targets"]
    assert target["version"] == 1 and not target["built"]
    assert second["normalized"] == 8 and second["moves"] == []
    # the first series' values did not change, not by one bit
    assert store.refined_matrix(hub, first_series).equals(under_v1)
    assert store.provenance(hub, "GSM90000009")["qn_target_version"] == 1
    [notice] = second["target_notices"]
    assert notice["current_version"] == 1 and notice["target_samples"] == 8
    assert notice["reference_samples"] == 16 and notice["samples_refined_since"] == 8
    assert notice["newer_target_differs"] and notice["command"] == "exprhub refine --retarget"
    assert [(t.version, t.current) for t in store.targets(hub)] == [(1, True)]

    moved = _refine(hub, retarget=True)
    [v2] = moved["targets"]
    assert v2["version"] == 2 and v2["n_samples"] == 16 and v2["built"]
    assert [
        (m["from_version"], m["to_version"], m["samples"], m["reason"]) for m in moved["moves"]
    ] == [(1, 2, 16, "retarget")]
    assert moved["target_notices"] == []
    after = store.refined_matrix(hub, first_series)
    assert not after.equals(under_v1)
    prov = store.provenance(hub, "GSM90000001")
    assert prov["qn_target_version"] == 2 and prov["qn"]["target_version"] == 2
    assert prov["qn"]["moved_from_version"] == 1 and prov["qn"]["moved_by"] == "retarget"
    assert [(m["from_version"], m["to_version"]) for m in prov["qn_target_moves"]] == [(1, 2)]
    listed = store.target_listing(hub)
    assert [(t["version"], t["current"], t["samples_using"]) for t in listed] == [
        (1, False, 0),
        (2, True, 16),
    ]
    [history] = store.target_moves(hub, with_samples=True)
    assert history.samples == 16 and history.sample_ids == tuple(
        sorted(first_series + second_series)
    )
    # every version stays: the v1 values are regenerated bit for bit, v2 ones too
    again_v1 = refined_with_target(hub, first_series, 1)
    assert again_v1.loc[under_v1.index].equals(under_v1)
    assert refined_with_target(hub, first_series, 2).loc[after.index].equals(after)
    # normalized samples share the target's distribution
    frame = store.refined_matrix(hub, ["GSM90000001", "GSM90000016"])
    a, b = (np.sort(frame[c].dropna().to_numpy()) for c in frame.columns)
    assert a.size == b.size and np.mean(np.isclose(a, b, atol=1e-4)) > 0.95  # up to ties
    # a second retarget with nothing new moves nothing
    still = _refine(hub, retarget=True)
    assert still["moves"] == [] and still["targets"][0]["version"] == 2
    assert len(store.targets(hub)) == 2
    hub.close()


def test_recomputed_gene_level_keeps_its_target_version(tmp_path, simulated):
    """A delivered sample refined again (``force``) after a newer target exists is normalized
    to the version it had, not to the newer one; ``skip_qn`` is a move, announced."""
    hub = _sim_hub(tmp_path, simulated)
    _refine(hub, "GSE900001")
    _refine(hub, "GSE900002")
    scoped = _refine(hub, "GSE900002", retarget=True)  # v2 built; only the second series moves
    assert [(m["from_version"], m["to_version"], m["samples"]) for m in scoped["moves"]] == [
        (1, 2, 8)
    ]
    [notice] = scoped["target_notices"]  # the first series is still on v1, and it says so
    assert notice["samples_not_on_current"] == {"v1": 8} and not notice["newer_target_differs"]
    assert store.provenance(hub, "GSM90000001")["qn_target_version"] == 1
    assert store.provenance(hub, "GSM90000009")["qn_target_version"] == 2
    before = store.refined_matrix(hub, ["GSM90000001"])
    forced = _refine(hub, "GSM90000001", force=True)
    assert forced["gene_level"] == 1 and forced["normalized"] == 1 and forced["moves"] == []
    assert store.provenance(hub, "GSM90000001")["qn_target_version"] == 1
    assert store.refined_matrix(hub, ["GSM90000001"]).equals(before)
    [notice] = forced["target_notices"]
    assert notice["samples_not_on_current"] == {"v1": 8}
    skipped = _refine(hub, "GSM90000001", skip_qn=True)
    assert [(m["from_version"], m["to_version"], m["reason"]) for m in skipped["moves"]] == [
        (1, None, "skip-qn")
    ]
    assert store.provenance(hub, "GSM90000001")["qn_target_version"] is None
    with pytest.raises(ValueError, match="contradict"):
        _refine(hub, retarget=True, skip_qn=True)
    hub.close()


def test_write_refined_tsv(tmp_path, simulated):
    hub = _sim_hub(tmp_path, simulated)
    _refine(hub)
    out = tmp_path / "gse.tsv"
    assert store.write_refined_tsv(hub, "GSE900002", out) == 8
    lines = out.read_text().splitlines()
    header = lines[0].split("\t")
    assert header[:2] == ["gene_id", "symbol"] and header[2] == "GSM90000009"
    first = lines[1].split("\t")
    ref = gene_reference(hub, 9606)
    gene = ref.get(first[0]) if ref is not None else None
    assert gene is not None and gene.symbol == first[1]
    assert store.write_refined_tsv(hub, "GSM90000009", tmp_path / "one.tsv") == 1
    assert store.write_refined_tsv(hub, "GPL90001", tmp_path / "gpl.tsv") == 16
    hub.close()


# ---------------------------------------------------------------------------- real GEO files


def _expected_gpl96_stats(path) -> dict[str, int]:
    """Probe buckets of GPL96 counted straight from the file (independent of exprhub)."""
    counts = {"probes_total": 0, "mapped": 0, "multi_gene": 0, "control": 0, "unmapped": 0}
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
        inside = False
        for line in handle:
            line = line.rstrip("\r\n")
            if line.startswith("!platform_table_begin"):
                inside = True
                header = next(handle).rstrip("\r\n").split("\t")
                where = header.index("ENTREZ_GENE_ID")
                continue
            if line.startswith("!platform_table_end"):
                break
            if not inside:
                continue
            fields = line.split("\t")
            cell = fields[where].strip() if len(fields) > where else ""
            counts["probes_total"] += 1
            if fields[0].upper().startswith(("AFFX-", "AFFX_")):
                counts["control"] += 1
            elif not cell or cell == "---":
                counts["unmapped"] += 1
            elif "///" in cell:
                counts["multi_gene"] += 1
            else:
                counts["mapped"] += 1
    return counts


def test_gsm11805_on_gpl96(tmp_path, geo_fixtures):
    hub = Hub.init(tmp_path / "hub")
    import_file(hub, geo_fixtures / "geoquery/GPL96.txt.gz")
    import_file(hub, geo_fixtures / "geoquery/GSM11805.txt.gz")
    report = _refine(hub, "GSM11805")
    assert report["failed"] == {}
    # one sample is fewer than the minimum for a QN target
    assert report["targets"] == []
    prov = store.provenance(hub, "GSM11805")
    assert prov["qn"]["applied"] is False
    assert prov["mapping"]["column"] == "ENTREZ_GENE_ID"
    stats = prov["mapping"]["platform_stats"]
    expected = _expected_gpl96_stats(geo_fixtures / "geoquery/GPL96.txt.gz")
    assert {k: stats[k] for k in expected} == expected
    assert expected["probes_total"] == 22283 and expected["multi_gene"] > 0
    assert prov["mapping"]["sample"]["probes_with_values"] == 22283
    assert prov["scale"]["applied"]["transform"] == "log2"  # MAS5 values
    frame = store.refined_matrix(hub, ["GSM11805"])
    assert frame.shape[0] == stats["genes"] == prov["mapping"]["sample"]["genes"]
    assert frame.index.str.isdigit().all()
    assert float(frame["GSM11805"].max()) < 20
    # gene symbols come from the platform table when no NCBI reference is stored
    symbols = store.gene_symbols(hub, 9606)
    assert symbols.get("7849") == "PAX8"
    hub.close()


def test_gse1623_gpl81_already_log(tmp_path, geo_fixtures):
    hub = Hub.init(tmp_path / "hub")
    import_file(hub, geo_fixtures / "gemma/GSE1623_family.soft.txt.gz")
    report = _refine(hub, "GSE1623")
    assert report["failed"] == {} and report["samples"] == 8
    [target] = report["targets"]
    assert target["organism"] == "Mus musculus" and target["tax_id"] == 10090
    prov = store.provenance(hub, "GSM27446")
    assert prov["scale"]["series"]["transform"] == "none"  # RMA values
    assert prov["mapping"]["column"] == "LOCUSLINK" and prov["mapping"]["id_type"] == "entrez"
    stats = prov["mapping"]["platform_stats"]
    assert stats["probes_total"] == 12488
    assert stats["probes_total"] == sum(
        stats[k] for k in ("mapped", "multi_gene", "control", "unmapped")
    )
    frame = store.refined_matrix(hub, hub.related("GSE1623")["sample"])
    assert frame.shape[1] == 8 and frame.shape[0] == stats["genes"]
    hub.close()


def test_gds507_counts_with_annotation(tmp_path, geo_fixtures):
    hub = Hub.init(tmp_path / "hub")
    import_file(hub, geo_fixtures / "geoquery/GDS507.soft.gz")
    import_file(hub, geo_fixtures / "geoquery/GPL97.annot.gz")
    report = _refine(hub, "GDS507")
    assert report["failed"] == {} and report["samples"] == 17
    [target] = report["targets"]
    assert target["n_samples"] == 17 and target["platform"] == "GPL97"
    prov = store.provenance(hub, "GSM11810")
    assert prov["inputs"]["dataset"] == "GDS507" and prov["inputs"]["value_type"] == "count"
    assert prov["scale"]["applied"]["transform"] == "log2"
    assert prov["mapping"]["source"].startswith("GEO annotation GPL97.annot")
    assert prov["mapping"]["column"] == "Gene ID"
    assert prov["mapping"]["sample"]["probes_with_values"] > 20000
    hub.close()


def _two_channel_family(path, n_samples: int = 4, n_probes: int = 60) -> None:
    """A small two-channel series (log ratios) on a platform with Entrez ids."""
    rng = np.random.default_rng(3)
    lines = [
        "^SERIES = GSE999001",
        "!Series_title = two-colour test",
        "!Series_geo_accession = GSE999001",
        *[f"!Series_sample_id = GSM{999001 + j}" for j in range(n_samples)],
        "^PLATFORM = GPL999001",
        "!Platform_title = cDNA test array",
        "!Platform_geo_accession = GPL999001",
        "!Platform_organism = Homo sapiens",
        "!Platform_table_begin",
        "ID\tENTREZ_GENE_ID",
        *[f"p{i}\t{100 + i}" for i in range(n_probes)],
        "!Platform_table_end",
    ]
    for j in range(n_samples):
        lines += [
            f"^SAMPLE = GSM{999001 + j}",
            f"!Sample_title = ratio {j}",
            f"!Sample_geo_accession = GSM{999001 + j}",
            "!Sample_channel_count = 2",
            "!Sample_organism_ch1 = Homo sapiens",
            "!Sample_organism_ch2 = Homo sapiens",
            "!Sample_platform_id = GPL999001",
            "!Sample_series_id = GSE999001",
            "!Sample_table_begin",
            "ID_REF\tVALUE",
            *[f"p{i}\t{v:.3f}" for i, v in enumerate(rng.normal(0, 1, n_probes))],
            "!Sample_table_end",
        ]
    path.write_text("\n".join(lines) + "\n")


def test_two_channel_log_ratios_are_a_separate_kind(tmp_path, geo_fixtures):
    hub = Hub.init(tmp_path / "hub")
    family = tmp_path / "GSE999001_family.soft"
    _two_channel_family(family)
    import_file(hub, family)
    import_file(hub, geo_fixtures / "geoquery/GPL96.txt.gz")
    import_file(hub, geo_fixtures / "geoquery/GSM11805.txt.gz")
    report = _refine(hub, min_target_samples=1)
    assert report["failed"] == {}
    states = store.refine_states(hub)
    assert {k: st.value_kind for k, st in states.items()} == {
        **{f"GSM{999001 + j}": "log-ratio" for j in range(4)},
        "GSM11805": "intensity",
    }
    # only intensities get a QN target; log ratios are kept as they are
    assert [t["value_kind"] for t in report["targets"]] == ["intensity"]
    prov = store.provenance(hub, "GSM999001")
    assert prov["qn"]["applied"] is False and "log-ratio" in prov["qn"]["reason"]
    assert prov["scale"]["applied"]["transform"] == "none"
    assert prov["inputs"]["channel_count"] == 2
    ratios = store.refined_matrix(hub, ["GSM999001"])
    assert ratios.shape[0] == 60 and float(ratios.min().min()) < 0
    hub.close()


def test_sample_waiting_for_its_platform_does_not_stop_others(tmp_path, geo_fixtures):
    hub = Hub.init(tmp_path / "hub")
    import_file(hub, geo_fixtures / "geoquery/GSM11805.txt.gz")  # its platform is missing
    import_file(hub, geo_fixtures / "gemma/GSE1623_family.soft.txt.gz")
    report = _refine(hub)
    # a missing platform is not a failure: the sample waits, and the run names the command
    assert report["failed"] == {} and list(report["waiting"]) == ["GSM11805"]
    assert [m["command"] for m in report["missing"]] == ["exprhub fetch GPL96"]
    prov = store.provenance(hub, "GSM11805")
    assert prov["status"] == "waiting" and "GPL96" in prov["message"]
    assert store.provenance(hub, "GSM27446")["status"] == "done"
    # a re-run plans it again and says so again; nothing else is redone
    again = _refine(hub)
    assert list(again["waiting"]) == ["GSM11805"] and again["gene_level"] == 0
    assert again["missing"] == report["missing"]
    # once the platform arrives, the sample is refined
    import_file(hub, geo_fixtures / "geoquery/GPL96.txt.gz")
    third = _refine(hub)
    assert third["failed"] == {} and third["waiting"] == {} and third["missing"] == []
    assert store.provenance(hub, "GSM11805")["status"] == "done"
    hub.close()


# ---------------------------------------------------------------------------- RNA-seq


def _write_quants(root, samples, n_genes: int = 60, seed: int = 5):
    """quant.sf files (two transcripts per simulated gene) and a tx2gene table."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    pairs = [
        (f"ENST9{g:09d}{t}.1", f"ENSG9{g:010d}") for g in range(1, n_genes + 1) for t in (1, 2)
    ]
    names = [tx for tx, _ in pairs]
    tx2gene = root.parent / "tx2gene.tsv"
    tx2gene.write_text("TXNAME\tGENEID\n" + "".join(f"{tx}\t{g}\n" for tx, g in pairs))
    lengths = rng.integers(500, 5000, len(names)).astype(float)
    files = {}
    for j, key in enumerate(samples):
        eff = lengths - rng.uniform(100, 200, len(names))
        reads = rng.negative_binomial(5, 0.01, len(names)).astype(float)
        reads[: 4 + j] = 0
        rate = reads / eff
        tpm = rate / rate.sum() * 1e6
        path = root / key / "quant.sf"
        path.parent.mkdir(parents=True)
        rows = "".join(
            f"{n}\t{int(ln)}\t{e:.3f}\t{t:.6f}\t{r:.3f}\n"
            for n, ln, e, t, r in zip(names, lengths, eff, tpm, reads, strict=True)
        )
        path.write_text("Name\tLength\tEffectiveLength\tTPM\tNumReads\n" + rows)
        files[key] = path
    return files, tx2gene


def test_rnaseq_from_quant_files(tmp_path, simulated):
    from exprhub.refine.pipeline_rnaseq import collect_quant_files, refine_rnaseq
    from exprhub.refine.tximport import read_tx2gene, tximport

    out, manifest = simulated
    [series] = [s for s in manifest.series if s.kind == "rnaseq"]
    hub = _sim_hub(tmp_path, simulated)
    import_file(hub, out / f"{series.accession}_family.soft.gz")
    files, tx2gene = _write_quants(tmp_path / "quant", series.samples)
    assert collect_quant_files([], tmp_path / "quant") == files

    skipped = refine_rnaseq(
        hub,
        files,
        tx2gene=tx2gene,
        executor=SerialExecutor(),
        options=RefineOptions(skip_qn=True),
    ).to_dict()
    assert skipped["failed"] == {} and skipped["gene_level"] == 8 and skipped["targets"] == []
    # skip-QN delivers lengthScaledTPM, on NCBI gene ids
    expected = tximport(
        [files[k] for k in series.samples],
        {k.split(".")[0]: v for k, v in read_tx2gene(tx2gene).items()},
        "lengthScaledTPM",
        samples=series.samples,
        ignore_tx_version=True,
    )
    frame = store.refined_matrix(hub, series.samples)
    ref = gene_reference(hub, 9606)
    assert ref is not None
    for i, ensembl in enumerate(expected.ids[:10]):
        row = frame.loc[ref.resolve(ensembl)]
        assert np.allclose(row.to_numpy(), expected.counts[i], rtol=1e-5, atol=1e-3)

    # delivered without QN, the samples keep that until asked to move (then it is announced)
    kept = refine_rnaseq(hub, files, tx2gene=tx2gene, executor=SerialExecutor()).to_dict()
    assert kept["normalized"] == 0 and kept["moves"] == []
    assert kept["target_notices"][0]["samples_not_on_current"] == {"none": 8}
    report = refine_rnaseq(
        hub, files, tx2gene=tx2gene, executor=SerialExecutor(), options=RefineOptions(retarget=True)
    ).to_dict()
    assert report["gene_level"] == 0  # quantifications unchanged: only normalization reruns
    assert [(m["from_version"], m["to_version"], m["samples"]) for m in report["moves"]] == [
        (None, 1, 8)
    ]
    [target] = report["targets"]
    assert target["value_kind"] == "rna-seq" and target["n_samples"] == 8
    prov = store.provenance(hub, series.samples[0])
    assert prov["processor"]["name"] == "exprhub-refinery-rnaseq"
    assert prov["value_kind"] == "rna-seq" and prov["qn"]["applied"]
    assert prov["inputs"]["quant_sha256"] and prov["parameters"]["counts_from_abundance"] == (
        "lengthScaledTPM"
    )
    # a microarray refine leaves the RNA-seq samples alone
    again = _refine(hub)
    assert not any(k in again["failed"] for k in series.samples)
    assert store.provenance(hub, series.samples[0])["status"] == "done"
    hub.close()


@pytest.mark.slow
def test_rnaseq_from_reads_with_salmon(tmp_path, simulated):
    import shutil

    from exprhub.refine.pipeline_rnaseq import quantify_reads, refine_rnaseq

    if shutil.which("salmon") is None:
        pytest.skip("salmon is not installed")
    out, manifest = simulated
    [series] = [s for s in manifest.series if s.kind == "rnaseq"]
    samples = series.samples[:4]
    hub = _sim_hub(tmp_path, simulated)
    import_file(hub, out / f"{series.accession}_family.soft.gz")
    rng = np.random.default_rng(11)
    n_genes = 30
    txs = [(f"ENST9{g:09d}{t}", f"ENSG9{g:010d}") for g in range(1, n_genes + 1) for t in (1, 2)]
    seqs = ["".join(rng.choice(list("ACGT"), 800)) for _ in txs]
    fasta = tmp_path / "tx.fa"
    fasta.write_text("".join(f">{tx}\n{seq}\n" for (tx, _), seq in zip(txs, seqs, strict=True)))
    tx2gene = tmp_path / "tx2gene.tsv"
    tx2gene.write_text("".join(f"{tx}\t{g}\n" for tx, g in txs))
    weights = rng.gamma(0.8, 1.0, len(txs))
    weights[:2] = 40.0  # gene 1 is by far the most expressed
    reads = {}
    for key in samples:
        p = weights / weights.sum()
        picks = rng.choice(len(txs), 20_000, p=p)
        starts = rng.integers(0, 700, picks.size)
        path = tmp_path / f"{key}.fq"
        with path.open("w") as handle:
            for i, (t, s0) in enumerate(zip(picks, starts, strict=True)):
                handle.write(f"@r{i}\n{seqs[t][s0 : s0 + 100]}\n+\n{'I' * 100}\n")
        reads[key] = [path]
    files, failed = quantify_reads(hub, reads, fasta, executor=SerialExecutor())
    assert failed == {} and sorted(files) == sorted(samples)
    report = refine_rnaseq(hub, files, tx2gene=tx2gene, executor=SerialExecutor()).to_dict()
    assert report["failed"] == {} and report["gene_level"] == 4
    frame = store.refined_matrix(hub, samples)
    ref = gene_reference(hub, 9606)
    assert ref is not None
    top = ref.resolve("ENSG90000000001")
    assert (frame.idxmax() == top).all()
    prov = store.provenance(hub, samples[0])
    assert prov["tools"]["salmon"]["salmon_version"]
    hub.close()
