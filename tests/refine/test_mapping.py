"""Probe -> gene mapping on the real GPL96 platform and GPL97 .annot files (no R involved)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from exprhub.records.table import Table
from exprhub.refine.mapping import (
    ProbeMap,
    build_probe_map,
    clean_gene_id,
    collapse_to_genes,
    detect_gene_column,
    detect_id_column,
    is_control_probe,
    split_multi,
)


def read_table(path: Path) -> Table:
    """The data table of a one-record SOFT file (exprhub's SOFT reader when present)."""
    try:
        from exprhub.formats.soft import read_soft
    except ImportError:  # pragma: no cover - reader not written yet
        pass
    else:
        (record,) = read_soft(path)
        assert record.table is not None
        return record.table
    with gzip.open(path, "rt") as handle:  # pragma: no cover
        lines = handle.read().splitlines()
    start = next(i for i, x in enumerate(lines) if x.lower().endswith("_table_begin"))
    end = next(i for i, x in enumerate(lines) if x.lower().endswith("_table_end"))
    rows = [x.split("\t") for x in lines[start + 1 : end]]
    return Table.from_rows(rows[0], rows[1:])


@pytest.fixture(scope="module")
def gpl96(geo_fixtures: Path) -> Table:
    return read_table(geo_fixtures / "geoquery" / "GPL96.txt.gz")


@pytest.fixture(scope="module")
def gpl97(geo_fixtures: Path) -> Table:
    return read_table(geo_fixtures / "geoquery" / "GPL97.annot.gz")


def test_gpl96_probe_map(gpl96: Table) -> None:
    pm = build_probe_map(gpl96)
    assert (pm.column, pm.id_type) == ("ENTREZ_GENE_ID", "entrez")
    s = pm.stats
    assert s.probes_total == gpl96.n_rows == 22283
    assert s.mapped + s.multi_gene + s.control + s.unmapped == s.probes_total
    assert s.control == 68  # AFFX- probes of HG-U133A
    assert pm.genes["1007_s_at"] == ("780",)
    assert pm.genes["1053_at"] == ("5982",)
    assert not any(is_control_probe(p) for p in pm.genes)
    # cells with ///, counted by hand from the table, excluding controls
    ids = gpl96.column("ID").tolist()
    cells = gpl96.column("ENTREZ_GENE_ID").tolist()
    multi = sum(
        1 for p, c in zip(ids, cells, strict=True) if "///" in c and not p.startswith("AFFX")
    )
    assert s.multi_gene == multi > 500
    assert s.genes == len(pm.gene_ids()) > 12000
    every = build_probe_map(gpl96, multi="all", drop_controls=False)
    assert every.stats.control == 0 and every.stats.multi_gene == 0
    assert every.stats.mapped == s.mapped + multi + sum(
        1 for p, c in zip(ids, cells, strict=True) if p.startswith("AFFX") and c.strip()
    )
    first = build_probe_map(gpl96, multi="first")
    assert all(len(g) == 1 for g in first.genes.values())
    symbols = build_probe_map(gpl96, "Gene Symbol")
    assert symbols.id_type == "symbol" and symbols.genes["1007_s_at"] == ("DDR1",)


def test_gpl97_annot(gpl97: Table) -> None:
    pm = build_probe_map(gpl97)
    assert (pm.column, pm.id_type) == ("Gene ID", "entrez")
    assert pm.genes["200000_s_at"] == ("10594",)
    assert pm.stats.unmapped > 9000  # GPL97 has many probes without a gene
    assert pm.stats.multi_gene > 700


def test_detection_with_a_reference(gpl96: Table) -> None:
    symbols = {s for c in gpl96.column("Gene Symbol").tolist() for s in split_multi(c)}
    assert detect_gene_column(gpl96, reference=symbols) == ("Gene Symbol", "symbol")
    entrez = {"780", "5982"}
    with pytest.raises(ValueError, match="ENTREZ_GENE_ID"):
        detect_gene_column(gpl96, reference=entrez)
    assert detect_id_column(gpl96, ["1007_s_at", "1053_at", "nope"]) == "ID"
    assert detect_id_column(gpl96, ["U48705", "M87338"]) == "GB_ACC"
    with pytest.raises(ValueError, match="no platform column"):
        detect_id_column(gpl96, ["x", "y"])


def test_gpl96_collapse(gpl96: Table) -> None:
    pm = build_probe_map(gpl96)
    ids = gpl96.column("ID").tolist()
    rng = np.random.default_rng(0)
    values = rng.normal(8, 2, size=(len(ids), 3))
    genes, matrix = collapse_to_genes(ids, values, pm)
    assert genes == pm.gene_ids() and matrix.shape == (len(genes), 3)
    # a gene with several probes gets their mean
    probes_of: dict[str, list[int]] = {}
    for i, p in enumerate(ids):
        for g in pm.genes.get(p, ()):
            probes_of.setdefault(g, []).append(i)
    gene = next(g for g, rows in probes_of.items() if len(rows) >= 3)
    np.testing.assert_allclose(matrix[genes.index(gene)], values[probes_of[gene]].mean(axis=0))


def small_map() -> ProbeMap:
    table = Table(
        ["ID", "Gene Symbol"],
        [
            ["p1", "p2", "p3", "p4", "AFFX-BioB", "p5", "p6"],
            ["A", "A", "B /// C", "", "X", "---", "ENSG0000012.3_at"],
        ],
    )
    return build_probe_map(table)


def test_small_map_and_rules() -> None:
    pm = small_map()
    assert pm.stats.mapped == 3 and pm.stats.multi_gene == 1 and pm.stats.control == 1
    assert pm.stats.unmapped == 2 and pm.stats.genes == 2
    assert pm.genes["p6"] == ("ENSG0000012",)
    values = np.array(
        [[1.0, np.nan], [3.0, np.nan], [9.0, 9.0], [5, 5], [7, 7], [0, 0], [2.0, 4.0]]
    )
    probes = ["p1", "p2", "p3", "p4", "AFFX-BioB", "p5", "p6"]
    genes, m = collapse_to_genes(probes, values, pm)
    assert genes == ["A", "ENSG0000012"]
    np.testing.assert_array_equal(m, [[2.0, np.nan], [2.0, 4.0]])
    _, mx = collapse_to_genes(probes, values, pm, "max")
    np.testing.assert_array_equal(mx[0], [3.0, np.nan])
    _, md = collapse_to_genes(probes, values, pm, "median")
    np.testing.assert_array_equal(md[0], [2.0, np.nan])
    with pytest.raises(ValueError, match="rule"):
        collapse_to_genes(probes, values, pm, "sum")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="probe ids"):
        collapse_to_genes(probes[:2], values, pm)
    assert collapse_to_genes(["zz"], np.ones((1, 2)), pm)[1].shape == (0, 2)


def test_helpers() -> None:
    assert split_multi(" 1 /// 2///3 ") == ["1", "2", "3"]
    assert split_multi("---") == [] and split_multi("") == []
    assert clean_gene_id("ENSMUSG00000012.4") == "ENSMUSG00000012"
    assert clean_gene_id("TP53") == "TP53"
    assert is_control_probe("AFFX-HUMGAPDH/M33197_5_at") and not is_control_probe("1007_s_at")
    with pytest.raises(ValueError, match="no gene identifier column"):
        detect_gene_column(Table(["ID", "SEQ"], [["a"], ["ACGT"]]))
