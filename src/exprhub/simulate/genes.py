"""A small, deterministic catalogue of simulated genes for the GEO simulator.

Every organism has the same gene list: gene ``i`` of Homo sapiens and gene ``i`` of Mus musculus
are orthologs (``BAKE3`` / ``Bake3``). Identifiers live in ranges that real databases do not use
(Entrez ids from 900,000,001 for human and 910,000,001 for mouse; Ensembl ids whose numeric part
starts with 9; RefSeq ``NM_9...``), so simulated and real records can share a hub without mixing.
The catalogue is prefix-stable: ``gene_catalogue(org, 100)`` is the first 100 genes of
``gene_catalogue(org, 200)``, and it does not depend on the simulation seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from exprhub.simulate.output import open_output

__all__ = [
    "ORGANISMS",
    "Gene",
    "OrganismInfo",
    "gene_catalogue",
    "write_gene2ensembl",
    "write_gene_info",
]


@dataclass(frozen=True)
class OrganismInfo:
    """Fixed facts about a simulated organism."""

    name: str
    taxid: int
    common: str
    entrez_base: int
    gene_prefix: str
    transcript_prefix: str
    protein_prefix: str
    refseq_base: int
    chromosomes: tuple[str, ...]
    genome_build: str


ORGANISMS: dict[str, OrganismInfo] = {
    "Homo sapiens": OrganismInfo(
        "Homo sapiens",
        9606,
        "human",
        900_000_000,
        "ENSG9",
        "ENST9",
        "ENSP9",
        900_000_000,
        tuple([str(i) for i in range(1, 23)] + ["X", "Y"]),
        "GRCh38.p13",
    ),
    "Mus musculus": OrganismInfo(
        "Mus musculus",
        10090,
        "mouse",
        910_000_000,
        "ENSMUSG9",
        "ENSMUST9",
        "ENSMUSP9",
        910_000_000,
        tuple([str(i) for i in range(1, 20)] + ["X", "Y"]),
        "GRCm39",
    ),
}

_CONSONANTS = "BDFGHKLMNPRSTVZ"
_VOWELS = "AEIOU"
_SYLLABLES = len(_CONSONANTS) * len(_VOWELS)
_TIERS = ((2, _SYLLABLES**2 * 9), (3, _SYLLABLES**3 * 9), (4, _SYLLABLES**4 * 9))
_STRIDE = 7919  # prime, coprime with every tier size: a bijective scramble of indices
_NAME_A = (
    "solute carrier",
    "transmembrane",
    "zinc finger",
    "kinase",
    "ribosomal",
    "keratin",
    "cadherin",
    "RAS oncogene",
    "coiled-coil domain",
    "leucine rich repeat",
    "WD repeat",
    "ankyrin repeat",
    "family with sequence similarity",
    "protein phosphatase",
    "ubiquitin",
)
_NAME_B = (
    "protein",
    "family member",
    "domain containing",
    "associated factor",
    "regulator",
    "binding protein",
    "subunit",
    "receptor",
    "like protein",
    "interacting protein",
)


@dataclass(frozen=True)
class Gene:
    """One simulated gene with its identifiers in NCBI and Ensembl style."""

    index: int
    organism: str
    symbol: str
    entrez_id: int
    ensembl_id: str
    name: str
    chromosome: str
    refseq: str
    transcript: str
    protein: str
    refseq_protein: str


def _symbol(index: int) -> str:
    start = 0
    for syllables, size in _TIERS:
        if index < start + size:
            code = ((index - start) * _STRIDE + 11) % size
            digit = code % 9 + 1
            code //= 9
            parts = []
            for _ in range(syllables):
                code, syl = divmod(code, _SYLLABLES)
                parts.append(_CONSONANTS[syl // len(_VOWELS)] + _VOWELS[syl % len(_VOWELS)])
            return "".join(parts) + str(digit)
        start += size
    raise ValueError(f"gene index {index} is beyond the simulated catalogue")


def _gene(info: OrganismInfo, index: int) -> Gene:
    base = _symbol(index)
    symbol = base if info.taxid == 9606 else base[0] + base[1:].lower()
    number = index + 1
    code = (index * _STRIDE) % 997
    name = f"{_NAME_A[code % len(_NAME_A)]} {_NAME_B[code // 7 % len(_NAME_B)]} {code % 40 + 1}"
    return Gene(
        index=index,
        organism=info.name,
        symbol=symbol,
        entrez_id=info.entrez_base + number,
        ensembl_id=f"{info.gene_prefix}{number:010d}",
        name=name,
        chromosome=info.chromosomes[code % len(info.chromosomes)],
        refseq=f"NM_{info.refseq_base + number}",
        transcript=f"{info.transcript_prefix}{number:010d}",
        protein=f"{info.protein_prefix}{number:010d}",
        refseq_protein=f"NP_{info.refseq_base + number}",
    )


def organism_info(organism: str) -> OrganismInfo:
    """Facts for a simulated organism (``Homo sapiens`` or ``Mus musculus``).

    Raises
    ------
    ValueError
        For an organism the simulator does not know.
    """
    try:
        return ORGANISMS[organism]
    except KeyError:
        known = ", ".join(ORGANISMS)
        raise ValueError(f"unknown organism {organism!r}; expected one of: {known}") from None


@lru_cache(maxsize=8)
def _catalogue(organism: str, n: int) -> tuple[Gene, ...]:
    info = organism_info(organism)
    return tuple(_gene(info, i) for i in range(n))


def gene_catalogue(organism: str, n: int) -> list[Gene]:
    """The first ``n`` simulated genes of ``organism``.

    Parameters
    ----------
    organism
        ``Homo sapiens`` or ``Mus musculus``.
    n
        Number of genes.

    Returns
    -------
    list[Gene]
        Genes with unique symbols, Entrez ids and Ensembl ids; independent of any seed.
    """
    if n < 0:
        raise ValueError(f"gene count must be >= 0, got {n}")
    return list(_catalogue(organism, n))


def _write_lines(path: str | Path, lines: list[str]) -> None:
    with open_output(path) as stream:
        stream.write(("\n".join(lines) + "\n").encode("utf-8"))


def _organisms(organism: str | Sequence[str]) -> list[str]:
    return [organism] if isinstance(organism, str) else list(organism)


def write_gene_info(path: str | Path, organism: str | Sequence[str], n: int) -> int:
    """Write an NCBI ``gene_info`` file for the first ``n`` simulated genes.

    Parameters
    ----------
    path
        Target file; gzip-compressed when the name ends in ``.gz``.
    organism
        One organism or several (rows of each, in the order given).
    n
        Genes per organism.

    Returns
    -------
    int
        Number of gene rows written.
    """
    lines = [
        "#tax_id\tGeneID\tSymbol\tLocusTag\tSynonyms\tdbXrefs\tchromosome\tmap_location\t"
        "description\ttype_of_gene\tSymbol_from_nomenclature_authority\t"
        "Full_name_from_nomenclature_authority\tNomenclature_status\tOther_designations\t"
        "Modification_date\tFeature_type"
    ]
    for name in _organisms(organism):
        info = organism_info(name)
        authority = "HGNC:HGNC" if info.taxid == 9606 else "MGI:MGI"
        for gene in gene_catalogue(name, n):
            band = f"{gene.chromosome}q{gene.index % 30 + 11}.{gene.index % 3 + 1}"
            xrefs = f"{authority}:{900000 + gene.index + 1}|Ensembl:{gene.ensembl_id}"
            lines.append(
                f"{info.taxid}\t{gene.entrez_id}\t{gene.symbol}\t-\t{gene.symbol}L|"
                f"SIM{gene.index + 1}\t{xrefs}\t{gene.chromosome}\t{band}\t{gene.name}\t"
                f"protein-coding\t{gene.symbol}\t{gene.name}\tO\t{gene.name} isoform 1\t"
                "20240101\t-"
            )
    _write_lines(path, lines)
    return len(lines) - 1


def write_gene2ensembl(path: str | Path, organism: str | Sequence[str], n: int) -> int:
    """Write an NCBI ``gene2ensembl`` file for the first ``n`` simulated genes.

    Parameters
    ----------
    path
        Target file; gzip-compressed when the name ends in ``.gz``.
    organism
        One organism or several.
    n
        Genes per organism.

    Returns
    -------
    int
        Number of rows written (one transcript per gene).
    """
    lines = [
        "#tax_id\tGeneID\tEnsembl_gene_identifier\tRNA_nucleotide_accession.version\t"
        "Ensembl_rna_identifier\tprotein_accession.version\tEnsembl_protein_identifier"
    ]
    for name in _organisms(organism):
        info = organism_info(name)
        for gene in gene_catalogue(name, n):
            lines.append(
                f"{info.taxid}\t{gene.entrez_id}\t{gene.ensembl_id}\t{gene.refseq}.1\t"
                f"{gene.transcript}.1\t{gene.refseq_protein}.1\t{gene.protein}.1"
            )
    _write_lines(path, lines)
    return len(lines) - 1
