"""The refinery's gene references: organisms and their NCBI tax ids, importing NCBI
``gene_info`` / ``gene2ensembl`` / ``gene2accession`` files into the hub, and an organism's
:class:`~exprhub.refine.genes.GeneReference` built from the genes stored there.

The genes are rows of the hub's ``genes`` table (:mod:`exprhub.hub.refinery_tables`); the
accession links are files of the refinery (:mod:`exprhub.refine.store.gene_accessions`).
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Sequence
from pathlib import Path

from exprhub.formats.errors import FormatError
from exprhub.hub import Hub
from exprhub.hub.refinery_tables import GeneRow, gene_rows, replace_genes
from exprhub.refine.genes import (
    Gene,
    GeneReference,
    read_gene2accession,
    read_gene2ensembl,
    read_gene_info,
)
from exprhub.refine.store import gene_accessions

__all__ = [
    "ORGANISM_TAX_IDS",
    "gene_reference",
    "genes_fetch_command",
    "import_gene_accessions",
    "import_genes",
    "ncbi_file_kind",
    "organism_name",
    "reference_digest",
    "tax_id_for",
]

#: Tax ids of common organisms, used when a record names its organism but not its tax id.
ORGANISM_TAX_IDS: dict[str, int] = {
    "homo sapiens": 9606,
    "mus musculus": 10090,
    "rattus norvegicus": 10116,
    "danio rerio": 7955,
    "drosophila melanogaster": 7227,
    "caenorhabditis elegans": 6239,
    "saccharomyces cerevisiae": 4932,
    "arabidopsis thaliana": 3702,
    "bos taurus": 9913,
    "sus scrofa": 9823,
    "gallus gallus": 9031,
    "macaca mulatta": 9544,
    "canis lupus familiaris": 9615,
    "xenopus laevis": 8355,
    "escherichia coli": 562,
}


def tax_id_for(organism: str | None) -> int | None:
    """NCBI tax id of a (common) organism name, else None."""
    if not organism:
        return None
    return ORGANISM_TAX_IDS.get(" ".join(organism.lower().split()))


def import_genes(
    hub: Hub,
    gene_info: Sequence[str],
    gene2ensembl: Sequence[str] = (),
    tax_ids: Sequence[int] | None = None,
) -> dict[int, int]:
    """Import NCBI ``gene_info`` (and ``gene2ensembl``) files; each organism found replaces
    that organism's stored NCBI genes. Returns genes stored per tax id."""
    by_tax: dict[int, dict[str, Gene]] = {}
    for path in gene_info:
        for gene in read_gene_info(path, tax_ids):
            by_tax.setdefault(gene.tax_id, {})[gene.gene_id] = gene
    extra: dict[tuple[int, str], list[str]] = {}
    for path in gene2ensembl:
        for tax, gene_id, ensembl in read_gene2ensembl(path, tax_ids):
            extra.setdefault((tax, gene_id), []).append(ensembl)
    out: dict[int, int] = {}
    with hub.writer() as writer:
        for tax, genes in sorted(by_tax.items()):
            rows = []
            for g in genes.values():
                ens = list(g.ensembl_ids)
                ens += [e for e in extra.get((tax, g.gene_id), []) if e not in ens]
                rows.append(
                    GeneRow(
                        tax,
                        g.gene_id,
                        g.symbol,
                        g.synonyms,
                        tuple(ens),
                        g.description,
                        g.type_of_gene,
                        "gene_info",
                    )
                )
            out[tax] = replace_genes(writer, tax, rows)
    return out


def import_gene_accessions(
    hub: Hub, gene2accession: Sequence[str], tax_ids: Sequence[int] | None = None
) -> dict[int, int]:
    """Import NCBI ``gene2accession`` files; each organism found replaces that organism's
    stored accession -> gene links. Returns distinct links stored per tax id."""
    by_tax: dict[int, set[tuple[str, str]]] = {}
    for path in gene2accession:
        for tax, gene_id, accession in read_gene2accession(path, tax_ids):
            by_tax.setdefault(tax, set()).add((accession, gene_id))
    return {
        tax: gene_accessions.replace_accessions(hub, tax, pairs)
        for tax, pairs in sorted(by_tax.items())
    }


def ncbi_file_kind(path: str | Path) -> str:
    """``"gene_info"``, ``"gene2ensembl"`` or ``"gene2accession"``, from the file's header.

    Raises
    ------
    FormatError
        When the header is neither.
    """
    path = Path(path)
    with path.open("rb") as raw:
        magic = raw.read(2)
    opener = gzip.open if magic == b"\x1f\x8b" else open
    with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
        header = handle.readline()
    if "Ensembl_gene_identifier" in header:
        return "gene2ensembl"
    if "RNA_nucleotide_accession" in header and "GeneID" in header:
        return "gene2accession"
    if "Symbol" in header and "GeneID" in header:
        return "gene_info"
    raise FormatError(
        path, 1, "expected an NCBI gene_info, gene2ensembl or gene2accession header line"
    )


def gene_reference(hub: Hub, tax_id: int, *, ncbi_only: bool = True) -> GeneReference | None:
    """The organism's gene reference from the hub (None when no NCBI genes are stored)."""
    rows = gene_rows(hub, tax_id, source="gene_info" if ncbi_only else None)
    if not rows:
        return None
    return GeneReference.from_genes(
        tax_id,
        (
            Gene(
                r.gene_id,
                r.symbol,
                tax_id,
                r.synonyms,
                r.ensembl_ids,
                r.description,
                r.type_of_gene,
            )
            for r in rows
        ),
    )


def reference_digest(ref: GeneReference | None) -> str:
    """SHA-256 of a gene reference's ids, symbols, synonyms and Ensembl ids (``"none"`` for
    no reference): refined values depend on it, so it enters the input checksum."""
    if ref is None:
        return "none"
    h = hashlib.sha256()
    for gene_id in sorted(ref.genes):
        g = ref.genes[gene_id]
        h.update(
            f"{gene_id}\t{g.symbol}\t{'|'.join(g.synonyms)}\t{'|'.join(g.ensembl_ids)}\n".encode()
        )
    return h.hexdigest()


def organism_name(tax_id: int | None) -> str | None:
    """The organism name of a tax id in ``ORGANISM_TAX_IDS`` (``"Homo sapiens"``), else None."""
    for name, tax in ORGANISM_TAX_IDS.items():
        if tax == tax_id:
            return name[0].upper() + name[1:]
    return None


def genes_fetch_command(tax_id: int | None) -> str:
    """The command that downloads and imports an organism's NCBI gene reference."""
    name = organism_name(tax_id)
    return f'exprhub genes fetch "{name}"' if name else f"exprhub genes fetch {tax_id}"
