"""Write NCBI ``gene_info``, ``gene2ensembl`` and ``gene2accession`` files from Bioconductor's
org.Hs.eg.db (Debian package ``r-bioc-org.hs.eg.db``).

org.Hs.eg.db is built from NCBI Gene's files and ships them as one SQLite database: Entrez ids,
symbols, synonyms, descriptions, gene types, chromosomes and bands, OMIM and Ensembl ids,
GenBank and RefSeq accessions. This script turns them back into NCBI's file formats (the header
lines and column order of ``ftp.ncbi.nlm.nih.gov/gene/DATA``), so that tests exercise the
readers on real human gene data without the internet. What org.Hs.eg.db does not keep is
written as NCBI writes a missing value, ``-``: GI numbers, RefSeq status, genomic positions,
and accession versions (org.Hs.eg.db stores accessions without them). Accessions are written
one per line: nucleotide ones (GenBank, RefSeq ``NM_``/``NR_``/``XM_``/``XR_``/``NG_``) in the
RNA column, protein ones (GenBank ``AAA12345``, RefSeq ``NP_``/``XP_``) in the protein column.

Usage::

    python tests/reference/make_ncbi_gene_files.py OUT_DIR [--sqlite PATH]
"""

from __future__ import annotations

import argparse
import gzip
import io
import re
import sqlite3
from pathlib import Path

ORG_HS_SQLITE = Path("/usr/lib/R/site-library/org.Hs.eg.db/extdata/org.Hs.eg.sqlite")
TAX_ID = 9606

GENE_INFO_HEADER = (
    "#tax_id\tGeneID\tSymbol\tLocusTag\tSynonyms\tdbXrefs\tchromosome\tmap_location\t"
    "description\ttype_of_gene\tSymbol_from_nomenclature_authority\t"
    "Full_name_from_nomenclature_authority\tNomenclature_status\tOther_designations\t"
    "Modification_date\tFeature_type"
)
GENE2ENSEMBL_HEADER = (
    "#tax_id\tGeneID\tEnsembl_gene_identifier\tRNA_nucleotide_accession.version\t"
    "Ensembl_rna_identifier\tprotein_accession.version\tEnsembl_protein_identifier"
)
GENE2ACCESSION_HEADER = (
    "#tax_id\tGeneID\tstatus\tRNA_nucleotide_accession.version\tRNA_nucleotide_gi\t"
    "protein_accession.version\tprotein_gi\tgenomic_nucleotide_accession.version\t"
    "genomic_nucleotide_gi\tstart_position_on_the_genomic_accession\t"
    "end_position_on_the_genomic_accession\torientation\tassembly\t"
    "mature_peptide_accession.version\tmature_peptide_gi\tSymbol"
)

_GENBANK_PROTEIN = re.compile(r"^[A-Z]{3}\d{5}(?:\d{2})?$")
_REFSEQ_PROTEIN = ("NP_", "XP_", "YP_", "WP_", "AP_")


def _is_protein(accession: str) -> bool:
    return accession.startswith(_REFSEQ_PROTEIN) or bool(_GENBANK_PROTEIN.match(accession))


def _grouped(connection: sqlite3.Connection, query: str) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for key, value in connection.execute(query):
        out.setdefault(key, []).append(value)
    return out


