"""Tests for the SOFT reader on every real variant in the fixtures, and on small edge cases."""

from __future__ import annotations

import gzip
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exprhub.formats.errors import FormatError
from exprhub.formats.soft import SoftReader, read_soft
from exprhub.formats.soft_table import parse_table_block
from exprhub.records import (
    Annotation,
    Database,
    DataSet,
    Platform,
    Record,
    Sample,
    Series,
    Subset,
)


def _read(path: Path) -> tuple[list[Record], list[str]]:
    reader = SoftReader(path)
    records = list(reader.records())
    return records, [str(w) for w in reader.warnings]


def _of(records: list[Record], cls: type[Record]) -> list[Record]:
    return [r for r in records if type(r) is cls]


def _write(tmp_path: Path, text: str, name: str = "x.soft") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


# --- family files ------------------------------------------------------------------------------


def test_lower_case_family_gse1623(geo_fixtures: Path) -> None:
    records, warnings = _read(geo_fixtures / "gemma" / "GSE1623_family.soft.txt.gz")
    assert [type(r) for r in records[:3]] == [Database, Series, Platform]
    samples = _of(records, Sample)
    assert len(samples) == 8
    assert all(s.table is not None and s.table.shape == (12488, 2) for s in samples)
    assert samples[0].table is not None and samples[0].table.names == ["ID_REF", "VALUE"]
    assert samples[0].columns[0] == ("ID_REF", " ")  # '#ID_REF =  ' keeps the second space
    platform = _of(records, Platform)[0]
    assert platform.id == "GPL81" and platform.table is not None
    assert platform.table.shape == (12488, 26)
    series = _of(records, Series)[0]
    assert isinstance(series, Series)
    assert series.id == "GSE1623" and len(series.sample_ids) == 8
    assert warnings == []


def test_family_attributes_exact(geo_fixtures: Path) -> None:
    records = read_soft(geo_fixtures / "gemma" / "GSE29006_family.soft.gz")
    samples = _of(records, Sample)
    assert len(samples) == 8
    first = samples[0]
    assert first.table is None and first.columns == []
    assert first.get("type") == "SRA"
    assert first.get_all("characteristics_ch1")[0] == "cell type: large airway epithelial cells"
    assert ("Sample_relation", "SRA: http://www.ncbi.nlm.nih.gov/sra?term=SRX060169") in (
        first.attributes
    )
    keys = [k for k, _ in first.attributes]
    assert "Sample_supplementary_file_4" in keys


def test_two_channel_attributes(geo_fixtures: Path) -> None:
    records = read_soft(geo_fixtures / "gemma" / "GSE432_family.soft.gz")
    sample = _of(records, Sample)[0]
    assert isinstance(sample, Sample)
    assert sample.channel_count == 2
    assert sample.get("source_name_ch2") == "Control RNA obtained from Stratagene."
    assert sample.table is not None and sample.table.n_cols == 25


def test_multi_platform_series(geo_fixtures: Path) -> None:
    records, warnings = _read(geo_fixtures / "gemma" / "GSE3791_family.soft.gz")
    assert [p.id for p in _of(records, Platform)] == ["GPL96", "GPL97", "GPL339", "GPL340"]
    assert len(_of(records, Sample)) == 12
    # chopped tables: kept as read, mismatch reported with both counts
    assert any("GPL96: table has 100 rows but 22283 are declared" in w for w in warnings)


def test_sage_tables(geo_fixtures: Path) -> None:
    records = read_soft(geo_fixtures / "gemma" / "GSE2122.soft.gz")
    sample = _of(records, Sample)[0]
    assert sample.table is not None
    assert sample.table.names == ["TAG", "COUNT", "TPM", "PERCENT"]
    assert sample.table.column("TAG")[0] == "AAAAAAAAAA"
    assert sample.table.column("TPM")[0] == "915.97"


def test_superseries(geo_fixtures: Path) -> None:
    records = read_soft(geo_fixtures / "gemma" / "GSE11897_family.soft.gz")
    assert len(_of(records, Platform)) == 3
    assert len(_of(records, Sample)) == 11


