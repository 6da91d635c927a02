"""Splitting SOFT table pieces into string columns with numpy alone.

This is how :mod:`exprhub.formats.soft_table` parses tables where the C splitter
(``exprhub.records._strings``) is not built. The positions of all tabs and newlines of a piece
are found in one pass, and the cells are copied into fixed-width byte arrays that numpy converts
to its variable-width string dtype without creating a Python object per cell. Pieces of long
text cells are split with ``str.split`` instead, and so are pieces whose rows do not all have
the header's number of cells (rows padded with ``""`` or cut, blank lines skipped).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "PAD",
    "TEXT_CELL_BYTES",
    "ColumnCache",
    "fill_columns",
    "positions",
    "split_rows",
    "whole_columns",
]

_STRING = np.dtypes.StringDType()

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
TEXT_CELL_BYTES = 16
#: Largest column, in fixed-width bytes, that is compared with the previous table's.
_CACHE_BUDGET = 1 << 22
#: Readable bytes a piece needs after its end (a fixed-width read starting in its last cell).
PAD = bytes(_MAX_GATHER_WIDTH)
_UINT64 = np.dtype("<u8")
#: Row ``n`` keeps the first ``n`` bytes of a cell and clears the rest.
_KEEP = np.tril(np.full((_MAX_GATHER_WIDTH + 1, _MAX_GATHER_WIDTH), 255, dtype=np.uint8), -1)


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


def positions(
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


def fill_columns(
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


def whole_columns(
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


def split_rows(width: int, body: bytearray) -> tuple[list[Sequence[str]], int, int, int]:
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
