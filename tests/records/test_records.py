"""Records layer: accession rules, dates, characteristics, relations and tables."""

from __future__ import annotations

import contextlib
from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exprhub.records import (
    DataSet,
    RecordType,
    Sample,
    Series,
    Subset,
    Table,
    is_accession,
    normalize_accession,
    parse_accession,
    parse_geo_date,
    record_class,
    split_characteristic,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GSE1623", "GSE1623"),
        ("gsm11805", "GSM11805"),
        (" GPL96 ", "GPL96"),
        ("GDS507_3", "GDS507_3"),
    ],
)
def test_accessions(text, expected):
    assert str(parse_accession(text)) == expected
    assert is_accession(text)


@pytest.mark.parametrize("text", ["GSE", "GSE0", "GSX12", "Control Replicate 1", "GSE12a", ""])
def test_not_accessions(text):
    assert not is_accession(text)
    with pytest.raises(ValueError, match="not a GEO accession"):
        parse_accession(text)
    assert normalize_accession(text) == text.strip()


@given(st.sampled_from(["GSE", "GSM", "GPL", "GDS"]), st.integers(1, 10**9))
def test_accession_round_trip(prefix, number):
    acc = parse_accession(f"{prefix.lower()}{number}")
    assert str(acc) == f"{prefix}{number}" and acc.number == number


def test_range_folders():
    assert parse_accession("GSE1623").series_folder == "GSE1nnn"
    assert parse_accession("GDS507").series_folder == "GDSnnn"
    assert parse_accession("GSE99709").series_folder == "GSE99nnn"


def test_record_type_parse():
    assert RecordType.parse("gsm") is RecordType.SAMPLE
    assert RecordType.parse("Series") is RecordType.SERIES
    assert RecordType.parse("gds") is RecordType.DATASET
    with pytest.raises(ValueError, match="unknown record type"):
        RecordType.parse("xyz")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jul 29 2004", date(2004, 7, 29)),
        ("Public on Jan 26 2005", date(2005, 1, 26)),
        ("04/06/2003", date(2003, 4, 6)),
        ("2019-11-05", date(2019, 11, 5)),
        ("Private until Feb 1 2030", date(2030, 2, 1)),
        ("no date here", None),
        (None, None),
    ],
)
def test_dates(text, expected):
    assert parse_geo_date(text) == expected


def test_characteristics_split():
    assert split_characteristic("tissue: liver") == ("tissue", "liver")
    assert split_characteristic("time: 10:30") == ("time", "10:30")
    assert split_characteristic("no key here") == ("", "no key here")
    assert split_characteristic(": odd") == ("", ": odd")


def test_two_channel_sample():
    sample = Sample(
        "GSM1",
        [
            ("Sample_channel_count", "2"),
            ("Sample_organism_ch1", "Homo sapiens"),
            ("Sample_organism_ch2", "Mus musculus"),
            ("Sample_characteristics_ch1", "tissue: liver"),
            ("Sample_characteristics_ch2", "reference"),
            ("Sample_platform_id", "gpl96"),
            ("Sample_series_id", "GSE1"),
            ("Sample_series_id", "GSE2"),
        ],
    )
    assert sample.channel_count == 2
    assert sample.organisms == ["Homo sapiens", "Mus musculus"]
    assert sample.characteristics(2) == [("", "reference")]
    assert sample.platform_id == "GPL96"
    assert sample.series_ids == ["GSE1", "GSE2"]


def test_superseries_relations_and_summary_fallback():
    modern = Series(
        "GSE10",
        [
            ("Series_relation", "SuperSeries of: GSE11"),
            ("Series_relation", "SuperSeries of: GSE12"),
            ("Series_relation", "SubSeries of: GSE9"),
            ("Series_relation", "BioProject: https://x/PRJNA1"),
        ],
    )
    assert modern.subseries_ids == ["GSE11", "GSE12"]
    assert modern.superseries_ids == ["GSE9"]
    old = Series(
        "GSE11897",
        [
            (
                "Series_summary",
                "This SuperSeries is composed of the following "
                "subset Series: GSE7774 and GSE11896; see GSE11897.",
            )
        ],
    )
    assert old.subseries_ids == ["GSE7774", "GSE11896"]
    plain = Series("GSE5", [("Series_summary", "We compared to GSE4 data.")])
    assert plain.subseries_ids == []


