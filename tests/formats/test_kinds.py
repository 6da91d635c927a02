"""The file kind registry: every kind round-trips a real GEO file through its writer, the
detectors are exclusive, and detection, ``exprhub export`` and the API downloads offer
exactly the registry's kinds."""

from __future__ import annotations

import dataclasses
import gzip
import re
from pathlib import Path

import pytest

from exprhub.formats.detect import FORMATS, detect_format, open_reader
from exprhub.formats.errors import FormatError
from exprhub.formats.file_head import FileHead, read_head
from exprhub.formats.kinds import (
    GZIP_MEDIA_TYPE,
    KINDS,
    Contents,
    FileKind,
    FileKinds,
    UnknownFileKind,
)
from exprhub.records import Record, RecordType, Sample, Series

from .test_detect import EXPECTED

#: A real GEO file of each kind with a writer (see ../shared/fixtures/geo/MANIFEST.md).
FIXTURES = {
    "soft": "gemma/GSE432_family.soft.gz",
    "miniml": "gemma/GSE730_family.xml",
    "series-matrix": "phantasus/GSE99709_series_matrix.txt.gz",
    "tsv": "geoquery/GSM11805.txt.gz",
}

WRITTEN = [kind for kind in KINDS if kind.write is not None]


def _records(path: Path) -> list[Record]:
    """The GEO entities of a file (no Database records)."""
    return [r for r in open_reader(path).records() if r.type is not None]


def _contents(kind: FileKind, records: list[Record]) -> list[Record]:
    """What the kind's writer takes, from the records of its fixture."""
    if kind.contents is Contents.PLATFORM_SAMPLES:
        series = [r for r in records if isinstance(r, Series)]
        return [*series, *(r for r in records if isinstance(r, Sample))]
    if kind.contents is Contents.TABLE:
        return [next(r for r in records if r.table is not None)]
    return records


def test_every_writer_has_a_fixture() -> None:
    assert {kind.name for kind in WRITTEN} == set(FIXTURES)


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("kind", WRITTEN, ids=lambda kind: kind.name)
def test_written_kind_round_trips_a_real_file(
    kind: FileKind, compressed: bool, geo_fixtures: Path, tmp_path: Path
) -> None:
    assert kind.write is not None
    records = _contents(kind, _records(geo_fixtures / FIXTURES[kind.name]))
    assert records
    out = tmp_path / kind.file_name(records[0].key, records[0].type, compressed=compressed)
    kind.write(records, out)
    assert out.read_bytes().startswith(b"\x1f\x8b") == compressed
    if kind.detect is None:  # a data table: its header row and rows
        table = records[0].table
        assert table is not None
        text = gzip.decompress(out.read_bytes()) if compressed else out.read_bytes()
        lines = text.decode().splitlines()
        assert lines[0].split("\t") == table.names
        assert lines[1:] == ["\t".join(row) for row in table.rows()]
        return
    assert detect_format(out) == kind.name
    back = _records(out)
    assert [(r.type, r.key) for r in back] == [(r.type, r.key) for r in records]
    for original, read in zip(records, back, strict=True):
        if original.table is not None and read.table is not None:
            assert read.table.names[0] == original.table.names[0]
            assert read.table.n_rows == original.table.n_rows


def test_soft_round_trip_is_exact(geo_fixtures: Path, tmp_path: Path) -> None:
    kind = KINDS["soft"]
    assert kind.write is not None
    records = _records(geo_fixtures / FIXTURES["soft"])
    out = tmp_path / kind.file_name("GSE432", RecordType.SERIES)
    kind.write(records, out)
    assert _records(out) == records


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exactly_one_detector_accepts_each_fixture(geo_fixtures: Path, name: str) -> None:
    head = read_head(geo_fixtures / name)
    accepted = [kind.name for kind in KINDS.detectable() if kind.detect and kind.detect(head)]
    assert accepted == [EXPECTED[name]]


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b'!Series_title\t= "x"\n', "series-matrix"),  # a matrix row, not a SOFT attribute
        (b"!Series_title = x\n", "soft"),
        (b"# comment\n\n^Annotation\n", "annot"),
        (b"\xef\xbb\xbf<?xml version='1.0'?><!-- c --><geo:MINiML/>", "miniml"),
    ],
)
def test_detectors_on_edge_heads(data: bytes, kind: str) -> None:
    head = FileHead("f", data)
    assert [k.name for k in KINDS.detectable() if k.detect and k.detect(head)] == [kind]


def test_detection_and_readers_come_from_the_registry() -> None:
    assert tuple(kind.name for kind in KINDS.detectable()) == FORMATS
    assert set(FORMATS) == {"soft", "annot", "series-matrix", "miniml", "miniml-bundle"}
    for kind in KINDS.detectable():
        assert kind.read is not None, kind.name


