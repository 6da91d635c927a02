"""Fuzz tests of every GEO reader: whatever the bytes, only FormatError escapes.

Inputs start from the real GEO files in ``../shared/fixtures/geo`` (read here, never copied
into the repository): each is mutated - truncated, bytes flipped, lines inserted, deleted or
duplicated (table and entity markers among them), declared counts changed, random unicode,
CRLF line endings, tabs dropped - and then written plain, gzip-compressed (whole or cut
short) or, for MINiML, inside a ``.tgz`` bundle. Generated SOFT, MINiML and series matrix
documents add structured inputs with arbitrary values where the readers expect numbers.

Every input is detected (:func:`~exprhub.formats.detect.detect_format`) and read to the end
by its reader; the only exception allowed out is
:class:`~exprhub.formats.errors.FormatError`, the only reports the reader's
:class:`~exprhub.formats.errors.ParseWarning` list (Python warnings are turned into errors).
Imports of mutated files either succeed or leave the hub exactly as it was, folders included.

The number of examples per test is moderate so the module runs in well under a minute. For a
longer fuzz run, raise it with ``EXPRHUB_FUZZ_EXAMPLES``, e.g.::

    EXPRHUB_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest -p no:cacheprovider \\
        tests/formats/test_reader_fuzz.py

(hypothesis then also reports the smallest input it finds for a failure).
"""

from __future__ import annotations

import gzip
import io
import os
import re
import tarfile
import tempfile
import warnings
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exprhub.formats.detect import detect_format, open_reader
from exprhub.formats.errors import FormatError, ParseWarning
from tests.conftest import GEO_FIXTURES

EXAMPLES = int(os.environ.get("EXPRHUB_FUZZ_EXAMPLES", "50"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Fixture files mutated (only the first lines of the large ones, to keep examples fast).
SEED_FILES = (
    "biopython/GSM645.txt",
    "biopython/GSM691.txt",
    "biopython/GSM804.txt",
    "biopython/GSE16.txt",
    "biopython/soft_ex_family.txt",
    "biopython/soft_ex_dual.txt",
    "biopython/soft_ex_platform.txt",
    "gemma/GDS100.soft.txt.gz",
    "gemma/GDS1862.soft.gz",
    "gemma/GDS334.soft.gz",
    "gemma/GSE2122.soft.gz",
    "gemma/GSE29006_family.soft.gz",
    "gemma/GPL2716_family.soft.gz",
    "gemma/GPL96_family_excel_damaged.soft.gz",
    "gemma/GSE180363.miniml.xml",
    "gemma/GSM5230452.xml",
    "gemma/GSE730_family.xml",
    "gemma/geo.esummary.test.xml",
    "geoquery/GPL97.annot.gz",
    "geoquery/GSM11805.txt.gz",
    "phantasus/GSE99709_series_matrix.txt.gz",
    "phantasus/GSE99709_brief.soft",
)
SEED_LINES = 250

#: Lines GEO readers give meaning to, inserted at random places.
MARKERS = (
    b"^SAMPLE = GSM1",
    b"^sample=GSM2",
    b"^PLATFORM = GPL1",
    b"^SERIES = GSE1",
    b"^DATASET = GDS1",
    b"^SUBSET = GDS1_1",
    b"^Annotation",
    b"^DATABASE = GeoMiame",
    b"^BOGUS = x",
    b"!sample_table_begin",
    b"!sample_table_end",
    b"!platform_table_begin",
    b"!platform_table_end",
    b"!dataset_table_begin",
    b"!Sample_data_row_count = 99999999999999999999",
    b"!Sample_data_row_count = -3",
    b"!Sample_channel_count = \xc2\xb2",
    b"!Annotation_platform = ",
    b"#ID_REF = ",
    b"#VALUE = \xc2\xb2",
    b"ID_REF\tVALUE",
    b"\t\t\t",
    b"!series_matrix_table_begin",
    b"!series_matrix_table_end",
    b'"ID_REF"\t"GSM1"\t"GSM2"',
    b'!Sample_geo_accession\t"GSM1"\t"GSM2"',
    b'<Column position="\xc2\xb2"><Name>VALUE</Name></Column>',
    b'<Internal-Data rows="\xc2\xb3">',
    b"</Internal-Data>",
    b"<External-Data rows='1'>missing.txt</External-Data>",
    b'<Sample iid="GSM1"><Accession database="GEO">GSM1</Accession></Sample>',
    b'<!DOCTYPE x [<!ENTITY a "b">]>',
    b"</MINiML>",
    b"<?xml version='1.0' encoding='UTF-16'?>",
    b"\xef\xbb\xbf",
    b"\x00\x00",
)
#: Texts that replace declared counts and positions.
COUNTS = ("0", "-1", "1", "\u00b2", "\u0663", "9" * 30, "1e3", "", "abc", " 7 ")
_COUNT = re.compile(rb"(count = |rows=\"|position=\")([^\"\r\n]*)")


@cache
def _seed(name: str) -> bytes:
    data = (GEO_FIXTURES / name).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return b"\n".join(data.split(b"\n")[:SEED_LINES])


def _require_fixtures() -> None:
    if not GEO_FIXTURES.is_dir():
        pytest.skip(f"GEO fixtures not found at {GEO_FIXTURES}")


# --- mutations ---------------------------------------------------------------------------------
def _mutate(data: bytes, draw: st.DrawFn) -> bytes:
    lines = data.split(b"\n")
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, max(0, len(lines) - 1)))
        operation = draw(
            st.sampled_from(
                (
                    "truncate",
                    "flip",
                    "marker",
                    "duplicate",
                    "delete",
                    "count",
                    "unicode",
                    "crlf",
                    "tabs",
                    "bytes",
                )
            )
        )
        line = lines[position] if lines else b""
        if operation == "truncate":
            joined = b"\n".join(lines)
            lines = joined[: draw(st.integers(0, len(joined)))].split(b"\n")
        elif operation == "flip" and line:
            at = draw(st.integers(0, len(line) - 1))
            lines[position] = line[:at] + bytes([draw(st.integers(0, 255))]) + line[at + 1 :]
        elif operation == "marker":
            lines.insert(position, draw(st.sampled_from(MARKERS)))
        elif operation == "duplicate":
            lines.insert(position, line)
        elif operation == "delete" and lines:
            del lines[position]
        elif operation == "count":
            text = draw(st.sampled_from(COUNTS)).encode()
            joined = b"\n".join(lines)
            hits = list(_COUNT.finditer(joined))
            if hits:
                hit = hits[draw(st.integers(0, len(hits) - 1))]
                joined = joined[: hit.start(2)] + text + joined[hit.end(2) :]
            lines = joined.split(b"\n")
        elif operation == "unicode":
            lines[position] = draw(st.text(max_size=40)).encode("utf-8", "surrogatepass")
        elif operation == "crlf":
            lines = [x + b"\r" for x in lines]
        elif operation == "tabs":
            lines[position] = line.replace(b"\t", b"", draw(st.integers(1, 3)))
        elif operation == "bytes":
            lines.insert(position, draw(st.binary(max_size=40)))
    return b"\n".join(lines)


