"""Tests of the MINiML reader on GEO's own documents and on bundles built from them."""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exprhub.formats.errors import FormatError
from exprhub.formats.miniml import MinimlReader, read_miniml
from exprhub.records import Database, Platform, Sample, Series


@pytest.fixture
def gemma(geo_fixtures: Path) -> Path:
    return geo_fixtures / "gemma"


def _by_type(records: list) -> dict[str, list]:
    out: dict[str, list] = {}
    for record in records:
        out.setdefault(type(record).__name__, []).append(record)
    return out


# --- GEO documents ----------------------------------------------------------------------------
def test_gse730_family_windows_1252(gemma: Path) -> None:
    reader = MinimlReader(gemma / "GSE730_family.xml")
    records = list(reader.records())
    kinds = _by_type(records)
    assert [r.id for r in records] == [
        "GEO",
        "GPL539",
        "GSM11095",
        "GSM11096",
        "GSM11097",
        "GSE730",
    ]
    assert len(kinds["Platform"]) == 1 and len(kinds["Sample"]) == 3 and len(kinds["Series"]) == 1
    assert isinstance(records[0], Database)
    assert records[0].get("name") == "Gene Expression Omnibus (GEO)"

    platform = kinds["Platform"][0]
    assert isinstance(platform, Platform)
    assert platform.title == "C_elegans_Aprint_YMD"
    assert platform.technology == "spotted DNA/cDNA"
    assert platform.organisms == ["Caenorhabditis elegans"]
    assert platform.get("taxid") == "6239"
    assert platform.get("description") == "A print at Yale University, made 7/01"
    assert platform.get("contributor") == "Valerie,,Reinke"
    assert platform.get("data_row_count") == "20000"
    assert platform.status == "Public on Dec 31 2003"
    assert platform.get("submission_date") == "Oct 09 2003"
    assert platform.get("last_update_date") == "Mar 24 2009"
    assert [n for n, _ in platform.columns] == ["ID", "ORF", "Block", "Row", "Column", "SPOT_ID"]
    assert platform.columns[1] == (
        "ORF",
        'ID in the database WormBase LINK_PRE:"http://www.wormbase.org/db/gene/gene?name="',
    )

    sample = kinds["Sample"][0]
    assert isinstance(sample, Sample)
    assert sample.title == "VREI_A006_7-24-01"
    assert sample.channel_count == 2
    assert sample.get("source_name_ch2") == "TP05 late L4 prep 1 mRNA"
    assert sample.get_all("characteristics_ch1") == ["none"]
    assert sample.get("molecule_ch2") == "total RNA"
    assert sample.platform_id == "GPL539"
    assert sample.get("contact_name") == "Valerie,,Reinke"
    assert sample.get("contact_zip/postal_code") == "06520"
    assert sample.get("supplementary_file") == "NONE"
    assert len(sample.columns) == 26
    assert sample.columns[13] == ("diameter", "diameter in \u00b5m of the feature-indicator")
    assert sample.columns[14][0] == "%>CH1_back+1SD"
    assert sample.table is None  # the table files are not next to the fixture

    series = kinds["Series"][0]
    assert isinstance(series, Series)
    assert series.sample_ids == ["GSM11095", "GSM11096", "GSM11097"]
    assert series.platform_ids == ["GPL539"]
    assert series.pubmed_ids == ["14668411"]
    assert series.get_all("summary") == [
        "Timepoint 05 wild type late-L4 larvae vs mixed stage reference",
        "Keywords: other",
    ]
    assert series.superseries_ids == ["GSE696"]
    assert series.get("overall_design") is None  # empty element: no value
    missing = [w.message for w in reader.warnings]
    assert len(missing) == 4 and all("not found" in m for m in missing)


def test_gse180363_series_view(gemma: Path) -> None:
    reader = MinimlReader(gemma / "GSE180363.miniml.xml")
    records = read_miniml(gemma / "GSE180363.miniml.xml")
    kinds = _by_type(records)
    assert "Sample" not in kinds  # accession-only stubs are references, not records
    (series,) = kinds["Series"]
    assert series.id == "GSE180363"
    assert len(series.sample_ids) == 16
    assert series.sample_ids[0] == "GSM5461497"
    assert series.get_all("contributor") == [
        "Shane,P,Simonett",
        "Donnie,S,Stapleton",
        "Kathryn,L,Schueler",
    ]
    assert series.get("contact_name") == "Sunduz,,Keles"
    assert series.get("contact_institute") == "University of Wisconsin-Madison"
    assert len(series.get_all("supplementary_file")) == 24
    assert series.superseries_ids == ["GSE180810"]
    assert series.get_all("relation")[1] == (
        "BioProject: https://www.ncbi.nlm.nih.gov/bioproject/PRJNA747993"
    )
    assert series.summary()["release_date"] == "2021-07-27"
    assert series.get("submission_date") == "Jul 19 2021"
    assert list(reader.records())[-1] == series
    assert reader.warnings == []


