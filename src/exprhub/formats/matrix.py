"""GEO series matrix files (``GSExxx_series_matrix.txt.gz``): reader and writer.

A series matrix holds one Series and, per platform, its Samples side by side::

    !Series_title	"..."
    !Series_sample_id	"GSM1 GSM2 "
                                                 (blank line)
    !Sample_title	"a"	"b"
    !Sample_characteristics_ch1	"tissue: liver"	"tissue: lung"
    !series_matrix_table_begin
    "ID_REF"	"GSM1"	"GSM2"
    "1007_s_at"	8.1	7.9
    !series_matrix_table_end

Cells are tab-separated and quoted (a quote inside a cell is doubled; a tab inside a quoted
cell is part of the cell, as quote-aware readers such as GEOquery's read it). Reading gives the
Series record (attributes ``Series_*`` exactly as written, unquoted), then one Sample per
column, each with its slice of the table as a two-column :class:`~exprhub.records.Table`
(``ID_REF``, ``VALUE``); samples have no table when the file's table has no rows (RNA-seq).

The matrix layout cannot express everything a Sample record can:

- A sample attribute becomes one row with one cell per sample. When samples repeat an attribute
  a different number of times (sample A has three ``characteristics_ch1`` rows, sample B two),
  the shorter ones are padded with empty cells, and empty cells are skipped again on reading.
  Hence sample attributes whose value is ``""`` do not survive a round trip, and samples must
  list their attributes in mutually consistent orders.
- Only the ``VALUE`` column of each sample table is written; samples without a table get empty
  cells when other samples have one.
- Values cannot contain line breaks, nor attribute names tabs (the writer refuses them).
  Values holding tabs are written quoted, tabs kept.

Reading parses the table block in bulk with pyarrow (falling back to an exact pure-Python path
for ragged rows or non-UTF-8 bytes). The ``ID_REF`` column is one array shared by all samples'
tables; the arrays are read-only. Lines, cells, columns (samples) and attribute values beyond
the reader's :class:`~exprhub.formats.limits.Limits` are refused with a
:class:`~exprhub.formats.errors.LimitExceeded` naming the file and line.
"""

from __future__ import annotations

import gzip as gzip_module
import io
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, BinaryIO

import numpy as np

from exprhub.formats.errors import FormatError, LimitExceeded, ParseWarning
from exprhub.formats.limits import Limits
from exprhub.formats.source import decode_bytes, open_binary
from exprhub.formats.tab_block import (
    parse_tab_block,
    read_until_marker,
    rejoin_quoted,
    split_cells,
)
from exprhub.records import Record, Sample, Series, Table

__all__ = ["SeriesMatrixReader", "read_series_matrix", "write_series_matrix"]

TABLE_BEGIN = "!series_matrix_table_begin"
TABLE_END = "!series_matrix_table_end"
_END_MARKER = TABLE_END.encode()


