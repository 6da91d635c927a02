"""Tests of format detection by content and reader dispatch."""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exprhub.formats.detect import FORMATS, detect_format, open_reader, read_records
from exprhub.formats.errors import FormatError
from exprhub.records import Sample, Series

#: Every fixture of ../shared/fixtures/geo (MANIFEST.md) and the kind it must be detected as.
EXPECTED = {
    "biopython/GSE16.txt": "soft",  # really a GSM
    "biopython/GSM645.txt": "soft",
    "biopython/GSM691.txt": "soft",
    "biopython/GSM700.txt": "soft",
    "biopython/GSM804.txt": "soft",
    "biopython/soft_ex_affy.txt": "soft",
    "biopython/soft_ex_affy_chp.txt": "soft",
    "biopython/soft_ex_dual.txt": "soft",
    "biopython/soft_ex_family.txt": "soft",
    "biopython/soft_ex_platform.txt": "soft",
    "biopython/soft_ex_series.txt": "soft",
    "gemma/GDS100.soft.txt.gz": "soft",
    "gemma/GDS1794.soft.gz": "soft",
    "gemma/GDS1829.soft.gz": "soft",
    "gemma/GDS1862.soft.gz": "soft",
    "gemma/GDS3254.soft.gz": "soft",
    "gemma/GDS334.soft.gz": "soft",
    "gemma/GPL2716_family.soft.gz": "soft",
    "gemma/GPL96_family_excel_damaged.soft.gz": "soft",
    "gemma/GSE11897_family.soft.gz": "soft",
    "gemma/GSE1623_family.soft.txt.gz": "soft",
    "gemma/GSE180363.miniml.xml": "miniml",
    "gemma/GSE2122.soft.gz": "soft",
    "gemma/GSE2870_family.soft.gz": "soft",
    "gemma/GSE29006_family.soft.gz": "soft",
    "gemma/GSE3791_family.soft.gz": "soft",
    "gemma/GSE432_family.soft.gz": "soft",
    "gemma/GSE730_family.xml": "miniml",
    "gemma/GSE7774_family.soft.gz": "soft",
    "gemma/GSM5230452.xml": "miniml",
    "geoquery/GDS507.soft.gz": "soft",
    "geoquery/GPL96.txt.gz": "soft",
    "geoquery/GPL97.annot.gz": "annot",
    "geoquery/GSM11805.txt.gz": "soft",
    "phantasus/GSE99709_brief.soft": "soft",
    "phantasus/GSE99709_series_matrix.txt.gz": "series-matrix",
}
REFUSED = {
    "gemma/geo.esummary.test.xml": "Entrez eSummary",
    "geoquery/GPLbroken.soft.gz": "empty gzip file",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_detected(geo_fixtures: Path, name: str) -> None:
    assert detect_format(geo_fixtures / name) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_fixture_refused(geo_fixtures: Path, name: str) -> None:
    with pytest.raises(FormatError, match=REFUSED[name]) as info:
        detect_format(geo_fixtures / name)
    assert Path(name).name in str(info.value)


def test_manifest_fixtures_all_covered(geo_fixtures: Path) -> None:
    files = {
        str(p.relative_to(geo_fixtures))
        for p in geo_fixtures.rglob("*")
        if p.is_file() and p.name != "MANIFEST.md"
    }
    assert files == set(EXPECTED) | set(REFUSED)
    assert set(EXPECTED.values()) <= set(FORMATS)


def test_detection_ignores_file_names(geo_fixtures: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "looks_like.soft"
    shutil.copy(geo_fixtures / "phantasus/GSE99709_series_matrix.txt.gz", renamed)
    assert detect_format(renamed) == "series-matrix"
    plain = tmp_path / "matrix.xml.gz"
    plain.write_bytes(gzip.decompress(renamed.read_bytes()))
    assert detect_format(plain) == "series-matrix"
    xml = tmp_path / "GSE1_family.soft.gz"
    xml.write_bytes(gzip.compress((geo_fixtures / "gemma/GSM5230452.xml").read_bytes()))
    assert detect_format(xml) == "miniml"


def test_bundle_detected(geo_fixtures: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "whatever.bin"
    with tarfile.open(bundle, "w:gz") as archive:
        data = b"ID\t1\n"
        info = tarfile.TarInfo("GPL539-tbl-1.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
        archive.add(geo_fixtures / "gemma/GSE730_family.xml", arcname="GSE730_family.xml")
    assert detect_format(bundle) == "miniml-bundle"
    records, warnings = read_records(bundle)
    assert [r.id for r in records][-1] == "GSE730"
    assert warnings  # three sample tables are missing from this bundle

    empty_tar = tmp_path / "empty.tgz"
    with tarfile.open(empty_tar, "w:gz") as archive:
        info = tarfile.TarInfo("readme.txt")
        archive.addfile(info, io.BytesIO(b""))
    with pytest.raises(FormatError, match="tar archive without a MINiML document"):
        detect_format(empty_tar)


def test_unknown_content(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("gene value\nA 1\n")
    with pytest.raises(
        FormatError, match=r"notes\.txt: unrecognised content .*expected a GEO SOFT"
    ):
        detect_format(path)
    counts = tmp_path / "counts.tsv"
    counts.write_text("gene\tvalue\nA\t1\n")
    with pytest.raises(
        FormatError,
        match=r"counts\.tsv: a genes x samples table, not a GEO record file \(attach counts "
        r"to their series with `exprhub import FILE --series GSE\.\.\.`\); expected a GEO SOFT",
    ):
        detect_format(counts)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(FormatError, match="empty file"):
        detect_format(empty)
    with pytest.raises(FormatError, match="no such file"):
        detect_format(tmp_path / "missing.soft")
    with pytest.raises(FormatError, match="unknown format"):
        open_reader(path, kind="csv")


def test_read_records_dispatch(geo_fixtures: Path) -> None:
    records, warnings = read_records(geo_fixtures / "phantasus/GSE99709_series_matrix.txt.gz")
    items = list(records)
    assert isinstance(items[0], Series) and len(items) == 13
    assert warnings == []
    records, warnings = read_records(geo_fixtures / "gemma/GSM5230452.xml")
    assert [type(r) for r in records][-1] is Sample
    with pytest.raises(FormatError, match="eSummary"):
        read_records(geo_fixtures / "gemma/geo.esummary.test.xml")


def test_read_records_soft(geo_fixtures: Path) -> None:
    records, _ = read_records(geo_fixtures / "biopython/GSE16.txt")
    (sample,) = [r for r in records if isinstance(r, Sample)]
    assert sample.id == "GSM804"


# --- fuzz: any bytes either read or give a FormatError ------------------------------------------
_PREFIXES = [
    b"",
    b"<?xml version='1.0'?><MINiML>",
    b'!Series_title\t"x"\n',
    b"^SAMPLE = A\n",
    b'!Sample_title\t"a"\n!series_matrix_table_begin\n',
]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(_PREFIXES), st.binary(max_size=300), st.booleans())
def test_fuzz_detect_and_read(prefix: bytes, body: bytes, compress: bool) -> None:
    import tempfile

    data = prefix + body
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f"
        path.write_bytes(gzip.compress(data) if compress else data)
        try:
            kind = detect_format(path)
        except FormatError:
            return
        if kind in ("soft", "annot"):
            return  # the SOFT reader has its own tests
        try:
            records, _ = read_records(path)
            list(records)
        except FormatError:
            pass