def _bundle(document: bytes, extra: dict[str, bytes], tables_first: bool) -> bytes:
    members = {"GSE1_family.xml": document, **extra}
    if tables_first:
        members = {**extra, "GSE1_family.xml": document}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@st.composite
def mutated_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """A fixture's bytes, mutated, then stored plain, gzip, cut gzip or as a .tgz bundle."""
    name = draw(st.sampled_from(SEED_FILES))
    data = _mutate(_seed(name), draw)
    wrapping = draw(st.sampled_from(("plain", "gzip", "cut-gzip", "bundle")))
    if wrapping == "gzip":
        data = gzip.compress(data, mtime=0)
    elif wrapping == "cut-gzip":
        packed = gzip.compress(data, mtime=0)
        data = packed[: draw(st.integers(0, len(packed)))]
    elif wrapping == "bundle":
        table = b"ID_REF\tVALUE\nA\t1\nB\tx\n"
        extra = {"GSM11095-tbl-1.txt": table, "GPL539-tbl-1.txt": _mutate(table, draw)}
        data = _bundle(data, extra, draw(st.booleans()))
        if draw(st.booleans()):
            data = data[: draw(st.integers(0, len(data)))]
    return f"{name} ({wrapping})", data


# --- generated documents ------------------------------------------------------------------------
_CELL = st.one_of(
    st.sampled_from(("1", "-2.5", "1e999", "null", "", "NA", "abc", "1,234", "\u00b2", "inf")),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\t\r\n"),
        max_size=8,
    ),
)
_WORD = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
    max_size=12,
)


@st.composite
def soft_documents(draw: st.DrawFn) -> bytes:
    """SOFT text with random entities, attributes, counts and tables."""
    out: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        entity = draw(st.sampled_from(("SAMPLE", "PLATFORM", "SERIES", "DATASET", "Annotation")))
        out.append(f"^{entity} = {draw(st.sampled_from(('GSM1', 'GPL1', 'GDS1', '', 'x')))}")
        prefix = entity.capitalize()
        for key in draw(st.lists(st.sampled_from(("title", "platform_id", "channel_count")))):
            out.append(f"!{prefix}_{key} = {draw(_WORD)}")
        width = draw(st.integers(1, 4))
        rows = draw(st.lists(st.lists(_CELL, max_size=width + 1), max_size=5))
        count = draw(st.one_of(st.integers(-2, 10).map(str), st.sampled_from(COUNTS)))
        out.append(f"!{prefix}_data_row_count = {count}")
        names = ["ID_REF", "VALUE", "GSM1", "GSM2"][:width]
        out += [f"#{n} = {draw(_WORD)}" for n in names]
        marked = draw(st.booleans())
        if marked:
            out.append(f"!{entity.lower()}_table_begin")
        out.append("\t".join(names))
        out += ["\t".join(row) for row in rows]
        if marked and draw(st.booleans()):
            out.append(f"!{entity.lower()}_table_end")
    return "\n".join(out).encode("utf-8")


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@st.composite
def miniml_documents(draw: st.DrawFn) -> bytes:
    """MINiML samples with random column positions, row counts, channels and table cells."""
    attribute = st.one_of(st.sampled_from(COUNTS), _WORD).map(
        lambda t: _xml_text(t).replace('"', "&quot;")
    )
    samples = []
    for i in range(draw(st.integers(1, 3))):
        width = draw(st.integers(1, 3))
        columns = "".join(
            f'<Column position="{draw(attribute)}"><Name>{_xml_text(draw(_WORD))}</Name></Column>'
            for _ in range(width)
        )
        rows = draw(st.lists(st.lists(_CELL, max_size=width + 1), max_size=4))
        table = "\n".join("\t".join(_xml_text(c) for c in row) for row in rows)
        samples.append(
            f'<Sample iid="GSM{i}"><Title>{_xml_text(draw(_WORD))}</Title>'
            f'<Accession database="GEO">GSM{i}</Accession>'
            f'<Channel position="{draw(attribute)}"><Source>s</Source></Channel>'
            f'<Data-Table>{columns}<Internal-Data rows="{draw(attribute)}">\n{table}\n'
            "</Internal-Data></Data-Table></Sample>"
        )
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<MINiML xmlns="http://www.ncbi.nlm.nih.gov/geo/info/MINiML" version="0.5.0">'
        + "".join(samples)
        + "</MINiML>\n"
    )
    # well-formed XML, so that the values reach the reader rather than the XML parser
    return _NOT_XML.sub("", document).encode("utf-8")


