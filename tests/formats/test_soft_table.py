"""Tests for parsing SOFT tables in pieces: the same result as in one piece, whatever the cut.

Every test runs twice: with the compiled splitter (``exprhub.records._strings``) and with the
numpy path used where it is not built; every SOFT fixture is read both ways.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exprhub.formats import soft_reader, soft_table
from exprhub.formats.detect import detect_format
from exprhub.formats.errors import FormatError
from exprhub.formats.soft import SoftReader
from exprhub.formats.soft_table import ColumnCache, ParsedTable, TableParser, parse_table_block
from exprhub.formats.source import decode_bytes
from tests.conftest import compiled_strings

_LONG = "GO:0005515 // protein binding // inferred from physical interaction " * 12

_cell = (
    st.sampled_from(["", "x", "1.5", "\r", "a\rb", "\x00", "\x01", "caf\xe9", "µ", "naïve", _LONG])
    | st.text(st.sampled_from("ab µ"), min_size=14, max_size=300)
    | st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\t\n\r"), max_size=6)
)


@pytest.fixture(params=["compiled", "numpy"], autouse=True)
def splitter(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which splitter the test runs with."""
    compiled = request.param == "compiled"
    if compiled:
        compiled_strings()
    monkeypatch.setattr(soft_table, "COMPILED", compiled)
    return str(request.param)


def _same(whole: ParsedTable, other: ParsedTable) -> None:
    assert other.names == whole.names
    assert [c.tolist() for c in other.columns] == [c.tolist() for c in whole.columns]
    assert (other.long_rows, other.short_rows, other.lines) == (
        whole.long_rows,
        whole.short_rows,
        whole.lines,
    )
    assert all(c.dtype == np.dtypes.StringDType() for c in other.columns)


def _reference(text: str, width: int) -> list[list[str]]:
    """Each column of ``text``'s rows after the header, short rows padded, long ones cut."""
    text = text if text.endswith("\n") else text + "\n"
    lines = [line for line in text.replace("\r\n", "\n").split("\n")[1:] if line]
    rows = [(line.split("\t") + [""] * width)[:width] for line in lines]
    return [[row[j] for row in rows] for j in range(width)]


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    width=st.integers(1, 5),
    rows=st.lists(st.lists(_cell, min_size=5, max_size=5), max_size=40),
    ragged=st.lists(st.integers(0, 7), max_size=3),
    blank=st.lists(st.integers(0, 40), max_size=2),
    crlf=st.booleans(),
    final_newline=st.booleans(),
    leading=st.integers(0, 2),
    slice_bytes=st.integers(1, 700),
    hint=st.none() | st.integers(0, 50),
)
def test_pieces_equal_whole(
    width: int,
    rows: list[list[str]],
    ragged: list[int],
    blank: list[int],
    crlf: bool,
    final_newline: bool,
    leading: int,
    slice_bytes: int,
    hint: int | None,
) -> None:
    rows = [row[:width] for row in rows]
    for i, size in enumerate(ragged):  # some rows shorter or longer than the header
        if rows:
            rows[(i * 7) % len(rows)] = rows[(i * 7) % len(rows)][:size] + ["z"] * (size - width)
    lines = ["\t".join(f"C{j}" for j in range(width))] + ["\t".join(row) for row in rows]
    for at in blank:
        lines.insert(1 + at % len(lines), "")
    ending = "\r\n" if crlf else "\n"
    text = ending * leading + ending.join(lines) + (ending if final_newline else "")
    data = text.encode("utf-8", "surrogatepass")
    whole = parse_table_block(data)
    if width > 1 or not any(row == [""] for row in rows):  # a blank one-cell row is skipped
        expected = _reference(text.lstrip("\r\n"), width)
        assert [c.tolist() for c in whole.columns] == expected
    _same(whole, parse_table_block(data, None, hint, slice_bytes=slice_bytes))
    _same(whole, parse_table_block(data, ColumnCache(), hint, slice_bytes=slice_bytes))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cells=st.lists(st.sampled_from([b"caf\xe9", b"na\xefve", b"\x81x", b"plain", b"\xc3\xa9"])),
    slice_bytes=st.integers(1, 60),
)
def test_windows_1252_lines_decoded_alike_in_pieces(cells: list[bytes], slice_bytes: int) -> None:
    data = b"ID\tVALUE\r\n" + b"".join(b"%d\t%s\r\n" % (i, cell) for i, cell in enumerate(cells))
    whole = parse_table_block(data)
    assert whole.columns[1].tolist() == [decode_bytes(cell) for cell in cells]  # line by line
    _same(whole, parse_table_block(data, slice_bytes=slice_bytes))


