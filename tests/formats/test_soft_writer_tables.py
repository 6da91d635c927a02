"""SOFT writer: table text (the fast path through Arrow's CSV writer and the general path it
hands over to), and the lower-case table markers of GEO's family files."""

from __future__ import annotations

import io

import numpy as np
import pytest

from exprhub.formats.soft import read_soft, write_soft
from exprhub.records import Database, DataSet, Platform, Record, Sample, Subset, Table

STRINGS = np.dtypes.StringDType()


def _text(records: list[Record], **options: str) -> str:
    out = io.StringIO()
    write_soft(records, out, **options)  # type: ignore[arg-type]
    return out.getvalue()


def _family() -> list[Record]:
    table = Table(["ID_REF", "VALUE"], [["p1", "p2"], ["1.5", "null"]])
    return [
        Database("GeoMiame", [("Database_name", "Gene Expression Omnibus (GEO)")]),
        Platform("GPL1", [("Platform_title", "p")], [("ID", "")], Table(["ID"], [["p1", "p2"]])),
        Sample("GSM1", [("Sample_title", "s")], [("ID_REF", ""), ("VALUE", "")], table),
    ]


def test_lower_table_markers_as_in_family_files(tmp_path) -> None:
    records = _family()
    lower = _text(records, table_markers="lower")
    assert "\n!platform_table_begin\nID\np1\np2\n!platform_table_end\n" in lower
    assert "\n!sample_table_begin\nID_REF\tVALUE\np1\t1.5\np2\tnull\n!sample_table_end\n" in lower
    assert "!Sample_table" not in lower and "!Platform_table" not in lower
    stored = _text(records)
    assert "!Sample_table_begin" in stored and "!Platform_table_end" in stored
    path = tmp_path / "family.soft"
    path.write_text(lower)
    assert read_soft(path) == records


def test_lower_table_markers_leave_datasets_alone() -> None:
    table = Table(["ID_REF", "IDENTIFIER", "GSM1"], [["p1"], ["A1"], ["2.0"]])
    dataset = DataSet("GDS1", [("dataset_title", "t")], [("ID_REF", "id")], table)
    subset = Subset("GDS1_1", [("subset_dataset_id", "GDS1"), ("subset_sample_id", "GSM1")])
    text = _text([dataset, subset], table_markers="lower")
    assert text == _text([dataset, subset])
    assert (
        "\n!dataset_table_begin\nID_REF\tIDENTIFIER\tGSM1\np1\tA1\t2.0\n!dataset_table_end\n"
        in text
    )


def test_cells_that_arrow_would_quote_are_written_as_they_are(tmp_path) -> None:
    table = Table(
        ["ID", "Title", "Note"],
        [["a", "b", "c"], ['say "hi"', "", "é ü"], ['"', "!not a row start", "^ neither"]],
    )
    record = Sample("GSM1", [("Sample_title", "s")], table=table)
    text = _text([record])
    assert '\na\tsay "hi"\t"\nb\t\t!not a row start\nc\té ü\t^ neither\n' in text
    path = tmp_path / "quotes.soft"
    path.write_text(text, encoding="utf-8")
    assert read_soft(path) == [record]


@pytest.mark.parametrize("quote", ["", '"'], ids=["plain", "with a quote"])
def test_a_later_row_starting_with_a_marker_is_refused(quote: str) -> None:
    for first in (["a", f"{quote}b", "!c"], ["a", f"{quote}b", "^c"]):
        table = Table(["ID", "VALUE"], [first, ["1", "2", "3"]])
        with pytest.raises(ValueError, match="may not start with"):
            _text([Sample("GSM1", table=table)])


def test_column_views_are_written_as_their_cells() -> None:
    ids = np.array(["x1", "!x2", "x3", "x4", "x5"], dtype=STRINGS)
    values = np.array(["1", "2", "3", "4", "5"], dtype=STRINGS)
    every_other = Table(["ID", "VALUE"], [ids[::2], values[::2]])
    assert "\nID\tVALUE\nx1\t1\nx3\t3\nx5\t5\n" in _text([Sample("GSM1", table=every_other)])
    tail = Table(["ID", "VALUE"], [ids[1:], values[1:]])
    with pytest.raises(ValueError, match="may not start with"):
        _text([Sample("GSM1", table=tail)])
    shifted = Table(["ID", "VALUE"], [ids[2:], values[2:]])
    assert "\nID\tVALUE\nx3\t3\nx4\t4\nx5\t5\n" in _text([Sample("GSM1", table=shifted)])