@st.composite
def matrix_documents(draw: st.DrawFn) -> bytes:
    """Series matrices with random header rows and table cells."""
    quoted = st.one_of(_CELL, st.just('"'), st.just('""')).map(lambda c: f'"{c}"')
    width = draw(st.integers(0, 3))
    out = ['!Series_title\t"t"', '!Series_geo_accession\t"GSE1"']
    for key in draw(st.lists(st.sampled_from(("geo_accession", "platform_id", "title")))):
        out.append("\t".join([f"!Sample_{key}", *draw(st.lists(quoted, max_size=width + 1))]))
    out.append("!series_matrix_table_begin")
    out.append("\t".join(['"ID_REF"', *(f'"GSM{i}"' for i in range(width))]))
    for _ in range(draw(st.integers(0, 4))):
        out.append("\t".join(draw(st.lists(st.one_of(quoted, _CELL), max_size=width + 2))))
    if draw(st.booleans()):
        out.append("!series_matrix_table_end")
    return "\n".join(out).encode("utf-8")


# --- checks --------------------------------------------------------------------------------------
def read_everything(path: Path) -> list[ParseWarning]:
    """Detect and read ``path`` to the end, as an import does; FormatError is a clean
    failure. Anything else escaping (or a Python warning) fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            detect_format(path)
            reader = open_reader(path)
            for _ in reader.records():
                pass
        except FormatError as error:
            assert str(error).startswith(str(path)), str(error)
            assert "\n" not in str(error).strip(), str(error)
            return []
    assert all(isinstance(w, ParseWarning) for w in reader.warnings)
    return reader.warnings


def _write(data: bytes, folder: Path, name: str = "input") -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


@FUZZ
@given(mutated_files())
def test_mutated_fixtures_read_or_fail_with_format_error(case: tuple[str, bytes]) -> None:
    _require_fixtures()
    _, data = case
    with tempfile.TemporaryDirectory() as folder:
        read_everything(_write(data, Path(folder)))


@FUZZ
@given(st.one_of(soft_documents(), miniml_documents(), matrix_documents()), st.booleans())
def test_generated_documents_read_or_fail_with_format_error(data: bytes, crlf: bool) -> None:
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    with tempfile.TemporaryDirectory() as folder:
        read_everything(_write(data, Path(folder)))


@FUZZ
@given(st.binary(max_size=600), st.sampled_from((b"", b"\x1f\x8b", b"^SAMPLE = GSM1\n", b"<")))
def test_random_bytes_read_or_fail_with_format_error(data: bytes, head: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        read_everything(_write(head + data, Path(folder), "x.gz"))


def test_imports_of_mutated_files_succeed_or_leave_the_hub_unchanged(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from exprhub.hub import Hub
    from exprhub.ingest.importer import ImportFailed, import_file
    from tests.hub.test_hub import hub_snapshot
    from tests.ingest.test_import_failures import hub_tree

    _require_fixtures()
    with Hub.init(tmp_path_factory.mktemp("fuzz") / "hub") as hub:

        @settings(FUZZ, max_examples=max(1, EXAMPLES // 2))
        @given(st.one_of(mutated_files(), soft_documents().map(lambda d: ("generated", d))))
        def run(case: tuple[str, bytes]) -> None:
            _, data = case
            with tempfile.TemporaryDirectory() as folder:
                path = _write(data, Path(folder))
                before_tree, before = hub_tree(hub), hub_snapshot(hub)
                try:
                    import_file(hub, path)
                except ImportFailed as error:
                    assert str(error).startswith(str(path)), str(error)
                    assert hub_tree(hub) == before_tree
                    assert hub_snapshot(hub) == before

        run()
