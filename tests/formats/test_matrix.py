"""Tests of the series matrix reader and writer."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exprhub.formats.errors import FormatError
from exprhub.formats.matrix import SeriesMatrixReader, read_series_matrix, write_series_matrix
from exprhub.formats.tab_block import parse_tab_block, split_cells
from exprhub.records import Sample, Series, Table


@pytest.fixture
def gse99709(geo_fixtures: Path) -> Path:
    return geo_fixtures / "phantasus" / "GSE99709_series_matrix.txt.gz"


def _same(a: list, b: list) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert type(x) is type(y)
        assert x.id == y.id
        assert x.attributes == y.attributes
        assert x.table == y.table


# --- real fixture -----------------------------------------------------------------------------
def test_gse99709_series_and_samples(gse99709: Path) -> None:
    reader = SeriesMatrixReader(gse99709)
    records = list(reader.records())
    series, samples = records[0], records[1:]
    assert isinstance(series, Series)
    assert series.id == "GSE99709"
    assert series.title == "RNA-Sequencing of Stat3 silenced oligodendrocyte progenitor cells."
    assert series.get_all("contributor") == ["John,N,Mariani", "Gareth,R,John"]
    assert series.get("sample_id") == " ".join(f"GSM{n}" for n in range(2650749, 2650761)) + " "
    assert len(series.sample_ids) == 12
    assert series.superseries_ids == ["GSE99797"]
    assert len(samples) == 12
    assert all(isinstance(s, Sample) for s in samples)
    assert [s.id for s in samples] == [f"GSM{n}" for n in range(2650749, 2650761)]
    first = samples[0]
    assert isinstance(first, Sample)
    assert first.title == "EV2_6"
    assert first.get_all("characteristics_ch1") == [
        "strain background: backcrossed onto C57BL/6",
        "genotype/variation: Stat3 flox/flox",
        "cell type: Primary Cortical Oligodendrocyte Progenitor (OLP) cells",
        "viral treatment: Ad5CMV-eGFP",
        "treated with: Vehicle",
    ]
    assert len(first.get_all("data_processing")) == 8
    assert len(first.get_all("extract_protocol_ch1")) == 2
    assert first.get("relation") == "BioSample: https://www.ncbi.nlm.nih.gov/biosample/SAMN07197171"
    assert "\u00a0" in (first.get("growth_protocol_ch1") or "")  # UTF-8 no-break space
    assert first.platform_id == "GPL17021"
    assert all(s.table is None for s in samples)
    assert reader.platform_id == "GPL17021"
    assert reader.warnings == []
    assert SeriesMatrixReader(gse99709).platform_id == "GPL17021"


def test_gse99709_round_trip(gse99709: Path, tmp_path: Path) -> None:
    records = read_series_matrix(gse99709)
    out = tmp_path / "copy_series_matrix.txt.gz"
    write_series_matrix(records[0], records[1:], out)  # type: ignore[arg-type]
    assert out.read_bytes()[:2] == b"\x1f\x8b"
    _same(read_series_matrix(out), records)
    original = gzip.decompress(gse99709.read_bytes()).decode("utf-8")
    written = gzip.decompress(out.read_bytes()).decode("utf-8")
    assert written == original  # GEO's own layout is reproduced byte for byte


# --- small files ----------------------------------------------------------------------------
MATRIX = (
    '!Series_title\t"A ""quoted"" title"\r\n'
    '!Series_geo_accession\t"GSE1"\r\n'
    "\r\n"
    '!Sample_title\t"one"\t"two"\r\n'
    '!Sample_geo_accession\t"GSM1"\t"GSM2"\r\n'
    '!Sample_characteristics_ch1\t"tissue: liver"\t"tissue: lung"\r\n'
    '!Sample_characteristics_ch1\t"age: 3"\t""\r\n'
    '!Sample_platform_id\t"GPL5"\t"GPL5"\r\n'
    "!series_matrix_table_begin\r\n"
    '"ID_REF"\t"GSM1"\t"GSM2"\r\n'
    '"p1"\t1.5\t2\r\n'
    '"p2"\tnull\t\r\n'
    '"p""3"\t-1\t7\r\n'
    "!series_matrix_table_end\r\n"
)


def test_quoted_crlf_plain(tmp_path: Path) -> None:
    path = tmp_path / "m.txt"
    path.write_bytes(MATRIX.encode())
    reader = SeriesMatrixReader(path)
    series, one, two = reader.records()
    assert series.title == 'A "quoted" title'
    assert one.get_all("characteristics_ch1") == ["tissue: liver", "age: 3"]
    assert two.get_all("characteristics_ch1") == ["tissue: lung"]
    assert one.table is not None and two.table is not None
    assert one.table.names == ["ID_REF", "VALUE"]
    assert one.table.column("ID_REF").tolist() == ["p1", "p2", 'p"3']
    assert one.table.column("VALUE").tolist() == ["1.5", "null", "-1"]
    assert two.table.column("VALUE").tolist() == ["2", "", "7"]
    assert reader.platform_id == "GPL5"
    assert reader.warnings == []


def test_gzip_and_columns_matched_by_accession(tmp_path: Path) -> None:
    swapped = MATRIX.replace('"ID_REF"\t"GSM1"\t"GSM2"', '"ID_REF"\t"GSM2"\t"GSM1"')
    path = tmp_path / "m.txt.gz"
    path.write_bytes(gzip.compress(swapped.encode()))
    _, one, two = read_series_matrix(path)
    assert one.table is not None and two.table is not None
    assert one.table.column("VALUE").tolist() == ["2", "", "7"]
    assert two.table.column("VALUE").tolist() == ["1.5", "null", "-1"]


def test_ragged_table_rows_fall_back(tmp_path: Path) -> None:
    text = MATRIX.replace('"p2"\tnull\t\r\n', '"p2"\tnull\r\n')
    path = tmp_path / "m.txt"
    path.write_bytes(text.encode())
    _, _, two = read_series_matrix(path)
    assert two.table is not None
    assert two.table.column("VALUE").tolist() == ["2", "", "7"]


def test_unclosed_table_warns(tmp_path: Path) -> None:
    path = tmp_path / "m.txt"
    path.write_bytes(MATRIX.replace("!series_matrix_table_end\r\n", "").encode())
    reader = SeriesMatrixReader(path)
    records = list(reader.records())
    assert records[1].table is not None and records[1].table.n_rows == 3
    assert any("never closed" in w.message for w in reader.warnings)


def test_not_a_matrix(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text("hello\tworld\n")
    with pytest.raises(FormatError, match=r"x\.txt:1: .*expected a !Series_"):
        read_series_matrix(path)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(FormatError, match="empty"):
        read_series_matrix(empty)


def test_split_cells() -> None:
    assert split_cells('"a"\t"b ""c"""\td\t""') == ["a", 'b "c"', "d", ""]


