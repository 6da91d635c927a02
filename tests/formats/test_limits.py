"""Reader limits (docs/limits.md): hostile files are refused with one line naming the file, the
line where there is one, and the limit; files within the limits read as before.

The hostile files are generated here. Large ones (:func:`write_table_bomb` and friends, also
used by tests/ingest/test_import_limits.py) are gzip files of many identical members, so a few
megabytes on disk inflate to gigabytes without the test ever holding more than one member.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from exprhub.formats.detect import detect_format, open_reader
from exprhub.formats.errors import FormatError, LimitExceeded
from exprhub.formats.limits import Limits, check_line_and_cell_bytes, parse_size
from exprhub.formats.source import open_binary
from exprhub.records import Record

GIB = 1 << 30
MIB = 1 << 20

# --- hostile files ---------------------------------------------------------------------------

_MINIML_NS = "http://www.ncbi.nlm.nih.gov/geo/info/MINiML"


def _write_members(path: Path, parts: list[tuple[bytes, int]]) -> None:
    """Write ``path`` as gzip members: each ``(data, times)`` is one member written ``times``
    times (compressed once)."""
    with open(path, "wb") as out:
        for data, times in parts:
            member = gzip.compress(data, compresslevel=9, mtime=0)
            for _ in range(times):
                out.write(member)


def write_table_bomb(path: Path, inflated: int = 4 * GIB) -> None:
    """A SOFT sample whose table rows inflate to about ``inflated`` bytes."""
    head = (
        b"^SAMPLE = GSM1\n!Sample_title = bomb\n!Sample_platform_id = GPL1\n"
        b"#ID_REF = probe\n#VALUE = signal\n!sample_table_begin\nID_REF\tVALUE\n"
    )
    rows = b"AFFX-probe_1_at\t12.5\n" * (16 * MIB // 21)
    _write_members(path, [(head, 1), (rows, inflated // len(rows)), (b"!sample_table_end\n", 1)])


def write_matrix_bomb(path: Path, inflated: int = 4 * GIB) -> None:
    """A series matrix whose table rows inflate to about ``inflated`` bytes."""
    head = (
        b'!Series_title\t"bomb"\n!Series_geo_accession\t"GSE1"\n\n'
        b'!Sample_geo_accession\t"GSM1"\n!Sample_platform_id\t"GPL1"\n'
        b'!series_matrix_table_begin\n"ID_REF"\t"GSM1"\n'
    )
    rows = b'"AFFX-probe_1_at"\t12.5\n' * (16 * MIB // 23)
    end = b"!series_matrix_table_end\n"
    _write_members(path, [(head, 1), (rows, inflated // len(rows)), (end, 1)])


def write_line_bomb(path: Path, inflated: int = 4 * GIB) -> None:
    """A SOFT file whose second line runs on for about ``inflated`` bytes."""
    chunk = b"x" * (16 * MIB)
    _write_members(
        path, [(b"^SAMPLE = GSM1\n!Sample_title = ", 1), (chunk, inflated // len(chunk))]
    )


def write_attribute_bomb(path: Path, size: int = 100 * MIB) -> None:
    """A SOFT series whose summary is one value of ``size`` bytes (a line within the line
    limit)."""
    chunk = b"a" * MIB
    _write_members(
        path,
        [
            (b"^SERIES = GSE1\n!Series_title = bomb\n!Series_summary = ", 1),
            (chunk, size // len(chunk)),
            (b"\n!Series_type = Expression profiling by array\n", 1),
        ],
    )


def write_description_bomb(path: Path, size: int = 200 * MIB) -> None:
    """A gzip MINiML sample whose ``<Description>`` holds ``size`` bytes in lines of 1 KiB
    (each line one attribute value of ordinary length)."""
    head, tail = miniml_document().split(b"<Data-Table>")
    head += b"<Description>\n"
    tail = b"</Description>\n</Sample>\n</MINiML>\n"
    lines = (b"d" * 1023 + b"\n") * 1024
    _write_members(path, [(head, 1), (lines, size // len(lines)), (tail, 1)])


def miniml_document(table: str = "GSM1-tbl-1.txt", rows: int = 2) -> bytes:
    """A MINiML family document: one sample whose table is the external file ``table``."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<MINiML xmlns="{_MINIML_NS}" version="0.5.0">\n'
        '<Sample iid="GSM1">\n<Title>one</Title>\n<Accession database="GEO">GSM1</Accession>\n'
        "<Data-Table>\n"
        '<Column position="1"><Name>ID_REF</Name></Column>\n'
        '<Column position="2"><Name>VALUE</Name></Column>\n'
        f'<External-Data rows="{rows}">{table}</External-Data>\n'
        "</Data-Table>\n</Sample>\n</MINiML>\n"
    ).encode()


