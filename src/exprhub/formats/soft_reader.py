"""Reading GEO SOFT files (family, series, sample, platform, DataSet and annotation files).

SOFT is line based: ``^ENTITY = id`` opens a record, ``!key = value`` lines are its
attributes, ``#column = description`` lines describe its table columns, and the table itself
(header row, then tab-separated rows) sits between ``!<entity>_table_begin`` and
``!<entity>_table_end``. The reader accepts every variant GEO has written: gzip or plain,
CRLF, lower-case entities and markers, ``^SAMPLE=GSM645`` without spaces, 2003-style tables
without begin/end markers, markers with trailing white space, Windows-1252 bytes, tables that
are never closed or hold fewer rows than declared (kept, with a warning), and curated
DataSets whose column descriptions and table come in a second ``^DATASET`` block (merged into
one record).

Records are streamed: each is yielded when its block ends, so memory holds one table at a time.
A large table (or one whose size is not declared) is parsed in small pieces as it is read, each
written straight into the table's columns, so it costs little more memory than its columns.
Lines, table cells and columns, and attribute values beyond the reader's
:class:`~exprhub.formats.limits.Limits` are refused with a
:class:`~exprhub.formats.errors.LimitExceeded` naming the file and line.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from exprhub.formats.errors import FormatError, LimitExceeded, ParseWarning
from exprhub.formats.limits import Limits
from exprhub.formats.prefetch import Prefetch
from exprhub.formats.soft_table import SLICE_BYTES, ColumnCache, TableParser
from exprhub.formats.source import BLOCK_SIZE, decode_bytes, open_binary
from exprhub.records import DataSet, Record, Subset, Table, record_class
from exprhub.records.model import Annotation

__all__ = ["SoftReader", "read_soft"]

_MARKER = re.compile(rb"^!([A-Za-z]*)_table_(begin|end)\s*$", re.IGNORECASE)
#: A file is read ahead in a background thread (decompression releases the GIL, so it overlaps
#: parsing): its first ``_SMALL_SPAN`` bytes ``_SMALL_READ`` at a time (small buffers stay
#: below the size the C allocator serves from pages of their own, see
#: ``soft_table.SLICE_BYTES``, which keeps a small file's peak memory low), the rest
#: ``_READ_SIZE`` at a time (fewer, larger reads cost less CPU in a large file).
_SMALL_SPAN = 1 << 24
_SMALL_READ = 1 << 16
_READ_SIZE = 2 * BLOCK_SIZE
#: Bytes the background thread may hold ready (at least two chunks). Two small chunks were
#: not enough: the parser then waited for inflated text about twice as long.
_AHEAD_BYTES = 1 << 20
#: Bytes :meth:`SoftReader.read_ahead` inflates before :meth:`SoftReader.records` starts: a
#: typical series file whole (a 20-sample family on a 22,283-probe platform is ~10 MB).
READ_AHEAD_BYTES = 1 << 24
#: A table declaring at most this many cells (rows x described columns) is parsed in one piece,
#: which is fastest (and lets a probe-ID column equal to the previous table's be reused);
#: larger tables, and tables without a declared row count, in pieces of ``SLICE_BYTES``.
_WHOLE_CELLS = 1 << 18
#: A table read in one piece that grows past this many bytes (its declared size was wrong) is
#: parsed in pieces from there on, so a false declaration cannot make it be held whole.
_WHOLE_BYTES = 1 << 25
_BOM = b"\xef\xbb\xbf"


class _Scanner:
    """Line and block access to a binary stream, holding at most one table in memory.

    A line longer than ``max_line`` bytes raises :class:`LimitExceeded`: from
    :meth:`readline` with its line number, from :meth:`read_table` with the line's number
    counted from the first line not yet handed to ``feed``.
    """

    def __init__(self, stream: BinaryIO, limits: Limits) -> None:
        self.stream = stream
        self.limits = limits
        self.buf = bytearray()
        self.pos = 0
        self.eof = False
        #: number of the last line consumed
        self.line_no = 0
        self._last_start = 0

    def _fill(self, size: int = BLOCK_SIZE) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(size)
        if not chunk:
            self.eof = True
            return False
        if self.pos:
            del self.buf[: self.pos]
            self.pos = 0
        self.buf += chunk
        return True

    def _too_long(self, line: int | None) -> LimitExceeded:
        limit = self.limits.line_bytes
        return LimitExceeded(
            None,
            line,
            f"line longer than {limit} bytes (limit {self.limits.describe('line_bytes')})",
        )

    def readline(self) -> bytes | None:
        """The next line without its line ending, or None at the end of the file."""
        search = self.pos
        while True:
            end = self.buf.find(b"\n", search)
            if end >= 0:
                if end - self.pos > self.limits.line_bytes:
                    raise self._too_long(self.line_no + 1)
                line = bytes(self.buf[self.pos : end])
                self._last_start = self.pos
                self.pos = end + 1
                break
            searched = len(self.buf) - self.pos
            if searched > self.limits.line_bytes:
                raise self._too_long(self.line_no + 1)
            if self._fill():
                search = self.pos + searched
            else:
                if self.pos >= len(self.buf):
                    return None
                line = bytes(self.buf[self.pos :])
                self._last_start = self.pos
                self.pos = len(self.buf)
                break
        self.line_no += 1
        return line[:-1] if line.endswith(b"\r") else line

    def unread(self) -> None:
        """Step back to the start of the line just read (once)."""
        self.pos = self._last_start
        self.line_no -= 1

    def read_table(self, feed: Callable[[bytearray, bool], None], piece_size: int | None) -> str:
        """Hand the table starting at the current line to ``feed``; how it ended.

        ``feed(piece, last)`` gets the table's bytes in pieces of at most ``piece_size`` bytes
        (None: in one piece) that end at line ends (a longer line is a piece of its own), the
        last one flagged; it takes each piece over. The table ends before a
        ``!..._table_end`` marker (consumed; ending ``"end"``), any other ``!`` line
        (``"bang"``), a ``^`` line (``"entity"``) or the end of the file (``"eof"``). Lines
        ending the table other than the marker are left unread. The caller advances
        ``line_no`` past the table (the parser counts its lines). A table asked for in one
        piece that grows past ``_WHOLE_BYTES`` is handed over in pieces of ``SLICE_BYTES``.
        """
        if self.pos:
            del self.buf[: self.pos]
            self.pos = 0
        search = 0
        max_line = self.limits.line_bytes
        while True:
            buf = self.buf
            size = len(buf)
            bang = _line_start(buf, 0x21, search, size)
            caret = _line_start(buf, 0x5E, search, bang if bang >= 0 else size)
            hit = caret if caret >= 0 else bang
            if hit >= 0:
                line_end = buf.find(b"\n", hit)
                if line_end < 0 and size - hit > max_line:
                    raise self._too_long(buf.count(b"\n", 0, hit) + 1)
                if line_end < 0 and self._fill():
                    search = hit
                    continue
                line_end = size if line_end < 0 else line_end
                resume, ending = hit, "entity"
                if buf[hit] != ord("^"):
                    marker = _MARKER.match(bytes(buf[hit:line_end]))
                    ending = "bang"
                    if marker is not None and marker.group(2).lower() == b"end":
                        resume, ending = min(line_end + 1, size), "end"
                feed(self._split(hit, resume), True)
                return ending
            if piece_size is None and len(buf) > _WHOLE_BYTES:
                piece_size = SLICE_BYTES
            while piece_size is not None and len(buf) > piece_size:
                cut = buf.rfind(b"\n", 0, piece_size) + 1 or buf.rfind(b"\n") + 1
                if cut == 0:
                    if len(buf) > max_line:
                        raise self._too_long(1)
                    break
                feed(self._split(cut, cut), False)
                buf = self.buf
            search = len(buf)
            if not self._fill():
                feed(self._split(search, search), True)
                return "eof"

    def _split(self, cut: int, resume: int) -> bytearray:
        """The buffer up to ``cut``, taken out; the buffer keeps the bytes from ``resume``.

        Whichever of the two parts is smaller is copied, so handing over a table piece costs
        at most the copy of one read chunk.
        """
        buf = self.buf
        self.pos = 0
        if cut <= len(buf) - resume:
            piece = buf[:cut]
            del buf[:resume]
            return piece
        self.buf = buf[resume:]
        del buf[cut:]
        return buf


def _line_start(buf: bytearray, char: int, low: int, high: int) -> int:
    """Position of the first ``char`` in ``buf[low:high]`` that starts a line, or -1."""
    found = buf.find(char, low, high)
    while found > 0 and buf[found - 1] != 0x0A:
        found = buf.find(char, found + 1, high)
    return found


def _make_table(names: list[str], columns: list[np.ndarray]) -> Table:
    """A Table from columns already checked to be 1-D string arrays of equal length.

    ``Table(...)`` would copy every column into a new string dtype instance; the parser's
    arrays are already in the right form, so they are attached as they are.
    """
    table = Table.__new__(Table)
    table.names = list(names)
    table.columns = columns
    return table


@dataclass
class _Block:
    """A record being read."""

    cls: type[Record]
    id: str
    line: int
    attributes: list[tuple[str, str]] = field(default_factory=list)
    columns: list[tuple[str, str]] = field(default_factory=list)
    table: Table | None = None
    table_line: int | None = None
    #: bytes of the attribute and column description lines read so far
    text_bytes: int = 0

    def build(self) -> Record:
        return self.cls(
            id=self.id, attributes=self.attributes, columns=self.columns, table=self.table
        )


def _split_pair(text: str) -> tuple[str, str]:
    """Split ``key = value`` (the single spaces around ``=`` belong to the separator)."""
    cut = text.find(" = ")
    if cut >= 0:
        return text[:cut], text[cut + 3 :]
    if text.endswith(" ="):
        return text[:-2], ""
    cut = text.find("=")
    if cut >= 0:
        value = text[cut + 1 :]
        return text[:cut].rstrip(), value[1:] if value.startswith(" ") else value
    return text, ""


def _decode_line(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return decode_bytes(line)


class SoftReader:
    """Stream the records of a GEO SOFT file.

    Parameters
    ----------
    path
        The file (gzip-compressed or plain).
    limits
        What the file may hold (default: :meth:`Limits.from_env`).

    Attributes
    ----------
    warnings
        Recoverable problems found so far (filled while :meth:`records` is iterated).

    Examples
    --------
    >>> reader = SoftReader("GSE1623_family.soft.gz")  # doctest: +SKIP
    >>> for record in reader.records():  # doctest: +SKIP
    ...     print(record.id, record.table.shape if record.table else None)
    """

    def __init__(self, path: str | Path, limits: Limits | None = None) -> None:
        self.path = Path(path)
        self.limits = limits or Limits.from_env()
        self.warnings: list[ParseWarning] = []
        self._cache = ColumnCache()
        #: the file opened and being inflated by :meth:`read_ahead`, for :meth:`records`
        self._early: tuple[contextlib.ExitStack, Prefetch] | None = None

    # --- public ----------------------------------------------------------------------------
    def read_ahead(self, ahead: int = READ_AHEAD_BYTES) -> None:
        """Start inflating the file now, in a background thread holding up to ``ahead`` bytes
        ready for :meth:`records` (an import calls this for its next file while it stores the
        current one). A file that cannot be opened is left alone: :meth:`records` raises
        then. Call :meth:`close` if :meth:`records` will not be read to its end."""
        if self._early is not None:
            return
        try:
            self._early = self._open_file(max(ahead, _AHEAD_BYTES))
        except (FormatError, OSError):
            return
        self._early[1].start()

    def _open_file(self, ahead: int) -> tuple[contextlib.ExitStack, Prefetch]:
        """The file opened, and its reader ahead (holding up to ``ahead`` bytes; not started),
        both closed by the returned stack (the thread stops before the stream closes)."""
        with contextlib.ExitStack() as opened:
            stream = opened.enter_context(
                open_binary(self.path, buffered=False, limits=self.limits)
            )
            prefetch = Prefetch(stream, _READ_SIZE, _SMALL_SPAN, _SMALL_READ, ahead)
            opened.callback(prefetch.close)
            return opened.pop_all(), prefetch

    def close(self) -> None:
        """Stop reading ahead (see :meth:`read_ahead`) and close the file, if open."""
        early, self._early = self._early, None
        if early is not None:
            early[0].close()

    def records(self) -> Iterator[Record]:
        """Yield each record when its block ends, its table attached.

        Raises
        ------
        FormatError
            If the file cannot be opened or is not SOFT (names the file and line).
        LimitExceeded
            If the file holds more than :attr:`limits` allow (names the file, line and limit).
        """
        self.warnings = []
        self._cache = ColumnCache()
        early, self._early = self._early, None
        opened, ahead = early if early is not None else self._open_file(_AHEAD_BYTES)
        with opened:
            try:
                yield from self._records(_Scanner(ahead, self.limits))  # type: ignore[arg-type]
            except LimitExceeded as error:
                raise error.located(self.path) from None

    # --- internals -------------------------------------------------------------------------
    def _warn(self, line: int | None, message: str) -> None:
        self.warnings.append(ParseWarning(str(self.path), line, message))

    def _error(self, line: int | None, message: str) -> FormatError:
        return FormatError(self.path, line, message)

    def _records(self, scanner: _Scanner) -> Iterator[Record]:
        block: _Block | None = None
        held: list[Record] = []  # a DataSet header and its subsets, until its table comes
        seen_any = False
        while True:
            raw = scanner.readline()
            if raw is None:
                break
            if not seen_any and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            if not raw.strip():
                continue
            seen_any = True
            first = raw[0]
            if first == 0x5E:  # ^
                if block is not None:
                    yield from self._finish(block, held)
                block = self._open(raw, scanner.line_no)
            elif block is None:
                raise self._error(
                    scanner.line_no,
                    f"expected a '^ENTITY = id' line to open a record, found {_show(raw)}",
                )
            elif first == 0x21:  # !
                marker = _MARKER.match(raw)
                if marker is None:
                    block.attributes.append(self._pair(block, raw, scanner.line_no, "attribute"))
                elif marker.group(2).lower() == b"begin":
                    self._read_table(scanner, block, marked=True)
                else:
                    self._warn(scanner.line_no, "table end marker without a table; ignored")
            elif first == 0x23:  # #
                block.columns.append(self._pair(block, raw, scanner.line_no, "column description"))
            elif block.columns and block.table is None:
                scanner.unread()
                self._read_table(scanner, block, marked=False)
            else:
                expected = (
                    "'!attribute = value', '#column = description' or '^ENTITY = id'"
                    if block.table is not None or not block.columns
                    else "a table"
                )
                raise self._error(scanner.line_no, f"expected {expected}, found {_show(raw)}")
        if block is not None:
            yield from self._finish(block, held)
        yield from held
        if not seen_any:
            raise self._error(None, "empty file; expected SOFT text starting with '^ENTITY = id'")

    def _pair(self, block: _Block, raw: bytes, line: int, what: str) -> tuple[str, str]:
        """The ``key = value`` pair of a ``!`` or ``#`` line of ``block``, its value and all
        of the block's within the limits (in bytes as written in the file, checked before the
        line is decoded)."""
        limit = self.limits.attribute_bytes
        if len(raw) > limit:
            cut = raw.find(b"=")
            size = len(raw) - cut - 1 - (raw[cut + 1 : cut + 2] == b" ") if cut >= 0 else 0
            if size > limit:
                key = _decode_line(raw[1:cut]).strip()
                raise LimitExceeded(
                    self.path,
                    line,
                    f"{what} {key[:60]!r} has a value of {size} bytes, more than "
                    f"{limit} (limit {self.limits.describe('attribute_bytes')})",
                )
        block.text_bytes += len(raw)
        if block.text_bytes > self.limits.record_attribute_bytes:
            total = self.limits.record_attribute_bytes
            raise LimitExceeded(
                self.path,
                line,
                f"the attributes of {block.cls.__name__} {block.id} add up to more than "
                f"{total} bytes (limit {self.limits.describe('record_attribute_bytes')})",
            )
        return _split_pair(_decode_line(raw[1:]))

    def _open(self, raw: bytes, line: int) -> _Block:
        entity, _, ident = _decode_line(raw[1:]).partition("=")
        try:
            cls = record_class(entity)
        except ValueError:
            raise self._error(
                line,
                f"unknown entity '^{entity.strip()}'; expected DATABASE, SERIES, PLATFORM, "
                "SAMPLE, DATASET, SUBSET or Annotation",
            ) from None
        return _Block(cls, ident.strip(), line)

    def _read_table(self, scanner: _Scanner, block: _Block, *, marked: bool) -> None:
        begin_line = scanner.line_no + (0 if marked else 1)
        if block.table is not None:
            self._warn(
                begin_line,
                f"second table in {block.id or block.cls.__name__}; it replaces the first",
            )
        rows = _declared_rows(block.attributes)
        small = rows is not None and rows * max(1, len(block.columns)) <= _WHOLE_CELLS
        parser = TableParser(self._cache, rows, self.limits)
        start = scanner.line_no
        try:
            ending = scanner.read_table(parser.feed, None if small else SLICE_BYTES)
        except LimitExceeded as error:
            # its line is counted from the first line not yet parsed
            line = None if error.line is None else start + parser.lines + error.line
            raise LimitExceeded(self.path, line, error.message) from None
        parsed = parser.result()
        scanner.line_no += parsed.lines + (1 if ending == "end" else 0)
        where = f"{block.cls.__name__} {block.id}".rstrip()
        if marked and ending != "end":
            after = {"eof": "the end of the file", "entity": "the next '^' line"}.get(
                ending, "an attribute line"
            )
            self._warn(
                begin_line,
                f"table of {where} opened here is never closed; kept the {parsed.n_rows} rows "
                f"read up to {after}",
            )
        if parsed.long_rows:
            self._warn(
                begin_line,
                f"table of {where}: {parsed.long_rows} rows have more cells than the header's "
                f"{len(parsed.names)} columns; extra cells dropped",
            )
        if parsed.short_rows:
            self._warn(
                begin_line,
                f"table of {where}: {parsed.short_rows} rows have fewer cells than the "
                f"header's {len(parsed.names)} columns; padded with empty values",
            )
        block.table = _make_table(parsed.names, parsed.columns)
        block.table_line = begin_line

    def _finish(self, block: _Block, held: list[Record]) -> Iterator[Record]:
        if block.cls is Annotation and not block.id:
            block.id = next(
                (v.strip() for k, v in block.attributes if k.lower() == "annotation_platform"), ""
            )
            if not block.id:
                raise self._error(
                    block.line,
                    "the ^Annotation block names no platform; expected "
                    "'^Annotation = GPLnnn' or an '!Annotation_platform = GPLnnn' line",
                )
        record = block.build()
        if isinstance(record, DataSet):
            header = held[0] if held and isinstance(held[0], DataSet) else None
            if header is not None and header.id == record.id and header.table is None:
                header.attributes.extend(record.attributes)
                header.columns.extend(record.columns)
                header.table = record.table
                self._check_row_count(header, block.table_line)
                yield from held
                held.clear()
                return
            yield from held
            held.clear()
            if record.table is None:
                held.append(record)
                return
            self._check_row_count(record, block.table_line)
            yield record
            return
        self._check_row_count(record, block.table_line or block.line)
        if isinstance(record, Subset) and held:
            held.append(record)
            return
        yield from held
        held.clear()
        yield record

    def _check_row_count(self, record: Record, line: int | None) -> None:
        declared = _declared_rows(record.attributes)
        if declared is None:
            return
        name = f"{type(record).__name__} {record.id}".rstrip()
        if record.table is None:
            if declared > 0:
                self._warn(line, f"{name} declares {declared} table rows but has no table")
            return
        found = record.table.n_rows
        if found != declared:
            relation = "fewer" if found < declared else "more"
            self._warn(
                line,
                f"{name}: table has {found} rows but {declared} are declared ({relation} rows "
                "than declared; kept as read)",
            )


def _declared_rows(attributes: list[tuple[str, str]]) -> int | None:
    """The row count a record declares (``!..._data_row_count``, ``!..._feature_count``)."""
    text = next(
        (
            v
            for k, v in attributes
            if k[-5:].lower() == "count"
            and Record.field_name(k) in ("data_row_count", "feature_count")
        ),
        None,
    )
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def _show(raw: bytes) -> str:
    text = _decode_line(raw)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def read_soft(path: str | Path, limits: Limits | None = None) -> list[Record]:
    """Read every record of a SOFT file.

    Parameters
    ----------
    path
        The file (gzip-compressed or plain).
    limits
        What the file may hold (default: :meth:`Limits.from_env`).

    Returns
    -------
    list[Record]
        The records in file order (a DataSet before its subsets).
    """
    return list(SoftReader(path, limits).records())