def test_a_kind_added_to_a_copy_is_detected_there_only(tmp_path: Path) -> None:
    csv = FileKind(
        name="csv",
        title="CSV",
        description="comma-separated values",
        contents=Contents.TABLE,
        record_types=frozenset({RecordType.SAMPLE}),
        media_type="text/csv",
        name_pattern="{key}.csv",
        option="csv",
        detect=lambda head: (head.first_line or "").count(",") > 0,
        read=KINDS["soft"].read,
    )
    kinds = KINDS.with_kind(csv)
    head = FileHead("f.csv", b"ID_REF,VALUE\n1,2\n")
    assert kinds.detect(head) is csv and KINDS.detect(head) is None
    assert kinds.by_option("csv") is csv and "csv" not in KINDS
    assert [k.option for k in kinds.offered_for(RecordType.SAMPLE)][-1] == "csv"
    assert len(kinds) == len(KINDS) + 1
    with pytest.raises(ValueError, match="share the name soft"):
        FileKinds([*KINDS, dataclasses.replace(KINDS["soft"], option="soft2")])
    with pytest.raises(ValueError, match="share the option matrix"):
        FileKinds([*KINDS, dataclasses.replace(KINDS["tsv"], name="tsv2", option="matrix")])
    with pytest.raises(ValueError, match="detected but has no reader"):
        FileKinds([dataclasses.replace(csv, read=None)])


def test_unknown_kinds_and_formats_list_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(UnknownFileKind, match=r"unknown format 'pdf'; expected one of soft, "):
        KINDS.by_option("pdf")
    with pytest.raises(UnknownFileKind, match=r"unknown file kind 'pdf'; .*miniml-bundle"):
        KINDS["pdf"]
    with pytest.raises(
        UnknownFileKind, match=r"^unknown export format 'tsv'; expected one of soft, miniml$"
    ):
        KINDS.by_option("tsv", [Contents.RECORDS], what="export format")
    path = tmp_path / "notes.txt"
    path.write_text("gene,value\n")
    with pytest.raises(FormatError, match=r"unknown format 'tsv'; expected one of soft, miniml"):
        open_reader(path, kind="tsv")
    with pytest.raises(FormatError) as info:
        detect_format(path)
    for kind in KINDS.detectable():
        assert kind.description in str(info.value)


def test_file_names_and_media_types() -> None:
    """The names and media types downloads and GEO use (unchanged by the registry)."""
    soft, miniml, matrix = KINDS["soft"], KINDS["miniml"], KINDS["series-matrix"]
    assert soft.file_name("GSE1", RecordType.SERIES) == "GSE1_family.soft"
    assert soft.file_name("GSE1", RecordType.SERIES, compressed=True) == "GSE1_family.soft.gz"
    assert soft.file_name("GDS2", RecordType.DATASET) == "GDS2.soft"
    assert miniml.file_name("GSE1", RecordType.SERIES) == "GSE1_family.xml"
    assert miniml.file_name("GSM3", RecordType.SAMPLE) == "GSM3.xml"
    assert matrix.file_name("GSE1", RecordType.SERIES) == "GSE1_series_matrix.txt"
    assert (
        matrix.file_name("GSE1", RecordType.SERIES, platform="GPL96")
        == "GSE1-GPL96_series_matrix.txt"
    )
    assert KINDS["tsv"].file_name("GSM3") == "GSM3.tsv"
    assert KINDS["refined"].file_name("GSE1") == "GSE1_refined.tsv"
    assert KINDS["json"].file_name("GSE1") == "GSE1.json"
    bundle = KINDS["miniml-bundle"]
    assert bundle.file_name("GSE1", RecordType.SERIES) == "GSE1_family.xml.tgz"
    with pytest.raises(ValueError, match="compressed already"):
        bundle.file_name("GSE1", compressed=True)
    media = {str(kind.option): kind.media_type for kind in KINDS.written()}
    assert media == {
        "soft": "text/plain; charset=utf-8",
        "miniml": "application/xml",
        "matrix": "text/plain; charset=utf-8",
        "tsv": "text/tab-separated-values; charset=utf-8",
        "refined": "text/tab-separated-values; charset=utf-8",
        "json": "application/json",
    }
    assert GZIP_MEDIA_TYPE == "application/gzip"
    assert soft.title_for(RecordType.SERIES) == "SOFT (family)"
    assert soft.title_for(RecordType.SAMPLE) == "SOFT"


def test_download_formats_are_the_registry_kinds() -> None:
    from exprhub.web.downloads import DownloadFormat, available_formats
    from exprhub.web.service import TYPE_SEGMENTS, formats_for

    options = [str(kind.option) for kind in KINDS.written()]
    assert [f.value for f in DownloadFormat] == options
    assert available_formats() == set(options)
    for record_type in TYPE_SEGMENTS:
        for option in formats_for(record_type):
            assert record_type in KINDS.by_option(option).record_types
    # the formats each record type offered before the registry, in the same order
    assert formats_for(RecordType.SERIES) == ["soft", "miniml", "matrix", "refined", "json"]
    assert formats_for(RecordType.DATASET) == ["soft", "tsv", "refined", "json"]
    for record_type in (RecordType.SAMPLE, RecordType.PLATFORM):
        assert formats_for(record_type) == ["soft", "miniml", "tsv", "refined", "json"]


def test_export_formats_are_the_registry_kinds() -> None:
    import typer.main

    from exprhub.bundles.export import EXPORT_FORMATS, EXPORTED_CONTENTS
    from exprhub.cli import commands, ingest, refine, search, serve  # noqa: F401
    from exprhub.cli.app import app

    assert set(EXPORT_FORMATS) == {"soft", "matrix", "miniml", "refined"}
    for option in EXPORT_FORMATS:
        assert KINDS.by_option(option).contents in EXPORTED_CONTENTS
    command = typer.main.get_command(app).commands["export"]  # type: ignore[attr-defined]
    (option,) = [p for p in command.params if "--format" in p.opts]
    named = set(re.findall(r"[a-z]+", option.help.split("(")[0]))
    assert set(EXPORT_FORMATS) <= named, option.help