def _tar_header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 0
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def write_bundle_bomb(path: Path, member: int = 4 * GIB) -> None:
    """A MINiML family ``.tgz`` whose table member holds ``member`` zero bytes."""
    document = miniml_document()
    padding = b"\0" * (-len(document) % 512)
    head = _tar_header("GSE1_family.xml", len(document)) + document + padding
    head += _tar_header("GSM1-tbl-1.txt", member)
    zeros = b"\0" * (16 * MIB)
    rest = member % len(zeros) + 2 * 512  # the member's last part, then the end-of-archive
    _write_members(path, [(head, 1), (zeros, member // len(zeros)), (b"\0" * rest, 1)])


def write_wide_table(path: Path, columns: int = 10_000, cell: int = 600_000) -> None:
    """A SOFT sample with a ``columns``-column table of one row holding a ``cell``-byte cell."""
    lines = ["^SAMPLE = GSM1", "!Sample_title = wide", "!Sample_platform_id = GPL1"]
    lines += ["#ID_REF = probe", "#VALUE = signal"]
    lines += [f"#C{i} = column {i}" for i in range(2, columns)]
    lines.append("!sample_table_begin")
    lines.append("\t".join(["ID_REF", "VALUE", *(f"C{i}" for i in range(2, columns))]))
    lines.append("\t".join(["p1", "x" * cell, *("1" for _ in range(2, columns))]))
    lines.append("!sample_table_end")
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))


# --- helpers ---------------------------------------------------------------------------------


def _read(path: Path, limits: Limits) -> list[Record]:
    return list(open_reader(path, limits=limits).records())


def _refused(path: Path, limits: Limits, env: str, line: int | None = None) -> LimitExceeded:
    """Read ``path``; assert it is refused naming the file, ``line`` and the limit ``env``."""
    with pytest.raises(LimitExceeded) as info:
        detect_format(path, limits)
        _read(path, limits)
    error = info.value
    text = str(error)
    assert "\n" not in text
    assert error.path is not None and error.path.startswith(str(path))
    assert text.startswith(str(path)) and f"{env}=" in text, text
    if line is not None:
        assert error.line == line, text
        assert f"{path}:{line}: " in text
    return error


def _soft(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


# --- configuration ---------------------------------------------------------------------------


def test_limits_from_environment() -> None:
    limits = Limits.from_env(
        {
            "EXPRHUB_MAX_LINE_BYTES": "64M",
            "EXPRHUB_MAX_COLUMNS": "500",
            "EXPRHUB_MAX_CELL_BYTES": "",
        }
    )
    assert limits.line_bytes == 64 * MIB
    assert limits.columns == 500
    assert limits.cell_bytes == Limits().cell_bytes
    assert parse_size("4GiB") == 4 * GIB
    assert parse_size("1024") == 1024
    with pytest.raises(ValueError, match="EXPRHUB_MAX_COLUMNS"):
        Limits.from_env({"EXPRHUB_MAX_COLUMNS": "many"})
    with pytest.raises(ValueError, match="positive"):
        Limits.from_env({"EXPRHUB_MAX_LINE_BYTES": "0"})


def test_environment_reaches_the_readers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "long.soft"
    path.write_bytes(_soft("^SERIES = GSE1", "!Series_title = " + "t" * 5000))
    monkeypatch.setenv("EXPRHUB_MAX_LINE_BYTES", "4096")
    with pytest.raises(LimitExceeded, match=r"long\.soft:2: .*EXPRHUB_MAX_LINE_BYTES=4096"):
        list(open_reader(path).records())


def test_defaults_read_every_real_fixture(geo_fixtures: Path) -> None:
    """The default limits are far above what real GEO files hold."""
    limits = Limits()
    files = [p for p in geo_fixtures.rglob("*") if p.is_file() and p.name != "MANIFEST.md"]
    read = 0
    for path in files:
        try:
            kind = detect_format(path, limits)
        except LimitExceeded:
            raise
        except FormatError:
            continue  # files that are not records (0-byte, eSummary)
        try:
            _read(path, limits)
        except LimitExceeded:
            raise
        except FormatError:
            continue  # deliberately malformed fixtures
        read += 1
        assert kind
    assert read >= 30


# --- SOFT ------------------------------------------------------------------------------------

SOFT_TABLE = (
    "^SAMPLE = GSM1",
    "!Sample_title = t",
    "#ID_REF = probe",
    "#VALUE = signal",
    "!sample_table_begin",
    "ID_REF\tVALUE",
)


@pytest.mark.parametrize("rows", [3, None], ids=["declared-small", "undeclared"])
def test_soft_table_line_too_long(tmp_path: Path, rows: int | None) -> None:
    """Line 10 (4 KiB without a tab) is refused whether the table is read whole or in pieces."""
    declared = [] if rows is None else [f"!Sample_data_row_count = {rows}"]
    path = tmp_path / "t.soft"
    path.write_bytes(
        _soft(*SOFT_TABLE[:2], *declared, *SOFT_TABLE[2:], "a\t1", "b\t2", "c" * 4096)
        + b"!sample_table_end\n"
    )
    line = 10 if rows is not None else 9
    _refused(path, Limits(line_bytes=1024, cell_bytes=512), "EXPRHUB_MAX_LINE_BYTES", line)


def test_soft_line_without_end_is_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "endless.soft.gz"
    write_line_bomb(path, inflated=64 * MIB)
    error = _refused(path, Limits(line_bytes=MIB), "EXPRHUB_MAX_LINE_BYTES", 2)
    assert "line longer than 1048576 bytes" in str(error)


def test_soft_table_row_without_end(tmp_path: Path) -> None:
    path = tmp_path / "row.soft.gz"
    head = "\n".join([*SOFT_TABLE, "a\t1", ""]).encode()
    _write_members(path, [(head, 1), (b"y" * MIB, 8)])
    _refused(path, Limits(line_bytes=2 * MIB), "EXPRHUB_MAX_LINE_BYTES", 8)


def test_soft_marker_line_without_end(tmp_path: Path) -> None:
    path = tmp_path / "marker.soft.gz"
    head = "\n".join([*SOFT_TABLE, "a\t1", "!sample_table_end"]).encode()
    _write_members(path, [(head, 1), (b"z" * MIB, 8)])
    _refused(path, Limits(line_bytes=2 * MIB), "EXPRHUB_MAX_LINE_BYTES", 8)


def test_soft_cell_too_long(tmp_path: Path) -> None:
    path = tmp_path / "cell.soft"
    rows = [f"p{i}\t{i}" for i in range(2000)]
    rows[1500] = "p1500\t" + "9" * 3000
    path.write_bytes(_soft(*SOFT_TABLE, *rows, "!sample_table_end"))
    error = _refused(path, Limits(cell_bytes=2048), "EXPRHUB_MAX_CELL_BYTES", 7 + 1500)
    assert "table cell longer than 2048 bytes" in str(error)


def test_soft_too_many_columns(tmp_path: Path) -> None:
    path = tmp_path / "wide.soft"
    header = "\t".join(f"C{i}" for i in range(300))
    path.write_bytes(_soft(*SOFT_TABLE[:5], "", header, "\t".join(["1"] * 300)))
    error = _refused(path, Limits(columns=256), "EXPRHUB_MAX_COLUMNS", 7)
    assert "300 columns" in str(error)


@pytest.mark.parametrize("prefix", ["!Series_summary = ", "#VALUE = "])
def test_soft_attribute_value_too_long(tmp_path: Path, prefix: str) -> None:
    path = tmp_path / "value.soft"
    path.write_bytes(_soft("^SERIES = GSE1", "!Series_title = t", prefix + "é" * 700))
    error = _refused(path, Limits(attribute_bytes=1024), "EXPRHUB_MAX_ATTRIBUTE_BYTES", 3)
    assert "1400 bytes" in str(error)
    path.write_bytes(_soft("^SERIES = GSE1", "!Series_title = t", prefix + "é" * 500))
    assert _read(path, Limits(attribute_bytes=1024))


def test_soft_record_attributes_add_up(tmp_path: Path) -> None:
    path = tmp_path / "many.soft"
    lines = [f"!Series_summary = {'s' * 90}" for _ in range(50)]
    path.write_bytes(_soft("^SERIES = GSE1", "!Series_title = t", *lines))
    error = _refused(
        path, Limits(record_attribute_bytes=4096), "EXPRHUB_MAX_RECORD_ATTRIBUTE_BYTES", 2 + 38
    )
    assert "attributes of Series GSE1 add up to more than 4096 bytes" in str(error)
    assert _read(path, Limits(record_attribute_bytes=8192))


# --- gzip ------------------------------------------------------------------------------------


def test_compression_ratio_checked_per_window(tmp_path: Path) -> None:
    path = tmp_path / "bomb.soft.gz"
    write_table_bomb(path, inflated=64 * MIB)
    limits = Limits(ratio_window_bytes=8 * MIB)
    error = _refused(path, limits, "EXPRHUB_MAX_COMPRESSION_RATIO")
    assert "EXPRHUB_COMPRESSION_RATIO_WINDOW=8388608" in str(error)
    # the same file within a more permissive ratio reads to its end
    (record,) = _read(path, Limits(ratio_window_bytes=8 * MIB, compression_ratio=100_000))
    assert record.table is not None and record.table.n_rows > 3_000_000


def test_ratio_below_the_window_is_not_checked(tmp_path: Path) -> None:
    path = tmp_path / "small.soft.gz"
    write_table_bomb(path, inflated=16 * MIB)
    (record,) = _read(path, Limits(ratio_window_bytes=64 * MIB, compression_ratio=2))
    assert record.table is not None


def test_decompressed_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.soft.gz"
    write_table_bomb(path, inflated=32 * MIB)
    error = _refused(path, Limits(decompressed_bytes=8 * MIB), "EXPRHUB_MAX_DECOMPRESSED_BYTES")
    assert "inflates to more than 8388608 bytes" in str(error)
    stream = open_binary(path, limits=Limits(decompressed_bytes=8 * MIB))
    with stream, pytest.raises(LimitExceeded):
        while stream.read(MIB):
            pass


# --- series matrix ---------------------------------------------------------------------------


def _matrix(*rows: str, table: tuple[str, ...] = ('"ID_REF"\t"GSM1"', '"p1"\t1')) -> bytes:
    lines = ['!Series_title\t"m"', '!Series_geo_accession\t"GSE1"', "", *rows]
    lines += ["!series_matrix_table_begin", *table, "!series_matrix_table_end"]
    return ("\n".join(lines) + "\n").encode()


def test_matrix_header_line_too_long(tmp_path: Path) -> None:
    path = tmp_path / "m.txt"
    path.write_bytes(
        _matrix('!Sample_geo_accession\t"GSM1"', '!Sample_title\t"' + "a" * 5000 + '"')
    )
    _refused(path, Limits(line_bytes=4096), "EXPRHUB_MAX_LINE_BYTES", 5)


def test_matrix_too_many_samples(tmp_path: Path) -> None:
    path = tmp_path / "m.txt"
    ids = "\t".join(f'"GSM{i}"' for i in range(40))
    path.write_bytes(_matrix(f"!Sample_geo_accession\t{ids}"))
    _refused(path, Limits(columns=32), "EXPRHUB_MAX_COLUMNS", 4)


def test_matrix_table_too_wide(tmp_path: Path) -> None:
    path = tmp_path / "m.txt"
    header = "\t".join(['"ID_REF"', *(f'"GSM{i}"' for i in range(40))])
    path.write_bytes(_matrix('!Sample_geo_accession\t"GSM1"', table=(header, '"p1"\t1')))
    _refused(path, Limits(columns=32), "EXPRHUB_MAX_COLUMNS", 6)


def test_matrix_attribute_value_too_long(tmp_path: Path) -> None:
    path = tmp_path / "m.txt"
    path.write_bytes(
        _matrix('!Sample_geo_accession\t"GSM1"', '!Sample_description\t"' + "d" * 3000 + '"')
    )
    _refused(path, Limits(attribute_bytes=2048), "EXPRHUB_MAX_ATTRIBUTE_BYTES", 5)


def test_matrix_record_attributes_add_up(tmp_path: Path) -> None:
    rows = [f'!Series_summary\t"{"s" * 90}"' for _ in range(50)]
    path = tmp_path / "series.txt"
    path.write_bytes(_matrix(*rows, '!Sample_geo_accession\t"GSM1"'))
    _refused(
        path, Limits(record_attribute_bytes=4096), "EXPRHUB_MAX_RECORD_ATTRIBUTE_BYTES", 3 + 38
    )
    rows = [f'!Sample_description\t"{"s" * 90}"\t"x"' for _ in range(50)]
    path = tmp_path / "samples.txt"
    path.write_bytes(_matrix('!Sample_geo_accession\t"GSM1"\t"GSM2"', *rows))
    error = _refused(
        path, Limits(record_attribute_bytes=4096), "EXPRHUB_MAX_RECORD_ATTRIBUTE_BYTES"
    )
    assert "sample 1" in str(error)
    assert len(_read(path, Limits(record_attribute_bytes=8192))) == 3


def test_matrix_table_cell_and_line(tmp_path: Path) -> None:
    path = tmp_path / "m.txt"
    table = ('"ID_REF"\t"GSM1"', '"p1"\t1', '"p2"\t' + "7" * 3000, '"p3"\t3')
    path.write_bytes(_matrix('!Sample_geo_accession\t"GSM1"', table=table))
    _refused(path, Limits(cell_bytes=2048), "EXPRHUB_MAX_CELL_BYTES", 8)
    _refused(path, Limits(line_bytes=2048), "EXPRHUB_MAX_LINE_BYTES", 8)
    records = _read(path, Limits(cell_bytes=4096))
    assert len(records) == 2


def test_matrix_table_line_without_end(tmp_path: Path) -> None:
    path = tmp_path / "m.txt.gz"
    head = _matrix('!Sample_geo_accession\t"GSM1"', table=('"ID_REF"\t"GSM1"',))
    head = head[: head.index(b"!series_matrix_table_end")]
    _write_members(path, [(head, 1), (b"5" * MIB, 16)])
    _refused(path, Limits(line_bytes=4 * MIB), "EXPRHUB_MAX_LINE_BYTES", 7)


def test_matrix_table_bomb(tmp_path: Path) -> None:
    path = tmp_path / "m.txt.gz"
    write_matrix_bomb(path, inflated=64 * MIB)
    _refused(path, Limits(ratio_window_bytes=8 * MIB), "EXPRHUB_MAX_COMPRESSION_RATIO")


# --- MINiML ----------------------------------------------------------------------------------


def _bundle(path: Path, members: Iterator[tuple[str, bytes]]) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))


