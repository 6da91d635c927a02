"""Reader errors are FormatErrors naming the file, the line and what was expected; odd but
readable values are warnings, never a plain ValueError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exprhub.formats.detect import open_reader
from exprhub.formats.errors import FormatError
from exprhub.formats.miniml import MinimlReader
from exprhub.formats.soft_reader import SoftReader
from exprhub.records import Sample
from exprhub.records.table import FLOAT32_MAX, ValueTally, to_float, to_stored_float


def _gse730_with(geo_fixtures: Path, tmp_path: Path, old: bytes, new: bytes) -> Path:
    data = (geo_fixtures / "gemma/GSE730_family.xml").read_bytes()
    assert old in data
    path = tmp_path / "GSE730_family.xml"
    path.write_bytes(data.replace(old, new, 1))
    return path


def test_miniml_column_position_that_is_not_a_number(geo_fixtures: Path, tmp_path: Path) -> None:
    """``'²'.isdigit()`` is true but ``int('²')`` fails: the column keeps its place in the
    document and a warning says why."""
    path = _gse730_with(
        geo_fixtures, tmp_path, b'<Column position="1">', '<Column position="²">'.encode()
    )
    reader = MinimlReader(path)
    platform = next(r for r in reader.records() if r.id == "GPL539")
    assert [n for n, _ in platform.columns] == ["ID", "ORF", "Block", "Row", "Column", "SPOT_ID"]
    assert [str(w) for w in reader.warnings if "position" in w.message] == [
        f"{path}: GPL539: <Column position='²'> is not a column number (expected 1, 2, ...); "
        "kept in document order"
    ]


@pytest.mark.parametrize("rows", ["³", "9" * 5000, "-4"])
def test_miniml_row_count_that_is_not_a_number(
    geo_fixtures: Path, tmp_path: Path, rows: str
) -> None:
    path = _gse730_with(
        geo_fixtures,
        tmp_path,
        b'<External-Data rows="20000">',
        f'<Internal-Data rows="{rows}">\nA\t1\n</Internal-Data><!--'.encode(),
    )
    data = path.read_bytes()
    end = data.index(b"</External-Data>", data.index(b"<!--"))
    path.write_bytes(data[:end] + b"-->" + data[end + len(b"</External-Data>") :])
    reader = MinimlReader(path)
    platform = next(r for r in reader.records() if r.id == "GPL539")
    assert platform.table is not None and platform.table.n_rows == 1
    assert platform.get("data_row_count") is None
    assert any("is not a row count" in w.message for w in reader.warnings)


def test_annotation_naming_no_platform(tmp_path: Path) -> None:
    path = tmp_path / "GPL1.annot"
    path.write_text(
        "^DATABASE = Geo\n!Database_name = GEO\n^Annotation\n!Annotation_date = Jun 1 2020\n"
        "#ID = probe\n!platform_table_begin\nID\tGene symbol\n1\tA\n!platform_table_end\n"
    )
    with pytest.raises(FormatError) as info:
        list(open_reader(path).records())
    assert (info.value.path, info.value.line) == (str(path), 3)
    assert "names no platform; expected '^Annotation = GPLnnn'" in str(info.value)


def test_annotation_platform_from_its_attribute(tmp_path: Path) -> None:
    path = tmp_path / "GPL1.annot"
    path.write_text("^Annotation\n!Annotation_platform = GPL1\n")
    assert [r.id for r in SoftReader(path).records()] == ["GPL1"]


def test_channel_count_that_is_not_a_number() -> None:
    sample = Sample("GSM1", [("Sample_channel_count", "²"), ("Sample_source_name_ch2", "x")])
    assert sample.channel_count == 2  # told by the _ch2 attributes instead
    assert Sample("GSM1", [("Sample_channel_count", "2")]).channel_count == 2


def test_stored_values_tally_missing_unparseable_and_out_of_range() -> None:
    cells = ["1", " 2 ", "", "null", "NA", "NaN", "-nan", "abc", "1,234", "abc", "1e999", "-inf"]
    cells += ["3.5e38", "1e38"]
    tally = ValueTally()
    out = to_stored_float(np.array(cells, dtype=np.dtypes.StringDType()), tally=tally)
    assert (tally.cells, tally.missing, tally.unparseable, tally.out_of_range) == (14, 5, 3, 3)
    assert tally.examples == {
        "unparseable": ["abc", "1,234"],
        "out_of_range": ["1e999", "-inf", "3.5e38"],
    }
    assert out[:2].tolist() == [1.0, 2.0] and out[-1] == 1e38
    assert np.isnan(out[2:-1]).all()
    assert np.isinf(to_float(cells)[10:12]).all()  # to_float itself stays Python's float()
    assert 1e38 < FLOAT32_MAX < 3.5e38
