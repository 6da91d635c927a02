"""MINiML writer: well-formed GEO-style XML that the MINiML reader maps back to the SOFT facts."""

from __future__ import annotations

import gzip
import io
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exprhub.formats.miniml import read_miniml
from exprhub.formats.miniml_writer import MINIML_NAMESPACE, write_miniml
from exprhub.formats.soft import read_soft
from exprhub.records import Database, DataSet, Platform, Record, Sample, Series, Table
from exprhub.simulate import simulate

NS = f"{{{MINIML_NAMESPACE}}}"


def _round_trip(records: list[Record], tmp_path: Path, name: str = "out.xml") -> dict[str, Record]:
    path = tmp_path / name
    write_miniml(records, path)
    return {r.key: r for r in read_miniml(path) if not isinstance(r, Database)}


def _entities(records: list[Record]) -> list[Record]:
    return [r for r in records if isinstance(r, Platform | Sample | Series)]


def _assert_same_facts(source: list[Record], back: dict[str, Record]) -> None:
    assert set(back) == {r.key for r in _entities(source)}
    for record in _entities(source):
        other = back[record.key]
        assert type(other) is type(record)
        assert other.title == record.title
        assert other.submission_date == record.submission_date
        assert other.release_date == record.release_date
        assert other.last_update_date == record.last_update_date
        assert other.get_all("relation") == [v.strip() for v in record.get_all("relation")]
        if isinstance(record, Sample):
            assert isinstance(other, Sample)
            for channel in (1, 2):
                key = f"characteristics_ch{channel}"
                assert other.get_all(key) == [v.strip() for v in record.get_all(key)]
                assert other.channel_values("organism", channel) == record.channel_values(
                    "organism", channel
                )
            assert other.platform_id == record.platform_id
        if isinstance(record, Series):
            assert isinstance(other, Series)
            assert other.sample_ids == record.sample_ids
            assert other.pubmed_ids == record.pubmed_ids
        if record.table is not None:
            assert other.table == record.table
            assert [n for n, _ in other.columns] == [n for n, _ in record.columns]
        else:
            assert other.table is None or other.table.n_rows == 0