# --- single-record files ---------------------------------------------------------------------


def test_platform_crlf_and_multivalues(geo_fixtures: Path) -> None:
    (platform,), warnings = _read(geo_fixtures / "geoquery" / "GPL96.txt.gz")
    assert isinstance(platform, Platform) and platform.table is not None
    assert platform.table.shape == (22283, 16)
    assert not any(n.endswith("\r") for n in platform.table.names)
    entrez = platform.table.column("ENTREZ_GENE_ID").tolist()
    assert any(" /// " in value for value in entrez)  # DELIMIT:" /// " stays text
    description = dict(platform.columns)["ENTREZ_GENE_ID"]
    assert description.endswith('DELIMIT:" /// "')
    assert warnings == []


def test_sample_file(geo_fixtures: Path) -> None:
    (sample,) = read_soft(geo_fixtures / "geoquery" / "GSM11805.txt.gz")
    assert isinstance(sample, Sample) and sample.id == "GSM11805"
    assert sample.table is not None and sample.table.names == ["ID_REF", "VALUE", "ABS_CALL"]
    assert sample.table.n_rows == 22283
    assert sample.data_row_count == 22283


def test_annotation_file_repeated_columns(geo_fixtures: Path) -> None:
    (annotation,) = read_soft(geo_fixtures / "geoquery" / "GPL97.annot.gz")
    assert isinstance(annotation, Annotation)
    assert annotation.id == "GPL97"
    assert annotation.table is not None
    names = annotation.table.names
    assert names.count("GO:Function") == 2 and names.count("GO:Process") == 2
    assert [n for n, _ in annotation.columns].count("GO:Component") == 2
    assert annotation.table.n_rows == 22645


def test_excel_damaged_platform(geo_fixtures: Path) -> None:
    records, _ = _read(geo_fixtures / "gemma" / "GPL96_family_excel_damaged.soft.gz")
    platform = _of(records, Platform)[0]
    assert platform.table is not None and platform.table.n_rows == 319
    assert "02-Sep" in platform.table.column("Gene Symbol").tolist()
    assert ("Platform_contact_address", " ") in platform.attributes
    assert dict(platform.columns)["Gene Title"].endswith("probe set.\t\t\t\t\t\t\t\t\t\t\t\t\t\t")


def test_unclosed_table(geo_fixtures: Path) -> None:
    records, warnings = _read(geo_fixtures / "gemma" / "GPL2716_family.soft.gz")
    platform = _of(records, Platform)[0]
    assert platform.table is not None and platform.table.n_rows == 29
    assert platform.table.column("ID")[-1] == "01010210"  # leading zeros kept
    assert any("never closed" in w and "29 rows" in w for w in warnings)
    assert any("table has 29 rows but 17328 are declared" in w for w in warnings)


# --- DataSets -----------------------------------------------------------------------------------


def test_gds507_merged_dataset(geo_fixtures: Path) -> None:
    records, warnings = _read(geo_fixtures / "geoquery" / "GDS507.soft.gz")
    assert [type(r) for r in records[:2]] == [Database, DataSet]
    datasets = _of(records, DataSet)
    assert len(datasets) == 1
    gds = datasets[0]
    assert isinstance(gds, DataSet)
    assert gds.id == "GDS507" and gds.get("title") == "Renal clear cell carcinoma (HG-U133B)"
    assert gds.table is not None and gds.table.shape == (22645, 19)
    assert gds.table.names[:3] == ["ID_REF", "IDENTIFIER", "GSM11815"]
    assert len(gds.column_samples) == 17
    described = dict(gds.columns)
    assert described["GSM11815"].startswith("Value for GSM11815: C035 Renal Clear Cell")
    assert gds.reference_series == ["GSE781"]
    subsets = _of(records, Subset)
    assert len(subsets) == 12
    assert all(isinstance(s, Subset) and s.dataset_id == "GDS507" for s in subsets)
    assert warnings == []