def test_bundle_within_limits_reads(tmp_path: Path) -> None:
    path = tmp_path / "GSE1_family.xml.tgz"
    table = b"ID_REF\tVALUE\np1\t1.5\np2\t2.5\n"
    for order in ([0, 1], [1, 0]):  # the table before or after its document
        parts = [("GSE1_family.xml", miniml_document()), ("GSM1-tbl-1.txt", table)]
        _bundle(path, iter([parts[i] for i in order]))
        (sample,) = _read(path, Limits())
        assert sample.table is not None
        assert sample.table.column("VALUE").tolist() == ["1.5", "2.5"]


def test_bundle_table_waits_on_disk_beyond_memory_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exprhub.formats import miniml_bundle

    monkeypatch.setattr(miniml_bundle, "_HELD_BYTES", 16)
    path = tmp_path / "GSE1_family.xml.tgz"
    table = b"ID_REF\tVALUE\np1\t1.5\np2\t2.5\n"
    _bundle(path, iter([("GSM1-tbl-1.txt", table), ("GSE1_family.xml", miniml_document())]))
    (sample,) = _read(path, Limits())
    assert sample.table is not None and sample.table.n_rows == 2


def test_bundle_member_too_large(tmp_path: Path) -> None:
    path = tmp_path / "GSE1_family.xml.tgz"
    write_bundle_bomb(path, member=64 * MIB)
    error = _refused(path, Limits(member_bytes=32 * MIB), "EXPRHUB_MAX_MEMBER_BYTES")
    assert "'GSM1-tbl-1.txt' holds 67108864 bytes" in str(error)