# --- reader ---------------------------------------------------------------------------------
class SeriesMatrixReader:
    """Read a GEO series matrix file (plain or gzip).

    Parameters
    ----------
    path
        The ``*_series_matrix.txt[.gz]`` file.
    limits
        What the file may hold (default: :meth:`Limits.from_env`).

    Attributes
    ----------
    warnings
        Recoverable problems found while reading (filled as :meth:`records` runs).
    """

    def __init__(self, path: str | Path, limits: Limits | None = None) -> None:
        self.path = Path(path)
        self.limits = limits or Limits.from_env()
        self.warnings: list[ParseWarning] = []
        self._platform_id: str | None = None
        self._header_read = False

    def _warn(self, line: int | None, message: str) -> None:
        self.warnings.append(ParseWarning(str(self.path), line, message))

    @property
    def platform_id(self) -> str | None:
        """The platform of the samples (from ``!Sample_platform_id``), or None."""
        if not self._header_read:
            with open_binary(self.path, limits=self.limits) as stream:
                self._read_header(stream, record_warnings=False)
        return self._platform_id

    def _read_header(
        self, stream: BinaryIO, *, record_warnings: bool = True
    ) -> tuple[list[tuple[str, str]], list[tuple[str, list[str], int]], bool, int]:
        series_rows: list[tuple[str, str]] = []
        sample_rows: list[tuple[str, list[str], int]] = []
        number = 0
        table = False
        saw_content = False
        limits = self.limits
        check_above = min(limits.line_bytes, limits.attribute_bytes)
        series_bytes = sample_bytes = 0
        sample_sizes: list[int] | None = None
        while True:
            raw = stream.readline(limits.line_bytes + 2)
            if not raw:
                break
            number += 1
            if len(raw) > check_above:
                self._check_raw_row(raw, number)
            line = decode_bytes(raw).rstrip("\r\n")
            if number == 1 and line.startswith("\ufeff"):
                line = line[1:]
            if not line.strip():
                continue
            saw_content = True
            if line.rstrip("\t").lower() == TABLE_BEGIN:
                table = True
                break
            if not line.startswith("!"):
                raise FormatError(
                    self.path,
                    number,
                    f"unexpected line {line[:60]!r}; expected a !Series_ or !Sample_ row or "
                    f"{TABLE_BEGIN}",
                )
            key, _, rest = line[1:].partition("\t")
            key = key.strip()
            cells = split_cells(rest) if rest else []
            self._check_cells(key, cells, number)
            prefix = key.split("_", 1)[0].lower()
            if prefix == "sample":
                sample_rows.append((key, cells, number))
                sample_bytes += len(raw)
                if sample_bytes > limits.record_attribute_bytes:
                    # only then is one sample's share counted, row by row from here on
                    rows = sample_rows if sample_sizes is None else sample_rows[-1:]
                    sample_sizes = self._add_sample_sizes(sample_sizes or [], rows, number)
            elif prefix == "series":
                series_bytes += len(raw)
                if series_bytes > limits.record_attribute_bytes:
                    raise self._too_many_attributes("the series", number)
                if len(cells) <= 1:
                    series_rows.append((key, cells[0] if cells else ""))
                else:
                    series_rows.extend((key, c) for c in cells if c)
            elif record_warnings:
                self._warn(number, f"ignored row {key!r}: expected !Series_ or !Sample_ rows")
        if not saw_content:
            raise FormatError(self.path, None, "empty file; expected a GEO series matrix")
        platforms = [
            c
            for k, cells, _ in sample_rows
            if k.lower() == "sample_platform_id"
            for c in cells
            if c
        ]
        self._platform_id = platforms[0] if platforms else None
        if record_warnings and len(set(platforms)) > 1:
            self._warn(None, f"samples are on several platforms: {sorted(set(platforms))}")
        self._header_read = True
        return series_rows, sample_rows, table, number

    def _check_raw_row(self, raw: bytes, line: int) -> None:
        """Raise LimitExceeded for a line longer than lines may be or holding a value longer
        than attribute values may be (checked before the line is decoded)."""
        limits = self.limits
        if len(raw) > limits.line_bytes and len(raw.rstrip(b"\r\n")) > limits.line_bytes:
            raise LimitExceeded(
                self.path,
                line,
                f"line longer than {limits.line_bytes} bytes "
                f"(limit {limits.describe('line_bytes')})",
            )
        cells = rejoin_quoted(raw.rstrip(b"\r\n").split(b"\t"), b"\t", b'"')
        for cell in cells[1:]:
            length = len(cell) - 2 if cell[:1] == cell[-1:] == b'"' else len(cell)
            if length > limits.attribute_bytes:
                key = decode_bytes(cells[0][:60]).lstrip("!")
                raise LimitExceeded(
                    self.path,
                    line,
                    f"row {key} has a value of {length} bytes, more than "
                    f"{limits.attribute_bytes} (limit {limits.describe('attribute_bytes')})",
                )

    def _too_many_attributes(self, what: str, line: int) -> LimitExceeded:
        limit = self.limits.record_attribute_bytes
        return LimitExceeded(
            self.path,
            line,
            f"the attributes of {what} add up to more than {limit} bytes "
            f"(limit {self.limits.describe('record_attribute_bytes')})",
        )

    def _add_sample_sizes(
        self, sizes: list[int], rows: list[tuple[str, list[str], int]], line: int
    ) -> list[int]:
        """``sizes`` (characters of each sample's values) with the cells of ``rows`` added;
        raise LimitExceeded if a sample's come to more than a record's attributes may."""
        for _, cells, _ in rows:
            if len(cells) > len(sizes):
                sizes.extend([0] * (len(cells) - len(sizes)))
            for j, size in enumerate(map(len, cells)):
                sizes[j] += size
        worst = max(range(len(sizes)), key=sizes.__getitem__, default=0)
        if sizes and sizes[worst] > self.limits.record_attribute_bytes:
            raise self._too_many_attributes(f"sample {worst + 1}", line)
        return sizes

    def _check_cells(self, key: str, cells: list[str], line: int) -> None:
        """Raise LimitExceeded for a row of more cells than columns allowed."""
        limits = self.limits
        if len(cells) > limits.columns:
            raise LimitExceeded(
                self.path,
                line,
                f"row {key} has {len(cells)} values, more than {limits.columns} "
                f"(limit {limits.describe('columns')})",
            )

    def records(self) -> Iterator[Record]:
        """Yield the Series, then one Sample per matrix column, in file order.

        Raises
        ------
        FormatError
            If the file is not a series matrix.
        LimitExceeded
            If the file holds more than :attr:`limits` allow (names the file, line and limit).
        """
        with open_binary(self.path, limits=self.limits) as stream:
            series_rows, sample_rows, has_table, line = self._read_header(stream)
            names: list[str] = []
            columns: list[np.ndarray] = []
            if has_table:
                try:
                    data, found = read_until_marker(stream, _END_MARKER, self.limits)
                    names, columns = parse_tab_block(
                        io.BytesIO(data), header=True, limits=self.limits
                    )
                except LimitExceeded as error:
                    where = None if error.line is None else line + error.line
                    raise LimitExceeded(self.path, where, error.message) from None
                if not found:
                    self._warn(None, f"{TABLE_BEGIN} is never closed by {TABLE_END}")
        yield self._series(series_rows)
        yield from self._samples(sample_rows, names, columns, line)

    def _series(self, rows: list[tuple[str, str]]) -> Series:
        accession = next((v for k, v in rows if k.lower() == "series_geo_accession"), None)
        if not accession:
            stem = self.path.name.split("_series_matrix")[0].split("-")[0]
            accession = stem or "series"
        return Series(accession.strip(), list(rows))

    def _samples(
        self,
        rows: list[tuple[str, list[str], int]],
        names: list[str],
        columns: list[np.ndarray],
        table_line: int,
    ) -> Iterator[Sample]:
        accessions = next((c for k, c, _ in rows if k.lower() == "sample_geo_accession"), None)
        header_ids = names[1:]
        if accessions is not None:
            count = len(accessions)
        elif header_ids:
            count = len(header_ids)
        else:
            count = max((_trimmed_len(c) for _, c, _ in rows), default=0)
        for key, cells, number in rows:
            if len(cells) > count and any(cells[count:]):
                self._warn(
                    number,
                    f"row {key} has {len(cells)} values for {count} samples; extra values ignored",
                )
        has_rows = bool(columns) and len(columns[0]) > 0
        if header_ids and len(header_ids) != count:
            self._warn(
                table_line, f"table has {len(header_ids)} sample columns for {count} samples"
            )
        position = {name: i + 1 for i, name in reversed(list(enumerate(header_ids)))}
        for j in range(count):
            sample_id = (accessions[j] if accessions and j < len(accessions) else "").strip()
            if not sample_id:
                sample_id = header_ids[j] if j < len(header_ids) else f"sample{j + 1}"
            attributes = [(k, c[j]) for k, c, _ in rows if j < len(c) and c[j] != ""]
            table = None
            if has_rows:
                index = position.get(sample_id, j + 1)
                if index < len(columns):
                    table = _shared_table(["ID_REF", "VALUE"], [columns[0], columns[index]])
                else:
                    self._warn(table_line, f"no table column for sample {sample_id}")
            yield Sample(sample_id, attributes, [], table)


