"""Genes, profiles, flags, neighbours and GENE search on real GEO files (the hub of
``conftest.profiles_hub``), checked against the files themselves and scipy / numpy."""

from __future__ import annotations

import gzip
import math

import numpy as np
import pytest
from scipy import stats

from exprhub.analysis.genes import GeneNotFound
from exprhub.search import QuerySyntaxError
from tests.analysis.conftest import ACTB_ENSEMBL, GDS507, GPL97_ANNOT


def _gds_rows(path, probes: set[str]) -> tuple[list[str], dict[str, np.ndarray]]:
    """Sample columns and the values of ``probes`` read straight from a GDS SOFT file."""
    samples: list[str] = []
    rows: dict[str, np.ndarray] = {}
    with gzip.open(path, "rt") as handle:
        for line in handle:
            cells = line.rstrip("\n").split("\t")
            if cells[0] == "ID_REF":
                samples = cells[2:]
            elif cells[0] in probes:
                rows[cells[0]] = np.array(
                    [float(c) if c not in ("", "null") else np.nan for c in cells[2:]]
                )
    return samples, rows


def _gds_column_values(path) -> np.ndarray:
    values = []
    with gzip.open(path, "rt") as handle:
        inside = False
        for line in handle:
            if line.startswith("!dataset_table_begin"):
                inside = True
                next(handle)
                continue
            if line.startswith("!dataset_table_end"):
                break
            if inside:
                cells = line.rstrip("\n").split("\t")[2:]
                values.append([float(c) if c not in ("", "null") else np.nan for c in cells])
    return np.array(values)


def test_gene_lookup_by_symbol_synonym_ids_and_words(profiles_hub):
    hub = profiles_hub
    actb = hub.find_genes("Actb")[0]
    assert (actb.symbol, actb.gene_id, actb.tax_id, actb.source) == (
        "Actb",
        "11461",
        10090,
        "gene_info",
    )
    assert hub.find_genes("ACTB")[0].gene_id == "11461"  # symbols ignore case
    for text, how in (
        ("beta-actin", "synonym"),
        (ACTB_ENSEMBL, "ensembl id"),
        ("11461", "gene id"),
    ):
        found = hub.find_genes(text)[0]
        assert (found.symbol, found.matched) == ("Actb", how), text
    assert "Actb" in [g.symbol for g in hub.find_genes("actin beta")]
    # a gene known only from a GEO annotation (no human reference in this hub)
    actg1 = hub.find_genes("ACTG1")[0]
    assert (actg1.gene_id, actg1.organism, actg1.source) == (
        "71",
        "Homo sapiens",
        "annotation:GPL97",
    )
    assert hub.find_genes("nosuchgene") == []
    assert [g.organism for g in hub.find_genes("Actb", organism="Mus musculus")] == ["Mus musculus"]
    with pytest.raises(ValueError, match="unknown organism"):
        hub.find_genes("Actb", organism="Nowhere")


def test_gene_record_platforms_records_and_refined_summary(profiles_hub, geo_fixtures):
    hub = profiles_hub
    record = hub.gene("ACTG1")
    with gzip.open(geo_fixtures / GPL97_ANNOT, "rt") as handle:
        expected = sorted(
            line.split("\t")[0] for line in handle if line.split("\t")[2:3] == ["ACTG1"]
        )
    [platform] = record.platforms
    assert platform.platform == "GPL97" and platform.probes == expected
    assert record.datasets == ["GDS507"]

    actb = hub.gene("beta-actin")
    assert actb.gene.symbol == "Actb"
    [gpl81] = actb.platforms
    assert "101578_f_at" in gpl81.probes and actb.series == ["GSE1623"]
    refined = hub.expression("GSE1623", values="refined").loc["11461"]
    summary = actb.as_dict()["refined"]
    assert summary["by_series"]["GSE1623"]["n"] == 8
    assert summary["by_series"]["GSE1623"]["mean"] == pytest.approx(float(refined.mean()), abs=1e-3)
    with pytest.raises(GeneNotFound, match="nosuchgene"):
        hub.gene("nosuchgene")


def test_gds507_profile_values_ranks_context_and_flags(profiles_hub, geo_fixtures):
    hub = profiles_hub
    frame = hub.profile("GDS507", "PFKFB2")
    assert frame.attrs["features"] == ["226733_at"]
    assert frame.attrs["context"] == "DataSet GDS507 subsets"
    assert list(frame.attrs["subset_types"]["disease state"]) == ["RCC", "normal"]
    samples, rows = _gds_rows(geo_fixtures / GDS507, {"226733_at"})
    by_sample = frame.set_index("sample")
    assert list(by_sample.index) == samples
    assert np.allclose(by_sample["value"].to_numpy(), rows["226733_at"], rtol=1e-6)
    # rank percentiles from scipy's ranks of every value of each sample
    table = _gds_column_values(geo_fixtures / GDS507)
    with gzip.open(geo_fixtures / GDS507, "rt") as handle:
        probes = [line.split("\t")[0] for line in handle]
    row = probes.index("226733_at") - probes.index("ID_REF") - 1
    for j, sample in enumerate(samples):
        column = table[:, j][np.isfinite(table[:, j])]
        rank = stats.rankdata(column)[np.flatnonzero(column == table[row, j])[0]]
        assert by_sample.loc[sample, "rank_percentile"] == math.ceil(100 * rank / column.size)
    # groups: the subset records
    rcc = set(hub.record("GDS507_1").sample_ids)
    assert set(by_sample.index[by_sample["disease state"] == "RCC"]) == rcc
    # the flag: one-way ANOVA on log2 values (counts: GEO2R's rule takes the log)
    flag = next(f for f in frame.attrs["flags"] if f["subset_type"] == "disease state")
    logged = np.log2(rows["226733_at"])
    in_rcc = np.array([s in rcc for s in samples])
    expected = stats.f_oneway(logged[in_rcc], logged[~in_rcc])
    assert flag["F"] == pytest.approx(expected.statistic, rel=1e-6)
    assert flag["p_value"] == pytest.approx(expected.pvalue, rel=1e-5)
    assert flag["flagged"] and flag["fdr"] <= 0.05 and flag["log2_fold"] >= 1
    flagged = hub.profile_flags("GDS507")
    assert "226733_at" in set(flagged["feature"])
    assert (flagged["fdr"] <= 0.05).all() and (flagged["log2_fold"] >= 1).all()
    assert len(hub.profile_flags("GDS507", fdr=0.01, min_log2_fold=2)) < len(flagged)