def test_parse_tab_block_bulk_and_fallback() -> None:
    names, cols = parse_tab_block(io.BytesIO(b'"A"\t"B"\nx\t1\ny\t2\n'), header=True)
    assert names == ["A", "B"]
    assert [c.tolist() for c in cols] == [["x", "y"], ["1", "2"]]
    names, cols = parse_tab_block(io.BytesIO(b"x\t1\ny\n\xe9\t3\n"), header=False, names=["A"])
    assert names == ["A", ""]
    assert [c.tolist() for c in cols] == [["x", "y", "\u00e9"], ["1", "", "3"]]


def test_writer_refuses_line_breaks_and_bad_prefixes() -> None:
    series = Series("GSE1", [("Series_title", "a\r\nb")])
    with pytest.raises(ValueError, match="line breaks"):
        write_series_matrix(series, [], io.BytesIO())
    with pytest.raises(ValueError, match="Series_"):
        write_series_matrix(Series("GSE1", [("Sample_title", "x")]), [], io.BytesIO())


def test_writer_pads_repeats_and_aligns_tables(tmp_path: Path) -> None:
    series = Series("GSE1", [("Series_geo_accession", "GSE1")])
    a = Sample(
        "GSM1",
        [
            ("Sample_geo_accession", "GSM1"),
            ("Sample_characteristics_ch1", "x: 1"),
            ("Sample_characteristics_ch1", "y: 2"),
            ("Sample_description", "d"),
        ],
        table=Table(["ID_REF", "VALUE", "ABS_CALL"], [["p1", "p2"], ["1", "2"], ["P", "A"]]),
    )
    b = Sample(
        "GSM2",
        [
            ("Sample_geo_accession", "GSM2"),
            ("Sample_characteristics_ch1", "x: 3"),
            ("Sample_description", "e"),
        ],
        table=Table(["ID_REF", "VALUE"], [["p2", "p1"], ["20", "10"]]),
    )
    buffer = io.BytesIO()
    write_series_matrix(series, [a, b], buffer)
    text = buffer.getvalue().decode()
    assert '!Sample_characteristics_ch1\t"y: 2"\t""\n' in text
    assert '"p1"\t1\t10\n"p2"\t2\t20\n' in text
    path = tmp_path / "w.txt"
    path.write_bytes(buffer.getvalue())
    back = read_series_matrix(path)
    assert back[1].attributes == a.attributes
    assert back[2].attributes == b.attributes
    assert back[2].table is not None
    assert back[2].table.column("VALUE").tolist() == ["10", "20"]