@pytest.mark.parametrize("n", [0, 1, 64, 22_283])
def test_empty_strings_is_a_column_of_empty_strings(n: int) -> None:
    column = soft_table.empty_strings(n)
    assert isinstance(column.dtype, np.dtypes.StringDType)
    assert column.shape == (n,) and column.flags.owndata and column.flags.writeable
    assert np.array_equal(column, np.empty(n, dtype=np.dtypes.StringDType()))
    column[-1:] = "ID_REF"
    assert column[-1:].tolist() == ["ID_REF"][: min(n, 1)]


@pytest.mark.parametrize("hint", [None, 1, 5, 6, 7, 50])
def test_declared_row_count_right_or_wrong_gives_the_same_table(hint: int | None) -> None:
    # 6 rows, a blank line, a CRLF row, a short and a long row
    data = b"ID\tVALUE\na\t1\nb\t2\n\nc\t3\r\nd\ne\t5\textra\nf\t6"
    parsed = parse_table_block(data, None, hint)
    expected = parse_table_block(data, None, None)
    assert [c.tolist() for c in parsed.columns] == [c.tolist() for c in expected.columns]
    assert parsed.columns[0].tolist() == ["a", "b", "c", "d", "e", "f"]
    assert parsed.columns[1].tolist() == ["1", "2", "3", "", "5", "6"]
    assert (parsed.lines, parsed.long_rows, parsed.short_rows) == (8, 1, 1)


def test_parser_fed_by_hand() -> None:
    parser = TableParser()
    parser.feed(bytearray(b"\n\r\n"))  # blank lines before the header, in a piece of their own
    parser.feed(bytearray(b"ID\tVALUE\r\n"))
    parser.feed(bytearray(b"a\t1\r\nb\t" + _LONG.encode() + b"\r\n"))
    parser.feed(bytearray(b"c\t3"), last=True)  # no final newline
    parsed = parser.result()
    assert parsed.names == ["ID", "VALUE"]
    assert [c.tolist() for c in parsed.columns] == [["a", "b", "c"], ["1", _LONG, "3"]]
    assert parsed.lines == 6


@pytest.mark.parametrize(("hint", "rows"), [(None, 50), (50, 50), (10, 50), (500, 50), (7, 0)])
def test_columns_grow_past_their_reservation(
    monkeypatch: pytest.MonkeyPatch, hint: int | None, rows: int
) -> None:
    monkeypatch.setattr(soft_table, "_MIN_RESERVE", 4)
    data = ("ID\tTEXT\n" + "".join(f"p{i}\t{'w' * (i % 40)}\n" for i in range(rows))).encode()
    parsed = parse_table_block(data, None, hint, slice_bytes=64)
    assert parsed.columns[0].tolist() == [f"p{i}" for i in range(rows)]
    assert parsed.columns[1].tolist() == ["w" * (i % 40) for i in range(rows)]


def test_many_long_strings_in_one_piece() -> None:
    """More strings longer than a slot than numpy converts at once, of varying lengths."""
    texts = [("x" * (16 + (i * 37) % 200)) + str(i) for i in range(1000)]
    data = ("ID\tTEXT\n" + "".join(f"{i}\t{t}\n" for i, t in enumerate(texts))).encode()
    for slice_bytes in (None, 5000):
        parsed = parse_table_block(data, slice_bytes=slice_bytes)
        assert parsed.columns[1].tolist() == texts


@pytest.mark.parametrize("n_long", [0, 1, 3, 9, 10, 40])
def test_short_column_with_a_few_long_cells(n_long: int) -> None:
    """Probe IDs of at most a slot's length among which a few are longer (control probes),
    also past the bulk-copy width and not ASCII; and the same column in every parsing mode."""
    ids = [f"{1_000_000 + i}_at" for i in range(320)]
    longer = ["AFFX-HUMGAPDH/M33197_5_at", "é" * 9, "y" * 300, "AFFX-" + "z" * 11]
    for k in range(n_long):
        ids[(k * 37) % len(ids)] = longer[k % len(longer)] + str(k)
    data = ("ID_REF\tVALUE\n" + "".join(f"{p}\t{i}.5\n" for i, p in enumerate(ids))).encode()
    for cache in (None, ColumnCache()):
        for slice_bytes in (None, 700):
            for _ in range(2):  # the second time, a cached column
                parsed = parse_table_block(data, cache, len(ids), slice_bytes=slice_bytes)
                assert parsed.columns[0].tolist() == ids
                assert parsed.columns[1].tolist() == [f"{i}.5" for i in range(len(ids))]


def test_narrow_column_reused_from_the_cache() -> None:
    cache = ColumnCache()
    tables = [
        ("ID_REF\tVALUE\n" + "".join(f"AFFX-probe-{i}_at\t{i * k}\n" for i in range(300))).encode()
        for k in range(1, 4)
    ]
    parsed = [parse_table_block(data, cache) for data in tables]
    assert all(p.columns[0].tolist() == parsed[0].columns[0].tolist() for p in parsed)
    assert parsed[2].columns[1].tolist() == [str(i * 3) for i in range(300)]
    assert parsed[1].columns[0] is not parsed[2].columns[0]