def test_gsm5230452_single_sample(gemma: Path) -> None:
    records = read_miniml(gemma / "GSM5230452.xml")
    samples = [r for r in records if isinstance(r, Sample)]
    assert len(samples) == 1
    assert not any(isinstance(r, Platform) for r in records)  # GPL16791 is only referenced
    sample = samples[0]
    assert sample.id == "GSM5230452"
    assert sample.attributes[:5] == [
        ("Sample_title", "Primary cancer, AMC-17CT-095"),
        ("Sample_geo_accession", "GSM5230452"),
        ("Sample_status", "Public on Jul 20 2021"),
        ("Sample_submission_date", "Apr 08 2021"),
        ("Sample_last_update_date", "Jul 20 2021"),
    ]
    assert sample.get_all("characteristics_ch1") == [
        "cancer site: Large intestine",
        "age: 75",
        "tissue: colorectal cancer",
    ]
    assert sample.get("organism_ch1") == "Homo sapiens"
    assert sample.get("taxid_ch1") == "9606"
    assert sample.get("source_name_ch1") == "colorectal cancer"
    assert len(sample.get_all("extract_protocol_ch1")) == 2
    assert len(sample.get_all("data_processing")) == 4
    assert sample.platform_id == "GPL16791"
    assert sample.sample_type == "SRA"
    assert sample.get("instrument_model") == "Illumina HiSeq 2500"
    assert sample.get("library_strategy") == "RNA-Seq"
    assert sample.get("relation") == (
        "BioSample: https://www.ncbi.nlm.nih.gov/biosample/SAMN18672241"
    )
    assert sample.get("contact_zip/postal_code") == "138736"
    assert sample.table is None


