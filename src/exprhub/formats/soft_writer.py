"""Writing GEO SOFT files.

Each record is written as GEO writes it::

    ^SAMPLE = GSM1
    !Sample_title = liver 1
    #ID_REF = probe
    #VALUE = signal
    !Sample_table_begin
    ID_REF<TAB>VALUE
    1007_s_at<TAB>12.5
    !Sample_table_end

Attribute keys are written as stored; the table markers use the record's attribute prefix as
stored (``!sample_table_begin`` for records read from a lower-case file, else the class prefix;
``!dataset_table_begin`` for DataSets), or, with ``table_markers="lower"``, the lower-case
markers of GEO's family files (``!platform_table_begin``, ``!sample_table_begin``). A DataSet
is written as GEO does: its header block, the Subsets that follow it, then a second
``^DATASET`` block with the column descriptions and the table.

Escaping rules: SOFT has no escapes, so text that cannot be written back unchanged is refused
with a ValueError naming the record and field, rather than silently altered:

- no value, key, column name, description, id or cell may contain a line break (``\\n`` or
  ``\\r``);
- table cells and column names may not contain a TAB; a table row may not start with ``!`` or
  ``^`` (those lines end a table); a one-column table may not hold empty strings (the line
  would be blank);
- keys and column names may not contain ``" = "`` nor end with ``" ="``; ids may not start or
  end with white space.

Reading what this module writes gives back equal records.
"""

from __future__ import annotations

import functools
import gzip as gzip_module
import io
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Literal, TextIO

import numpy as np

from exprhub.records import (
    Annotation,
    Database,
    DataSet,
    Platform,
    Record,
    Sample,
    Series,
    Subset,
    Table,
    arrow_strings,
)

__all__ = ["TableMarkers", "write_soft"]

_ENTITY = {
    Database: "DATABASE",
    Annotation: "Annotation",
    Series: "SERIES",
    Platform: "PLATFORM",
    Sample: "SAMPLE",
    DataSet: "DATASET",
    Subset: "SUBSET",
}
_RANK = {Database: 0, Annotation: 1, Series: 2, Platform: 3, Sample: 4, DataSet: 5, Subset: 5}
_LINE_BREAKS = ("\n", "\r")


def _entity(record: Record) -> str:
    for cls, name in _ENTITY.items():
        if type(record) is cls:
            return name
    for cls, name in _ENTITY.items():
        if isinstance(record, cls):
            return name
    raise ValueError(f"cannot write {type(record).__name__} records as SOFT")


def _where(record: Record) -> str:
    return f"{type(record).__name__} {record.id!r}"


def _check_text(record: Record, what: str, text: str) -> None:
    if "\n" in text or "\r" in text:
        raise ValueError(f"{_where(record)}: {what} {text[:40]!r} contains a line break")


def _check_key(record: Record, what: str, key: str) -> None:
    _check_text(record, what, key)
    if " = " in key or key.endswith(" ="):
        raise ValueError(f"{_where(record)}: {what} {key!r} contains ' = ' or ends with ' ='")


TableMarkers = Literal["as_stored", "lower"]


def _marker_prefix(record: Record, markers: TableMarkers = "as_stored") -> str:
    if isinstance(record, DataSet):
        return "dataset"
    if markers == "lower":
        return (record.prefix or _entity(record)).lower()
    wanted = record.prefix.lower()
    for key, _ in record.attributes:
        head, sep, _ = key.partition("_")
        if sep and head.lower() == wanted:
            return head
    return record.prefix or _entity(record).lower()


def _header(record: Record) -> str:
    _check_text(record, "id", record.id)
    if record.id != record.id.strip():
        raise ValueError(f"{_where(record)}: id starts or ends with white space")
    entity = _entity(record)
    if isinstance(record, Annotation) and record.id and record.id == record.get("platform"):
        return f"^{entity}\n"
    return f"^{entity} = {record.id}\n" if record.id else f"^{entity}\n"


def _pair_lines(record: Record, pairs: list[tuple[str, str]], mark: str) -> str:
    """``<mark>key = value`` lines of ``pairs``, checked all at once; a pair at fault is looked
    for (and named) only when the whole text shows that there is one."""
    text = "".join([f"{mark}{key} = {value}\n" for key, value in pairs])
    keys = "\0".join([key for key, _ in pairs]) + "\0"
    clean_lines = text.count("\n") == len(pairs) and "\r" not in text
    if clean_lines and " = " not in keys and " =\0" not in keys:
        return text
    attribute = mark == "!"
    for key, value in pairs:
        _check_key(record, "attribute key" if attribute else "column name", key)
        what = f"value of {key}" if attribute else f"description of column {key}"
        _check_text(record, what, value)
    return text