def test_gds507_neighbours_are_pearson(profiles_hub, geo_fixtures):
    hub = profiles_hub
    found = hub.profile_neighbours("GDS507", "PFKFB2", count=5)
    assert len(found) == 5 and (found["r"] >= 0.7).all()
    assert list(found["r"]) == sorted(found["r"], reverse=True)
    _, rows = _gds_rows(geo_fixtures / GDS507, {"226733_at", *found["feature"]})
    target = np.log2(rows["226733_at"])
    for feature, r in zip(found["feature"], found["r"], strict=True):
        other = np.log2(rows[feature])
        assert r == pytest.approx(np.corrcoef(target, other)[0, 1], abs=1e-4)
    fewer = hub.profile_neighbours("GDS507", "PFKFB2", min_r=0.95, count=100)
    assert (fewer["r"] >= 0.95).all() and len(fewer) < 100


def test_series_profiles_use_the_dataset_subsets_or_refined_values(profiles_hub):
    hub = profiles_hub
    series = hub.profile("GSE2870", "Sumo2")
    dataset = hub.profile("GDS1794", "Sumo2")
    assert series.attrs["context"] == "DataSet GDS1794 subsets"
    assert set(series.attrs["subset_types"]) == {"tissue", "stress"}
    submitted = hub.expression("GSE2870")
    probe = series.attrs["features"][0]
    values = series.set_index("sample")["value"]
    assert np.allclose(values.to_numpy(), submitted.loc[probe, values.index].to_numpy())
    assert dataset.attrs["features"] == series.attrs["features"]
    refined = hub.profile("GSE1623", "beta-actin", values="refined")
    assert refined.attrs["features"] == ["11461"] and refined.attrs["gene"]["symbol"] == "Actb"
    expected = hub.expression("GSE1623", values="refined").loc["11461"]
    got = refined.set_index("sample")["value"]
    assert np.allclose(got.to_numpy(), expected[got.index].to_numpy())
    assert refined.attrs["subset_types"] == {}  # GSE1623's samples have no characteristics
    assert refined.attrs["context"] == "none: no characteristic groups the samples"
    probes = hub.profile("GSE1623", "Actb")
    assert "101578_f_at" in probes.attrs["features"]
    with pytest.raises(GeneNotFound):
        hub.profile("GDS507", "nosuchgene")


def test_gene_search_field(profiles_hub):
    hub = profiles_hub

    def found(query: str) -> set[str]:
        return {h.accession for h in hub.search(query, limit=100, facets=[]).hits}

    assert found("ACTG1[GENE]") == {"GDS507"}  # GPL97 is known only from its annotation
    assert found("Actb[GENE] AND GSE[ETYP]") == {"GSE1623"}
    assert found("11461[gene] AND GPL[ETYP]") == {"GPL81"}
    assert found("beta-actin[GENE] AND GSE[ETYP]") == {"GSE1623"}  # a synonym with a hyphen
    assert found("Sumo2[GENE] AND GDS[ETYP]") == {"GDS1794"}
    assert found("nosuchgene[GENE]") == set()
    assert found("NOT nosuchgene[GENE] AND GDS[ETYP]") == {"GDS507", "GDS1794"}
    with pytest.raises(QuerySyntaxError, match="wildcards"):
        hub.search("act*[GENE]")


def test_profile_images(profiles_hub, tmp_path):
    pytest.importorskip("matplotlib")
    frame = profiles_hub.profile("GDS507", "PFKFB2")
    png = profiles_hub.profile_image(frame, tmp_path / "p.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = profiles_hub.profile_image(frame, tmp_path / "p.svg")
    assert b"<svg" in svg.read_bytes()[:500] and b"226733_at" in svg.read_bytes()
    with pytest.raises(ValueError, match=r"png or \.svg"):
        profiles_hub.profile_image(frame, tmp_path / "p.jpg")


def test_flag_search_field(profiles_hub):
    hub = profiles_hub

    def found(query: str) -> set[str]:
        return {h.accession for h in hub.search(query, limit=100, facets=[]).hits}

    assert found("PFKFB2[GENE] AND flagged[FLAG]") == {"GDS507"}
    assert found("PFKFB2[GENE] AND disease state[FLAG]") == {"GDS507"}
    assert found("PFKFB2[GENE] AND individual[FLAG]") == set()
    # ACTG1 is measured by GDS507 but not flagged there
    assert found("ACTG1[GENE]") == {"GDS507"} and found("ACTG1[GENE] AND flagged[FLAG]") == set()
    assert found("(ACTG1[GENE] OR PFKFB2[GENE]) AND flagged[FLAG]") == {"GDS507"}
    with pytest.raises(QuerySyntaxError, match="needs a \\[GENE\\] term"):
        hub.search("flagged[FLAG]")
