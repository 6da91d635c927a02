"""NCBI gene_info / gene2ensembl / gene2accession readers and the per-organism gene reference
(small files written here; no R involved)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from exprhub.formats.errors import FormatError
from exprhub.records.table import Table
from exprhub.refine.genes import (
    GeneReference,
    read_gene2accession,
    read_gene2ensembl,
    read_gene_info,
)
from exprhub.refine.mapping import detect_gene_column

GENE_INFO = (
    "#tax_id\tGeneID\tSymbol\tLocusTag\tSynonyms\tdbXrefs\tchromosome\tmap_location\t"
    "description\ttype_of_gene\n"
    "9606\t1\tA1BG\t-\tA1B|ABG|GAB|HYST2477\tMIM:138670|HGNC:HGNC:5|Ensembl:ENSG00000121410"
    "\t19\t19q13.43\talpha-1-B glycoprotein\tprotein-coding\n"
    "9606\t7157\tTP53\t-\tBCC7|LFS1|P53\tMIM:191170|Ensembl:ENSG00000141510\t17\t17p13.1\t"
    "tumor protein p53\tprotein-coding\n"
    "9606\t5982\tRFC2\t-\tRFC40|P53\t-\t7\t7q11.23\treplication factor C subunit 2\t"
    "protein-coding\n"
    "9606\t780\tDDR1\t-\t-\t-\t6\t6p21.33\tdiscoidin domain receptor 1\tprotein-coding\n"
    "10090\t22059\tTrp53\t-\tp53|Tp53\tEnsembl:ENSMUSG00000059552\t11\t11 B3\t"
    "transformation related protein 53\tprotein-coding\n"
)
GENE2ENSEMBL = (
    "#tax_id\tGeneID\tEnsembl_gene_identifier\tRNA_nucleotide_accession.version\t"
    "Ensembl_rna_identifier\tprotein_accession.version\tEnsembl_protein_identifier\n"
    "9606\t780\tENSG00000204580.14\tNM_001202521.2\tENST00000376568.8\tNP_001189450.1\t"
    "ENSP00000365752.3\n"
    "9606\t780\tENSG00000204580\tNM_013993.3\tENST00000376575\tNP_054699.2\tENSP00000365759\n"
    "9606\t780\tENSG00000234078\tNM_013993.3\tENST00000400\tNP_054699.2\tENSP00000400\n"
    "10090\t22059\tENSMUSG00000059552\tNM_011640.3\tENSMUST1\tNP_035770.2\tENSMUSP1\n"
)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    info = tmp_path / "gene_info.gz"
    with gzip.open(info, "wt") as handle:
        handle.write(GENE_INFO)
    g2e = tmp_path / "gene2ensembl"
    g2e.write_text(GENE2ENSEMBL)
    return info, g2e


def test_readers(files: tuple[Path, Path]) -> None:
    info, g2e = files
    genes = list(read_gene_info(info))
    assert [g.gene_id for g in genes] == ["1", "7157", "5982", "780", "22059"]
    a1bg = genes[0]
    assert a1bg.synonyms == ("A1B", "ABG", "GAB", "HYST2477")
    assert a1bg.ensembl_ids == ("ENSG00000121410",)
    assert a1bg.description == "alpha-1-B glycoprotein" and a1bg.tax_id == 9606
    assert genes[3].synonyms == () and genes[3].ensembl_ids == ()
    assert [g.symbol for g in read_gene_info(info, [10090])] == ["Trp53"]
    pairs = list(read_gene2ensembl(g2e, [9606]))
    assert pairs == [(9606, "780", "ENSG00000204580"), (9606, "780", "ENSG00000234078")]


def test_reference_lookups(files: tuple[Path, Path]) -> None:
    ref = GeneReference.from_files(9606, *files)
    assert len(ref) == 4 and "7157" in ref and "22059" not in ref
    ddr1 = ref.get("780")
    assert ddr1 is not None
    assert ddr1.ensembl_ids == ("ENSG00000204580", "ENSG00000234078")
    assert [g.gene_id for g in ref.by_symbol("tp53")] == ["7157"]
    assert [g.gene_id for g in ref.by_ensembl("ENSG00000141510.17")] == ["7157"]
    assert {g.gene_id for g in ref.by_synonym("p53")} == {"7157", "5982"}
    assert ref.resolve("TP53") == "7157"
    assert ref.resolve("ENSG00000234078") == "780"
    assert ref.resolve("LFS1") == "7157"
    assert ref.resolve("P53") is None  # symbol of nothing, synonym of two genes
    assert ref.resolve("7157") == "7157" and ref.resolve("nope") is None
    assert ref.identifiers("symbol") == {"A1BG", "TP53", "RFC2", "DDR1"}
    assert "ENSG00000121410" in ref.identifiers("ensembl")
    mouse = GeneReference.from_files(10090, *files)
    assert mouse.resolve("Tp53") == "22059" and mouse.resolve("ENSMUSG00000059552") == "22059"
    with pytest.raises(ValueError, match="kind"):
        ref.identifiers("go")


def test_reference_drives_gene_column_detection(files: tuple[Path, Path]) -> None:
    ref = GeneReference.from_files(9606, *files)
    table = Table(
        ["ID", "GENE", "Symbol"], [["p1", "p2", "p3"], ["99", "98", "97"], ["TP53", "DDR1", "RFC2"]]
    )
    assert detect_gene_column(table, ref.identifiers("symbol")) == ("Symbol", "symbol")
    assert detect_gene_column(table) == ("GENE", "entrez")


def test_errors(tmp_path: Path) -> None:
    bad = tmp_path / "gene_info"
    bad.write_text("tax_id\tGeneID\n9606\t1\n")
    with pytest.raises(FormatError, match=r"gene_info:1: expected a '#tax_id"):
        list(read_gene_info(bad))
    bad.write_text("#tax_id\tGeneID\tSymbol\n9606\t1\tA\n")
    with pytest.raises(FormatError, match="lacks column"):
        list(read_gene_info(bad))
    bad.write_text("#tax_id\tGeneID\tSymbol\tSynonyms\tdbXrefs\nhuman\t1\tA\t-\t-\n")
    with pytest.raises(FormatError, match=r"gene_info:2: expected an integer tax_id"):
        list(read_gene_info(bad))
    old = tmp_path / "old_gene_info"
    old.write_text(
        "#Format: tax_id GeneID Symbol LocusTag Synonyms dbXrefs (tab is used)\n"
        "9606\t1\tA1BG\t-\tA1B\t-\n"
    )
    assert next(read_gene_info(old)).synonyms == ("A1B",)
    ref = GeneReference(9606)
    ref.add(next(read_gene_info(old)))
    with pytest.raises(ValueError, match="twice"):
        ref.add(next(read_gene_info(old)))


GENE2ACCESSION_HEADER = (
    "#tax_id\tGeneID\tstatus\tRNA_nucleotide_accession.version\tRNA_nucleotide_gi\t"
    "protein_accession.version\tprotein_gi\tgenomic_nucleotide_accession.version\t"
    "genomic_nucleotide_gi\tstart_position_on_the_genomic_accession\t"
    "end_position_on_the_genomic_accession\torientation\tassembly\t"
    "mature_peptide_accession.version\tmature_peptide_gi\tSymbol\n"
)


def _g2a(tax: int, gene: str, rna: str, protein: str, genomic: str, symbol: str) -> str:
    fields = [str(tax), gene, "-", rna, "-", protein, "-", genomic, "-", "-", "-", "-", "-"]
    return "\t".join([*fields, "-", "-", symbol]) + "\n"


GENE2ACCESSION = GENE2ACCESSION_HEADER + "".join(
    [
        # one line per protein of a transcript: the RNA accession repeats on consecutive lines
        _g2a(9606, "7157", "NM_000546.6", "NP_000537.3", "NC_000017.11", "TP53"),
        _g2a(9606, "7157", "NM_000546.6", "NP_001119584.1", "NG_017013.2", "TP53"),
        _g2a(9606, "7157", "X02469.1", "CAA26306.1", "-", "TP53"),
        _g2a(9606, "7157", "-", "-", "AC087388.13", "TP53"),
        _g2a(10090, "22059", "NM_011640.3", "NP_035770.2", "NC_000077.7", "Trp53"),
        _g2a(9606, "780", "AB208856.1", "BAD92093.1", "-", "DDR1"),
        _g2a(9606, "780", "BC008716.2", "-", "NW_003315947.1", "DDR1"),
    ]
)


def test_read_gene2accession(tmp_path: Path) -> None:
    path = tmp_path / "gene2accession.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(GENE2ACCESSION)
    rows = list(read_gene2accession(path, [9606]))
    # versions stripped; RefSeq chromosomes / contigs (NC_, NW_) skipped; proteins ignored;
    # NG_ (a RefSeqGene record) and GenBank clones kept; repeats on consecutive lines once
    assert rows == [
        (9606, "7157", "NM_000546"),
        (9606, "7157", "NG_017013"),
        (9606, "7157", "X02469"),
        (9606, "7157", "AC087388"),
        (9606, "780", "AB208856"),
        (9606, "780", "BC008716"),
    ]
    assert list(read_gene2accession(path, [10090])) == [(10090, "22059", "NM_011640")]
    assert len(list(read_gene2accession(path))) == 7
    bad = tmp_path / "bad"
    bad.write_text("#tax_id\tGeneID\tstatus\n9606\t1\t-\n")
    with pytest.raises(FormatError, match=r"bad:1: expected a gene2accession"):
        list(read_gene2accession(bad))
    bad.write_text(GENE2ACCESSION_HEADER + "9606\t1\t-\n")
    with pytest.raises(FormatError, match=r"bad:2: expected 16 fields, got 3"):
        list(read_gene2accession(bad))


def test_accession_links_are_stored_per_organism(tmp_path: Path) -> None:
    from exprhub.hub import Hub
    from exprhub.refine.pipeline import import_gene_accessions, ncbi_file_kind
    from exprhub.refine.store import gene_accessions as links

    path = tmp_path / "gene2accession"
    path.write_text(GENE2ACCESSION)
    assert ncbi_file_kind(path) == "gene2accession"
    with Hub.init(tmp_path / "hub") as hub:
        assert links.accession_digest(hub, 9606) == "none"
        assert import_gene_accessions(hub, [str(path)]) == {9606: 6, 10090: 1}
        assert links.genes_for_accessions(hub, 9606, {"NM_000546", "BC008716", "NM_011640"}) == {
            "NM_000546": ("7157",),
            "BC008716": ("780",),
        }
        first = links.accession_digest(hub, 9606)
        assert import_gene_accessions(hub, [str(path)], [9606]) == {9606: 6}
        assert links.accession_digest(hub, 9606) == first  # same links, same bytes
        assert links.accession_counts(hub) == {9606: 6, 10090: 1}


def test_genbank_cells_map_through_accession_links(files: tuple[Path, Path]) -> None:
    from exprhub.refine.pipeline import RefineOptions
    from exprhub.refine.pipeline_plan import MissingInput, _map_table, split_accessions

    assert split_accessions("NM_000546.6,X02469 , BC008716.2") == [
        "NM_000546",
        "X02469",
        "BC008716",
    ]
    assert split_accessions("-") == []
    links = {
        "NM_000546": ("7157",),
        "X02469": ("7157",),
        "AB208856": ("780",),
        "AA000001": ("999999",),  # a gene the stored gene_info does not list
    }
    table = Table(
        ["ID", "GB_LIST"],
        [
            ["p1", "p2", "p3", "p4", "p5", "p6", "AFFX-x"],
            [
                "NM_000546.6,X02469",
                "AB208856.1",
                "NM_000546,AB208856",
                "AA000001",
                "",
                "T00001",
                "X02469",
            ],
        ],
    )
    with pytest.raises(MissingInput, match="'GB_LIST' holds GenBank accessions") as missing:
        _map_table(table, None, RefineOptions(), "GPL1", 9606, None)
    assert missing.value.command == 'exprhub genes fetch "Homo sapiens"'
    asked: list[set[str]] = []

    def lookup(wanted: set[str]) -> dict[str, tuple[str, ...]]:
        asked.append(wanted)
        return {a: links[a] for a in wanted if a in links}

    pmap, info = _map_table(table, None, RefineOptions(), "GPL1", 9606, lookup)
    # two accessions of one gene are one gene; accessions of two genes make a multi-gene probe
    assert pmap.genes == {"p1": ("7157",), "p2": ("780",), "p4": ("999999",)}
    assert info["platform_stats"] == {
        "probes_total": 7,
        "mapped": 3,
        "multi_gene": 1,
        "control": 1,
        "unmapped": 1,
        "genes": 3,
        "unresolved": 1,
    }
    assert asked == [{"NM_000546", "X02469", "AB208856", "AA000001", "T00001"}]
    # genes missing from a stored gene reference are left out
    ref = GeneReference.from_files(9606, *files)
    pmap, _ = _map_table(table, ref, RefineOptions(multi="all"), "GPL1", 9606, lookup)
    assert pmap.genes == {"p1": ("7157",), "p2": ("780",), "p3": ("7157", "780")}