def test_document_is_well_formed_geo_layout(geo_fixtures: Path, tmp_path: Path):
    records = read_soft(geo_fixtures / "gemma" / "GSE2870_family.soft.gz")
    path = tmp_path / "GSE2870_family.xml"
    write_miniml(records, path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8" standalone="no"?>')
    root = ET.parse(path).getroot()
    assert root.tag == f"{NS}MINiML" and root.get("version") == "0.5.0"
    kinds = [child.tag.removeprefix(NS) for child in root]
    assert all(child.tag.startswith(NS) for child in root.iter())
    order = {"Contributor": 0, "Database": 1, "Platform": 2, "Sample": 3, "Series": 4}
    assert [order[k] for k in kinds] == sorted(order[k] for k in kinds)
    assert Counter(kinds) == Counter({"Contributor": 3, "Database": 1, "Platform": 1,
                                      "Sample": 18, "Series": 1})  # fmt: skip
    series = root.find(f"{NS}Series")
    assert series is not None
    assert series.findtext(f"{NS}Accession") == "GSE2870"
    assert series.find(f"{NS}Status/{NS}Release-Date").text == "2005-07-06"  # type: ignore[union-attr]
    refs = [e.get("ref") for e in series.findall(f"{NS}Sample-Ref")]
    iids = {e.get("iid") for e in root.findall(f"{NS}Sample")}
    assert set(refs) == iids and len(refs) == 18
    internal = root.find(f"{NS}Sample/{NS}Data-Table/{NS}Internal-Data")
    assert internal is not None and internal.get("rows") == "31099"  # declared, table chopped


def test_round_trip_family_gse2870(geo_fixtures: Path, tmp_path: Path):
    records = read_soft(geo_fixtures / "gemma" / "GSE2870_family.soft.gz")
    _assert_same_facts(records, _round_trip(records, tmp_path))


def test_round_trip_sample_with_its_platform(geo_fixtures: Path, tmp_path: Path):
    records = read_soft(geo_fixtures / "geoquery" / "GPL96.txt.gz")
    records += read_soft(geo_fixtures / "geoquery" / "GSM11805.txt.gz")
    report = write_miniml(records, tmp_path / "out.xml")
    back = {r.key: r for r in read_miniml(tmp_path / "out.xml") if not isinstance(r, Database)}
    _assert_same_facts(records, back)
    assert back["GPL96"].table is not None and back["GPL96"].table.n_rows == 22283
    unmapped = {(u.record, u.key) for u in report if u.action == "text"}
    assert unmapped == {("GSM11805", "Sample_comment"), ("GSM11805", "Sample_series_id")}
    assert "!Sample_comment = Raw data provided as supplementary file" in back["GSM11805"].get_all(
        "description"
    )
    derived = Counter(u.key for u in report if u.action == "derived")
    assert derived["Platform_sample_id"] > 1000


def test_round_trip_rnaseq_characteristics_and_relations(geo_fixtures: Path, tmp_path: Path):
    records = read_soft(geo_fixtures / "gemma" / "GSE29006_family.soft.gz")
    back = _round_trip(records, tmp_path)
    _assert_same_facts(records, back)
    sample = back["GSM718707"]
    assert "gender: 3 Female" in sample.get_all("characteristics_ch1")
    assert sample.get("library_strategy") == "RNA-Seq"
    assert sample.get("instrument_model") == "Illumina Genome Analyzer IIx"
    source = next(r for r in records if r.key == "GSM718707")
    files = [v for k, v in source.attributes if "supplementary_file" in k]
    assert sample.get_all("supplementary_file") == files
    series = back["GSE29006"]
    assert series.get_all("relation")[0] == "SubSeries of: GSE29007"
    assert series.get("contact_name") == "Avrum ,,Spira"


def test_round_trip_two_channel(geo_fixtures: Path, tmp_path: Path):
    records = read_soft(geo_fixtures / "gemma" / "GSE432_family.soft.gz")
    back = _round_trip(records, tmp_path)
    _assert_same_facts(records, back)
    sample = next(r for r in records if isinstance(r, Sample))
    assert back[sample.key].get_all("label_ch2") == sample.get_all("label_ch2")


def test_round_trip_simulated_superseries(tmp_path: Path):
    manifest = simulate(tmp_path / "sim", series=2, samples=4, platforms=2, probes=40,
                        rnaseq_series=1)  # fmt: skip
    sup = next(s for s in manifest.series if s.kind == "superseries")
    records = read_soft(tmp_path / "sim" / sup.files[0])
    back = _round_trip(records, tmp_path)
    _assert_same_facts(records, back)
    assert back[sup.accession].get_all("relation")[:2] == [
        f"SuperSeries of: {a}" for a in sup.subseries
    ]


def test_unmapped_attributes_policy(geo_fixtures: Path, tmp_path: Path):
    records = read_soft(geo_fixtures / "geoquery" / "GSM11805.txt.gz")
    report = write_miniml(records, tmp_path / "skip.xml", unmapped="skip")
    assert {u.key for u in report if u.action == "skipped"} == {
        "Sample_comment",
        "Sample_series_id",
    }
    back = read_miniml(tmp_path / "skip.xml")
    sample = next(r for r in back if isinstance(r, Sample))
    assert not any(v.startswith("!Sample_") for v in sample.get_all("description"))
    with pytest.raises(ValueError, match="GSM11805: attribute Sample_"):
        write_miniml(records, tmp_path / "error.xml", unmapped="error")
    with pytest.raises(ValueError, match="unmapped"):
        write_miniml(records, tmp_path / "bad.xml", unmapped="drop")  # type: ignore[arg-type]


def test_reference_stubs_for_records_not_in_the_document(geo_fixtures: Path, tmp_path: Path):
    records = read_soft(geo_fixtures / "geoquery" / "GSM11805.txt.gz")
    series = Series("GSE781", [("Series_title", "RCC"), ("Series_sample_id", "GSM11805"),
                               ("Series_sample_id", "GSM11810")])  # fmt: skip
    path = tmp_path / "stubs.xml"
    write_miniml([*records, series], path)
    root = ET.parse(path).getroot()
    platforms = root.findall(f"{NS}Platform")
    assert [[c.tag.removeprefix(NS) for c in p] for p in platforms] == [["Accession"]]
    stub_samples = [s for s in root.findall(f"{NS}Sample") if len(s) == 1]
    assert [s.findtext(f"{NS}Accession") for s in stub_samples] == ["GSM11810"]
    back = {r.key: r for r in read_miniml(path) if not isinstance(r, Database)}
    assert set(back) == {"GSM11805", "GSE781"}
    assert back["GSM11805"].get("platform_id") == "GPL96"
    assert isinstance(back["GSE781"], Series)
    assert back["GSE781"].sample_ids == ["GSM11805", "GSM11810"]


def test_datasets_are_refused(geo_fixtures: Path, tmp_path: Path):
    records = read_soft(geo_fixtures / "geoquery" / "GDS507.soft.gz")
    assert any(isinstance(r, DataSet) for r in records)
    with pytest.raises(ValueError, match="no element for a DataSet"):
        write_miniml(records, tmp_path / "gds.xml")


def test_targets_gzip_text_and_binary(geo_fixtures: Path, tmp_path: Path):
    records = read_soft(geo_fixtures / "gemma" / "GSE2870_family.soft.gz")
    write_miniml(records, tmp_path / "a.xml.gz")
    write_miniml(records, tmp_path / "b.xml.gz")
    assert (tmp_path / "a.xml.gz").read_bytes() == (tmp_path / "b.xml.gz").read_bytes()
    plain = gzip.decompress((tmp_path / "a.xml.gz").read_bytes()).decode("utf-8")
    text = io.StringIO()
    write_miniml(records, text)
    binary = io.BytesIO()
    write_miniml(records, binary)
    assert text.getvalue() == plain == binary.getvalue().decode("utf-8")
    assert len(read_miniml(tmp_path / "a.xml.gz")) == len(_entities(records)) + 1
    with pytest.raises(ValueError, match="text stream"):
        write_miniml(records, io.StringIO(), gzip=True)


_CELL = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\t"
    ),
    max_size=12,
).map(str.strip)
_WORD = _CELL.filter(bool)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    title=_WORD,
    tag=_WORD.filter(lambda t: ":" not in t),
    value=_WORD,
    rows=st.lists(st.tuples(_WORD, _CELL), min_size=1, max_size=6),
)
def test_text_and_tables_round_trip(tmp_path: Path, title: str, tag: str, value: str,
                                    rows: list[tuple[str, str]]) -> None:  # fmt: skip
    sample = Sample(
        "GSM1",
        [
            ("Sample_title", title),
            ("Sample_geo_accession", "GSM1"),
            ("Sample_characteristics_ch1", f"{tag}: {value}"),
            ("Sample_characteristics_ch1", value),
        ],
        columns=[("ID_REF", ""), ("VALUE", "a <value> & more")],
        table=Table.from_rows(["ID_REF", "VALUE"], [list(r) for r in rows]),
    )
    path = tmp_path / "prop.xml"
    write_miniml([sample], path)
    back = next(r for r in read_miniml(path) if isinstance(r, Sample))
    assert back.title == title
    assert back.get_all("characteristics_ch1") == [f"{tag}: {value}", value]
    assert back.table == sample.table
    assert back.columns[1] == ("VALUE", "a <value> & more")