def test_gds100_2003_dialect(geo_fixtures: Path) -> None:
    records = read_soft(geo_fixtures / "gemma" / "GDS100.soft.txt.gz")
    assert records[0].id == ""  # '^database' without '= id'
    (gds,) = _of(records, DataSet)
    assert gds.table is not None and gds.table.shape == (5764, 10)
    assert gds.table.column("ID_REF")[:2].tolist() == ["1", "2"]
    subsets = _of(records, Subset)
    assert len(subsets) == 8
    protocol = [s for s in subsets if s.get("type") == "protocol"]
    assert len(protocol) == 2
    assert any(s.get("description") == "20 minute" for s in subsets)


@pytest.mark.parametrize(
    ("name", "columns", "rows"),
    [("GDS1794", 20, 100), ("GDS334", 13, 100), ("GDS1829", 17, 100), ("GDS3254", 9, 300)],
)
def test_chopped_datasets(geo_fixtures: Path, name: str, columns: int, rows: int) -> None:
    records, warnings = _read(geo_fixtures / "gemma" / f"{name}.soft.gz")
    (gds,) = _of(records, DataSet)
    assert gds.table is not None and gds.table.shape == (rows, columns)
    assert any(f"table has {rows} rows but" in w for w in warnings)


def test_header_only_dataset_table(geo_fixtures: Path) -> None:
    records = read_soft(geo_fixtures / "gemma" / "GDS1862.soft.gz")
    (gds,) = _of(records, DataSet)
    assert gds.table is not None
    assert gds.table.shape == (0, 6)
    assert gds.table.names[-1] == "GSM38111"
    assert len(_of(records, Subset)) == 7


def test_two_channel_dataset(geo_fixtures: Path) -> None:
    records = read_soft(geo_fixtures / "gemma" / "GDS334.soft.gz")
    (gds,) = _of(records, DataSet)
    assert isinstance(gds, DataSet)
    assert gds.value_type == "log ratio" and gds.get("channel_count") == "2"


# --- 2001-era and submission files ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "first"),
    [("GSM645", "ID_REF"), ("GSM691", "TAG"), ("GSM700", "TAG"), ("GSM804", "ID_REF")],
)
def test_old_samples_without_markers(geo_fixtures: Path, name: str, first: str) -> None:
    (sample,) = read_soft(geo_fixtures / "biopython" / f"{name}.txt")
    assert isinstance(sample, Sample) and sample.id == name
    assert sample.table is not None and sample.table.n_rows == 20
    assert sample.table.names[0] == first  # GSM691 and GSM700 are SAGE samples


def test_gsm645_no_spaces_around_equals(geo_fixtures: Path) -> None:
    (sample,) = read_soft(geo_fixtures / "biopython" / "GSM645.txt")
    assert sample.id == "GSM645"
    assert sample.table is not None and sample.table.n_cols == 14
    assert sample.table.column("ABS_CALL")[0] == "A"
    assert ("PAIRS_USED", "") in sample.columns


def test_gse16_is_really_a_sample(geo_fixtures: Path) -> None:
    (record,) = read_soft(geo_fixtures / "biopython" / "GSE16.txt")
    assert isinstance(record, Sample) and record.id == "GSM804"


def test_submission_style_ids_and_latin1(geo_fixtures: Path) -> None:
    records, _ = _read(geo_fixtures / "biopython" / "soft_ex_dual.txt")
    assert [r.id for r in records] == [
        "Control Embyronic Stem Cell Replicate 1",
        "Control Embyronic Stem Cell Replicate 2",
        "Triple-Fusion Transfected Embryonic Stem Cells Replicate 1",
    ]
    assert all(r.accession is None for r in records)
    assert "10 µg of total RNA" in (records[0].get("label_protocol_ch1") or "")
    assert records[0].table is not None and records[0].table.n_rows == 20


