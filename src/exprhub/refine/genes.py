"""Gene reference per organism from NCBI ``gene_info``, ``gene2ensembl`` and ``gene2accession``.

The files are tab-separated with a ``#tax_id ...`` header line, optionally gzip-compressed, and
may hold every organism; readers stream and keep only the requested tax ids. In ``gene_info``,
``Synonyms`` and ``dbXrefs`` are ``|``-separated and ``-`` means none; Ensembl gene ids are taken
from both ``dbXrefs`` (``Ensembl:ENSG...``) and ``gene2ensembl``.

``gene2accession`` links GenBank / RefSeq nucleotide accessions to genes; its readers yield
accessions without their version (``NM_000014.6`` -> ``NM_000014``), skipping RefSeq
chromosome and contig records (``NC_``, ``NT_``, ``NW_``, ``AC_``, ``NZ_``), which span many genes.

Lookups (:meth:`GeneReference.resolve`) try, in order: the NCBI Gene id, an Ensembl gene id
(version stripped), the official symbol (exact, then case-insensitive), then a synonym when it
names exactly one gene. Ambiguous synonyms resolve to nothing.
"""

from __future__ import annotations

import gzip
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from exprhub.formats.errors import FormatError

__all__ = [
    "Gene",
    "GeneReference",
    "read_gene2accession",
    "read_gene2ensembl",
    "read_gene_info",
    "strip_accession_version",
]

_GENE_INFO_COLUMNS = ("tax_id", "GeneID", "Symbol", "Synonyms", "dbXrefs")
_GENE2ENSEMBL_COLUMNS = ("tax_id", "GeneID", "Ensembl_gene_identifier")
_GENE2ACCESSION_COLUMNS = (
    "tax_id",
    "GeneID",
    "RNA_nucleotide_accession.version",
    "genomic_nucleotide_accession.version",
)
_WHOLE_SEQUENCE_PREFIXES = ("NC_", "NT_", "NW_", "AC_", "NZ_")


@dataclass(frozen=True)
class Gene:
    """One NCBI gene."""

    gene_id: str
    symbol: str
    tax_id: int
    synonyms: tuple[str, ...] = ()
    ensembl_ids: tuple[str, ...] = ()
    description: str = ""
    type_of_gene: str = ""


def _open(path: Path) -> IO[str]:
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def _rows(
    path: Path, required: tuple[str, ...], tax_ids: set[int] | None = None
) -> Iterator[tuple[int, dict[str, str]]]:
    # whole-NCBI files hold every organism: skip other tax ids before splitting the line
    prefixes = tuple(f"{t}\t" for t in tax_ids) if tax_ids is not None else None
    with _open(path) as handle:
        header_line = handle.readline().rstrip("\r\n")
        if not header_line.startswith("#"):
            raise FormatError(path, 1, "expected a '#tax_id ...' header line")
        header = [h.strip() for h in header_line.lstrip("#").split("\t")]
        if len(header) == 1:  # old style: "#Format: tax_id GeneID ... (tab is used as ...)"
            tokens = header_line[1:].split()
            tokens = tokens[1:] if tokens and tokens[0] == "Format:" else tokens
            cut = next((i for i, t in enumerate(tokens) if t.startswith("(")), len(tokens))
            header = tokens[:cut]
        missing = [c for c in required if c not in header]
        if missing:
            raise FormatError(path, 1, f"header lacks column(s) {', '.join(missing)}")
        for lineno, line in enumerate(handle, start=2):
            if prefixes is not None and not line.startswith(prefixes):
                continue
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) < len(required):
                raise FormatError(path, lineno, f"expected {len(header)} fields, got {len(fields)}")
            yield lineno, dict(zip(header, fields, strict=False))


