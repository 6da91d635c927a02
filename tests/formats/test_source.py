"""Tests for exprhub.formats.source: opening (gzip by magic bytes), decoding, line iteration."""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exprhub.formats import source
from exprhub.formats.errors import FormatError
from exprhub.formats.source import decode_bytes, iter_lines, open_binary


def _lines(path: Path | io.BytesIO) -> list[str]:
    return [text for _, text in iter_lines(path)]


# --- opening ---------------------------------------------------------------------------------


@pytest.fixture(params=["installed", "zlib"])
def inflater(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Gzip inflated by the module the package found (ISA-L's where installed) and by zlib."""
    if request.param == "zlib":
        monkeypatch.setattr(source, "inflate_module", zlib)
    yield request.param


def test_isal_inflates_when_installed() -> None:
    pytest.importorskip("isal")
    assert source.inflate_module.__name__ == "isal.isal_zlib"


@pytest.mark.usefixtures("inflater")
def test_members_and_padding_in_small_reads(tmp_path: Path) -> None:
    members = [b"", bytes(range(256)) * 50, b"a\nb", b"x" * 70_000]
    path = tmp_path / "members.gz"
    path.write_bytes(b"".join(gzip.compress(m) + b"\0" * (i % 3) for i, m in enumerate(members)))
    for size in (1, 7, 4096, 1 << 20):
        with open_binary(path, buffered=False) as stream:
            parts = []
            while chunk := stream.read(size):
                assert len(chunk) <= size
                parts.append(chunk)
        assert b"".join(parts) == b"".join(members)


@pytest.mark.usefixtures("inflater")
def test_gzip_detected_by_magic_not_name(tmp_path: Path) -> None:
    packed = tmp_path / "looks_plain.txt"
    packed.write_bytes(gzip.compress(b"^SAMPLE = GSM1\n!Sample_title = a\n"))
    plain = tmp_path / "looks_packed.soft.gz"
    plain.write_bytes(b"^SAMPLE = GSM2\n")
    assert _lines(packed) == ["^SAMPLE = GSM1", "!Sample_title = a"]
    assert _lines(plain) == ["^SAMPLE = GSM2"]
    with open_binary(packed) as stream:
        assert stream.read() == b"^SAMPLE = GSM1\n!Sample_title = a\n"


@pytest.mark.usefixtures("inflater")
def test_multi_member_gzip(tmp_path: Path) -> None:
    path = tmp_path / "two.gz"
    path.write_bytes(gzip.compress(b"a\nb") + gzip.compress(b"c\n"))
    assert _lines(path) == ["a", "bc"]


@settings(max_examples=150, deadline=None)
@given(
    members=st.lists(st.binary(max_size=3000), min_size=1, max_size=4),
    padding=st.lists(st.integers(0, 3), min_size=4, max_size=4),
    sizes=st.lists(st.integers(1, 5000), min_size=1, max_size=8),
    buffered=st.booleans(),
)
def test_gzip_members_read_whole_in_any_read_sizes(
    tmp_path_factory: pytest.TempPathFactory,
    members: list[bytes],
    padding: list[int],
    sizes: list[int],
    buffered: bool,
) -> None:
    # members one after the other, some followed by zero padding (which gzip allows)
    packed = b"".join(
        gzip.compress(m, compresslevel=1) + b"\0" * pad
        for m, pad in zip(members, padding, strict=False)
    )
    path = tmp_path_factory.mktemp("gz") / "members.gz"
    path.write_bytes(packed)
    with open_binary(path, buffered=buffered) as stream:
        parts, i = [], 0
        while chunk := stream.read(sizes[i % len(sizes)]):
            assert len(chunk) <= sizes[i % len(sizes)]
            parts.append(chunk)
            i += 1
    assert b"".join(parts) == b"".join(members)


@pytest.mark.usefixtures("inflater")
@pytest.mark.parametrize("buffered", [True, False])
def test_gzip_damage_is_a_format_error_wherever_it_is(tmp_path: Path, buffered: bool) -> None:
    data = gzip.compress(bytes(range(256)) * 400, compresslevel=1)
    cases = {
        "truncated": data[: len(data) - 3],
        "bad crc": data[:-8] + bytes([data[-8] ^ 1]) + data[-7:],
        "garbage after": data + b"not gzip",
    }
    for name, damaged in cases.items():
        path = tmp_path / f"{name.replace(' ', '_')}.gz"
        path.write_bytes(damaged)
        with (
            pytest.raises(FormatError, match=rf"{path.name}: (truncated|corrupt) gzip"),
            open_binary(path, buffered=buffered) as stream,
        ):
            while stream.read(1000):
                pass


def test_empty_gzip_fixture_is_a_format_error(geo_fixtures: Path) -> None:
    path = geo_fixtures / "geoquery" / "GPLbroken.soft.gz"
    with pytest.raises(FormatError) as info:
        open_binary(path)
    assert "GPLbroken.soft.gz" in str(info.value)
    assert "empty gzip file" in str(info.value)
    assert info.value.path == str(path)


@pytest.mark.usefixtures("inflater")
def test_truncated_gzip_is_a_format_error(tmp_path: Path, geo_fixtures: Path) -> None:
    data = (geo_fixtures / "geoquery" / "GSM11805.txt.gz").read_bytes()
    path = tmp_path / "cut.txt.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match=r"cut\.txt\.gz: truncated gzip file"):
        for _ in iter_lines(path):
            pass


@pytest.mark.usefixtures("inflater")
def test_corrupt_gzip_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.gz"
    path.write_bytes(b"\x1f\x8b" + b"\x00" * 40)
    with pytest.raises(FormatError, match=r"bad\.gz: .*gzip"):
        for _ in iter_lines(path):
            pass


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="no such file"):
        open_binary(tmp_path / "nope.soft")


def test_empty_plain_file_gives_no_lines(tmp_path: Path) -> None:
    path = tmp_path / "empty.soft"
    path.write_bytes(b"")
    assert _lines(path) == []


# --- decoding --------------------------------------------------------------------------------


def test_decode_utf8() -> None:
    assert decode_bytes("10 µg at 70°C".encode()) == "10 µg at 70°C"


def test_decode_windows_1252_and_latin1_fallback() -> None:
    assert decode_bytes(b"\x93quoted\x94 10 \xb5g") == "\u201cquoted\u201d 10 µg"
    # 0x81 and 0x9d are undefined in Windows-1252: read as Latin-1 control characters
    assert decode_bytes(b"a\x81b\x9d") == "a\x81b\x9d"


def test_decode_per_line_mixed_encodings() -> None:
    data = "café\n".encode() + b"caf\xe9\n" + "naïve".encode()
    assert decode_bytes(data) == "café\ncafé\nnaïve"


def test_latin1_fixture_lines(geo_fixtures: Path) -> None:
    lines = _lines(geo_fixtures / "biopython" / "soft_ex_dual.txt")
    protocol = next(t for t in lines if t.startswith("!Sample_label_protocol_ch1"))
    assert "10 µg of total RNA" in protocol
    assert "70°C" in protocol


# --- lines -----------------------------------------------------------------------------------


def test_crlf_and_numbering(geo_fixtures: Path) -> None:
    lines = list(iter_lines(geo_fixtures / "geoquery" / "GSM11805.txt.gz"))
    assert lines[0][0] == 1
    assert lines[0][1].startswith("^SAMPLE = GSM11805")
    assert not any(text.endswith("\r") for _, text in lines)
    assert [n for n, _ in lines] == list(range(1, len(lines) + 1))


def test_no_final_newline_and_cr_only() -> None:
    assert _lines(io.BytesIO(b"a\r\nb\r\nc")) == ["a", "b", "c"]
    assert _lines(io.BytesIO(b"a\rb\rc\r")) == ["a", "b", "c"]
    assert _lines(io.BytesIO(b"a\n\nb\n")) == ["a", "", "b"]


def test_lines_across_block_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source, "BLOCK_SIZE", 7)
    text = "first line\r\nsécond\nthird, a bit longer than a block\n\nlast"
    assert _lines(io.BytesIO(text.encode())) == [
        "first line",
        "sécond",
        "third, a bit longer than a block",
        "",
        "last",
    ]


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(
        st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n")),
        min_size=1,
    ),
    ending=st.sampled_from(["\n", "\r\n"]),
    final=st.booleans(),
)
def test_iter_lines_roundtrip(lines: list[str], ending: str, final: bool) -> None:
    text = ending.join(lines) + (ending if final else "")
    got = _lines(io.BytesIO(text.encode("utf-8")))
    expected = list(lines)
    if not final and expected[-1] == "":
        expected.pop()
    assert got == expected


@settings(max_examples=200, deadline=None)
@given(st.binary())
def test_decode_never_fails(data: bytes) -> None:
    text = decode_bytes(data)
    assert text.count("\n") == data.count(b"\n")
