"""Download an organism's NCBI gene tables from NCBI's public HTTPS layout, then import them.

Where files live (relative to the base URL, default ``https://ftp.ncbi.nlm.nih.gov``)::

    gene/DATA/GENE_INFO/Mammalia/Homo_sapiens.gene_info.gz    (one organism)
    gene/DATA/GENE_INFO/Mammalia/All_Mammalia.gene_info.gz    (a kingdom; when the organism
                                                              has no file of its own)
    gene/DATA/gene_info.gz                                    (every organism; last resort)
    gene/DATA/GENE_INFO/<Kingdom>/<Genus_species>.gene_info.gz (an organism exprhub does not
                                                              know by name: every kingdom is
                                                              tried, the tax id read from it)
    gene/DATA/gene2ensembl.gz                                 (every organism)
    gene/DATA/gene2accession.gz                               (every organism, several GB)

Downloads go through :class:`exprhub.transfer.download.Downloader`: retried, resumed with HTTP
ranges after a broken connection (also across runs: a ``.part`` file is continued), checked
against the announced size and the gzip CRC-32 of every member, and their SHA-256 is reported.
Files holding every organism are streamed and filtered to the organism while importing, never
held in memory; only the organism's rows are.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exprhub.hub import Hub
from exprhub.refine.genes import read_gene_info
from exprhub.refine.store.genes import ORGANISM_TAX_IDS, import_gene_accessions, import_genes
from exprhub.transfer.download import (
    DEFAULT_BASE_URL,
    Downloader,
    NotOnServer,
    ProgressCallback,
    RemoteFile,
)

__all__ = [
    "NCBI_GENE_KINGDOMS",
    "NCBI_KINGDOMS",
    "GeneFetchReport",
    "fetch_genes",
    "gene_info_candidates",
    "resolve_organism",
]

GENE_DATA = "gene/DATA"

#: NCBI's GENE_INFO folder of each organism of ``ORGANISM_TAX_IDS`` (by tax id).
NCBI_GENE_KINGDOMS: dict[int, str] = {
    9606: "Mammalia",
    10090: "Mammalia",
    10116: "Mammalia",
    9913: "Mammalia",
    9823: "Mammalia",
    9544: "Mammalia",
    9615: "Mammalia",
    7955: "Non-mammalian_vertebrates",
    9031: "Non-mammalian_vertebrates",
    8355: "Non-mammalian_vertebrates",
    7227: "Invertebrates",
    6239: "Invertebrates",
    4932: "Fungi",
    3702: "Plants",
    562: "Archaea_Bacteria",
}


#: NCBI's GENE_INFO folders, tried in this order for an organism exprhub does not know.
NCBI_KINGDOMS = (
    "Mammalia",
    "Non-mammalian_vertebrates",
    "Invertebrates",
    "Plants",
    "Fungi",
    "Protozoa",
    "Archaea_Bacteria",
    "Viruses",
    "Plasmids",
)

_ORGANISM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9 ._-]*")


def resolve_organism(organism: str) -> tuple[int | None, str | None]:
    """``(tax_id, organism name)`` of a tax id or an organism name; the tax id is None for a
    name exprhub does not know (NCBI's file of that name tells it), the name None for a tax id
    it does not know.

    Raises
    ------
    ValueError
        For text that is neither a tax id nor an organism name.
    """
    text = " ".join(organism.split())
    if text.isdigit():
        tax = int(text)
        names = [n for n, t in ORGANISM_TAX_IDS.items() if t == tax]
        return tax, (names[0][0].upper() + names[0][1:]) if names else None
    if not _ORGANISM_NAME.fullmatch(text):
        raise ValueError(f"expected an organism name or NCBI tax id, got {organism!r}")
    name = text[0].upper() + text[1:].lower()
    return ORGANISM_TAX_IDS.get(text.lower()), name


def gene_info_candidates(tax_id: int | None, name: str | None) -> list[str]:
    """Paths (below the base URL) that may hold the organism's ``gene_info``, best first:
    its own file, its kingdom's, then NCBI's file of every organism; for an organism known
    only by name, a file of that name in each kingdom."""
    if tax_id is None:
        stem = (name or "").replace(" ", "_")
        return [f"{GENE_DATA}/GENE_INFO/{k}/{stem}.gene_info.gz" for k in NCBI_KINGDOMS]
    out = []
    kingdom = NCBI_GENE_KINGDOMS.get(tax_id)
    if kingdom is not None:
        if name is not None:
            out.append(f"{GENE_DATA}/GENE_INFO/{kingdom}/{name.replace(' ', '_')}.gene_info.gz")
        out.append(f"{GENE_DATA}/GENE_INFO/{kingdom}/All_{kingdom}.gene_info.gz")
    out.append(f"{GENE_DATA}/gene_info.gz")
    return out


@dataclass
class GeneFetchReport:
    """What ``genes fetch`` downloaded and imported for one organism."""

    tax_id: int | None
    organism: str | None
    files: list[dict[str, Any]] = field(default_factory=list)
    genes: int = 0
    accessions: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "tax_id": self.tax_id,
            "organism": self.organism,
            "genes": self.genes,
            "accessions": self.accessions,
            "files": self.files,
        }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def fetch_genes(
    hub: Hub,
    organism: str,
    *,
    base_url: str = DEFAULT_BASE_URL,
    accessions: bool = True,
    progress: ProgressCallback | None = None,
    keep_downloads: bool = False,
) -> GeneFetchReport:
    """Download an organism's ``gene_info``, ``gene2ensembl`` and (with ``accessions``)
    ``gene2accession`` from NCBI and import them (replacing the organism's stored genes and
    accession links).

    Raises
    ------
    ValueError
        For an organism name NCBI has no ``gene_info`` file of, or a file without its genes.
    FetchError
        When a file cannot be downloaded (nothing is imported then).
    """
    tax_id, name = resolve_organism(organism)
    downloader = Downloader(base_url, hub.home / "downloads" / "ncbi-gene", progress=progress)
    report = GeneFetchReport(tax_id, name)
    local: dict[str, Path] = {}
    try:
        candidates = gene_info_candidates(tax_id, name)
        for i, path in enumerate(candidates):
            try:
                local["gene_info"] = _download(downloader, path, report)
                break
            except NotOnServer:
                if i < len(candidates) - 1:
                    continue
                if tax_id is None:
                    raise ValueError(
                        f"NCBI has no gene_info file for {name!r} in any kingdom folder; "
                        "give the organism's NCBI tax id"
                    ) from None
                raise
        if tax_id is None:  # a per-organism file: its rows name the tax id
            first = next(read_gene_info(local["gene_info"]), None)
            if first is None:
                raise ValueError(f"{report.files[0]['url']} lists no gene")
            tax_id = report.tax_id = first.tax_id
        local["gene2ensembl"] = _download(downloader, f"{GENE_DATA}/gene2ensembl.gz", report)
        if accessions:
            local["gene2accession"] = _download(
                downloader, f"{GENE_DATA}/gene2accession.gz", report
            )
        counts = import_genes(
            hub, [str(local["gene_info"])], [str(local["gene2ensembl"])], [tax_id]
        )
        report.genes = counts.get(tax_id, 0)
        if not report.genes:
            raise ValueError(f"{report.files[0]['url']} lists no gene of tax {tax_id}")
        if accessions:
            links = import_gene_accessions(hub, [str(local["gene2accession"])], [tax_id])
            report.accessions = links.get(tax_id, 0)
    finally:
        if not keep_downloads:
            for downloaded in local.values():
                downloaded.unlink(missing_ok=True)
    return report


def _download(downloader: Downloader, path: str, report: GeneFetchReport) -> Path:
    name = path.rsplit("/", 1)[-1]
    local = downloader.download(RemoteFile(path, name))
    report.files.append(
        {
            "url": downloader.url(path),
            "size": local.stat().st_size,
            "sha256": _sha256(local),
        }
    )
    return local
