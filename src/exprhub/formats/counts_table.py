"""Genes x samples tables of RNA-seq counts or TPM: the NCBI-generated tables GEO publishes
for human and mouse series (``GSE1_raw_counts_GRCh38.p13_NCBI.tsv.gz``,
``GSE1_norm_counts_TPM_GRCh38.p13_NCBI.tsv.gz``: a ``GeneID`` column of Entrez ids, then one
column per GSM) and the counts files submitters attach to a series (TSV or CSV, gzip or
plain; gene ids of any kind in the first column, one column per sample, annotation columns
such as ``Symbol`` or ``Length`` beside them).

Such a table is not a GEO record file: it is read here and attached to a series' samples by
:mod:`exprhub.ingest.counts_import` (``exprhub import TABLE --series GSE...``).

Within the reader limits of :mod:`exprhub.formats.limits` (line bytes, cell bytes, columns,
decompressed bytes); a file that breaks one is refused with a
:class:`~exprhub.formats.errors.LimitExceeded`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from exprhub.formats.errors import FormatError, LimitExceeded
from exprhub.formats.limits import Limits
from exprhub.formats.source import iter_lines

__all__ = [
    "ANNOTATION_COLUMNS",
    "QUANTITIES",
    "CountsTable",
    "NcbiCountsName",
    "gene_id_type",
    "looks_like_counts_header",
    "parse_ncbi_counts_name",
    "read_counts_table",
]

#: What a table's values are: raw read counts or transcripts per million.
QUANTITIES = ("counts", "tpm")

#: Column names (compared in lower case) that annotate genes rather than hold a sample's values
#: (featureCounts' ``Chr``/``Start``/``End``/``Strand``/``Length``, NCBI's annotation columns).
ANNOTATION_COLUMNS = frozenset(
    {
        "chr",
        "chrom",
        "chromosome",
        "start",
        "end",
        "strand",
        "length",
        "gene_length",
        "effective_length",
        "symbol",
        "gene_symbol",
        "gene_name",
        "genename",
        "name",
        "description",
        "gene_type",
        "gene_biotype",
        "biotype",
        "entrezid",
        "entrez",
        "ensembl",
        "ensembl_id",
    }
)

_NCBI_NAME = re.compile(
    r"^(?P<series>GSE\d+)_(?P<what>raw_counts|norm_counts_TPM|norm_counts_FPKM)_"
    r"(?P<build>[A-Za-z0-9]+(?:\.p\d+)?)_NCBI\.tsv(?:\.gz)?$"
)
_ENSEMBL = re.compile(r"^ENS[A-Z]*G\d+(?:\.\d+)?$")


@dataclass(frozen=True)
class NcbiCountsName:
    """What the name of an NCBI-generated counts file says.

    Attributes
    ----------
    series
        The series (``GSE164073``).
    quantity
        ``counts`` (``raw_counts``) or ``tpm`` (``norm_counts_TPM``); FPKM files are ``fpkm``.
    build
        The genome assembly NCBI's pipeline aligned to (``GRCh38.p13``, ``GRCm39``).
    pipeline
        ``"NCBI GEO RNA-seq pipeline"`` (NCBI names no version in the file).
    annotation
        NCBI's gene annotation file for the build (``Human.GRCh38.p13.annot.tsv.gz``).
    """

    series: str
    quantity: str
    build: str
    pipeline: str
    annotation: str


def parse_ncbi_counts_name(name: str) -> NcbiCountsName | None:
    """The series, quantity and genome build in an NCBI-generated counts file name, or None
    for any other name."""
    match = _NCBI_NAME.match(Path(name).name)
    if match is None:
        return None
    what = match["what"]
    quantity = {"raw_counts": "counts", "norm_counts_TPM": "tpm"}.get(what, "fpkm")
    build = match["build"]
    prefix = "Human" if build.startswith("GRCh") else "Mouse" if build.startswith("GRCm") else ""
    annotation = f"{prefix}.{build}.annot.tsv.gz" if prefix else ""
    return NcbiCountsName(match["series"], quantity, build, "NCBI GEO RNA-seq pipeline", annotation)


def looks_like_counts_header(line: str) -> bool:
    """Whether a file's first line is the header of a genes x samples table: tab- or
    comma-separated, at least two cells, and no GEO record markers (``^``, ``!``, ``<``)."""
    text = line.lstrip("\ufeff").strip()
    if not text or text[0] in "^!#<":
        return False
    sep = "\t" if "\t" in text else ","
    return len(text.split(sep)) >= 2


@dataclass
class CountsTable:
    """A genes x samples table of counts or TPM.

    Attributes
    ----------
    path
        The file read.
    id_column
        Header of the gene id column (the first one).
    id_type
        What most gene ids are: ``entrez``, ``ensembl`` or ``symbol``.
    genes
        Gene ids, in file order.
    columns
        Headers of the value columns, in file order.
    values
        float64, genes x columns; missing cells (``NA``, empty) are NaN.
    quantity
        ``counts`` or ``tpm`` (see :func:`read_counts_table`).
    quantity_source
        How the quantity was decided: ``given``, ``file name`` or ``integer values``.
    ncbi
        What an NCBI-generated file's name says, else None.
    skipped_columns
        Annotation or non-numeric columns left out.
    """

    path: Path
    id_column: str
    id_type: str
    genes: list[str]
    columns: list[str]
    values: np.ndarray
    quantity: str
    quantity_source: str
    ncbi: NcbiCountsName | None = None
    skipped_columns: list[str] = field(default_factory=list)


def _cell_float(text: str) -> float | None:
    """A value cell as a float, NaN for missing tokens, None when it is not a number."""
    t = text.strip()
    if t in ("", "NA", "NaN", "nan", "null", "NULL"):
        return math.nan
    try:
        return float(t)
    except ValueError:
        return None


def gene_id_type(ids: list[str]) -> str:
    """What most gene ids are (first 5,000): ``entrez`` (digits), ``ensembl`` or ``symbol``."""
    sample = [i for i in ids[:5000] if i]
    if not sample:
        return "symbol"
    digits = sum(i.isdigit() for i in sample)
    ensembl = sum(bool(_ENSEMBL.match(i)) for i in sample)
    if digits * 2 > len(sample):
        return "entrez"
    if ensembl * 2 > len(sample):
        return "ensembl"
    return "symbol"


def read_counts_table(
    path: str | Path, *, quantity: str | None = None, limits: Limits | None = None
) -> CountsTable:
    """Read a genes x samples table of RNA-seq counts or TPM.

    The first line is the header; the separator is a tab when the header holds one, else a
    comma; cells may be double-quoted. The first column holds gene ids; columns named like
    gene annotations (:data:`ANNOTATION_COLUMNS`) and columns with a non-numeric cell are left
    out (``skipped_columns``); the others are the samples' values.

    Parameters
    ----------
    path
        The table (gzip or plain).
    quantity
        ``counts`` or ``tpm``; by default the NCBI file name decides, else ``counts`` when
        every value is a whole number.
    limits
        Reader limits (default :meth:`Limits.from_env`).

    Raises
    ------
    FormatError
        When the file is not such a table (no value column, ragged rows, duplicate sample
        headers or gene ids, negative values, quantity undecidable), naming file and line.
    """
    source = Path(path)
    limits = limits or Limits.from_env()
    if quantity is not None and quantity not in QUANTITIES:
        raise FormatError(source, None, f"quantity {quantity!r}: expected one of {QUANTITIES}")
    lines = iter_lines(source, limits)
    header: list[str] | None = None
    sep = "\t"
    genes: list[str] = []
    rows: list[list[str]] = []
    for number, line in lines:
        if header is None:
            text = line.lstrip("\ufeff")
            if not text.strip():
                continue
            if not looks_like_counts_header(text):
                raise FormatError(
                    source, number, "not a genes x samples table (expected a header row)"
                )
            sep = "\t" if "\t" in text else ","
            header = [_unquote(c) for c in text.split(sep)]
            if len(header) > limits.columns:
                raise LimitExceeded(
                    source,
                    number,
                    f"{len(header)} columns, more than {limits.columns} "
                    f"(limit {limits.describe('columns')})",
                )
            continue
        if not line.strip():
            continue
        cells = line.split(sep)
        if not rows and len(cells) == len(header) + 1:
            header = ["", *header]  # R's write.table: no header cell over the row names
        if len(cells) != len(header):
            raise FormatError(source, number, f"{len(cells)} cells, the header has {len(header)}")
        for cell in cells:
            if len(cell) > limits.cell_bytes:
                raise LimitExceeded(
                    source,
                    number,
                    f"table cell longer than {limits.cell_bytes} bytes "
                    f"(limit {limits.describe('cell_bytes')})",
                )
        genes.append(_unquote(cells[0]))
        rows.append(cells[1:])
    if header is None or not rows:
        raise FormatError(source, None, "no rows: expected a header and one row per gene")
    names = header[1:]
    keep: list[int] = []
    skipped: list[str] = []
    parsed: list[np.ndarray] = []
    for j, name in enumerate(names):
        if name.strip().lower() in ANNOTATION_COLUMNS:
            skipped.append(name)
            continue
        column = [_cell_float(_unquote(r[j])) for r in rows]
        if any(v is None for v in column):
            skipped.append(name)
            continue
        keep.append(j)
        parsed.append(np.asarray(column, dtype=np.float64))
    if not keep:
        raise FormatError(source, 1, "no column of numbers: expected one column per sample")
    columns = [names[j].strip() for j in keep]
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise FormatError(source, 1, f"sample column {duplicates[0]!r} appears twice")
    repeated = _first_repeat(genes)
    if repeated is not None:
        raise FormatError(source, None, f"gene id {repeated!r} appears on two rows")
    values = np.column_stack(parsed)
    if np.nanmin(values) < 0:
        raise FormatError(source, None, "negative values: expected counts or TPM (not log2)")
    ncbi = parse_ncbi_counts_name(source.name)
    if quantity is not None:
        decided, how = quantity, "given"
    elif ncbi is not None and ncbi.quantity in QUANTITIES:
        decided, how = ncbi.quantity, "file name"
    elif np.all(np.isnan(values) | (values == np.round(values))):
        decided, how = "counts", "integer values"
    else:
        raise FormatError(
            source,
            None,
            "values are not whole numbers: say whether they are counts or TPM "
            "(--quantity counts or --quantity tpm)",
        )
    return CountsTable(
        source,
        header[0],
        gene_id_type(genes),
        genes,
        columns,
        values,
        decided,
        how,
        ncbi,
        skipped,
    )


def _unquote(cell: str) -> str:
    text = cell.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def _first_repeat(items: list[str]) -> str | None:
    seen: set[str] = set()
    for item in items:
        if item in seen:
            return item
        seen.add(item)
    return None