def _attribute_lines(record: Record) -> str:
    return _pair_lines(record, record.attributes, "!")


def _column_lines(record: Record) -> str:
    return _pair_lines(record, record.columns, "#")


def _table_text(record: Record, table: Table) -> str:
    names = table.names
    for name in names:
        _check_text(record, "table column name", name)
        if "\t" in name:
            raise ValueError(f"{_where(record)}: table column name {name!r} contains a TAB")
    header = "\t".join(names)
    if names and header[:1] in ("!", "^"):
        raise ValueError(f"{_where(record)}: table header may not start with '!' or '^'")
    if len(names) == 1 and not header:
        raise ValueError(f"{_where(record)}: a one-column table needs a non-empty column name")
    if not names:
        return ""
    if table.n_rows == 0:
        return header + "\n"
    body = _plain_rows(record, table)
    if body is None:
        body = _joined_rows(record, table)
        # Each row ends in a line break, so a row starts at the text's start or after one.
        if body[:1] in ("!", "^") or "\n!" in body or "\n^" in body:
            raise _row_start_error(record)
    if len(names) == 1 and np.any(table.columns[0] == ""):
        raise ValueError(f"{_where(record)}: a one-column table cannot hold empty values")
    return f"{header}\n{body}"


def _row_start_error(record: Record) -> ValueError:
    return ValueError(f"{_where(record)}: a table row may not start with '!' or '^'")


def _plain_rows(record: Record, table: Table) -> str | None:
    """The rows of ``table``, each ending in a line break, or None when a cell holds a TAB, a
    line break or a double quote, or a column uses a missing-value sentinel.

    Arrow's CSV writer (TAB-separated, no header, nothing quoted) joins the cells in C, several
    times faster than joining numpy string columns; it refuses exactly the cells that need the
    general path (:func:`_joined_rows`), which writes double quotes and names the other faults.
    """
    if any(hasattr(column.dtype, "na_object") for column in table.columns):
        return None
    pa, pa_csv, options = _arrow_csv()
    columns = [arrow_strings(column) for column in table.columns]
    frame = pa.RecordBatch.from_arrays(columns, names=[str(i) for i in range(len(columns))])
    sink = pa.BufferOutputStream()
    try:
        pa_csv.write_csv(frame, sink, write_options=options)
    except pa.ArrowInvalid:
        return None
    if _starts_with_marker(columns[0]):
        raise _row_start_error(record)
    return sink.getvalue().to_pybytes().decode("utf-8")