def test_bundle_too_many_members(tmp_path: Path) -> None:
    path = tmp_path / "GSE1_family.xml.tgz"
    members = [("GSE1_family.xml", miniml_document())]
    members += [(f"extra{i}.txt", b"x\n") for i in range(20)]
    _bundle(path, iter(members))
    _refused(path, Limits(archive_members=10), "EXPRHUB_MAX_ARCHIVE_MEMBERS")


def test_bundle_huge_extended_header(tmp_path: Path) -> None:
    """A pax header is refused by its declared size before tarfile reads it into memory."""
    path = tmp_path / "GSE1_family.xml.tgz"
    document = miniml_document()
    pax = tarfile.TarInfo("././@PaxHeader")
    pax.type = tarfile.XHDTYPE
    pax.size = 64 * MIB
    head = _tar_header("GSE1_family.xml", len(document)) + document
    head += b"\0" * (-len(document) % 512) + pax.tobuf(format=tarfile.USTAR_FORMAT)
    _write_members(path, [(head, 1), (b"\0" * MIB, 64), (b"\0" * 1024, 1)])
    _refused(path, Limits(member_bytes=MIB), "EXPRHUB_MAX_MEMBER_BYTES")


def test_miniml_line_and_attribute(tmp_path: Path) -> None:
    path = tmp_path / "GSM1.xml"
    document = miniml_document().replace(
        b"<Title>one</Title>", b"<Title>" + b"T" * 3000 + b"</Title>"
    )
    path.write_bytes(document)
    _refused(path, Limits(attribute_bytes=2048), "EXPRHUB_MAX_ATTRIBUTE_BYTES")
    _refused(path, Limits(line_bytes=2048), "EXPRHUB_MAX_LINE_BYTES", 4)