def _write_tmp(data: bytes) -> Path:
    import tempfile

    handle = tempfile.NamedTemporaryFile(suffix=".txt", delete=False)  # noqa: SIM115
    handle.write(data)
    handle.close()
    return Path(handle.name)


# --- property: read(write(x)) == x ----------------------------------------------------------
_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\r\n\x00"),
    max_size=12,
)
_nonempty = _text.filter(lambda s: s != "")
_key = st.from_regex(r"[a-z][a-z0-9_/]{0,10}", fullmatch=True)


@st.composite
def _matrices(draw: st.DrawFn) -> tuple[Series, list[Sample]]:
    series_attrs = [("Series_geo_accession", "GSE7")]
    for key, value in draw(st.lists(st.tuples(_key, _text), max_size=5)):
        series_attrs.append((f"Series_{key}", value))
    series = Series("GSE7", series_attrs)
    n_samples = draw(st.integers(min_value=0, max_value=4))
    keys = draw(st.lists(_key, max_size=5, unique=True))
    n_rows = draw(st.integers(min_value=0, max_value=6))
    with_tables = n_rows > 0 and draw(st.booleans())
    ids = [f"p{i}" if i % 2 else draw(_nonempty) + str(i) for i in range(n_rows)]
    samples = []
    for j in range(n_samples):
        accession = f"GSM{j + 1}"
        attributes = [("Sample_geo_accession", accession)]
        for key in keys:
            for _ in range(draw(st.integers(min_value=0, max_value=3))):
                attributes.append((f"Sample_{key}", draw(_nonempty)))
        table = None
        if with_tables:
            values = [draw(_text) for _ in range(n_rows)]
            table = Table(["ID_REF", "VALUE"], [ids, values])
        samples.append(Sample(accession, attributes, [], table))
    return series, samples


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_matrices(), st.booleans())
def test_round_trip_property(matrix: tuple[Series, list[Sample]], compress: bool) -> None:
    series, samples = matrix
    buffer = io.BytesIO()
    write_series_matrix(series, samples, buffer, gzip=compress)
    path = _write_tmp(buffer.getvalue())
    try:
        back = read_series_matrix(path)
    finally:
        path.unlink()
    _same(back, [series, *samples])


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 26, 27, 1000])
def test_read_until_marker_across_blocks(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    from exprhub.formats import tab_block

    monkeypatch.setattr(tab_block, "_CHUNK", chunk)
    end = b"!series_matrix_table_end"
    for body in [b"", b"a\tb\n", b'a\tb\r\n"x"\t1\r\n', b'"x!series_matrix_table_end"\t1\n']:
        data, found = tab_block.read_until_marker(io.BytesIO(body + end + b"\nrest\n"), end)
        assert (data, found) == (body, True)
        data, found = tab_block.read_until_marker(io.BytesIO(body), end)
        assert (data, found) == (body, False)
