"""Parsing SOFT data-table blocks.

A SOFT table is a header row and rows of tab-separated cells. Tables hold most of a GEO file's
bytes, so they are parsed in bulk, never line by line in Python. Where the C extension
``exprhub.records._strings`` was built (at install, see ``hatch_build.py``), it splits the rows
and packs every cell straight into the columns' numpy strings. Without it, numpy does the work:
the positions of all tabs and newlines are found in one pass, and the cells are copied into
fixed-width byte arrays that numpy converts to its variable-width string dtype without creating
a Python object per cell (pieces of long text cells are split with ``str.split``). Both give the
same columns: rows whose cell count differs from the header are padded with ``""`` or lose their
extra cells, and blank lines are skipped.

A table may come in pieces that end at row ends (:class:`TableParser`): the reader hands over
a large table :data:`SLICE_BYTES` at a time and each piece's cells are written into the
table's final columns before the next piece is read, so memory holds the columns plus one
small piece of text, not the whole block and its working copies.

A header wider than the limit on columns, and (in a piece longer than the limit) a cell or line
longer than the limits, raise :class:`~exprhub.formats.errors.LimitExceeded`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from exprhub.formats.errors import LimitExceeded
from exprhub.formats.limits import Limits, check_line_and_cell_bytes
from exprhub.formats.soft_cells import (
    PAD,
    TEXT_CELL_BYTES,
    ColumnCache,
    fill_columns,
    positions,
    split_rows,
    whole_columns,
)
from exprhub.formats.source import decode_bytes
from exprhub.records.table import compiled_strings as _strings

__all__ = [
    "COMPILED",
    "SLICE_BYTES",
    "ColumnCache",
    "ParsedTable",
    "TableParser",
    "parse_table_block",
]

_STRING = np.dtypes.StringDType()


def empty_strings(n: int) -> np.ndarray:
    """A column of ``n`` empty strings, allocated without letting other threads run.

    ``np.empty(n, dtype=StringDType())`` zero-fills its memory with ``calloc``, which numpy
    calls with the GIL released for anything above 1 KB: while the record tables of an import
    are encoded on another thread, taking the GIL back then cost this thread up to the switch
    interval (~1.3 ms a column measured on the 2-core VM, ~85 ms of a 20-sample family file).
    Growing an empty array in place zero-fills the same memory with the GIL held.
    """
    column = np.empty(0, dtype=_STRING)
    column.resize(n, refcheck=False)
    return column


#: Whether tables are split by the compiled ``_strings`` module (tests switch it off to compare).
COMPILED = _strings is not None

#: Bytes of table text handed to :class:`TableParser` at a time by the reader. Small pieces
#: keep every working array below the size that the C allocator serves from fresh pages (and
#: that, once freed, makes it serve later large columns from its fragmented heap).
SLICE_BYTES = 1 << 16
#: Rows a column built piece by piece reserves at first: 256 KiB of slots, enough for the
#: allocator to give it pages of its own that it can extend without copying or leaving holes.
_MIN_RESERVE = 1 << 14
#: Slots all columns of a table reserve at first together at most (16 MiB), so a wide
#: table with few rows does not reserve :data:`_MIN_RESERVE` rows for each of its columns.
_RESERVE_SLOTS = 1 << 20
#: Declared row counts above this are not trusted to size the columns in advance.
_MAX_ROWS_HINT = 1 << 24
#: Nor are declared sizes of more cells than this (256 MiB of slots): a false declaration
#: must not reserve more memory than the table's text could fill.
_MAX_HINT_CELLS = 1 << 24


@dataclass
class ParsedTable:
    """The cells of a table block, as read.

    Attributes
    ----------
    names
        Header cells in order (may repeat, may be empty strings).
    columns
        One string array per name, all of length ``n_rows``.
    long_rows
        Number of rows that had more cells than the header (extra cells dropped).
    short_rows
        Number of rows that had fewer cells than the header (padded with ``""``).
    lines
        Number of lines the block spans in the file, blank lines included.
    """

    names: list[str]
    columns: list[np.ndarray]
    long_rows: int = 0
    short_rows: int = 0
    lines: int = 0

    @property
    def n_rows(self) -> int:
        """Number of data rows."""
        return len(self.columns[0]) if self.columns else 0


class _Column:
    """A column filled piece by piece, in one array that grows in place.

    Resizing moves only the 16-byte slots (the strings stay in the array's own storage), so
    building a column copies none of it and leaves no parts behind.
    """

    def __init__(self, capacity: int) -> None:
        self._array = empty_strings(max(capacity, 1))
        self._used = 0

    def reserve(self, n: int) -> np.ndarray:
        """A view of the next ``n`` rows (empty strings) to fill; it must be dropped before
        the next call, which may move the array."""
        need = self._used + n
        if need > len(self._array):
            self._array.resize(max(need, len(self._array) * 3 // 2), refcheck=False)
        self._used = need
        return self._array[need - n : need]

    def release(self, n: int) -> None:
        """Give back the last ``n`` rows reserved (left as empty strings)."""
        self._used -= n

    def result(self) -> np.ndarray:
        """The whole column."""
        if self._used < len(self._array):
            self._array.resize(self._used, refcheck=False)
        return self._array


class TableParser:
    """Parse a table block given as consecutive pieces that end at row ends.

    Parameters
    ----------
    cache
        Columns of the previous table, reused when equal (see :class:`ColumnCache`); used
        when the whole table comes in one piece.
    rows_hint
        The number of rows the table declares, if any: the columns of a table that comes in
        several pieces are then allocated once at their final size. A wrong hint changes
        nothing but the copying done.
    limits
        The most columns, and the longest cell and line, accepted (default:
        :meth:`Limits.from_env`). Errors raised for them give the line counted from the first
        line of the piece being fed (see :attr:`lines`).

    Examples
    --------
    >>> parser = TableParser()
    >>> parser.feed(bytearray(b"ID\\tVALUE\\na\\t1\\n"))
    >>> parser.feed(bytearray(b"b\\t2\\n"), last=True)
    >>> [column.tolist() for column in parser.result().columns]
    [['a', 'b'], ['1', '2']]
    """

    def __init__(
        self,
        cache: ColumnCache | None = None,
        rows_hint: int | None = None,
        limits: Limits | None = None,
    ) -> None:
        self._cache = cache
        self._hint = rows_hint if rows_hint and 0 < rows_hint <= _MAX_ROWS_HINT else 0
        self._limits = limits or Limits.from_env()
        #: pieces longer than this are searched for over-long cells and lines
        self._check_above = min(self._limits.cell_bytes, self._limits.line_bytes)
        self._names: list[str] | None = None
        self._whole: list[np.ndarray] | None = None
        self._columns: list[_Column] = []
        self._pieces = 0
        self._lines = self._long_rows = self._short_rows = 0

    def feed(self, piece: bytearray, last: bool = False) -> None:
        """Parse the next piece of the block.

        Parameters
        ----------
        piece
            Raw bytes (LF or CRLF line endings, UTF-8 or Windows-1252); every piece but the
            last ends with a newline. The parser takes the piece over and may change it.
        last
            Whether this is the block's last piece.
        """
        self._pieces += 1
        if len(piece) > self._check_above:
            check_line_and_cell_bytes(piece, self._limits)
        if last and piece and not piece.endswith(b"\n"):
            piece.append(0x0A)
        if not piece.isascii():
            try:
                piece.decode("utf-8")
            except UnicodeDecodeError:
                piece = bytearray(decode_bytes(piece).encode("utf-8"))
        start = self._read_header(piece) if self._names is None else 0
        names = self._names
        size = len(piece)
        if names is None or start == size:
            return
        whole = last and self._pieces == 1
        if COMPILED and whole and self._split_declared(piece, start, size):
            return
        lines = piece.count(b"\n", start, size)
        if COMPILED:
            self._compiled(piece, start, size, lines, whole)
            return
        if size - start > TEXT_CELL_BYTES * len(names) * max(lines, 1):
            self._from_text(piece[start:size], whole)  # long cells: split as text
            return
        piece += PAD
        found = positions(np.frombuffer(piece, dtype=np.uint8), start, size, len(names))
        if found is None:
            self._from_text(piece[start:size], whole)
            return
        starts, lengths = found
        self._lines += len(starts) // len(names)
        if whole:
            self._whole = whole_columns(piece, starts, lengths, len(names), self._cache)
        else:
            self._fill(piece, starts, lengths)

    @property
    def lines(self) -> int:
        """Lines of the pieces fed so far (all of them once a piece is parsed)."""
        return self._lines

    def result(self) -> ParsedTable:
        """The table read from all pieces fed so far."""
        names = self._names
        if names is None:
            return ParsedTable([], [], lines=self._lines)
        if self._whole is not None:
            columns = self._whole
        elif self._columns:
            columns = [column.result() for column in self._columns]
        else:
            columns = [np.empty(0, dtype=_STRING) for _ in names]
        self._whole, self._columns = None, []
        return ParsedTable(names, columns, self._long_rows, self._short_rows, self._lines)

    # --- internals -------------------------------------------------------------------------
    def _read_header(self, piece: bytearray) -> int:
        """Skip leading blank lines and read the header row; the offset of the first row."""
        start = 0
        while True:
            if piece.startswith(b"\n", start):
                start += 1
            elif piece.startswith(b"\r\n", start):
                start += 2
            else:
                break
            self._lines += 1
        if start == len(piece):
            return start
        cut = piece.find(b"\n", start)
        cut = len(piece) if cut < 0 else cut
        header = piece[start:cut]
        if header.endswith(b"\r"):
            del header[-1]
        width = header.count(b"\t") + 1
        if width > self._limits.columns:
            raise LimitExceeded(
                None,
                1,  # the blank lines before the header are counted in self._lines
                f"table header has {width} columns, more than {self._limits.columns} "
                f"(limit {self._limits.describe('columns')})",
            )
        self._names = header.decode("utf-8").split("\t")
        self._lines += 1
        return min(cut + 1, len(piece))

    def _targets(self, n_rows: int) -> list[np.ndarray]:
        """Views of the next ``n_rows`` rows of every column (see :meth:`_Column.reserve`)."""
        if not self._columns:
            width = len(self._names or ())
            hint = self._hint if self._hint * width <= _MAX_HINT_CELLS else 0
            reserve = max(hint, min(_MIN_RESERVE, _RESERVE_SLOTS // max(width, 1)))
            self._columns = [_Column(reserve) for _ in range(width)]
        return [column.reserve(n_rows) for column in self._columns]

    def _fill(self, piece: bytearray, starts: np.ndarray, lengths: np.ndarray) -> None:
        width = len(self._names or ())
        n_rows = len(starts) // width
        targets = self._targets(n_rows)
        fill_columns(piece, starts.reshape(n_rows, width), lengths.reshape(n_rows, width), targets)

    def _split_declared(self, piece: bytearray, start: int, end: int) -> bool:
        """Split a table given in one piece into columns sized by its declared row count,
        without counting its lines first; False (nothing kept) if it declares none, or fewer
        rows than it holds."""
        width = len(self._names or ())
        capacity = self._hint
        if not capacity or capacity * width > _MAX_HINT_CELLS:
            return False
        targets = [empty_strings(capacity) for _ in range(width)]
        assert _strings is not None
        try:
            rows, long_rows, short_rows, lines = _strings.split_rows(piece, start, end, targets)
        except ValueError:  # more rows than declared: split again, sized by counting
            return False
        self._long_rows += long_rows
        self._short_rows += short_rows
        self._lines += lines
        if rows < capacity:  # fewer rows than declared, or blank lines
            for target in targets:
                target.resize(rows, refcheck=False)
        self._whole = targets
        return True

    def _compiled(self, piece: bytearray, start: int, end: int, lines: int, whole: bool) -> None:
        """Split ``piece[start:end]`` (``lines`` newlines) with the compiled splitter."""
        width = len(self._names or ())
        targets = [empty_strings(lines) for _ in range(width)] if whole else self._targets(lines)
        assert _strings is not None
        rows, long_rows, short_rows, _ = _strings.split_rows(piece, start, end, targets)
        self._long_rows += long_rows
        self._short_rows += short_rows
        self._lines += lines
        if whole:
            if rows < lines:  # blank lines
                for target in targets:
                    target.resize(rows, refcheck=False)
            self._whole = targets
        else:
            for column in self._columns:
                column.release(lines - rows)

    def _from_text(self, body: bytearray, whole: bool) -> None:
        width = len(self._names or ())
        columns, long_rows, short_rows, lines = split_rows(width, body)
        self._long_rows += long_rows
        self._short_rows += short_rows
        self._lines += lines
        if whole:
            self._whole = [np.array(column, dtype=_STRING) for column in columns]
        elif columns[0]:
            for out, column in zip(self._targets(len(columns[0])), columns, strict=True):
                out[:] = column


def parse_table_block(
    data: bytes,
    cache: ColumnCache | None = None,
    rows_hint: int | None = None,
    *,
    slice_bytes: int | None = None,
    limits: Limits | None = None,
) -> ParsedTable:
    """Parse a table block (header row, then rows; no begin/end markers).

    Parameters
    ----------
    data
        The raw bytes of the block, LF or CRLF line endings, UTF-8 or Windows-1252. Blank
        lines are ignored.
    cache
        Columns of the previous table, reused when equal (see :class:`ColumnCache`).
    rows_hint
        The number of rows the table declares, if known (see :class:`TableParser`).
    slice_bytes
        Parse the block in pieces of about this many bytes (default: in one piece); the
        result is the same.
    limits
        The most columns, and the longest cell and line, accepted (see :class:`TableParser`).

    Returns
    -------
    ParsedTable
        The header names and one string column per name.
    """
    parser = TableParser(cache, rows_hint, limits)
    view = memoryview(data)
    start = 0
    step = max(1, slice_bytes or len(data))
    while len(data) - start > step:
        cut = data.rfind(b"\n", start, start + step) + 1 or data.find(b"\n", start + step) + 1
        if cut <= start or cut == len(data):
            break
        parser.feed(bytearray(view[start:cut]))
        start = cut
    parser.feed(bytearray(view[start:]), last=True)
    return parser.result()