def test_dataset_and_subset():
    gds = DataSet(
        "GDS1",
        [
            ("dataset_platform", "GPL97"),
            ("dataset_reference_series", "GSE781"),
            ("dataset_value_type", "count"),
        ],
        table=Table(["ID_REF", "IDENTIFIER", "GSM1", "GSM2"], [["a"], ["b"], ["1"], ["2"]]),
    )
    assert gds.platform_id == "GPL97" and gds.reference_series == ["GSE781"]
    assert gds.column_samples == ["GSM1", "GSM2"]
    subset = Subset("GDS1_2", [("subset_sample_id", "GSM1,GSM2"), ("subset_type", "agent")])
    assert subset.dataset_id == "GDS1" and subset.sample_ids == ["GSM1", "GSM2"]


def test_record_class_lookup():
    assert record_class("^SAMPLE") is Sample
    assert record_class("series") is Series
    with pytest.raises(ValueError, match="unknown entity"):
        record_class("^FOO")


def test_table_numeric_and_equality():
    table = Table(["ID", "VALUE", "ID"], [["a", "b", "c"], ["1.5", "null", "x"], ["1", "2", "3"]])
    np.testing.assert_array_equal(table.numeric("VALUE"), [1.5, np.nan, np.nan])
    assert table.column("ID").tolist() == ["a", "b", "c"]
    assert table == Table(list(table.names), [c.tolist() for c in table.columns])
    assert table != table.head(2)
    with pytest.raises(ValueError, match="differ in length"):
        Table(["a", "b"], [["1"], ["1", "2"]])


@given(st.lists(st.text(max_size=8), min_size=1, max_size=20))
def test_table_from_rows_pads(values):
    table = Table.from_rows(["A", "B"], [[v] for v in values])
    assert table.shape == (len(values), 2)
    assert table.column("B").tolist() == [""] * len(values)


def numpy_float(values: list[str]) -> np.ndarray:
    """The conversion to_float defines: Python float() per cell, NaN where it fails."""
    out = np.full(len(values), np.nan)
    for i, text in enumerate(values):
        with contextlib.suppress(ValueError):
            out[i] = float(text)
    return out


@pytest.mark.parametrize(
    "values",
    [
        ["1", "2.5", "-0", "+.5", "5.", "1e5", "1E-5", "1e500", "-inf", "Infinity", "4.9e-325"],
        ["nan", "NaN", "-nan", "+nan", "1"],
        ["nan(1)", "2", "nan(abc)"],  # NaN spellings Arrow reads and Python does not
        [" 1.5", "2\t", "1_000", "\u0661\u0662", "\uff11"],  # only Python reads these
        ["1", "null", "NA", "", "-", ".", "x1", "1e", "0x10", "1,5", "1.5"],
        [],
    ],
)
def test_to_float_matches_python_float(values):
    from exprhub.records import to_float

    expected = numpy_float(values)
    strings = np.array(values, dtype=np.dtypes.StringDType())
    for got in (to_float(strings), to_float(values)):
        assert got.dtype == np.float64 and got.flags.writeable
        assert got.tobytes() == expected.tobytes()


@given(st.lists(st.one_of(st.floats(), st.text(alphabet="0123456789.eE+-naifty_ ", max_size=8))))
def test_to_float_with_an_arrow_column(cells):
    import pyarrow as pa

    from exprhub.records import to_float

    values = [c if isinstance(c, str) else repr(c) for c in cells]
    strings = np.array(values, dtype=np.dtypes.StringDType())
    arrow = pa.array(strings, type=pa.large_string())
    assert to_float(strings, arrow=arrow).tobytes() == numpy_float(values).tobytes()
