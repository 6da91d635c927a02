"""Parsing SOFT data-table blocks.

A SOFT table is a header row and rows of tab-separated cells. Tables hold most of a GEO file's
bytes, so they are parsed in bulk, never line by line in Python. Where the C extension
``exprhub.formats._tabsplit`` was built (at install, see ``hatch_build.py``), it splits the rows
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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from exprhub.formats.source import decode_bytes

_tabsplit: ModuleType | None
try:  # the compiled splitter; without it (no C compiler at install) numpy does the work
    from exprhub.formats import _tabsplit
except ImportError:  # pragma: no cover - the tests switch it off through COMPILED
    _tabsplit = None

__all__ = [
    "COMPILED",
    "SLICE_BYTES",
    "ColumnCache",
    "ParsedTable",
    "TableParser",
    "parse_table_block",
]

_STRING = np.dtypes.StringDType()
#: Whether tables are split by the compiled ``_tabsplit`` module (tests switch it off to compare).
COMPILED = _tabsplit is not None

#: Bytes of table text handed to :class:`TableParser` at a time by the reader. Small pieces
#: keep every working array below the size that the C allocator serves from fresh pages (and
#: that, once freed, makes it serve later large columns from its fragmented heap).
SLICE_BYTES = 1 << 16
#: Cells at most this many bytes long are copied with numpy; longer ones one by one.
_MAX_GATHER_WIDTH = 256
#: Cells at most this long are kept inside numpy's 16-byte string slots, not in its string
#: storage.
_INLINE = 15
#: Strings converted at a time into part of a column (numpy's cast buffer holds 128).
_CAST_ROWS = 128
#: A column whose cells are at most :data:`_INLINE` bytes long but for one in this many (or
#: fewer) is converted at that width, its longer cells one by one.
_FEW_LONG = 32
#: Columns whose cells are all at most this long can be looked up in a :class:`ColumnCache`.
_NARROW = 64
#: Bytes of scratch memory used at most by one copy step.
_GATHER_BUDGET = 1 << 22
#: Widths cells are padded to when the columns of a piece are converted together, and the
#: bytes of cells converted at a time.
_BATCH_WIDTHS = np.array([8, _INLINE, 32, 64, 128, _MAX_GATHER_WIDTH])
_BATCH_BUDGET = 1 << 16
#: Rows whose cells average more bytes than this are split as text (Python's ``str.split``
#: beats numpy's fixed-width gathers once most cells need numpy's string storage).
_TEXT_CELL_BYTES = 16
#: Largest column, in fixed-width bytes, that is compared with the previous table's.
_CACHE_BUDGET = 1 << 22
#: Rows a column built piece by piece reserves at first: 256 KiB of slots, enough for the
#: allocator to give it pages of its own that it can extend without copying or leaving holes.
_MIN_RESERVE = 1 << 14
#: Declared row counts above this are not trusted to size the columns in advance.
_MAX_ROWS_HINT = 1 << 24
#: Readable bytes a piece needs after its end (a fixed-width read starting in its last cell).
_PAD = bytes(_MAX_GATHER_WIDTH)
_UINT64 = np.dtype("<u8")
#: Row ``n`` keeps the first ``n`` bytes of a cell and clears the rest.
_KEEP = np.tril(np.full((_MAX_GATHER_WIDTH + 1, _MAX_GATHER_WIDTH), 255, dtype=np.uint8), -1)


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


class ColumnCache:
    """The narrow columns of the last table parsed in one piece, by position.

    In a family file every sample of a platform usually repeats the same probe-ID column;
    with a cache, a column equal to the previous table's column at the same position is
    copied instead of converted again. Callers always get arrays of their own.
    """

    def __init__(self) -> None:
        self._cells: dict[int, np.ndarray] = {}
        self._strings: dict[int, np.ndarray] = {}
        self._wanted: set[int] = set()

    def get(self, position: int, cells: np.ndarray) -> np.ndarray | None:
        """A copy of the column at ``position`` if the last one there had the same cells."""
        known = self._cells.get(position)
        if known is None or known.shape != cells.shape or not np.array_equal(known, cells):
            self._cells[position] = cells
            self._strings.pop(position, None)
            self._wanted.discard(position)
            return None
        strings = self._strings.get(position)
        if strings is None:
            self._wanted.add(position)
            return None
        return strings.copy()

    def put(self, position: int, strings: np.ndarray) -> None:
        """Keep a copy of a column seen twice in a row (the caller keeps ``strings``)."""
        if position in self._wanted:
            self._strings[position] = strings.copy()
            self._wanted.discard(position)


class _Column:
    """A column filled piece by piece, in one array that grows in place.

    Resizing moves only the 16-byte slots (the strings stay in the array's own storage), so
    building a column copies none of it and leaves no parts behind.
    """

    def __init__(self, capacity: int) -> None:
        self._array = np.empty(max(capacity, _MIN_RESERVE), dtype=_STRING)
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

    Examples
    --------
    >>> parser = TableParser()
    >>> parser.feed(bytearray(b"ID\\tVALUE\\na\\t1\\n"))
    >>> parser.feed(bytearray(b"b\\t2\\n"), last=True)
    >>> [column.tolist() for column in parser.result().columns]
    [['a', 'b'], ['1', '2']]
    """

    def __init__(self, cache: ColumnCache | None = None, rows_hint: int | None = None) -> None:
        self._cache = cache
        self._hint = rows_hint if rows_hint and 0 < rows_hint <= _MAX_ROWS_HINT else 0
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
        lines = piece.count(b"\n", start, size)
        if COMPILED:
            self._compiled(piece, start, size, lines, whole)
            return
        if size - start > _TEXT_CELL_BYTES * len(names) * max(lines, 1):
            self._from_text(piece[start:size], whole)  # long cells: split as text
            return
        piece += _PAD
        found = _positions(np.frombuffer(piece, dtype=np.uint8), start, size, len(names))
        if found is None:
            self._from_text(piece[start:size], whole)
            return
        starts, lengths = found
        self._lines += len(starts) // len(names)
        if whole:
            self._whole = _whole_columns(piece, starts, lengths, len(names), self._cache)
        else:
            self._fill(piece, starts, lengths)

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
        self._names = header.decode("utf-8").split("\t")
        self._lines += 1
        return min(cut + 1, len(piece))

    def _targets(self, n_rows: int) -> list[np.ndarray]:
        """Views of the next ``n_rows`` rows of every column (see :meth:`_Column.reserve`)."""
        if not self._columns:
            self._columns = [_Column(self._hint) for _ in self._names or ()]
        return [column.reserve(n_rows) for column in self._columns]

    def _fill(self, piece: bytearray, starts: np.ndarray, lengths: np.ndarray) -> None:
        width = len(self._names or ())
        n_rows = len(starts) // width
        targets = self._targets(n_rows)
        _fill_columns(piece, starts.reshape(n_rows, width), lengths.reshape(n_rows, width), targets)

    def _compiled(self, piece: bytearray, start: int, end: int, lines: int, whole: bool) -> None:
        """Split ``piece[start:end]`` (``lines`` newlines) with the compiled splitter."""
        width = len(self._names or ())
        targets: list[np.ndarray]
        if whole:
            targets = [np.empty(lines, dtype=_STRING) for _ in range(width)]
        else:
            targets = self._targets(lines)
        assert _tabsplit is not None
        rows, long_rows, short_rows, _ = _tabsplit.fill(piece, start, end, targets)
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
        columns, long_rows, short_rows, lines = _split_rows(width, body)
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

    Returns
    -------
    ParsedTable
        The header names and one string column per name.
    """
    parser = TableParser(cache, rows_hint)
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


def _positions(
    array: np.ndarray, start: int, end: int, width: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """Start offsets (in ``array``) and byte lengths of the cells of the rows in
    ``array[start:end]``, row after row; None unless every row has exactly ``width`` cells
    (and, for one column, none is empty: a blank line). A length leaves out the ``\\r`` of a
    CRLF line ending."""
    body = array[start:end]
    seps = np.flatnonzero(body <= 10)
    if not len(seps):
        return None
    kinds = body[seps]
    newline = kinds == 10
    wanted = newline | (kinds == 9)
    if not bool(np.all(wanted)):
        if bool(np.any(kinds == 0)):  # the fixed-width copy would drop trailing NULs
            return None
        seps, newline = seps[wanted], newline[wanted]
    del kinds, wanted
    n_rows = int(np.count_nonzero(newline))
    # every row has exactly width - 1 tabs: the width-th, 2*width-th ... separators are the
    # newlines; a blank line shows up as an empty one-cell row, so it is checked too
    if len(seps) != n_rows * width or not bool(np.all(newline[width - 1 :: width])):
        return None
    del newline
    starts = np.empty_like(seps)
    starts[0] = 0
    starts[1:] = seps[:-1] + 1
    lengths = seps - starts
    last = lengths[width - 1 :: width]
    last -= (last > 0) & (body[seps[width - 1 :: width] - 1] == 13)
    if width == 1 and not bool(np.all(lengths)):
        return None
    starts += start
    return starts, lengths


def _cells(array: np.ndarray, starts: np.ndarray, lengths: np.ndarray, width: int) -> np.ndarray:
    """The cells at ``starts`` as rows of zero-padded bytes, ``width`` rounded up to 8.

    ``array`` is viewed as overlapping strings, one starting at every byte, so it must hold
    the rounded width of readable bytes past the start of every cell; the cells' strings are
    taken from it, then the bytes past each cell's length are cleared.
    """
    width = max(8, -(-width // 8) * 8)
    overlapping = np.ndarray(
        shape=(len(array) - width + 1,), dtype=f"S{width}", buffer=array, strides=(1,)
    )
    cells = overlapping[starts].view(_UINT64).reshape(len(starts), width // 8)
    cells &= np.take(_KEEP[: width + 1, :width], lengths, axis=0).view(_UINT64)
    return cells


def _as_bytes(cells: np.ndarray) -> np.ndarray:
    """Rows of :func:`_cells` as a fixed-width bytes array."""
    return cells.view(f"S{cells.shape[1] * 8}").reshape(len(cells))


def _to_strings(cells: np.ndarray, width: int, out: np.ndarray | None = None) -> np.ndarray:
    """Fixed-width ``cells`` (at most ``width`` bytes each) as strings, written into ``out``
    (empty strings) if given.

    Strings of up to :data:`_INLINE` bytes live in the array's slots and convert in one step.
    Longer ones need the array's string storage, and numpy (2.4) converts more than
    :data:`_CAST_ROWS` of those through a reused buffer that loses some of them, or, when the
    target is part of an existing array, stores every one twice; so they are converted a
    buffer's worth at a time into arrays of their own, then copied.
    """
    if width <= _INLINE:
        if out is None:
            return cells.astype(_STRING)
        out[...] = cells
        return out
    if out is None:
        out = np.empty(len(cells), dtype=_STRING)
    for i in range(0, len(cells), _CAST_ROWS):
        out[i : i + _CAST_ROWS] = cells[i : i + _CAST_ROWS].astype(_STRING)
    return out


def _long_limit(lengths: np.ndarray, width: int) -> int:
    """Length above which a column's cells are written one by one rather than copied in bulk.

    Cells up to :data:`_MAX_GATHER_WIDTH` bytes are normally copied in bulk, but a column of
    short cells with a few longer ones (Affymetrix control probes among probe IDs) converts
    much faster at the short width, with the few longer cells written one by one.
    """
    if width <= _INLINE or len(lengths) < _FEW_LONG:
        return _MAX_GATHER_WIDTH
    over = int(np.count_nonzero(lengths > _INLINE))
    return _INLINE if over * _FEW_LONG <= len(lengths) else _MAX_GATHER_WIDTH


def _write_long(
    piece: bytearray, out: np.ndarray, rows: list[int], starts: list[int], lengths: list[int]
) -> None:
    """Write the given cells one by one."""
    for row, start, size in zip(rows, starts, lengths, strict=True):
        out[row] = piece[start : start + size].decode("utf-8")


def _gather(
    piece: bytearray, array: np.ndarray, starts: np.ndarray, lengths: np.ndarray
) -> np.ndarray:
    """One column's strings from its cells' positions (short cells in bulk, long ones one by
    one)."""
    n = len(starts)
    width = int(lengths.max()) if n else 0
    rows = np.empty(0, dtype=np.intp)
    limit = _long_limit(lengths, width)
    if width > limit:
        long_cells = lengths > limit
        rows = np.flatnonzero(long_cells)
        long_starts, long_lengths = starts[rows].tolist(), lengths[rows].tolist()
        lengths = np.where(long_cells, 0, lengths)
        width = int(lengths.max())
        del long_cells
    step = max(1, _GATHER_BUDGET // max(width, 8))
    out: np.ndarray
    if not width:
        out = np.empty(n, dtype=_STRING)
    elif n <= step:
        out = _to_strings(_as_bytes(_cells(array, starts, lengths, width)), width)
    else:
        out = np.empty(n, dtype=_STRING)
        for i in range(0, n, step):
            cells = _cells(array, starts[i : i + step], lengths[i : i + step], width)
            _to_strings(_as_bytes(cells), width, out[i : i + step])
    if len(rows):
        _write_long(piece, out, rows.tolist(), long_starts, long_lengths)
    return out


def _fill_columns(
    piece: bytearray, starts: np.ndarray, lengths: np.ndarray, targets: list[np.ndarray]
) -> None:
    """Write the cells at ``starts`` (rows x columns) into the column views ``targets``.

    A piece of a wide table holds few rows, so columns are converted together, in batches of
    columns whose longest cells round up to the same width: a numpy call per column and piece
    would cost more than the copying itself.
    """
    array = np.frombuffer(piece, dtype=np.uint8)
    n_rows = len(starts)
    longest = lengths.max(axis=0)
    long_cells = []
    for j in np.flatnonzero(longest > _INLINE).tolist():
        limit = _long_limit(lengths[:, j], int(longest[j]))
        if longest[j] <= limit:
            continue
        found = np.flatnonzero(lengths[:, j] > limit)
        long_cells.append(
            (j, found.tolist(), starts[found, j].tolist(), lengths[found, j].tolist())
        )
        lengths[found, j] = 0
        longest[j] = lengths[:, j].max()
    classes = np.searchsorted(_BATCH_WIDTHS, longest)
    classes[longest == 0] = -1  # nothing to write: the targets hold empty strings
    for cls in sorted(set(classes.tolist()) - {-1}):
        chosen = np.flatnonzero(classes == cls)
        per_batch = max(1, _BATCH_BUDGET // (n_rows * int(_BATCH_WIDTHS[cls])))
        for b in range(0, len(chosen), per_batch):
            columns = chosen[b : b + per_batch]
            width = int(longest[columns].max())
            cells = _as_bytes(
                _cells(array, starts[:, columns].T.ravel(), lengths[:, columns].T.ravel(), width)
            )
            for i, j in enumerate(columns.tolist()):
                _to_strings(cells[i * n_rows : (i + 1) * n_rows], width, targets[j])
    for j, rows, cell_starts, cell_lengths in long_cells:
        _write_long(piece, targets[j], rows, cell_starts, cell_lengths)


def _whole_columns(
    piece: bytearray,
    starts: np.ndarray,
    lengths: np.ndarray,
    width: int,
    cache: ColumnCache | None,
) -> list[np.ndarray]:
    """The columns of a table parsed in one piece, narrow ones looked up in ``cache``."""
    array = np.frombuffer(piece, dtype=np.uint8)
    columns: list[np.ndarray] = []
    for j in range(width):
        column_starts, column_lengths = starts[j::width], lengths[j::width]
        longest = int(column_lengths.max()) if len(column_lengths) else 0
        fits = 0 < longest <= _NARROW
        if cache is None or not fits or len(column_starts) * longest > _CACHE_BUDGET:
            columns.append(_gather(piece, array, column_starts, column_lengths))
            continue
        cells = _cells(array, column_starts, column_lengths, longest)
        strings = cache.get(j, cells)
        if strings is None:
            if longest <= _INLINE:
                strings = _to_strings(_as_bytes(cells), longest)
            else:
                strings = _gather(piece, array, column_starts, column_lengths)
            cache.put(j, strings)
        columns.append(strings)
    return columns


def _split_rows(width: int, body: bytearray) -> tuple[list[Sequence[str]], int, int, int]:
    """The cells of each column of the rows in ``body``, split as text (blank lines skipped,
    short rows padded with ``""``, extra cells dropped), how many rows had more and fewer cells
    than ``width``, and the number of lines."""
    text = body.decode("utf-8")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    rows = [line.split("\t") for line in text.split("\n") if line]
    long_rows = short_rows = 0
    for i, cells in enumerate(rows):
        if len(cells) != width:
            if len(cells) > width:
                long_rows += 1
                rows[i] = cells[:width]
            else:
                short_rows += 1
                rows[i] = cells + [""] * (width - len(cells))
    columns: list[Sequence[str]] = list(zip(*rows, strict=True)) if rows else [()] * width
    return columns, long_rows, short_rows, text.count("\n")
