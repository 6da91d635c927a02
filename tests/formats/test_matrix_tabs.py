"""Series matrix cells holding tabs: written quoted with their tabs, read back whole (the real
GEO records that need this, GSE3791 and GSE11897, are exported in
tests/bundles/test_export_matrix_tabs.py)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from exprhub.formats.matrix import read_series_matrix, write_series_matrix
from exprhub.formats.tab_block import parse_tab_block, split_cells
from exprhub.records import Sample, Series, Table


def test_split_cells_keeps_tabs_of_quoted_cells() -> None:
    assert split_cells('"a\tb"\t"c"') == ["a\tb", "c"]
    assert split_cells('"\t"\t""') == ["\t", ""]
    assert split_cells('"x""\ty"\tz') == ['x"\ty', "z"]
    assert split_cells('"a\tb"""\t1') == ['a\tb"', "1"]
    # a quote never closed on the line is a plain character: split on every tab, as before
    assert split_cells('"a\tb\tc') == ['"a', "b", "c"]
    assert split_cells('x"\t"y') == ['x"', '"y']


def test_table_values_with_tabs_round_trip(tmp_path: Path) -> None:
    series = Series("GSE1", [("Series_geo_accession", "GSE1"), ("Series_title", "a\tb")])
    sample = Sample(
        "GSM1",
        [("Sample_geo_accession", "GSM1"), ("Sample_title", "\tleading and trailing\t")],
        table=Table(["ID_REF", "VALUE"], [["p\t1", "p2"], ["1\t2", 'x"\t']]),
    )
    path = tmp_path / "m.txt"
    write_series_matrix(series, [sample], path)
    back = read_series_matrix(path)
    assert back[0].attributes == series.attributes
    assert back[1].attributes == sample.attributes
    assert back[1].table == sample.table
    # the pure-Python table path agrees with the bulk (pyarrow) one
    data = path.read_bytes()
    block = data.split(b"!series_matrix_table_begin\n")[1].split(b"!series_matrix_table_end")[0]
    names, columns = parse_tab_block(io.BytesIO(block + b"\xe9\t3\n"), header=True)
    assert names == ["ID_REF", "GSM1"]
    assert [c.tolist() for c in columns] == [["p\t1", "p2", "\u00e9"], ["1\t2", 'x"\t', "3"]]


def test_writer_still_refuses_line_breaks_and_tabbed_names() -> None:
    with pytest.raises(ValueError, match="line breaks"):
        write_series_matrix(Series("GSE1", [("Series_title", "a\nb")]), [], io.BytesIO())
    with pytest.raises(ValueError, match="cannot contain tabs"):
        write_series_matrix(Series("GSE1", [("Series_ti\ttle", "a")]), [], io.BytesIO())