def test_miniml_internal_table_cell(tmp_path: Path) -> None:
    path = tmp_path / "GSM1.xml"
    internal = '<Internal-Data rows="2">\np1\t1\np2\t' + "8" * 3000 + "\n</Internal-Data>"
    document = (
        miniml_document()
        .decode()
        .replace('<External-Data rows="2">GSM1-tbl-1.txt</External-Data>', internal)
    )
    path.write_text(document)
    error = _refused(path, Limits(cell_bytes=2048), "EXPRHUB_MAX_CELL_BYTES")
    assert "GSM1: table cell longer" in str(error)


def test_miniml_element_text_adds_up(tmp_path: Path) -> None:
    """A description of many ordinary lines is one value in MINiML: its lines add up."""
    path = tmp_path / "GSM1.xml.gz"
    write_description_bomb(path, size=4 * MIB)
    error = _refused(path, Limits(attribute_bytes=MIB), "EXPRHUB_MAX_ATTRIBUTE_BYTES")
    assert "'description'" in str(error)
    _refused(
        path,
        Limits(record_attribute_bytes=2 * MIB, attribute_bytes=8 * MIB),
        "EXPRHUB_MAX_RECORD_ATTRIBUTE_BYTES",
    )
    (sample,) = _read(path, Limits())
    assert len(sample.attributes) > 4096