def _tax(path: Path, lineno: int, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise FormatError(path, lineno, f"expected an integer tax_id, got {value!r}") from None


def _list(value: str) -> tuple[str, ...]:
    return tuple(v for v in value.split("|") if v and v != "-")


def _strip_version(ensembl_id: str) -> str:
    return ensembl_id.split(".", 1)[0] if ensembl_id.startswith("ENS") else ensembl_id


def read_gene_info(path: str | Path, tax_ids: Collection[int] | None = None) -> Iterator[Gene]:
    """Stream the genes of an NCBI ``gene_info`` file (optionally only some tax ids).

    Raises
    ------
    FormatError
        On a missing header or column, or a malformed row (naming file and line).
    """
    path = Path(path)
    wanted = set(tax_ids) if tax_ids is not None else None
    for lineno, row in _rows(path, _GENE_INFO_COLUMNS, wanted):
        tax = _tax(path, lineno, row["tax_id"])
        if wanted is not None and tax not in wanted:
            continue
        ensembl = tuple(
            _strip_version(x.split(":", 1)[1])
            for x in _list(row.get("dbXrefs", "-"))
            if x.startswith("Ensembl:")
        )
        yield Gene(
            gene_id=row["GeneID"],
            symbol=row["Symbol"],
            tax_id=tax,
            synonyms=_list(row.get("Synonyms", "-")),
            ensembl_ids=ensembl,
            description="" if row.get("description", "-") == "-" else row.get("description", ""),
            type_of_gene=row.get("type_of_gene", ""),
        )


def read_gene2ensembl(
    path: str | Path, tax_ids: Collection[int] | None = None
) -> Iterator[tuple[int, str, str]]:
    """Stream ``(tax_id, gene_id, ensembl_gene_id)`` from NCBI ``gene2ensembl`` (deduplicated)."""
    path = Path(path)
    wanted = set(tax_ids) if tax_ids is not None else None
    seen: set[tuple[str, str]] = set()
    for lineno, row in _rows(path, _GENE2ENSEMBL_COLUMNS, wanted):
        tax = _tax(path, lineno, row["tax_id"])
        if wanted is not None and tax not in wanted:
            continue
        key = (row["GeneID"], _strip_version(row["Ensembl_gene_identifier"]))
        if key[1] in ("", "-") or key in seen:
            continue
        seen.add(key)
        yield tax, key[0], key[1]


def strip_accession_version(accession: str) -> str:
    """A nucleotide accession without its ``.version`` suffix (``NM_000014.6`` -> ``NM_000014``)."""
    return accession.strip().split(".", 1)[0]


def read_gene2accession(
    path: str | Path, tax_ids: Collection[int] | None = None
) -> Iterator[tuple[int, str, str]]:
    """Stream ``(tax_id, gene_id, accession)`` from NCBI ``gene2accession`` (or ``gene2refseq``).

    Accessions are the RNA and genomic nucleotide ones, version stripped; RefSeq chromosome /
    contig records are skipped (see the module rules). A pair repeated on consecutive lines
    (one line per protein of a transcript) is yielded once; others may repeat.

    Raises
    ------
    FormatError
        On a missing header or column, or a malformed row (naming file and line).
    """
    path = Path(path)
    wanted = set(tax_ids) if tax_ids is not None else None
    # a dedicated loop (no dict per row): NCBI's file has hundreds of millions of lines
    prefixes = tuple(f"{t}\t" for t in wanted) if wanted is not None else None
    with _open(path) as handle:
        header_line = handle.readline().rstrip("\r\n")
        header = [h.strip() for h in header_line.lstrip("#").split("\t")]
        if not header_line.startswith("#") or any(c not in header for c in _GENE2ACCESSION_COLUMNS):
            raise FormatError(path, 1, "expected a gene2accession '#tax_id\tGeneID...' header")
        i_gene = header.index("GeneID")
        i_rna = header.index(_GENE2ACCESSION_COLUMNS[2])
        i_genomic = header.index(_GENE2ACCESSION_COLUMNS[3])
        width = max(i_gene, i_rna, i_genomic) + 1
        last: set[str] = set()
        last_gene = ""
        taxes: dict[str, int] = {}
        for lineno, line in enumerate(handle, start=2):
            if prefixes is not None and not line.startswith(prefixes):
                continue
            if line.startswith("#") or not line.strip():
                continue
            # only the first `width` columns are read: the rest is left unsplit
            fields = line.rstrip("\r\n").split("\t", width)
            if len(fields) < width:
                raise FormatError(path, lineno, f"expected {len(header)} fields, got {len(fields)}")
            tax = taxes.get(fields[0])
            if tax is None:
                tax = taxes[fields[0]] = _tax(path, lineno, fields[0])
            gene_id = fields[i_gene]
            if gene_id != last_gene:
                last, last_gene = set(), gene_id
            for value in (fields[i_rna], fields[i_genomic]):
                if value in ("", "-") or value.startswith(_WHOLE_SEQUENCE_PREFIXES):
                    continue
                accession = strip_accession_version(value)
                if accession not in last:
                    last.add(accession)
                    yield tax, gene_id, accession


@dataclass
class GeneReference:
    """The genes of one organism, with lookups by id, symbol, synonym and Ensembl id."""

    tax_id: int
    genes: dict[str, Gene] = field(default_factory=dict)
    _by_symbol: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _by_symbol_ci: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _by_synonym: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _by_ensembl: dict[str, list[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_genes(cls, tax_id: int, genes: Iterable[Gene]) -> GeneReference:
        """Build from :class:`Gene` records (others' tax ids are ignored)."""
        ref = cls(tax_id)
        for gene in genes:
            if gene.tax_id == tax_id:
                ref.add(gene)
        return ref

    @classmethod
    def from_files(
        cls, tax_id: int, gene_info: str | Path, gene2ensembl: str | Path | None = None
    ) -> GeneReference:
        """Read one organism's genes from ``gene_info`` (and Ensembl ids from ``gene2ensembl``)."""
        ref = cls.from_genes(tax_id, read_gene_info(gene_info, [tax_id]))
        if gene2ensembl is not None:
            for _, gene_id, ensembl in read_gene2ensembl(gene2ensembl, [tax_id]):
                ref.add_ensembl(gene_id, ensembl)
        return ref

    def add(self, gene: Gene) -> None:
        """Add (or replace) a gene and index it."""
        if gene.gene_id in self.genes:
            raise ValueError(f"gene {gene.gene_id} listed twice")
        self.genes[gene.gene_id] = gene
        self._by_symbol.setdefault(gene.symbol, []).append(gene.gene_id)
        self._by_symbol_ci.setdefault(gene.symbol.upper(), []).append(gene.gene_id)
        for syn in gene.synonyms:
            self._by_synonym.setdefault(syn.upper(), []).append(gene.gene_id)
        for ens in gene.ensembl_ids:
            self._index_ensembl(gene.gene_id, ens)

    def _index_ensembl(self, gene_id: str, ensembl: str) -> None:
        ids = self._by_ensembl.setdefault(ensembl, [])
        if gene_id not in ids:
            ids.append(gene_id)

    def add_ensembl(self, gene_id: str, ensembl_id: str) -> None:
        """Attach an Ensembl gene id to a known gene (unknown genes are ignored)."""
        gene = self.genes.get(gene_id)
        if gene is None:
            return
        ensembl_id = _strip_version(ensembl_id)
        if ensembl_id not in gene.ensembl_ids:
            self.genes[gene_id] = Gene(
                gene.gene_id,
                gene.symbol,
                gene.tax_id,
                gene.synonyms,
                (*gene.ensembl_ids, ensembl_id),
                gene.description,
                gene.type_of_gene,
            )
        self._index_ensembl(gene_id, ensembl_id)

    def __len__(self) -> int:
        return len(self.genes)

    def __contains__(self, gene_id: object) -> bool:
        return gene_id in self.genes

    def get(self, gene_id: str) -> Gene | None:
        """The gene with this NCBI Gene id."""
        return self.genes.get(str(gene_id))

    def by_symbol(self, symbol: str) -> list[Gene]:
        """Genes whose official symbol is ``symbol`` (exact, else case-insensitive)."""
        ids = self._by_symbol.get(symbol) or self._by_symbol_ci.get(symbol.upper(), [])
        return [self.genes[i] for i in ids]

    def by_synonym(self, synonym: str) -> list[Gene]:
        """Genes listing ``synonym`` among their synonyms (case-insensitive)."""
        return [self.genes[i] for i in self._by_synonym.get(synonym.upper(), [])]

    def by_ensembl(self, ensembl_id: str) -> list[Gene]:
        """Genes linked to an Ensembl gene id (version ignored)."""
        return [self.genes[i] for i in self._by_ensembl.get(_strip_version(ensembl_id), [])]

    def resolve(self, identifier: str) -> str | None:
        """The NCBI Gene id an identifier names unambiguously, else None (see module rules)."""
        ident = identifier.strip()
        if not ident:
            return None
        if ident in self.genes:
            return ident
        for found in (self.by_ensembl(ident), self.by_symbol(ident), self.by_synonym(ident)):
            if len(found) == 1:
                return found[0].gene_id
            if len(found) > 1:
                return None
        return None

    def identifiers(self, kind: str = "entrez") -> set[str]:
        """All identifiers of one kind (``entrez``, ``symbol``, ``ensembl``, ``synonym``).

        Handy as the ``reference`` of :func:`exprhub.refine.mapping.detect_gene_column`.
        """
        if kind == "entrez":
            return set(self.genes)
        if kind == "symbol":
            return set(self._by_symbol)
        if kind == "ensembl":
            return set(self._by_ensembl)
        if kind == "synonym":
            return {s for g in self.genes.values() for s in g.synonyms}
        raise ValueError(f"kind must be entrez, symbol, ensembl or synonym, got {kind!r}")
