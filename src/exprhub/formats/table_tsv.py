"""A record's data table as tab-separated text with a header row."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import TextIO

from exprhub.records import Table

__all__ = ["write_table_tsv"]


def write_table_tsv(table: Table | None, path: str | Path, *, compress: bool | None = None) -> None:
    """Write a data table as TSV: a header row of column names, then one line per row.

    Parameters
    ----------
    table
        The table; None writes an empty file (a record without a table).
    path
        The file to write.
    compress
        Gzip the file; by default when ``path`` ends in ``.gz``.
    """
    target = Path(path)
    if compress is None:
        compress = target.name.lower().endswith(".gz")
    if compress:
        with gzip.open(target, "wt", encoding="utf-8", newline="\n") as handle:
            _write_rows(table, handle)
    else:
        with target.open("w", encoding="utf-8", newline="\n") as handle:
            _write_rows(table, handle)


def _write_rows(table: Table | None, handle: TextIO) -> None:
    if table is None:
        return
    handle.write("\t".join(table.names) + "\n")
    for row in table.rows():
        handle.write("\t".join(row) + "\n")