@functools.cache
def _arrow_csv() -> tuple[Any, Any, Any]:
    """pyarrow, its CSV module and the options of a TAB-separated, unquoted, headerless CSV
    (imported on first use: writing SOFT without tables does not load pyarrow)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    options = pa_csv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
    return pa, pa_csv, options


def _starts_with_marker(column: Any) -> bool:
    """Whether a cell of an Arrow string column starts with ``!`` or ``^`` (read from its
    buffers: the first byte of each non-empty cell)."""
    _, offset_buffer, data = column.buffers()
    if data is None:
        return False
    offsets = np.frombuffer(
        offset_buffer, dtype=np.int64, count=len(column) + 1, offset=column.offset * 8
    )
    starts = offsets[:-1]
    lead = np.frombuffer(data, dtype=np.uint8)[starts[offsets[1:] > starts]]
    return bool(((lead == ord("!")) | (lead == ord("^"))).any())


def _joined_rows(record: Record, table: Table) -> str:
    joined = table.columns[0]
    for column in table.columns[1:]:
        joined = np.strings.add(np.strings.add(joined, "\t"), column)
    body = "\n".join(joined.tolist())
    expected_tabs = table.n_rows * (len(table.names) - 1)
    if body.count("\t") != expected_tabs or body.count("\n") != table.n_rows - 1 or "\r" in body:
        raise ValueError(f"{_where(record)}: a table cell contains a TAB or a line break")
    return body + "\n"


def _table_block(record: Record, markers: TableMarkers = "as_stored") -> str:
    if record.table is None:
        return ""
    prefix = _marker_prefix(record, markers)
    text = _table_text(record, record.table)
    return f"!{prefix}_table_begin\n{text}!{prefix}_table_end\n"


def _record_text(record: Record, markers: TableMarkers) -> str:
    if isinstance(record, DataSet):
        return _header(record) + _attribute_lines(record)
    table = _table_block(record, markers)
    return _header(record) + _attribute_lines(record) + _column_lines(record) + table


def _dataset_tail(record: DataSet) -> str:
    if not record.columns and record.table is None:
        return ""
    return _header(record) + _column_lines(record) + _table_block(record)


def geo_order(records: Sequence[Record]) -> list[Record]:
    """Records sorted into GEO's file order (stable within each kind).

    Database, Annotation, Series, Platforms, Samples, then each DataSet followed by its
    Subsets.
    """
    dataset_pos = {r.id: i for i, r in enumerate(records) if isinstance(r, DataSet)}

    def key(item: tuple[int, Record]) -> tuple[int, int, int, int]:
        index, record = item
        rank = next((v for c, v in _RANK.items() if isinstance(record, c)), 6)
        if isinstance(record, DataSet):
            return (rank, index, 0, 0)
        if isinstance(record, Subset):
            owner = record.dataset_id
            position = dataset_pos.get(owner or "", len(records))
            return (rank, position, 1, index)
        return (rank, index, 0, 0)

    return [record for _, record in sorted(enumerate(records), key=key)]


def _chunks(records: Iterable[Record], markers: TableMarkers) -> Iterator[str]:
    pending: DataSet | None = None
    for record in records:
        if pending is not None and not isinstance(record, Subset):
            yield _dataset_tail(pending)
            pending = None
        yield _record_text(record, markers)
        if isinstance(record, DataSet):
            pending = record
    if pending is not None:
        yield _dataset_tail(pending)


def write_soft(
    records: Iterable[Record],
    target: str | Path | TextIO | BinaryIO,
    *,
    gzip: bool | None = None,
    table_markers: TableMarkers = "as_stored",
) -> None:
    """Write records as a SOFT file.

    Parameters
    ----------
    records
        The records. A list or tuple is first put in GEO's order (Database, Series, Platforms,
        Samples; a DataSet then its Subsets); any other iterable is written in the order given,
        one record at a time, so a reader's stream can be copied in bounded memory.
    target
        A path, or an open text or binary stream (left open).
    gzip
        Compress the output; by default when ``target`` is a path ending in ``.gz``.
    table_markers
        ``"as_stored"``: a table's ``!<prefix>_table_begin`` / ``_end`` markers take the prefix
        of the record's attributes (``!Sample_table_begin`` for ``Sample_title``);
        ``"lower"``: the lower-case markers of GEO's family files (``!sample_table_begin``).

    Raises
    ------
    ValueError
        If some text cannot be written back unchanged (see the module's escaping rules), or if
        ``gzip=True`` is asked for a text stream.
    """
    if isinstance(records, Sequence):
        records = geo_order(records)
    if isinstance(target, str | Path):
        path = Path(target)
        compress = path.name.lower().endswith(".gz") if gzip is None else gzip
        with open(path, "wb") as raw:
            if compress:
                with gzip_module.GzipFile(
                    filename=path.name.removesuffix(".gz"), mode="wb", fileobj=raw, compresslevel=6
                ) as stream:
                    _write_binary(records, stream, table_markers)
            else:
                _write_binary(records, raw, table_markers)
        return
    if isinstance(target, io.TextIOBase) or hasattr(target, "encoding"):
        if gzip:
            raise ValueError("gzip=True needs a path or a binary stream, not a text stream")
        text_target: TextIO = target  # type: ignore[assignment]
        for chunk in _chunks(records, table_markers):
            text_target.write(chunk)
        return
    binary: BinaryIO = target  # type: ignore[assignment]
    if gzip:
        with gzip_module.GzipFile(mode="wb", fileobj=binary, compresslevel=6) as stream:
            _write_binary(records, stream, table_markers)
    else:
        _write_binary(records, binary, table_markers)


def _write_binary(
    records: Iterable[Record], stream: BinaryIO | gzip_module.GzipFile, markers: TableMarkers
) -> None:
    for chunk in _chunks(records, markers):
        try:
            stream.write(chunk.encode("utf-8"))
        except UnicodeEncodeError as error:
            raise ValueError(f"text cannot be written as UTF-8: {error}") from None