def _shared_table(names: list[str], columns: list[np.ndarray]) -> Table:
    """A Table over existing string arrays without copying them (the ID column is shared by
    every sample of a matrix); the arrays are made read-only so no sample can alter another's."""
    table = Table(names, [[] for _ in names])
    for column in columns:
        column.flags.writeable = False
    table.columns = list(columns)
    return table


def _trimmed_len(cells: list[str]) -> int:
    n = len(cells)
    while n and cells[n - 1] == "":
        n -= 1
    return n


def read_series_matrix(path: str | Path, limits: Limits | None = None) -> list[Record]:
    """Read a series matrix into ``[Series, Sample, ...]`` (``limits``: see
    :class:`SeriesMatrixReader`)."""
    return list(SeriesMatrixReader(path, limits).records())


# --- writer ---------------------------------------------------------------------------------
def quote(value: str) -> str:
    """Quote a cell the way GEO writes it, doubling quotes inside."""
    return '"' + value.replace('"', '""') + '"'


def _check(value: str, what: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError(f"{what}: a series matrix value cannot contain line breaks")
    return value


def _check_name(key: str) -> str:
    if "\t" in key:
        raise ValueError(f"attribute name {key!r}: a series matrix row name cannot contain tabs")
    return _check(key, "attribute name")


def _check_prefix(key: str, prefix: str) -> None:
    if key.split("_", 1)[0].lower() != prefix.lower() or "_" not in key:
        raise ValueError(
            f"attribute {key!r} cannot be written as a series matrix row: expected a "
            f"{prefix}_* attribute"
        )


def _merged_slots(samples: Sequence[Sample]) -> list[tuple[str, int]]:
    """All (key, occurrence) slots of the samples, in an order consistent with each sample."""
    first_seen: dict[tuple[str, int], int] = {}
    successors: dict[tuple[str, int], list[tuple[str, int]]] = {}
    indegree: dict[tuple[str, int], int] = {}
    for sample in samples:
        counts: dict[str, int] = {}
        previous: tuple[str, int] | None = None
        for key, _ in sample.attributes:
            slot = (key, counts.get(key, 0))
            counts[key] = slot[1] + 1
            if slot not in first_seen:
                first_seen[slot] = len(first_seen)
                successors[slot] = []
                indegree[slot] = 0
            if previous is not None:
                successors[previous].append(slot)
                indegree[slot] += 1
            previous = slot
    order: list[tuple[str, int]] = []
    remaining = dict(indegree)
    ready = sorted((s for s, d in remaining.items() if d == 0), key=first_seen.__getitem__)
    while remaining:
        if not ready:  # contradictory orders: break the cycle at the earliest slot
            ready = [min(remaining, key=first_seen.__getitem__)]
        slot = ready.pop(0)
        if slot not in remaining:
            continue
        del remaining[slot]
        order.append(slot)
        for nxt in successors[slot]:
            if nxt in remaining:
                remaining[nxt] -= 1
                if remaining[nxt] == 0:
                    ready.append(nxt)
        ready.sort(key=first_seen.__getitem__)
    return order


def _value_column(sample: Sample) -> tuple[np.ndarray, np.ndarray] | None:
    if sample.table is None:
        return None
    table = sample.table
    ids = table.column("ID_REF") if table.has("ID_REF") else table.columns[0]
    if not table.has("VALUE"):
        raise ValueError(f"sample {sample.id}: its table has no VALUE column")
    return ids, table.column("VALUE")


def write_series_matrix(
    series: Series,
    samples: Sequence[Sample],
    target: str | Path | IO[bytes],
    *,
    gzip: bool | None = None,
) -> None:
    """Write a Series and its Samples in GEO's series matrix layout.

    Parameters
    ----------
    series
        The series; its attributes become ``!Series_*`` rows, in order.
    samples
        The samples, one matrix column each (GEO writes one file per platform).
    target
        A path or a binary stream.
    gzip
        Compress with gzip; by default when ``target`` is a path ending in ``.gz``.

    Raises
    ------
    ValueError
        If a value holds a line break, an attribute name a tab, or a sample table has no
        VALUE column.
    """
    if gzip is None:
        gzip = isinstance(target, str | Path) and str(target).lower().endswith(".gz")
    if isinstance(target, str | Path):
        with open(target, "wb") as handle:
            _write(series, samples, handle, gzip)
    else:
        _write(series, samples, target, gzip)


def _write(series: Series, samples: Sequence[Sample], handle: IO[bytes], compress: bool) -> None:
    if compress:
        with gzip_module.GzipFile(fileobj=handle, mode="wb", mtime=0, compresslevel=6) as zipped:
            _write_text(series, samples, zipped)  # type: ignore[arg-type]
    else:
        _write_text(series, samples, handle)


def _write_text(series: Series, samples: Sequence[Sample], handle: IO[bytes]) -> None:
    lines: list[str] = []
    for key, value in series.attributes:
        _check_prefix(key, "Series")
        lines.append(f"!{_check_name(key)}\t{quote(_check(value, key))}")
    lines.append("")
    for key, occurrence in _merged_slots(samples):
        _check_prefix(key, "Sample")
        cells = []
        for sample in samples:
            values = [v for k, v in sample.attributes if k == key]
            value = values[occurrence] if occurrence < len(values) else ""
            cells.append(quote(_check(value, f"sample {sample.id} {key}")))
        lines.append(f"!{_check_name(key)}\t" + "\t".join(cells))
    lines.append(TABLE_BEGIN)
    header = [quote("ID_REF"), *(quote(_check(s.id, "sample id")) for s in samples)]
    lines.append("\t".join(header))
    handle.write(("\n".join(lines) + "\n").encode("utf-8"))
    for chunk in _table_lines(samples):
        handle.write(chunk.encode("utf-8"))
    handle.write((TABLE_END + "\n").encode("utf-8"))


def _table_lines(samples: Sequence[Sample]) -> Iterable[str]:
    values = [_value_column(s) for s in samples]
    present = [v for v in values if v is not None]
    if not present:
        return
    ids = present[0][0]
    n = len(ids)
    columns: list[list[str]] = []
    for entry in values:
        if entry is None:
            columns.append([""] * n)
            continue
        their_ids, column = entry
        if len(their_ids) == n and np.array_equal(their_ids, ids):
            columns.append(column.astype(object).tolist())
        else:
            lookup = dict(zip(their_ids.tolist(), column.tolist(), strict=True))
            columns.append([lookup.get(i, "") for i in ids.tolist()])
    id_cells = [quote(_check(i, "ID_REF")) for i in ids.tolist()]
    width = len(columns)
    step = 20000
    for start in range(0, n, step):
        block = [c[start : start + step] for c in columns]
        rows = ["\t".join(r) for r in zip(*block, strict=True)]
        text = "\n".join(rows)
        if (
            '"' in text
            or "\r" in text
            or text.count("\n") != len(rows) - 1
            or text.count("\t") != len(rows) * (width - 1)
        ):  # some value needs quoting or is not writable: check each one
            rows = ["\t".join(_cell(v) for v in r) for r in zip(*block, strict=True)]
        heads = id_cells[start : start + step]
        yield "".join(f"{h}\t{r}\n" for h, r in zip(heads, rows, strict=True))


def _cell(value: str) -> str:
    _check(value, "table value")
    return quote(value) if '"' in value or "\t" in value else value