def test_submission_family_and_trailing_tabs(geo_fixtures: Path) -> None:
    records = read_soft(geo_fixtures / "biopython" / "soft_ex_affy.txt")
    assert [type(r) for r in records] == [Sample, Sample, Sample, Series]
    assert records[0].id == "Drosophila_T0-1"  # trailing tabs after the id removed
    assert records[0].table is not None and records[0].table.n_cols == 4
    chp = read_soft(geo_fixtures / "biopython" / "soft_ex_affy_chp.txt")
    assert ("Sample_table", "Drosophila_T0-1.CHP\t\t") in chp[0].attributes
    family = read_soft(geo_fixtures / "biopython" / "soft_ex_family.txt")
    assert [type(r).__name__ for r in family][:2] == ["Platform", "Sample"]
    assert len(read_soft(geo_fixtures / "biopython" / "soft_ex_platform.txt")) == 1
    assert len(read_soft(geo_fixtures / "biopython" / "soft_ex_series.txt")) == 1


def test_brief_series(geo_fixtures: Path) -> None:
    (series,) = read_soft(geo_fixtures / "phantasus" / "GSE99709_brief.soft")
    assert isinstance(series, Series) and series.id == "GSE99709"


# --- errors -----------------------------------------------------------------------------------


def test_empty_gzip_file(geo_fixtures: Path) -> None:
    with pytest.raises(FormatError, match=r"GPLbroken\.soft\.gz: empty gzip file"):
        read_soft(geo_fixtures / "geoquery" / "GPLbroken.soft.gz")


def test_unexpected_line_names_file_line_and_expectation(tmp_path: Path) -> None:
    path = _write(tmp_path, "^SAMPLE = GSM1\n!Sample_title = a\nstray text\n")
    with pytest.raises(FormatError) as info:
        read_soft(path)
    assert info.value.line == 3
    assert str(info.value).startswith(f"{path}:3: expected '!attribute = value'")
    assert "'stray text'" in str(info.value)


def test_text_before_first_record(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r":1: expected a '\^ENTITY = id' line"):
        read_soft(_write(tmp_path, "hello\n^SAMPLE = GSM1\n"))


def test_unknown_entity(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r":2: unknown entity '\^FOO'"):
        read_soft(_write(tmp_path, "\n^FOO = 1\n"))


def test_empty_plain_file(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="empty file"):
        read_soft(_write(tmp_path, "\n\n"))


# --- small edge cases ---------------------------------------------------------------------------


def test_attribute_value_rules(tmp_path: Path) -> None:
    text = (
        "^SAMPLE = GSM1\n"
        "!Sample_title = a = b\n"
        "!Sample_description = \n"
        "!Sample_source_name_ch1 =\n"
        "!Sample_flag\n"
        "!Sample_note =  two spaces \n"
        "!Sample_table=file.CHP\n"
        "!Sample_characteristics_ch1 = tissue: liver\n"
        "!Sample_characteristics_ch1 = age: 3\n"
    )
    (sample,) = read_soft(_write(tmp_path, text))
    assert sample.attributes == [
        ("Sample_title", "a = b"),
        ("Sample_description", ""),
        ("Sample_source_name_ch1", ""),
        ("Sample_flag", ""),
        ("Sample_note", " two spaces "),
        ("Sample_table", "file.CHP"),
        ("Sample_characteristics_ch1", "tissue: liver"),
        ("Sample_characteristics_ch1", "age: 3"),
    ]


def test_ragged_rows_warn_once_and_pad(tmp_path: Path) -> None:
    text = (
        "^SAMPLE = GSM1\n#ID_REF = \n#VALUE = \n!sample_table_begin\n"
        "ID_REF\tVALUE\n"
        "a\t1\textra\n"
        "b\n"
        "c\t3\textra\tmore\n"
        "!sample_table_end\n"
    )
    reader = SoftReader(_write(tmp_path, text))
    (sample,) = reader.records()
    assert sample.table is not None
    assert sample.table.names == ["ID_REF", "VALUE"]
    assert sample.table.column("VALUE").tolist() == ["1", "", "3"]
    messages = [w.message for w in reader.warnings]
    assert sum("more cells than the header" in m for m in messages) == 1
    assert any("2 rows have more cells" in m for m in messages)
    assert any("1 rows have fewer cells" in m for m in messages)
    assert reader.warnings[0].line == 4