# --- external tables --------------------------------------------------------------------------
def _tbl(n_cols: int, rows: int, tag: str) -> bytes:
    lines = [
        "\t".join([f"{tag}{r}", *(str(r * 10 + c) for c in range(1, n_cols))]) for r in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


_TABLES = {
    "GPL539-tbl-1.txt": 6,
    "GSM11095-tbl-1.txt": 26,
    "GSM11096-tbl-1.txt": 26,
    "GSM11097-tbl-1.txt": 26,
}


def test_external_tables_next_to_document(gemma: Path, tmp_path: Path) -> None:
    shutil.copy(gemma / "GSE730_family.xml", tmp_path)
    for name, width in _TABLES.items():
        (tmp_path / name).write_bytes(_tbl(width, 3, name[:3]))
    reader = MinimlReader(tmp_path / "GSE730_family.xml")
    records = list(reader.records())
    platform, sample = records[1], records[2]
    assert platform.table is not None and platform.table.shape == (3, 6)
    assert platform.table.names[0] == "ID"
    assert sample.table is not None and sample.table.shape == (3, 26)
    assert sample.table.column("VALUE").tolist() == ["23", "33", "43"]
    assert all("20000 declared" in w.message for w in reader.warnings)  # chopped tables


@pytest.mark.parametrize("xml_first", [True, False])
def test_family_bundle_streamed(gemma: Path, tmp_path: Path, xml_first: bool) -> None:
    bundle = tmp_path / "GSE730_family.xml.tgz"
    members = [(n, _tbl(w, 4, n[:3])) for n, w in _TABLES.items()]
    xml = ("GSE730_family.xml", (gemma / "GSE730_family.xml").read_bytes())
    members = [xml, *members] if xml_first else [*members[:2], xml, *members[2:]]
    with tarfile.open(bundle, "w:gz") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    reader = MinimlReader(bundle)
    records = list(reader.records())
    assert [r.id for r in records] == [
        "GEO",
        "GPL539",
        "GSM11095",
        "GSM11096",
        "GSM11097",
        "GSE730",
    ]
    for record in records[1:5]:
        assert record.table is not None
        assert record.table.n_rows == 4
        assert record.table.n_cols == len(record.columns)
    assert records[4].table is not None
    assert records[4].table.column("ID_REF").tolist() == ["GSM0", "GSM1", "GSM2", "GSM3"]
    assert not any("not found" in w.message for w in reader.warnings)
    assert records[3].columns[13][1] == "diameter in \u00b5m of the feature-indicator"


def test_bundle_missing_table_warns(gemma: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "b.tar"
    with tarfile.open(bundle, "w") as archive:
        archive.add(gemma / "GSE730_family.xml", arcname="GSE730_family.xml")
    reader = MinimlReader(bundle)
    records = list(reader.records())
    assert len(records) == 6
    assert sum("not found in the bundle" in w.message for w in reader.warnings) == 4


# --- small documents ----------------------------------------------------------------------------
def _doc(body: str, namespace: bool = True) -> str:
    ns = ' xmlns="http://www.ncbi.nlm.nih.gov/geo/info/MINiML"' if namespace else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<MINiML{ns} version="0.5.0">\n{body}</MINiML>\n'
    )


INTERNAL = """<Sample iid="s1">
<Title>Internal</Title>
<Channel-Count>1</Channel-Count>
<Channel position="1"><Characteristics tag="sex">F</Characteristics></Channel>
<Data-Table>
<Column position="1"><Name>ID_REF</Name></Column>
<Column position="2"><Name>VALUE</Name><Description>signal</Description></Column>
<Internal-Data rows="3">
p1\t1.5
p2\t
p3\t-2
</Internal-Data>
</Data-Table>
</Sample>
"""


@pytest.mark.parametrize("namespace", [True, False])
def test_internal_data_gzip_and_no_namespace(tmp_path: Path, namespace: bool) -> None:
    path = tmp_path / "s.xml.gz"
    path.write_bytes(gzip.compress(_doc(INTERNAL, namespace).encode()))
    reader = MinimlReader(path)
    (sample,) = reader.records()
    assert sample.id == "s1"
    assert sample.accession is None
    assert sample.get_all("characteristics_ch1") == ["sex: F"]
    assert sample.columns == [("ID_REF", ""), ("VALUE", "signal")]
    assert sample.table is not None
    assert sample.table.column("ID_REF").tolist() == ["p1", "p2", "p3"]
    assert sample.table.column("VALUE").tolist() == ["1.5", "", "-2"]
    assert sample.get("data_row_count") == "3"
    assert reader.warnings == []


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE MINiML [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<MINiML><Series iid="GSE1"><Title>&lol9;</Title></Series></MINiML>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE MINiML [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<MINiML><Series iid="GSE1"><Title>&x;</Title></Series></MINiML>
"""


@pytest.mark.parametrize("text", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_unsafe_xml_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bomb.xml"
    path.write_text(text)
    with pytest.raises(FormatError, match="unsafe XML refused"):
        read_miniml(path)


def test_malformed_and_foreign_xml(tmp_path: Path, gemma: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text(_doc('<Series iid="GSE1">\n<Title>x</Series>\n'))
    with pytest.raises(FormatError, match=r"bad\.xml:4: malformed XML"):
        read_miniml(bad)
    with pytest.raises(FormatError, match="eSummary"):
        read_miniml(gemma / "geo.esummary.test.xml")
    other = tmp_path / "other.xml"
    other.write_text("<html><body/></html>")
    with pytest.raises(FormatError, match=r"root element <html>; expected <MINiML>"):
        read_miniml(other)


# --- property: characteristics and text survive any content -------------------------------------
_value = (
    st.text(
        alphabet=st.characters(exclude_categories=["Cs", "Cc"], exclude_characters="\ufffe\uffff"),
        min_size=1,
        max_size=20,
    )
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(_value, _value), min_size=1, max_size=5), _value)
def test_characteristics_property(pairs: list[tuple[str, str]], title: str) -> None:
    chars = "".join(
        f"<Characteristics tag={quoteattr(tag)}>{escape(value)}</Characteristics>"
        for tag, value in pairs
    )
    body = (
        f'<Sample iid="GSM9"><Title>{escape(title)}</Title>'
        f'<Channel position="2">{chars}</Channel></Sample>\n'
    )
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "d.xml"
        path.write_bytes(_doc(body).encode("utf-8"))
        (sample,) = read_miniml(path)
    assert sample.title == title
    assert sample.get_all("characteristics_ch2") == [f"{t}: {v}" for t, v in pairs]


def test_contributors_organizations_and_unknown_refs(tmp_path: Path) -> None:
    body = """<Contributor iid="c1"><Organization>Some Core</Organization>
<Email>core@example.org</Email></Contributor>
<Platform iid="GPL1"><Accession database="GEO">GPL1</Accession></Platform>
<Sample iid="a"><Title>A</Title><Platform-Ref ref="GPL1"/><Contact-Ref ref="c1"/></Sample>
<Series iid="b"><Title>B</Title><Contributor-Ref ref="c1" position="1"/>
<Contributor-Ref ref="nobody"/><Sample-Ref ref="a"/><Relation type="Reanalyzed by" target="GSE2"/>
</Series>
"""
    path = tmp_path / "c.xml"
    path.write_text(_doc(body))
    reader = MinimlReader(path)
    sample, series = reader.records()
    assert sample.attributes == [
        ("Sample_title", "A"),
        ("Sample_platform_id", "GPL1"),
        ("Sample_contact_name", "Some Core"),
        ("Sample_contact_email", "core@example.org"),
        ("Sample_contact_institute", "Some Core"),
    ]
    assert series.get_all("contributor") == ["Some Core"]
    assert series.get_all("sample_id") == ["a"]
    assert series.get("platform_id") == "GPL1"
    assert series.get("relation") == "Reanalyzed by: GSE2"
    assert [w.message for w in reader.warnings] == ["reference to unknown contributor 'nobody'"]
