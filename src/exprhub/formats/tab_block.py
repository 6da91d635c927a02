"""Tab-separated table blocks: the table of a series matrix and MINiML table files.

A block is parsed in bulk with pyarrow into one string array per column, falling back to an
exact pure-Python path for ragged rows or non-UTF-8 bytes. Lines, cells and columns beyond the
reader's :class:`~exprhub.formats.limits.Limits` are refused with a
:class:`~exprhub.formats.errors.LimitExceeded` (without the file's name: the caller adds it).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, AnyStr, BinaryIO

import numpy as np

from exprhub.formats.errors import LimitExceeded
from exprhub.formats.limits import Limits, check_line_and_cell_bytes
from exprhub.formats.source import decode_bytes
from exprhub.records import Table
from exprhub.records.table import as_string_array

__all__ = ["parse_tab_block", "read_until_marker", "rejoin_quoted", "split_cells"]

_CHUNK = 1 << 20


# --- cells ----------------------------------------------------------------------------------
def split_cells(line: str) -> list[str]:
    """Split a matrix line on tabs and unquote each ``"..."`` cell (``""`` -> ``"``).

    A tab inside a quoted cell belongs to the cell (``"a<TAB>b"`` is one cell), as in any
    quote-aware tab-separated reader; a quote opened but never closed on the line is read as
    a plain character, so such a line splits on every tab.
    """
    cells = line.split("\t")
    if '"' in line:
        cells = rejoin_quoted(cells, "\t", '"')
    for i, cell in enumerate(cells):
        if len(cell) >= 2 and cell[0] == '"' and cell[-1] == '"':
            cells[i] = cell[1:-1].replace('""', '"')
    return cells


def rejoin_quoted(pieces: list[AnyStr], tab: AnyStr, quote: AnyStr) -> list[AnyStr]:
    """``pieces`` of a line split on ``tab``, with those of one quoted cell joined again: a
    piece opening with ``quote`` runs to the first piece that closes it (ends in an odd number
    of quotes; ``""`` inside is an escaped quote). Unclosed quotes are left as they are."""
    out: list[AnyStr] = []
    i = 0
    while i < len(pieces):
        piece = pieces[i]
        i += 1
        if piece[:1] == quote and not _closes_quote(piece, quote):
            for end in range(i, len(pieces)):
                if _closes_quote(pieces[end], quote, opening=False):
                    piece = tab.join(pieces[i - 1 : end + 1])
                    i = end + 1
                    break
        out.append(piece)
    return out


def _closes_quote(piece: AnyStr, quote: AnyStr, *, opening: bool = True) -> bool:
    """Whether ``piece`` ends a quoted cell (its opening quote, if ``opening``, not counted)."""
    body = piece[1:] if opening else piece
    return (len(body) - len(body.rstrip(quote))) % 2 == 1


# --- bulk table parsing ---------------------------------------------------------------------
def parse_tab_block(
    stream: BinaryIO,
    *,
    header: bool,
    names: Sequence[str] | None = None,
    quoted: bool = True,
    limits: Limits | None = None,
) -> tuple[list[str], list[np.ndarray]]:
    """Parse tab-separated rows in bulk into string columns.

    Parameters
    ----------
    stream
        Binary stream positioned at the first row; read to its end.
    header
        Whether the first row holds the column names.
    names
        Column names when ``header`` is false (rows with more cells get extra, unnamed columns).
    quoted
        Whether ``"..."`` cells are unquoted.
    limits
        The most columns and the longest line and cell accepted (default:
        :meth:`Limits.from_env`).

    Returns
    -------
    tuple[list[str], list[numpy.ndarray]]
        Column names and one string array per column. Short rows are padded with ``""``.

    Raises
    ------
    LimitExceeded
        If the block is wider, or holds a longer line or cell, than ``limits`` allow (without
        the file's name: the caller adds it, and the line, counted from the block's first).
    """
    limits = limits or Limits.from_env()
    data = stream.read()
    _check_block(data, limits)
    try:
        found, columns = _parse_arrow(data, header=header, names=names, quoted=quoted)
    except (ValueError, TypeError, OSError):  # ragged rows, non-UTF-8 bytes ...: exact slow path
        found, columns = _parse_python(data, header=header, names=names, quoted=quoted)
    if len(found) > limits.columns:
        raise _too_wide(len(found), limits)
    return found, columns


def _check_block(data: bytes, limits: Limits) -> None:
    """Raise LimitExceeded if a line or cell of ``data`` is longer than ``limits`` allow, or
    its first line has more cells than columns allowed (lines and cells are only looked at
    when ``data`` is longer than the limit)."""
    newline = data.find(b"\n")
    width = data.count(b"\t", 0, newline if newline >= 0 else len(data)) + 1
    if width > limits.columns:
        raise _too_wide(width, limits)
    check_line_and_cell_bytes(data, limits)


def _too_wide(width: int, limits: Limits) -> LimitExceeded:
    return LimitExceeded(
        None,
        1,
        f"table has {width} columns, more than {limits.columns} "
        f"(limit {limits.describe('columns')})",
    )


def _parse_arrow(
    data: bytes, *, header: bool, names: Sequence[str] | None, quoted: bool
) -> tuple[list[str], list[np.ndarray]]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    newline = data.find(b"\n")
    first = (data if newline < 0 else data[:newline]).rstrip(b"\r")
    width = first.count(b"\t") + 1 if first else 0
    if names is not None and not header:
        width = max(width, len(names))
    if width == 0 or data.count(b"\n") + data.count(b"\r") == len(data):
        raise ValueError("empty block")
    generated = [f"c{i}" for i in range(width)]
    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(
            column_names=generated, skip_rows=0, block_size=1 << 24, use_threads=True
        ),
        parse_options=pacsv.ParseOptions(
            delimiter="\t",
            quote_char='"' if quoted else False,
            double_quote=True,
            newlines_in_values=False,
            ignore_empty_lines=True,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={g: pa.string() for g in generated},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    columns = [_arrow_strings(table.column(i)) for i in range(width)]
    if header:
        column_names = [str(c[0]) if len(c) else "" for c in columns]
        columns = [c[1:] for c in columns]
    else:
        column_names = list(names or [])
    column_names += [""] * (width - len(column_names))
    return column_names, columns


def _arrow_strings(column: Any) -> np.ndarray:
    """A pyarrow string column as a numpy StringDType array (ASCII fast path, no Python str)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    n = len(array)
    longest = pc.max(pc.binary_length(array)).as_py() if n else 0
    if not longest:
        return as_string_array([""] * n)
    if longest <= 64 and pc.all(pc.string_is_ascii(array)).as_py():
        padded = pc.ascii_rpad(array, width=longest, padding="\x00").cast(pa.large_string())
        buffers = padded.buffers()
        start = int(np.frombuffer(buffers[1], dtype=np.int64)[padded.offset])
        data = np.frombuffer(buffers[2], dtype=np.uint8)[start : start + n * longest]
        return data.view(f"S{longest}").astype(np.dtypes.StringDType())
    return as_string_array(array.to_numpy(zero_copy_only=False))


def _parse_python(
    data: bytes, *, header: bool, names: Sequence[str] | None, quoted: bool
) -> tuple[list[str], list[np.ndarray]]:
    text = decode_bytes(data)
    rows: list[list[str]] = []
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if not line:
            continue
        rows.append(split_cells(line) if quoted else line.split("\t"))
    column_names = (rows.pop(0) if rows else []) if header else list(names or [])
    width = max([len(column_names), *(len(r) for r in rows)]) if rows or column_names else 0
    column_names += [""] * (width - len(column_names))
    table = Table.from_rows(column_names, rows)
    return column_names, table.columns


def read_until_marker(
    stream: BinaryIO, marker: bytes, limits: Limits | None = None
) -> tuple[bytes, bool]:
    """The bytes of ``stream`` before the first line that starts with ``marker``, and whether
    that line was found (the rest of the stream is left unread).

    Raises
    ------
    LimitExceeded
        When the data read holds no line end in more than ``limits.line_bytes`` bytes, so a
        line without end is not read whole (line counted from the first line read).
    """
    limits = limits or Limits.from_env()
    max_line = limits.line_bytes
    needle = b"\n" + marker
    parts: list[bytes] = []
    tail = b"\n"  # the end of what was read so far, so a marker split across blocks is found
    open_line = 0  # bytes read since the last line end
    while True:
        block = stream.read(_CHUNK)
        if not block:
            return b"".join(parts), False
        window = tail + block
        at = window.find(needle)
        if at >= 0:
            parts.append(block[: max(at - len(tail) + 1, 0)] if at >= len(tail) - 1 else b"")
            data = b"".join(parts)
            if at < len(tail) - 1:  # the marker began inside the previous block
                data = data[: len(data) - (len(tail) - 1 - at)]
            return data, True
        last = block.rfind(b"\n")
        open_line = open_line + len(block) if last < 0 else len(block) - last - 1
        if open_line > max_line:
            lines = sum(part.count(b"\n") for part in parts) + block.count(b"\n")
            raise LimitExceeded(
                None,
                lines + 1,
                f"line longer than {max_line} bytes (limit {limits.describe('line_bytes')})",
            )
        parts.append(block)
        tail = window[-len(needle) :]
