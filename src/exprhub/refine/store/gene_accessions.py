"""The refinery's store of each organism's nucleotide accession -> NCBI gene links (from
``gene2accession``), used to map GenBank-keyed platform columns (``GB_ACC``, ``GB_LIST``).

One gzip file per organism, ``<hub>/genes/gene2accession.<tax_id>.tsv.gz``, holding sorted,
distinct ``accession<TAB>gene_id`` lines (accessions without version). A replacement is written
to a temporary file and renamed, so readers see the old or the new file, never a mix. Lookups
stream the file and keep only the accessions asked for.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from exprhub.hub.hub import Hub

__all__ = [
    "accession_counts",
    "accession_digest",
    "accession_path",
    "genes_for_accessions",
    "has_accessions",
    "replace_accessions",
]

_NAME = "gene2accession.{tax}.tsv.gz"


def accession_path(hub: Hub, tax_id: int) -> Path:
    """Where the hub keeps an organism's accession -> gene links."""
    return hub.home / "genes" / _NAME.format(tax=int(tax_id))


def has_accessions(hub: Hub, tax_id: int) -> bool:
    """Whether the hub holds accession -> gene links for ``tax_id``."""
    return accession_path(hub, tax_id).is_file()


def replace_accessions(hub: Hub, tax_id: int, pairs: Iterable[tuple[str, str]]) -> int:
    """Replace an organism's links by ``(accession, gene_id)`` pairs; return how many distinct
    pairs were stored."""
    path = accession_path(hub, tax_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = sorted({f"{acc}\t{gene}\n" for acc, gene in pairs if acc and gene})
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        # mtime=0: the same links give the same bytes, hence the same digest
        with (
            partial.open("wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as out,
        ):
            for start in range(0, len(lines), 65_536):
                out.write("".join(lines[start : start + 65_536]).encode())
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return len(lines)


def accession_digest(hub: Hub, tax_id: int) -> str:
    """SHA-256 of the stored links of ``tax_id`` (``"none"`` when there are none)."""
    path = accession_path(hub, tax_id)
    if not path.is_file():
        return "none"
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def genes_for_accessions(
    hub: Hub, tax_id: int, accessions: Collection[str]
) -> dict[str, tuple[str, ...]]:
    """Gene ids linked to each of ``accessions`` (version-less) that the hub knows."""
    path = accession_path(hub, tax_id)
    out: dict[str, list[str]] = {}
    if not path.is_file() or not accessions:
        return {}
    wanted = set(accessions)
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            acc, _, gene = line.rstrip("\n").partition("\t")
            if acc in wanted:
                out.setdefault(acc, []).append(gene)
    return {acc: tuple(genes) for acc, genes in out.items()}


def accession_counts(hub: Hub) -> dict[int, int]:
    """Stored accession -> gene links per tax id."""
    folder = hub.home / "genes"
    out: dict[int, int] = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob(_NAME.format(tax="*"))):
        tax = path.name.split(".")[1]
        if tax.isdigit():
            with gzip.open(path, "rb") as handle:
                out[int(tax)] = sum(1 for _ in handle)
    return out
