"""Hub storage of genes: each organism's gene reference (NCBI gene_info, platform annotations).

Rows of the ``genes`` table, one per gene and tax id; the refinery (:mod:`exprhub.refine`)
maps probes and transcripts to these genes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select

from exprhub.hub import schema as s

if TYPE_CHECKING:
    from exprhub.hub.hub import Hub
    from exprhub.hub.writer import HubWriter

__all__ = [
    "ORGANISM_TAX_IDS",
    "GeneRow",
    "add_platform_genes",
    "gene_counts",
    "gene_rows",
    "gene_symbols",
    "replace_genes",
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

_INSERT_CHUNK = 5_000


def tax_id_for(organism: str | None) -> int | None:
    """NCBI tax id of a (common) organism name, else None."""
    if not organism:
        return None
    return ORGANISM_TAX_IDS.get(" ".join(organism.lower().split()))


@dataclass(frozen=True)
class GeneRow:
    """One gene of an organism as stored in the hub."""

    tax_id: int
    gene_id: str
    symbol: str
    synonyms: tuple[str, ...] = ()
    ensembl_ids: tuple[str, ...] = ()
    description: str = ""
    type_of_gene: str = ""
    source: str = "gene_info"

    def as_row(self) -> dict[str, Any]:
        """Column values for the ``genes`` table."""
        return {
            "tax_id": self.tax_id,
            "gene_id": self.gene_id,
            "symbol": self.symbol[:255],
            "synonyms": "|".join(self.synonyms),
            "ensembl_ids": "|".join(self.ensembl_ids),
            "description": self.description,
            "type_of_gene": self.type_of_gene[:64],
            "source": self.source[:255],
        }


def _split(text: str) -> tuple[str, ...]:
    return tuple(x for x in text.split("|") if x)


def replace_genes(writer: HubWriter, tax_id: int, rows: Iterable[GeneRow]) -> int:
    """Replace every stored gene of ``tax_id`` by ``rows``; return how many were stored."""
    connection = writer.connection
    connection.execute(delete(s.genes).where(s.genes.c.tax_id == tax_id))
    n = 0
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row.as_row())
        if len(chunk) >= _INSERT_CHUNK:
            connection.execute(insert(s.genes), chunk)
            n += len(chunk)
            chunk = []
    if chunk:
        connection.execute(insert(s.genes), chunk)
        n += len(chunk)
    return n


def add_platform_genes(writer: HubWriter, tax_id: int, rows: Iterable[GeneRow]) -> int:
    """Add genes named by a platform annotation that the hub does not know yet."""
    connection = writer.connection
    known = set(
        connection.execute(select(s.genes.c.gene_id).where(s.genes.c.tax_id == tax_id)).scalars()
    )
    new = []
    for row in rows:
        if row.gene_id not in known:
            known.add(row.gene_id)
            new.append(row.as_row())
    for i in range(0, len(new), _INSERT_CHUNK):
        connection.execute(insert(s.genes), new[i : i + _INSERT_CHUNK])
    return len(new)


def gene_rows(hub: Hub, tax_id: int, *, source: str | None = None) -> list[GeneRow]:
    """Stored genes of an organism (optionally only those from one source)."""
    query = select(s.genes).where(s.genes.c.tax_id == tax_id).order_by(s.genes.c.gene_id)
    if source is not None:
        query = query.where(s.genes.c.source == source)
    with hub.engine.connect() as connection:
        return [
            GeneRow(
                r.tax_id,
                r.gene_id,
                r.symbol,
                _split(r.synonyms),
                _split(r.ensembl_ids),
                r.description,
                r.type_of_gene,
                r.source,
            )
            for r in connection.execute(query)
        ]


def gene_counts(hub: Hub) -> dict[int, dict[str, int]]:
    """Number of stored genes per tax id and source."""
    out: dict[int, dict[str, int]] = {}
    with hub.engine.connect() as connection:
        for tax, source, n in connection.execute(
            select(s.genes.c.tax_id, s.genes.c.source, func.count()).group_by(
                s.genes.c.tax_id, s.genes.c.source
            )
        ):
            out.setdefault(int(tax), {})[source] = int(n)
    return out


def gene_symbols(hub: Hub, tax_id: int) -> dict[str, str]:
    """Gene id -> symbol for an organism."""
    with hub.engine.connect() as connection:
        return {
            g: sym
            for g, sym in connection.execute(
                select(s.genes.c.gene_id, s.genes.c.symbol).where(s.genes.c.tax_id == tax_id)
            )
        }