def write_ncbi_gene_files(out_dir: Path, sqlite_path: Path = ORG_HS_SQLITE) -> dict[str, Path]:
    """Write ``Homo_sapiens.gene_info.gz``, ``gene2ensembl.gz`` and ``gene2accession.gz``
    into ``out_dir``; return their paths by kind."""
    out_dir.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    try:
        date = dict(connection.execute("SELECT name, value FROM metadata"))["EGSOURCEDATE"]
        modified = _ncbi_date(date)
        genes = connection.execute(
            "SELECT g._id, g.gene_id, i.symbol, i.gene_name FROM genes g "
            "JOIN gene_info i ON i._id = g._id ORDER BY CAST(g.gene_id AS INTEGER)"
        ).fetchall()
        aliases = _grouped(connection, "SELECT _id, alias_symbol FROM alias ORDER BY rowid")
        ensembl = _grouped(connection, "SELECT _id, ensembl_id FROM ensembl ORDER BY rowid")
        ncbi2ensembl = _grouped(
            connection, "SELECT _id, ensembl_id FROM ncbi2ensembl ORDER BY rowid"
        )
        omim = _grouped(connection, "SELECT _id, omim_id FROM omim ORDER BY rowid")
        chromosomes = _grouped(connection, "SELECT _id, chromosome FROM chromosomes")
        bands = _grouped(connection, "SELECT _id, cytogenetic_location FROM cytogenetic_locations")
        types = dict(connection.execute("SELECT _id, gene_type FROM genetype"))
        accessions = _grouped(connection, "SELECT _id, accession FROM accessions ORDER BY rowid")
        refseq = _grouped(connection, "SELECT _id, accession FROM refseq ORDER BY rowid")
    finally:
        connection.close()
    paths = {
        "gene_info": out_dir / "Homo_sapiens.gene_info.gz",
        "gene2ensembl": out_dir / "gene2ensembl.gz",
        "gene2accession": out_dir / "gene2accession.gz",
    }
    with (
        _text_gzip(paths["gene_info"]) as info,
        _text_gzip(paths["gene2ensembl"]) as g2e,
        _text_gzip(paths["gene2accession"]) as g2a,
    ):
        info.write(GENE_INFO_HEADER + "\n")
        g2e.write(GENE2ENSEMBL_HEADER + "\n")
        g2a.write(GENE2ACCESSION_HEADER + "\n")
        for _id, gene_id, symbol, name in genes:
            synonyms = [a for a in aliases.get(_id, []) if a != symbol]
            xrefs = [f"MIM:{m}" for m in omim.get(_id, [])]
            xrefs += [f"Ensembl:{e}" for e in ensembl.get(_id, [])]
            chromosome = "|".join(chromosomes.get(_id, [])) or "-"
            info.write(
                "\t".join(
                    [
                        str(TAX_ID),
                        gene_id,
                        symbol,
                        "-",
                        "|".join(synonyms) or "-",
                        "|".join(xrefs) or "-",
                        chromosome,
                        "|".join(bands.get(_id, [])) or "-",
                        name or "-",
                        types.get(_id, "unknown"),
                        "-",
                        "-",
                        "-",
                        "-",
                        modified,
                        "-",
                    ]
                )
                + "\n"
            )
            for ens in ncbi2ensembl.get(_id, []):
                g2e.write(f"{TAX_ID}\t{gene_id}\t{ens}\t-\t-\t-\t-\n")
            for acc in accessions.get(_id, []) + refseq.get(_id, []):
                rna, protein = ("-", acc) if _is_protein(acc) else (acc, "-")
                fields = [str(TAX_ID), gene_id, "-", rna, "-", protein, "-"]
                fields += ["-"] * 8 + [symbol]
                g2a.write("\t".join(fields) + "\n")
    return paths


def _text_gzip(path: Path) -> io.TextIOWrapper:
    # mtime=0: the same database gives the same bytes; level 1: fast enough to write per test run
    raw = gzip.GzipFile(path, "wb", compresslevel=1, mtime=0)
    return io.TextIOWrapper(raw, encoding="utf-8", newline="\n")


def _ncbi_date(text: str) -> str:
    """``2022-Sep12`` -> ``20220912`` (NCBI's Modification_date form)."""
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    match = re.fullmatch(r"(\d{4})-([A-Za-z]{3})(\d{1,2})", text)
    if match is None:
        return "-"
    year, month, day = match.groups()
    return f"{year}{months.index(month.title()) + 1:02d}{int(day):02d}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--sqlite", type=Path, default=ORG_HS_SQLITE)
    args = parser.parse_args()
    for kind, path in write_ncbi_gene_files(args.out_dir, args.sqlite).items():
        print(f"{kind}: {path}")


if __name__ == "__main__":
    main()