def test_blank_lines_and_bom(tmp_path: Path) -> None:
    text = (
        "\ufeff^SAMPLE = GSM1\n\n!Sample_title = x\n\n#ID_REF = \n"
        "!Sample_table_begin   \t\nID_REF\n\na\n\nb\n!Sample_table_end\t\t\n\n"
    )
    (sample,) = read_soft(_write(tmp_path, text))
    assert sample.table is not None and sample.table.column(0).tolist() == ["a", "b"]


def test_table_ended_by_next_entity(tmp_path: Path) -> None:
    text = (
        "^PLATFORM = GPL1\n#ID = \n!platform_table_begin\nID\tX\n1\ta\n"
        "^SAMPLE = GSM1\n!Sample_title = s\n"
    )
    reader = SoftReader(_write(tmp_path, text))
    platform, sample = reader.records()
    assert platform.table is not None and platform.table.n_rows == 1
    assert sample.get("title") == "s"
    assert any("never closed" in w.message for w in reader.warnings)


def test_gzip_written_file_and_windows_1252_table(tmp_path: Path) -> None:
    raw = (
        b"^SAMPLE = GSM1\r\n!Sample_title = caf\xe9\r\n#ID_REF = \r\n!sample_table_begin\r\n"
        b"ID_REF\tVALUE\r\nna\xefve\t1\r\n!sample_table_end\r\n"
    )
    path = tmp_path / "s.txt"
    path.write_bytes(gzip.compress(raw))
    (sample,) = read_soft(path)
    assert sample.get("title") == "café"
    assert sample.table is not None and sample.table.column("ID_REF").tolist() == ["naïve"]


def test_streaming_yields_before_the_end(geo_fixtures: Path) -> None:
    reader = SoftReader(geo_fixtures / "gemma" / "GSE1623_family.soft.txt.gz")
    stream = reader.records()
    first = next(stream)
    assert isinstance(first, Database)
    assert next(stream).id == "GSE1623"


# --- the bulk table parser against a plain reference -----------------------------------------

_cell = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\t\n\r\x00"), max_size=12
) | st.text(st.sampled_from("ab µ"), min_size=250, max_size=300)


def _reference(names: list[str], rows: list[list[str]]) -> list[list[str]]:
    width = len(names)
    return [[(row + [""] * width)[j] for row in rows] for j in range(width)]


@settings(max_examples=150, deadline=None)
@given(
    names=st.lists(
        st.text(st.sampled_from("ABC _"), min_size=1, max_size=5), min_size=1, max_size=5
    ),
    rows=st.lists(st.lists(_cell, min_size=1, max_size=6), max_size=30),
    crlf=st.booleans(),
)
def test_table_block_matches_reference(names: list[str], rows: list[list[str]], crlf: bool) -> None:
    rows = [r for r in rows if "\t".join(r).strip("\r") != ""]
    ending = "\r\n" if crlf else "\n"
    text = ending.join(["\t".join(names)] + ["\t".join(r) for r in rows]) + ending
    parsed = parse_table_block(text.encode("utf-8"))
    assert parsed.names == names
    expected = _reference(names, [r[: len(names)] for r in rows])
    assert [c.tolist() for c in parsed.columns] == expected
    assert parsed.long_rows == sum(len(r) > len(names) for r in rows)
    assert parsed.short_rows == sum(len(r) < len(names) for r in rows)


def test_table_block_wide_cells() -> None:
    long_cell = "GO:0005515 // protein binding // inferred " * 300
    rows = [f"id{i}\t{long_cell if i % 3 == 0 else 'x' * (i * 7)}" for i in range(200)]
    parsed = parse_table_block(("ID\tGO\n" + "\n".join(rows) + "\n").encode())
    assert parsed.columns[1].tolist() == [r.split("\t")[1] for r in rows]
    assert parsed.columns[1].dtype == np.dtypes.StringDType()


