"""The GEO simulator writes deterministic files whose content matches its manifest."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from exprhub.formats.matrix import read_series_matrix
from exprhub.formats.soft import read_soft
from exprhub.records import DataSet, Platform, Record, Sample, Series, Subset
from exprhub.simulate import (
    SimulationManifest,
    gene_catalogue,
    simulate,
    write_gene2ensembl,
    write_gene_info,
)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SimulationManifest]:
    out = tmp_path_factory.mktemp("sim")
    return out, simulate(out, seed=0)


@pytest.fixture(scope="module")
def families(sim: tuple[Path, SimulationManifest]) -> dict[str, list[Record]]:
    out, manifest = sim
    return {f.accession: read_soft(out / f.path) for f in manifest.files_of_kind("family_soft")}


def _by_type(records: list[Record], cls: type) -> list:
    return [r for r in records if isinstance(r, cls)]


def _log2_matrix(samples: list[Sample], scale: str) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for sample in samples:
        assert sample.table is not None
        ids = sample.table.column("ID_REF").tolist()
        values = sample.table.numeric("VALUE")
        if scale == "raw":
            values = np.log2(values)
        out[sample.id] = dict(zip(ids, values.tolist(), strict=True))
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.iterdir())}


def test_same_seed_gives_identical_bytes(tmp_path: Path, sim: tuple[Path, SimulationManifest]):
    out, _ = sim
    again = simulate(tmp_path / "again", seed=0)
    assert _files(out) == _files(tmp_path / "again")
    assert again.to_json() == (out / "manifest.json").read_text(encoding="utf-8").rstrip("\n")
    simulate(tmp_path / "parallel", seed=0, workers=2)
    assert _files(tmp_path / "parallel") == _files(out)
    other = simulate(tmp_path / "other", seed=1)
    assert _files(tmp_path / "other") != _files(out)
    assert other.accessions["GSE"] == again.accessions["GSE"]


def test_manifest_lists_every_file_and_round_trips(sim: tuple[Path, SimulationManifest]):
    out, manifest = sim
    listed = {f.path for f in manifest.files}
    assert listed == {p.name for p in out.iterdir()}
    loaded = SimulationManifest.load(out / "manifest.json")
    assert loaded.to_dict() == manifest.to_dict()
    assert json.loads(manifest.to_json())["seed"] == 0
    kinds = Counter(f.kind for f in manifest.files)
    assert kinds["family_soft"] == 3 + 1 + 1  # microarray, RNA-seq, SuperSeries
    assert kinds["series_matrix"] >= 1 and kinds["gds_soft"] == 1 and kinds["platform_soft"] == 2
    for item in manifest.files_of_kind("platform_soft"):
        (platform,) = read_soft(out / item.path)
        assert isinstance(platform, Platform) and platform.table is not None
        assert platform.table.n_rows == item.rows
    numbers = {prefix: [int(a[3:]) for a in accs] for prefix, accs in manifest.accessions.items()}
    assert min(numbers["GPL"]) > 90000 and min(numbers["GSE"]) > 900000
    assert min(numbers["GSM"]) > 90_000_000 and min(numbers["GDS"]) > 90000
    assert len(manifest.accessions["GSM"]) == len(set(manifest.accessions["GSM"])) == 4 * 12


def test_family_files_hold_the_counted_records(
    sim: tuple[Path, SimulationManifest], families: dict[str, list[Record]]
):
    _, manifest = sim
    probes = {p.accession: p.probes for p in manifest.platforms}
    for item in manifest.files_of_kind("family_soft"):
        records = families[item.accession]
        counts = Counter(r.type.value for r in records if r.type is not None)
        assert counts == Counter(
            {
                "GSE": item.records["SERIES"],
                "GPL": item.records["PLATFORM"],
                "GSM": item.records["SAMPLE"],
            }
        )
        series = _by_type(records, Series)[0]
        info = manifest.series_by_accession(item.accession)
        assert series.sample_ids == info.samples
        assert [s.id for s in _by_type(records, Sample)] == info.samples
        for platform in _by_type(records, Platform):
            if platform.technology == "in situ oligonucleotide":
                assert platform.table is not None
                assert platform.table.n_rows == probes[platform.id] == platform.data_row_count
        missing = {}
        for sub in [info, *[manifest.series_by_accession(s) for s in info.subseries]]:
            missing.update(sub.missing_rows)
        for sample in _by_type(records, Sample):
            if sample.table is None:
                continue
            expected = probes[sample.platform_id] - len(missing.get(sample.id, []))
            assert sample.table.n_rows == expected == sample.data_row_count


def test_platform_tables_look_like_affymetrix(
    sim: tuple[Path, SimulationManifest], families: dict[str, list[Record]]
):
    _, manifest = sim
    platform = _by_type(families[manifest.series[0].accession], Platform)[0]
    info = next(p for p in manifest.platforms if p.accession == platform.id)
    table = platform.table
    assert table is not None
    for name in ("ID", "GB_ACC", "Gene Symbol", "ENTREZ_GENE_ID", "ENSEMBL"):
        assert table.has(name)
    ids = table.column("ID").tolist()
    symbols = table.column("Gene Symbol").tolist()
    assert sum(i.startswith("AFFX-") for i in ids) == info.control_probes > 0
    assert sum(" /// " in s for s in symbols) == info.multi_gene_probes > 0
    unmapped = sum(not s and not i.startswith("AFFX-") for i, s in zip(ids, symbols, strict=True))
    assert unmapped == info.unmapped_probes > 0
    single = Counter(s for s in symbols if s and " /// " not in s)
    assert max(single.values()) >= 2  # several probes per gene
    catalogue = {g.symbol: g for g in gene_catalogue(info.organism, info.gene_offset + info.genes)}
    entrez = table.column("ENTREZ_GENE_ID").tolist()
    for symbol, gene_id in zip(symbols, entrez, strict=True):
        for s, e in zip(symbol.split(" /// "), gene_id.split(" /// "), strict=True):
            if s:
                assert catalogue[s].entrez_id == int(e)


def test_de_genes_really_differ(
    sim: tuple[Path, SimulationManifest], families: dict[str, list[Record]]
):
    _, manifest = sim
    for info in manifest.series:
        if info.kind != "microarray":
            continue
        assert info.de_genes
        values = _log2_matrix(_by_type(families[info.accession], Sample), info.scale or "")
        assert info.control_group and info.case_group
        control, case = info.groups[info.control_group], info.groups[info.case_group]
        probes = list(values[control[0]])
        a = np.array([[values[g].get(p, np.nan) for g in control] for p in probes])
        b = np.array([[values[g].get(p, np.nan) for g in case] for p in probes])
        pvalues = stats.ttest_ind(b, a, axis=1, nan_policy="omit").pvalue
        diffs = np.nanmean(b, axis=1) - np.nanmean(a, axis=1)
        row = {p: i for i, p in enumerate(probes)}
        de_rows = set()
        for gene in info.de_genes:
            assert gene.probes
            for probe in gene.probes:
                de_rows.add(row[probe])
                assert pvalues[row[probe]] < 1e-3, (info.accession, gene.symbol, probe)
                assert abs(diffs[row[probe]] - gene.log2_fold_change) < 0.5
        others = np.array([i not in de_rows for i in range(len(probes))])
        assert np.mean(np.asarray(pvalues)[others] < 1e-3) < 0.02


def test_value_scales_and_table_quirks(
    sim: tuple[Path, SimulationManifest], families: dict[str, list[Record]]
):
    _, manifest = sim
    micro = [s for s in manifest.series if s.kind == "microarray"]
    assert {s.scale for s in micro} == {"raw", "log2"}
    orders = set()
    for info in micro:
        samples = _by_type(families[info.accession], Sample)
        medians = [float(np.nanmedian(s.table.numeric("VALUE"))) for s in samples if s.table]
        if info.scale == "raw":
            assert min(medians) > 100
        else:
            assert max(medians) < 16
        orders |= {tuple(s.table.names) for s in samples if s.table}
        for gsm, probes in info.null_values.items():
            sample = next(s for s in samples if s.id == gsm)
            assert sample.table is not None
            rows = dict(
                zip(
                    sample.table.column("ID_REF").tolist(),
                    sample.table.column("VALUE").tolist(),
                    strict=True,
                )
            )
            assert all(rows[p] == "null" for p in probes)
    assert ("ID_REF", "VALUE", "DETECTION P-VALUE") in orders
    assert ("ID_REF", "DETECTION P-VALUE", "VALUE") in orders
    assert ("ID_REF", "VALUE") in orders
    assert any(s.missing_rows for s in micro) and any(s.null_values for s in micro)


def test_characteristics_use_varied_keys(tmp_path: Path):
    manifest = simulate(tmp_path, series=8, samples=4, platforms=2, probes=60, rnaseq_series=0)
    keys = [s.characteristic_keys for s in manifest.series if s.kind == "microarray"]
    assert len({k["sex"] for k in keys}) >= 2
    assert len({k["age"] for k in keys}) >= 2
    assert len({s.factor_type for s in manifest.series if s.factor_type}) >= 2
    records = read_soft(tmp_path / manifest.files_of_kind("family_soft")[0].path)
    texts = _by_type(records, Sample)[0].get_all("characteristics_ch1")
    assert [t.split(": ")[0] for t in texts] == [
        keys[0][k] for k in ("tissue", "factor", "sex", "age")
    ]


def test_rnaseq_series_has_no_tables(
    sim: tuple[Path, SimulationManifest], families: dict[str, list[Record]]
):
    out, manifest = sim
    info = next(s for s in manifest.series if s.kind == "rnaseq")
    records = families[info.accession]
    platform = _by_type(records, Platform)[0]
    assert platform.technology == "high-throughput sequencing" and platform.table is None
    for sample in _by_type(records, Sample):
        assert sample.table is None or sample.table.n_rows == 0
        assert sample.get("type") == "SRA"
        assert any(v.startswith("SRA: ") for v in sample.get_all("relation"))
        assert sample.get("supplementary_file_1")
    counts_file = next(
        f for f in manifest.files_of_kind("rnaseq_counts") if f.accession == info.accession
    )
    with gzip.open(out / counts_file.path, "rt") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        rows = [line.rstrip("\n").split("\t") for line in handle]
    assert header == ["GeneID", *info.samples] and len(rows) == counts_file.rows
    counts = {int(r[0]): np.array(r[1:], dtype=float) for r in rows}
    assert info.case_group
    case = np.array([g in info.groups[info.case_group] for g in info.samples])
    for gene in info.de_genes:
        row = np.log2(counts[gene.entrez_id] + 1)
        assert np.sign(row[case].mean() - row[~case].mean()) == np.sign(gene.log2_fold_change)


def test_gds_subsets_cover_its_samples(
    sim: tuple[Path, SimulationManifest], families: dict[str, list[Record]]
):
    out, manifest = sim
    gds_info = manifest.datasets[0]
    records = read_soft(out / f"{gds_info.accession}.soft.gz")
    dataset = _by_type(records, DataSet)[0]
    subsets = _by_type(records, Subset)
    assert dataset.value_type == gds_info.value_type in ("count", "transformed count")
    assert dataset.table is not None
    columns = dataset.table.names[2:]
    assert columns == gds_info.samples
    by_type: dict[str, set[str]] = {}
    for subset in subsets:
        by_type.setdefault(subset.get("type") or "", set()).update(
            subset.get_all("sample_id")[0].split(",")
        )
    assert set(by_type) >= {manifest.series_by_accession(gds_info.series).factor_type, "gender"}
    for members in by_type.values():
        assert members == set(columns)
    samples = {s.id: s for s in _by_type(families[gds_info.series], Sample)}
    ids = dataset.table.column("ID_REF").tolist()
    for gsm in columns:
        table = samples[gsm].table
        assert table is not None
        own = dict(
            zip(table.column("ID_REF").tolist(), table.column("VALUE").tolist(), strict=True)
        )
        mine = dataset.table.column(gsm).tolist()
        assert all(own.get(i, "null") == v for i, v in zip(ids, mine, strict=True))


def test_superseries_links_both_ways(
    sim: tuple[Path, SimulationManifest], families: dict[str, list[Record]]
):
    _, manifest = sim
    info = next(s for s in manifest.series if s.kind == "superseries")
    assert len(info.subseries) == 2
    superseries = _by_type(families[info.accession], Series)[0]
    assert superseries.subseries_ids == info.subseries
    for accession in info.subseries:
        sub = _by_type(families[accession], Series)[0]
        assert sub.superseries_ids == [info.accession]
        for sample in _by_type(families[accession], Sample):
            assert sample.series_ids == [accession, info.accession]
    members = [s.id for s in _by_type(families[info.accession], Sample)]
    assert members == superseries.sample_ids == info.samples


def test_series_matrix_matches_family(
    sim: tuple[Path, SimulationManifest], families: dict[str, list[Record]]
):
    out, manifest = sim
    for item in manifest.files_of_kind("series_matrix"):
        records = read_series_matrix(out / item.path)
        series = _by_type(records, Series)[0]
        samples = _by_type(records, Sample)
        assert len(samples) == item.records["SAMPLE"]
        assert series.sample_ids == manifest.series_by_accession(item.accession).samples
        family = {s.id: s for s in _by_type(families[item.accession], Sample)}
        for sample in samples:
            source = family[sample.id]
            assert sample.title == source.title
            assert sample.get_all("characteristics_ch1") == source.get_all("characteristics_ch1")
            if source.table is None:
                assert sample.table is None or sample.table.n_rows == 0
                continue
            assert sample.table is not None
            theirs = dict(
                zip(
                    sample.table.column("ID_REF").tolist(),
                    sample.table.column("VALUE").tolist(),
                    strict=True,
                )
            )
            own = dict(
                zip(
                    source.table.column("ID_REF").tolist(),
                    source.table.column("VALUE").tolist(),
                    strict=True,
                )
            )
            assert {k: v for k, v in theirs.items() if v} == own


def test_gene_catalogue_and_ncbi_files(tmp_path: Path):
    human = gene_catalogue("Homo sapiens", 300)
    assert gene_catalogue("Homo sapiens", 100) == human[:100]
    assert len({g.symbol for g in human}) == len({g.entrez_id for g in human}) == 300
    assert len({g.ensembl_id for g in human}) == 300
    mouse = gene_catalogue("Mus musculus", 300)
    assert [g.symbol.upper() for g in mouse] == [g.symbol for g in human]
    assert all(g.ensembl_id.startswith("ENSMUSG9") for g in mouse)
    with pytest.raises(ValueError, match="unknown organism"):
        gene_catalogue("Danio rerio", 3)
    rows = write_gene_info(tmp_path / "gene_info.gz", ["Homo sapiens", "Mus musculus"], 50)
    assert rows == 100
    with gzip.open(tmp_path / "gene_info.gz", "rt") as handle:
        lines = handle.read().splitlines()
    assert lines[0].startswith("#tax_id\tGeneID\tSymbol")
    first = lines[1].split("\t")
    assert len(first) == 16 and first[0] == "9606" and first[2] == human[0].symbol
    write_gene2ensembl(tmp_path / "gene2ensembl", "Mus musculus", 5)
    text = (tmp_path / "gene2ensembl").read_text().splitlines()
    assert len(text) == 6 and text[1].split("\t")[2] == mouse[0].ensembl_id


def test_small_and_edge_arguments(tmp_path: Path):
    manifest = simulate(
        tmp_path / "one", series=1, samples=2, platforms=1, probes=30, rnaseq_series=0
    )
    assert manifest.accessions["GSE"] == ["GSE900001"]
    assert not [s for s in manifest.series if s.kind == "superseries"]
    manifest = simulate(tmp_path / "mixed", series=1, samples=3, platforms=1, probes=30)
    sup = next(s for s in manifest.series if s.kind == "superseries")
    kinds = {manifest.series_by_accession(a).kind for a in sup.subseries}
    assert kinds == {"microarray", "rnaseq"}
    with pytest.raises(ValueError):
        simulate(tmp_path / "bad", samples=1)


@pytest.mark.slow
def test_larger_simulation_reads_back(tmp_path: Path):
    manifest = simulate(tmp_path, series=4, samples=40, platforms=3, probes=4000, seed=7)
    for item in manifest.files_of_kind("family_soft"):
        records = read_soft(tmp_path / item.path)
        assert sum(isinstance(r, Sample) for r in records) == item.records["SAMPLE"]
