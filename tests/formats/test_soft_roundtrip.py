"""Round trips: read(write(records)) == records, on generated records and on every SOFT fixture,
and GEOparse (an independent reader) agreeing with what we write."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from exprhub.formats.soft import geo_order, read_soft, write_soft
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
)

SOFT_FIXTURES = [
    "biopython/GSE16.txt",
    "biopython/GSM645.txt",
    "biopython/GSM691.txt",
    "biopython/GSM700.txt",
    "biopython/GSM804.txt",
    "biopython/soft_ex_affy.txt",
    "biopython/soft_ex_affy_chp.txt",
    "biopython/soft_ex_dual.txt",
    "biopython/soft_ex_family.txt",
    "biopython/soft_ex_platform.txt",
    "biopython/soft_ex_series.txt",
    "gemma/GDS100.soft.txt.gz",
    "gemma/GDS1794.soft.gz",
    "gemma/GDS1829.soft.gz",
    "gemma/GDS1862.soft.gz",
    "gemma/GDS3254.soft.gz",
    "gemma/GDS334.soft.gz",
    "gemma/GPL2716_family.soft.gz",
    "gemma/GPL96_family_excel_damaged.soft.gz",
    "gemma/GSE11897_family.soft.gz",
    "gemma/GSE1623_family.soft.txt.gz",
    "gemma/GSE2122.soft.gz",
    "gemma/GSE2870_family.soft.gz",
    "gemma/GSE29006_family.soft.gz",
    "gemma/GSE3791_family.soft.gz",
    "gemma/GSE432_family.soft.gz",
    "gemma/GSE7774_family.soft.gz",
    "geoquery/GDS507.soft.gz",
    "geoquery/GPL96.txt.gz",
    "geoquery/GPL97.annot.gz",
    "geoquery/GSM11805.txt.gz",
    "phantasus/GSE99709_brief.soft",
]


# --- every fixture ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", SOFT_FIXTURES)
def test_fixture_roundtrip(geo_fixtures: Path, tmp_path: Path, name: str) -> None:
    original = read_soft(geo_fixtures / name)
    target = tmp_path / "copy.soft.gz"
    write_soft(original, target)
    assert target.read_bytes()[:2] == b"\x1f\x8b"
    again = read_soft(target)
    assert again == geo_order(original)
    write_soft(again, tmp_path / "plain.soft")
    assert read_soft(tmp_path / "plain.soft") == again


def test_keys_and_marker_prefix_as_stored(geo_fixtures: Path) -> None:
    records = read_soft(geo_fixtures / "gemma" / "GSE1623_family.soft.txt.gz")
    out = io.StringIO()
    write_soft(records[:4], out)
    text = out.getvalue()
    assert text.startswith("^DATABASE = GeoMiame\n!database_name = ")  # keys as stored
    assert "\n^SERIES = GSE1623\n" in text and "\n^SAMPLE = GSM27446\n" in text
    assert "\n!Platform_table_begin\nID\tGB_ACC\t" in text
    assert "\n!Sample_table_end\n" in text  # the prefix of the record's attributes
    lower = Sample("GSM1", [("sample_title", "x")], table=Table(["ID_REF"], [["a"]]))
    out = io.StringIO()
    write_soft([lower], out)
    assert "!sample_table_begin\nID_REF\na\n!sample_table_end\n" in out.getvalue()


def test_dataset_written_as_geo_does(geo_fixtures: Path) -> None:
    records = read_soft(geo_fixtures / "geoquery" / "GDS507.soft.gz")
    out = io.StringIO()
    write_soft(records, out)
    lines = out.getvalue().split("\n")
    entities = [line for line in lines if line.startswith("^")]
    assert entities[:3] == ["^DATABASE = Geo", "^DATASET = GDS507", "^SUBSET = GDS507_1"]
    assert entities[-1] == "^DATASET = GDS507"
    assert "!dataset_table_begin" in lines and "!dataset_table_end" in lines


def test_family_order_from_a_list() -> None:
    sample = Sample("GSM1", [("Sample_title", "s")])
    series = Series("GSE1", [("Series_title", "t")])
    platform = Platform("GPL1", [("Platform_title", "p")])
    out = io.StringIO()
    write_soft([sample, platform, series, Database("")], out)
    entities = [ln for ln in out.getvalue().split("\n") if ln.startswith("^")]
    assert entities == ["^DATABASE", "^SERIES = GSE1", "^PLATFORM = GPL1", "^SAMPLE = GSM1"]
    out = io.StringIO()
    write_soft(iter([sample, series]), out)  # iterators are streamed in the given order
    assert out.getvalue().startswith("^SAMPLE = GSM1\n")


def test_gzip_choice(tmp_path: Path) -> None:
    record = [Series("GSE1", [("Series_title", "t")])]
    write_soft(record, tmp_path / "a.soft")
    assert (tmp_path / "a.soft").read_bytes().startswith(b"^SERIES")
    write_soft(record, tmp_path / "b.soft", gzip=True)
    assert (tmp_path / "b.soft").read_bytes()[:2] == b"\x1f\x8b"
    write_soft(record, tmp_path / "c.soft.gz", gzip=False)
    assert (tmp_path / "c.soft.gz").read_bytes().startswith(b"^SERIES")
    for name in ("a.soft", "b.soft", "c.soft.gz"):
        assert read_soft(tmp_path / name) == record
    buffer = io.BytesIO()
    write_soft(record, buffer, gzip=True)
    assert buffer.getvalue()[:2] == b"\x1f\x8b"
    with pytest.raises(ValueError, match="text stream"):
        write_soft(record, io.StringIO(), gzip=True)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (Sample("GSM1", [("Sample_title", "two\nlines")]), "line break"),
        (Sample("GSM1", [("Sample_title", "cr\r")]), "line break"),
        (Sample("GSM1", [("Sample_a = b", "x")]), "' = '"),
        (Sample("GSM1", [("Sample_a =", "x")]), "' = '"),
        (Sample(" GSM1", []), "white space"),
        (Sample("GSM1", columns=[("A\nB", "x")]), "line break"),
        (Sample("GSM1", table=Table(["A", "B"], [["1"], ["x\ty"]])), "TAB"),
        (Sample("GSM1", table=Table(["A"], [["1\n2"]])), "line break"),
        (Sample("GSM1", table=Table(["A\tB"], [["1"]])), "TAB"),
        (Sample("GSM1", table=Table(["A", "B"], [["!x"], ["1"]])), "may not start"),
        (Sample("GSM1", table=Table(["!A"], [["1"]])), "may not start"),
        (Sample("GSM1", table=Table(["A"], [[""]])), "empty values"),
    ],
)
def test_unwritable_text_is_refused(record: Record, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_soft([record], io.StringIO())


# --- generated records -------------------------------------------------------------------------

_TEXT = st.characters(blacklist_categories=["Cs"], blacklist_characters="\n\r")
_value = st.text(_TEXT, max_size=30) | st.sampled_from(["", " ", "a = b", " x ", "=", "\t\t", "é"])
_cell = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\t\n\r"), max_size=10
)
_name = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\t\n\r"),
    min_size=1,
    max_size=8,
).filter(lambda s: " = " not in s and not s.endswith(" ="))
_ident = st.text(_TEXT, max_size=12).filter(lambda s: s == s.strip())

_CLASSES = [Database, Series, Platform, Sample, DataSet, Subset, Annotation]


@st.composite
def _tables(draw: st.DrawFn) -> Table | None:
    if draw(st.booleans()):
        return None
    width = draw(st.integers(0, 4))
    names = draw(st.lists(_name.filter(lambda s: s[0] not in "!^"), min_size=width, max_size=width))
    n_rows = draw(st.integers(0, 6)) if width else 0
    columns = [draw(st.lists(_cell, min_size=n_rows, max_size=n_rows)) for _ in names]
    if columns:
        columns[0] = [c if c[:1] not in ("!", "^") else "x" + c for c in columns[0]]
        if width == 1:
            columns[0] = [c or "-" for c in columns[0]]
    return Table(names, columns)


@st.composite
def _records(draw: st.DrawFn) -> Record:
    cls = draw(st.sampled_from(_CLASSES))
    prefix = draw(st.sampled_from([cls.prefix, cls.prefix.lower(), cls.prefix.upper()]))
    pool = draw(st.lists(_name, min_size=1, max_size=4))
    keys = st.sampled_from([f"{prefix}_{n}" for n in pool]) | _name
    attributes = draw(st.lists(st.tuples(keys, _value), max_size=6))
    columns = draw(st.lists(st.tuples(_name, _value), max_size=3))
    ident = draw(_ident)
    if cls is Annotation:
        assume(not any(k.lower() == "annotation_platform" for k, _ in attributes))
        assume(ident.strip())  # an annotation names its platform (else a FormatError)
    return cls(ident, attributes, columns, draw(_tables()))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(_records(), min_size=1, max_size=6))
def test_generated_roundtrip(records: list[Record]) -> None:
    dataset_ids = [r.id for r in records if isinstance(r, DataSet)]
    assume(len(dataset_ids) == len(set(dataset_ids)))
    out = io.BytesIO()
    write_soft(records, out)
    path_free = out.getvalue()
    again = _read_bytes(path_free)
    assert again == geo_order(records)


def _read_bytes(data: bytes) -> list[Record]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.soft"
        path.write_bytes(data)
        return read_soft(path)


# --- GEOparse reads what we write -----------------------------------------------------------

_GEOPARSE_KEY = re.compile(r"^\w*?_")


def _geoparse_metadata(record: Record) -> dict[str, list[str]]:
    meta: dict[str, list[str]] = {}
    for key, value in record.attributes:
        meta.setdefault(_GEOPARSE_KEY.sub("", key, count=1), []).append(value.strip())
    return meta


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["gemma/GSE1623_family.soft.txt.gz", "gemma/GSE3791_family.soft.gz"]
)
def test_geoparse_reads_our_family_export(geo_fixtures: Path, tmp_path: Path, name: str) -> None:
    import GEOparse as geoparse  # test-only dependency (declared in the test extra)

    records = read_soft(geo_fixtures / name)
    series = next(r for r in records if isinstance(r, Series))
    target = tmp_path / f"{series.id}_family.soft.gz"
    write_soft(records, target)
    gse = geoparse.get_GEO(filepath=str(target), silent=True)
    samples = [r for r in records if isinstance(r, Sample)]
    platforms = [r for r in records if isinstance(r, Platform)]
    assert sorted(gse.gsms) == sorted(s.id for s in samples)
    assert sorted(gse.gpls) == sorted(p.id for p in platforms)
    assert gse.metadata == _geoparse_metadata(series)
    for sample in samples:
        gsm = gse.gsms[sample.id]
        assert gsm.metadata == _geoparse_metadata(sample)
        assert gsm.metadata.get("characteristics_ch1", []) == [
            v.strip() for v in sample.get_all("characteristics_ch1")
        ]
        assert sample.table is not None
        ours = sample.table.numeric("VALUE")
        theirs = gsm.table["VALUE"].to_numpy(dtype=float)
        np.testing.assert_allclose(theirs, ours, rtol=0, atol=0, equal_nan=True)
        assert len(gsm.table) == sample.table.n_rows
    for platform in platforms:
        gpl = gse.gpls[platform.id]
        assert platform.table is not None
        assert list(gpl.table.columns) == platform.table.names
        assert len(gpl.table) == platform.table.n_rows