# --- the reader hands tables over in pieces -------------------------------------------------


def _records(path: Path) -> tuple[list[tuple[object, ...]], list[str]]:
    reader = SoftReader(path)
    records = [
        (
            type(r).__name__,
            r.id,
            r.attributes,
            r.columns,
            None if r.table is None else (r.table.names, [c.tolist() for c in r.table.columns]),
        )
        for r in reader.records()
    ]
    return records, [str(w) for w in reader.warnings]


def _small_pieces(monkeypatch: pytest.MonkeyPatch, size: int, read: int) -> None:
    monkeypatch.setattr(soft_reader, "SLICE_BYTES", size)
    monkeypatch.setattr(soft_reader, "_WHOLE_CELLS", 0)
    monkeypatch.setattr(soft_reader, "_SMALL_READ", read)
    monkeypatch.setattr(soft_reader, "_READ_SIZE", read)
    monkeypatch.setattr(soft_reader, "_SMALL_SPAN", 3 * read)  # larger reads soon


@pytest.mark.parametrize(
    "name",
    [
        "gemma/GSE1623_family.soft.txt.gz",
        "gemma/GPL2716_family.soft.gz",
        "gemma/GPL96_family_excel_damaged.soft.gz",
        "gemma/GDS100.soft.txt.gz",
        "geoquery/GSM11805.txt.gz",
    ],
)
def test_reader_in_small_pieces_reads_the_same(
    geo_fixtures: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    expected = _records(geo_fixtures / name)
    _small_pieces(monkeypatch, 4000, 3000)
    assert _records(geo_fixtures / name) == expected


def test_reader_pieces_around_every_ending(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = "".join(f"p{i}\t{i}\t{_LONG if i % 5 == 0 else 'v'}\r\n" for i in range(40))
    text = (
        "^PLATFORM = GPL1\r\n!Platform_data_row_count = 40\r\n#ID = \r\n"
        "!platform_table_begin\r\nID\tA\tB\r\n" + rows + "!platform_table_end\r\n"
        "^SAMPLE = GSM1\r\n#ID_REF = \r\n!sample_table_begin\r\nID_REF\tVALUE\r\n"
        + rows.replace(_LONG, "x")
        + "^SAMPLE = GSM2\r\n#ID_REF = \r\n!sample_table_begin\r\nID_REF\tVALUE\r\n"
        + "a\t1\r\n!Sample_title = late\r\n"
        "^SAMPLE = GSM3\r\n#ID_REF = \r\n!sample_table_begin\r\nID_REF\tVALUE\r\nz\t9"
    )
    path = tmp_path / "pieces.soft.gz"
    path.write_bytes(gzip.compress(text.encode()))
    expected = _records(path)
    assert len(expected[0]) == 4 and len(expected[1]) == 4  # long rows, 3 unclosed tables
    for size, read in [(1, 1), (50, 7), (300, 64), (1000, 333)]:
        with monkeypatch.context() as patch:
            _small_pieces(patch, size, read)
            assert _records(path) == expected


def test_truncated_gzip_reported_when_read_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = "".join(f"p{i}\t{i}\n" for i in range(3000))
    data = gzip.compress(f"^SAMPLE = GSM1\n!sample_table_begin\nID_REF\tVALUE\n{body}".encode())
    path = tmp_path / "cut.soft.gz"
    path.write_bytes(data[: len(data) // 2])
    for span in (0, 1 << 30):  # the error found in small reads and in large ones
        monkeypatch.setattr(soft_reader, "_SMALL_SPAN", span)
        monkeypatch.setattr(soft_reader, "_SMALL_READ", 1024)
        monkeypatch.setattr(soft_reader, "_READ_SIZE", 4096)
        with pytest.raises(FormatError, match="truncated gzip"):
            list(SoftReader(path).records())


def _soft_fixtures() -> list[Path]:
    from tests.conftest import GEO_FIXTURES

    found = []
    for path in sorted(GEO_FIXTURES.glob("*/*")):
        try:
            kind = detect_format(path)
        except FormatError:
            continue
        if kind in ("soft", "annot"):
            found.append(path)
    return found


@pytest.mark.parametrize("splitter", ["compiled"], indirect=True)
@pytest.mark.parametrize("path", _soft_fixtures(), ids=lambda p: p.name)
def test_every_soft_fixture_reads_the_same_with_either_splitter(
    splitter: str, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = _records(path)
    monkeypatch.setattr(soft_table, "COMPILED", False)
    assert _records(path) == compiled
