"""Attaching a genes x samples counts (or TPM) table to a series' samples
(``exprhub import TABLE --series GSE...``).

Each value column of the table is matched to one sample of the series, in this order:

1. its header is a GSM accession of the series (``accession``);
2. its header is a sample's title, ignoring case and runs of spaces (``title``);
3. its header is another name of exactly one sample (``alias``): the SRA experiment or
   BioSample accession of its ``!Sample_relation``, a part of its title in parentheses
   (``Healthy smoker (S_Illumina)`` -> ``S_Illumina``), its description or source name when no
   other sample of the series shares it.

A column that matches no sample, a GSM that is not in the series, or two columns matching one
sample refuse the whole file with one line naming them: nothing is stored. Otherwise the file
is kept by checksum and the values stored, one column per sample, in the matrix
``counts/<GSE>/<counts|tpm>/<file sha256>`` (kind ``counts``): the refinery reads them from
there, and the matrix name says which file they came from. A sample holds one current counts
column: attaching another table to it replaces the earlier one (the import says so).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from exprhub.formats.counts_table import CountsTable, read_counts_table
from exprhub.formats.errors import FormatError
from exprhub.hub import COUNTS_KIND, Hub, counts_matrix_name
from exprhub.ingest.importer import ImportFailed, ImportResult
from exprhub.records import RecordType, normalize_accession

__all__ = ["ColumnMatch", "import_counts_table", "match_columns"]

#: The format name of counts tables in import results.
COUNTS_FORMAT = "counts-table"

_ACCESSION = re.compile(r"^GSM\d+$", re.IGNORECASE)
_PARENTHESES = re.compile(r"\(([^()]+)\)")
_RELATION_ID = re.compile(r"(SRX\d+|SAMN\d+|SRS\d+|ERX\d+|DRX\d+)")
_ALIAS_ATTRIBUTES = ("Sample_description", "Sample_source_name_ch1")


@dataclass(frozen=True)
class ColumnMatch:
    """How one column of a counts table was matched to a sample.

    Attributes
    ----------
    column
        The column header.
    sample
        The sample's GSM accession.
    how
        ``accession``, ``title`` or ``alias``.
    detail
        The title or alias that matched (empty for an accession).
    """

    column: str
    sample: str
    how: str
    detail: str = ""

    def describe(self) -> str:
        """``GSM1 <- 'NS_Illumina' (alias: part of the title in parentheses)``."""
        if self.how == "accession":
            return f"{self.sample} <- {self.column!r} (accession)"
        return f"{self.sample} <- {self.column!r} ({self.how}: {self.detail})"


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def match_columns(hub: Hub, series: str, columns: list[str]) -> list[ColumnMatch]:
    """Match table columns to the samples of ``series`` (rules in the module docs).

    Raises
    ------
    ValueError
        One line naming the columns that match nothing, the GSMs not in the series, or the
        sample two columns match.
    """
    samples = [k for k in hub.samples_of(series) if k.upper().startswith("GSM")]
    if not samples:
        raise ValueError(f"{series} has no samples in the hub (import its family file first)")
    facts = hub.sample_facts(samples, ("Sample_title", "Sample_relation", *_ALIAS_ATTRIBUTES))
    titles: dict[str, list[str]] = {}
    aliases: dict[str, list[tuple[str, str]]] = {}
    for key in samples:
        a = facts[key].attributes if key in facts else {}
        title = a.get("Sample_title", "")
        if title.strip():
            titles.setdefault(_norm(title), []).append(key)
        for part in _PARENTHESES.findall(title):
            aliases.setdefault(_norm(part), []).append((key, "part of the title in parentheses"))
        for ident in _RELATION_ID.findall(a.get("Sample_relation", "")):
            aliases.setdefault(_norm(ident), []).append((key, "SRA/BioSample accession"))
        for attr in _ALIAS_ATTRIBUTES:
            if a.get(attr, "").strip():
                what = attr.removeprefix("Sample_").removesuffix("_ch1").replace("_", " ")
                aliases.setdefault(_norm(a[attr]), []).append((key, what))
    members = set(samples)
    matches: list[ColumnMatch] = []
    unmatched: list[str] = []
    foreign: list[str] = []
    for column in columns:
        name = column.strip()
        if _ACCESSION.match(name):
            gsm = normalize_accession(name)
            if gsm in members:
                matches.append(ColumnMatch(column, gsm, "accession"))
            else:
                foreign.append(name)
            continue
        by_title = titles.get(_norm(name), [])
        if len(by_title) == 1:
            matches.append(ColumnMatch(column, by_title[0], "title", name))
            continue
        by_alias = {k: what for k, what in aliases.get(_norm(name), [])}
        if len(by_alias) == 1:
            ((key, what),) = by_alias.items()
            matches.append(ColumnMatch(column, key, "alias", what))
            continue
        unmatched.append(name)
    if foreign:
        raise ValueError(
            f"column {_list(foreign)} {'is' if len(foreign) == 1 else 'are'} not a sample of "
            f"{series}"
        )
    if unmatched:
        raise ValueError(
            f"column {_list(unmatched)} matches no sample of {series} by accession, title or "
            "alias (rename the header to the sample's GSM accession)"
        )
    twice = [k for k, n in Counter(m.sample for m in matches).items() if n > 1]
    if twice:
        cols = [m.column for m in matches if m.sample == twice[0]]
        raise ValueError(f"columns {_list(cols)} both match {twice[0]}")
    return matches


def _list(items: list[str]) -> str:
    shown = ", ".join(repr(i) for i in items[:5])
    return shown + (f" and {len(items) - 5} more" if len(items) > 5 else "")


def import_counts_table(
    hub: Hub, path: str | Path, series: str, *, quantity: str | None = None
) -> ImportResult:
    """Attach a genes x samples counts or TPM table to the samples of ``series``.

    Parameters
    ----------
    hub
        The hub (the series' samples must be in it).
    path
        The table (TSV or CSV, gzip or plain; see
        :func:`exprhub.formats.counts_table.read_counts_table`).
    series
        The GSE the table belongs to.
    quantity
        ``counts`` or ``tpm``; by default the NCBI file name, else whole numbers mean counts.

    Returns
    -------
    ImportResult
        Format ``counts-table``; outcomes ``attached`` (or ``unchanged`` when the same file
        was attached before, ``replaced`` when another table was); ``matches`` says how each
        column matched.

    Raises
    ------
    ImportFailed
        One line: a malformed table, an unknown series, a column matching no sample or two
        columns one sample. Nothing is stored then.
    """
    source = Path(path)
    key = normalize_accession(series)
    if not source.is_file():
        raise ImportFailed(f"{source}: no such file")
    if not hub.has(key, RecordType.SERIES):
        raise ImportFailed(f"{source}: series {key} is not in the hub (import or fetch it first)")
    try:
        table = read_counts_table(source, quantity=quantity)
        matches = match_columns(hub, key, table.columns)
    except FormatError as exc:
        raise ImportFailed(str(exc)) from None
    except ValueError as exc:
        raise ImportFailed(f"{source}: {exc}") from None
    except OSError as exc:
        raise ImportFailed(f"{source}: {exc.strerror or exc}") from None
    if table.ncbi is not None and table.ncbi.series != key:
        raise ImportFailed(f"{source}: the file name says {table.ncbi.series}, not {key}")
    return _store(hub, source, key, table, matches)


def _store(
    hub: Hub, source: Path, series: str, table: CountsTable, matches: list[ColumnMatch]
) -> ImportResult:
    result = ImportResult(source, COUNTS_FORMAT, "")
    before = hub.current_columns([m.sample for m in matches], (COUNTS_KIND,))
    with hub.writer() as writer:
        digest = writer.keep_file(source, format=COUNTS_FORMAT)
        name = counts_matrix_name(series, table.quantity, digest)
        matrix = writer.matrix(name, COUNTS_KIND, series)
        position = {c: j for j, c in enumerate(table.columns)}
        rows = matrix.rows_for(table.genes)
        for m in matches:
            current = before.get(m.sample, {}).get(COUNTS_KIND)
            if current is not None and current[0] == name:
                outcome = "unchanged"
            else:
                outcome = "replaced" if current is not None else "attached"
                writer.deactivate_columns(m.sample, COUNTS_KIND, keep=matrix)
                values = table.values[:, position[m.column.strip()]].astype(np.float32)
                writer.add_column(matrix, m.sample, rows, values)
            result.outcomes[outcome] += 1
            result.by_type.setdefault("GSM", Counter())[outcome] += 1
            result.records += 1
    result.sha256 = digest
    result.matches = [m.describe() for m in matches]
    result.details = {
        "series": series,
        "quantity": table.quantity,
        "quantity_from": table.quantity_source,
        "gene_ids": table.id_type,
        "genes": len(table.genes),
        "skipped_columns": table.skipped_columns,
        "ncbi_build": table.ncbi.build if table.ncbi else None,
        "samples_without_column": sorted(
            set(k for k in hub.samples_of(series) if k.upper().startswith("GSM"))
            - {m.sample for m in matches}
        ),
    }
    for m in matches:
        current = before.get(m.sample, {}).get(COUNTS_KIND)
        if current is not None and current[0] != name:
            earlier = current[0].split("/")[-1][:12]
            result.warnings.append(f"{m.sample}: replaces the counts attached from file {earlier}")
    return result