def test_iter_lines_line_without_end(tmp_path: Path) -> None:
    from exprhub.formats.source import iter_lines

    path = tmp_path / "endless.txt.gz"
    _write_members(path, [(b"first\n", 1), (b"q" * MIB, 8)])
    lines = iter_lines(path, Limits(line_bytes=2 * MIB))
    assert next(lines) == (1, "first")
    with pytest.raises(LimitExceeded, match=r"endless\.txt\.gz:2: .*EXPRHUB_MAX_LINE_BYTES"):
        next(lines)


# --- the line and cell check shared by the SOFT and tab-separated table parsers ---------------


@pytest.mark.parametrize("data", [b"a\tb\nc\td\n", bytearray(b"a\tb\r\nc\td\r\n")])
def test_line_and_cell_check_passes_text_within_the_limits(data: bytes | bytearray) -> None:
    check_line_and_cell_bytes(data, Limits(line_bytes=5, cell_bytes=2))


@pytest.mark.parametrize(
    ("data", "limits", "line", "words"),
    [
        (b"a\tb\n" + b"x" * 10 + b"\n", Limits(line_bytes=8), 2, "line longer than 8 bytes"),
        (b"a\tb\nc\t" + b"y" * 5 + b"\n", Limits(cell_bytes=4), 2, "table cell longer than 4"),
        (b"a\n\n" + b"z" * 5, Limits(cell_bytes=4, line_bytes=99), 3, "EXPRHUB_MAX_CELL_BYTES=4"),
    ],
)
def test_line_and_cell_check_names_the_line_and_limit(
    data: bytes, limits: Limits, line: int, words: str
) -> None:
    with pytest.raises(LimitExceeded) as caught:
        check_line_and_cell_bytes(bytearray(data), limits)
    assert caught.value.path is None and caught.value.line == line
    assert words in caught.value.message
