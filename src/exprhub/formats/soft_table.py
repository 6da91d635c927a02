"""Parsing a whole SOFT data-table block at once.

A SOFT table is a header row and rows of tab-separated cells. Tables hold most of a GEO file's
bytes, so they are parsed in bulk with numpy rather than line by line: the positions of all
tabs and newlines are found in one pass, and the cells are copied into fixed-width byte arrays
that numpy converts to its variable-width string dtype without creating a Python object per
cell. Rows whose cell count differs from the header (rare in files GEO writes) are handled by a
slower path that pads short rows with ``""`` and drops extra cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from exprhub.formats.source import decode_bytes

_STRING = np.dtypes.StringDType()

#: Cells at most this many bytes long are copied with numpy; longer ones one by one.
_MAX_GATHER_WIDTH = 256
#: Upper bounds of the cell-length groups copied together: a column whose cells are all within
#: the first bound is copied in one step, others group by group (long cells one by one).
_WIDTH_GROUPS = (64, _MAX_GATHER_WIDTH)
#: Bytes of scratch memory used at most by one copy step.
_GATHER_BUDGET = 1 << 24


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


def _normalise(data: bytes) -> tuple[bytes, int]:
    """CRLF to LF, leading blank lines removed (and counted), a final newline added, UTF-8
    guaranteed. Blank lines inside the block are found later, with the cell positions."""
    if data and not data.endswith(b"\n"):
        data += b"\n"
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    leading = 0
    if data.startswith(b"\n"):
        stripped = data.lstrip(b"\n")
        leading = len(data) - len(stripped)
        data = stripped
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            data = decode_bytes(data).encode("utf-8")
    return data, leading


class ColumnCache:
    """The narrow columns of the last table parsed, by position.

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


def parse_table_block(data: bytes, cache: ColumnCache | None = None) -> ParsedTable:
    """Parse a table block (header row, then rows; no begin/end markers).

    Parameters
    ----------
    data
        The raw bytes of the block, LF or CRLF line endings, UTF-8 or Windows-1252. Blank
        lines are ignored.
    cache
        Columns of the previous table, reused when equal (see :class:`ColumnCache`).

    Returns
    -------
    ParsedTable
        The header names and one string column per name.
    """
    data, leading = _normalise(data)
    if not data:
        return ParsedTable([], [], lines=leading)
    cut = data.index(b"\n")
    names = data[:cut].decode("utf-8").split("\t")
    body = data[cut + 1 :]
    width = len(names)
    if not body:
        empty: list[np.ndarray] = [np.empty(0, dtype=_STRING) for _ in names]
        return ParsedTable(names, empty, lines=leading + 1)
    if b"\x00" not in body:
        array = np.frombuffer(body, dtype=np.uint8)
        seps = np.flatnonzero(array <= 10)
        kinds = array[seps]
        newline = kinds == 10
        if not bool(np.all(newline | (kinds == 9))):  # other control characters in cells
            keep = newline | (kinds == 9)
            seps, newline = seps[keep], newline[keep]
        n_rows = int(np.count_nonzero(newline))
        # every row has exactly width - 1 tabs: the width-th, 2*width-th ... separators are
        # the newlines; a blank line shows up as an empty one-cell row, so it is checked too
        if (
            len(seps) == n_rows * width
            and bool(np.all(newline[width - 1 :: width]))
            and (width > 1 or not bool(np.any(np.diff(seps, prepend=-1) == 1)))
        ):
            columns = _columns_from_positions(body, array, seps, width, cache)
            return ParsedTable(names, columns, lines=leading + 1 + n_rows)
    parsed = _parse_irregular(names, body)
    parsed.lines = leading + 1 + body.count(b"\n")
    return parsed


def _columns_from_positions(
    body: bytes, array: np.ndarray, seps: np.ndarray, width: int, cache: ColumnCache | None
) -> list[np.ndarray]:
    starts = np.empty(len(seps), dtype=np.int64)
    starts[0] = 0
    starts[1:] = seps[:-1] + 1
    lengths = seps - starts
    padded = np.zeros(len(array) + _MAX_GATHER_WIDTH, dtype=np.uint8)
    padded[: len(array)] = array

    return [
        _gather(body, padded, starts[j::width], lengths[j::width], cache, j) for j in range(width)
    ]