_FRAGMENTS = st.sampled_from(
    [
        "^SAMPLE = GSM1",
        "^DATASET = GDS1",
        "^SUBSET = GDS1_1",
        "^database",
        "^Annotation",
        "!Sample_title = t",
        "!Sample_data_row_count = 2",
        "!dataset_feature_count = x",
        "#ID_REF = probe",
        "#VALUE =",
        "!sample_table_begin",
        "!sample_table_end",
        "ID_REF\tVALUE",
        "a\t1",
        "b\t2\t3",
        "c",
        "",
        "\t",
        "caf\xe9",
    ]
)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(_FRAGMENTS | st.text(max_size=8), max_size=25), crlf=st.booleans())
def test_reader_never_fails_other_than_format_error(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str], crlf: bool
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "x.soft"
    ending = "\r\n" if crlf else "\n"
    path.write_bytes(ending.join(lines).encode("utf-8", "surrogatepass"))
    reader = SoftReader(path)
    try:
        records = list(reader.records())
    except FormatError as error:
        assert error.path == str(path)
        return
    for record in records:
        if record.table is not None:
            assert len({len(c) for c in record.table.columns}) <= 1


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_line_numbers_after_tables(tmp_path: Path, ending: str) -> None:
    lines = [
        "^SAMPLE = GSM1",  # 1
        "#ID_REF = ",  # 2
        "!sample_table_begin",  # 3
        "",  # 4
        "ID_REF\tVALUE",  # 5
        "a\t1",  # 6
        "",  # 7
        "b\t2",  # 8
        "!sample_table_end",  # 9
        "^SAMPLE = GSM2",  # 10
        "#ID_REF = ",  # 11
        "ID_REF",  # 12 (a table without markers)
        "x",  # 13
        "!Sample_title = late",  # 14
        "stray",  # 15
    ]
    path = _write(tmp_path, ending.join(lines) + ending)
    reader = SoftReader(path)
    with pytest.raises(FormatError) as info:
        list(reader.records())
    assert info.value.line == 15


def _prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("exprhub-read-ahead")]


@pytest.mark.parametrize("name", ["gemma/GSE1623_family.soft.txt.gz", "geoquery/GDS507.soft.gz"])
def test_read_ahead_yields_the_same_records(geo_fixtures, name):
    path = geo_fixtures / name
    plain = SoftReader(path)
    expected = list(plain.records())
    early = SoftReader(path)
    early.read_ahead()
    got = list(early.records())
    assert [r.id for r in got] == [r.id for r in expected]
    for a, b in zip(got, expected, strict=True):
        assert a.attributes == b.attributes
        assert (a.table is None) == (b.table is None)
        if a.table is not None and b.table is not None:
            assert a.table.names == b.table.names
            for x, y in zip(a.table.columns, b.table.columns, strict=True):
                assert x.tolist() == y.tolist()
    assert early.warnings == plain.warnings
    assert not _prefetch_threads()


def test_read_ahead_closed_unread_stops_its_thread(geo_fixtures):
    reader = SoftReader(geo_fixtures / "gemma/GSE1623_family.soft.txt.gz")
    reader.read_ahead()
    reader.close()
    assert not _prefetch_threads()
    assert len(list(reader.records())) > 0  # read again from the start


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such file"), (b"\x1f\x8b\x08\x00 not gzip at all", "corrupt gzip")],
)
def test_read_ahead_leaves_errors_to_records(tmp_path, content, message):
    path = tmp_path / "GSE1_family.soft.gz"
    if content is not None:
        path.write_bytes(content)
    reader = SoftReader(path)
    reader.read_ahead()  # raises nothing: the import of this file reports it
    with pytest.raises(FormatError, match=message):
        list(reader.records())
    assert not _prefetch_threads()