def _cells(padded: np.ndarray, starts: np.ndarray, lengths: np.ndarray, width: int) -> np.ndarray:
    """The cells at ``starts`` as rows of ``width`` bytes, zero-padded.

    ``padded`` is the block followed by at least ``width`` zero bytes; it is viewed as
    overlapping ``width``-byte strings, one starting at every byte, and the cells' strings
    are taken from it, then the bytes past each cell's length are cleared.
    """
    overlapping = np.ndarray(
        shape=(len(padded) - width + 1,), dtype=f"S{width}", buffer=padded, strides=(1,)
    )
    cells = overlapping[starts].view(np.uint8).reshape(-1, width)
    keep = (np.arange(width) < np.arange(width + 1)[:, None]).astype(np.uint8)
    cells *= keep[lengths]
    return cells


def _gather_fixed(
    padded: np.ndarray, starts: np.ndarray, lengths: np.ndarray, width: int
) -> np.ndarray:
    """Strings of the cells at ``starts`` (all at most ``width`` bytes long)."""
    if width == 0:
        return np.full(len(starts), "", dtype=_STRING)
    step = max(1, _GATHER_BUDGET // width)
    if len(starts) <= step:
        cells = _cells(padded, starts, lengths, width)
        return cells.view(f"S{width}").ravel().astype(_STRING)
    parts = [
        _gather_fixed(padded, starts[i : i + step], lengths[i : i + step], width)
        for i in range(0, len(starts), step)
    ]
    return np.concatenate(parts)


def _gather(
    body: bytes,
    padded: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    cache: ColumnCache | None = None,
    position: int = 0,
) -> np.ndarray:
    """One column's strings from the cell positions of its rows."""
    longest = int(lengths.max()) if len(lengths) else 0
    if longest <= _WIDTH_GROUPS[0]:
        if cache is None or longest == 0 or len(starts) * longest > _GATHER_BUDGET:
            return _gather_fixed(padded, starts, lengths, longest)
        cells = _cells(padded, starts, lengths, longest)
        strings = cache.get(position, cells)
        if strings is None:
            strings = cells.view(f"S{longest}").ravel().astype(_STRING)
            cache.put(position, strings)
        return strings
    out = np.empty(len(starts), dtype=_STRING)
    low = -1
    for high in _WIDTH_GROUPS:
        if low >= longest:
            break
        chosen = np.flatnonzero((lengths > low) & (lengths <= high))
        low = high
        if len(chosen):
            width = int(lengths[chosen].max())
            out[chosen] = _gather_fixed(padded, starts[chosen], lengths[chosen], width)
    chosen = np.flatnonzero(lengths > _MAX_GATHER_WIDTH)
    if len(chosen):
        texts = [
            body[s : s + n].decode("utf-8")
            for s, n in zip(starts[chosen].tolist(), lengths[chosen].tolist(), strict=True)
        ]
        out[chosen] = np.array(texts, dtype=_STRING)
    return out


def _parse_irregular(names: list[str], body: bytes) -> ParsedTable:
    """Row-by-row parse for tables whose rows do not all have the header's cell count."""
    width = len(names)
    text = body.decode("utf-8")
    lines = [line for line in text.split("\n") if line]
    columns: list[list[str]] = [[] for _ in range(width)]
    long_rows = short_rows = 0
    for line in lines:
        cells = line.split("\t")
        if len(cells) > width:
            long_rows += 1
            del cells[width:]
        elif len(cells) < width:
            short_rows += 1
            cells.extend([""] * (width - len(cells)))
        for column, cell in zip(columns, cells, strict=True):
            column.append(cell)
    arrays = [np.array(column, dtype=_STRING) for column in columns]
    return ParsedTable(names, arrays, long_rows, short_rows)
