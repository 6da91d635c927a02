"""Record downloads through the API, read back with the format readers."""

from __future__ import annotations

import gzip
import importlib.util
import json

from exprhub.records import RecordType, Sample

from .conftest import N_HUMAN, N_MOUSE, all_records, assert_error

HAS_MINIML_WRITER = importlib.util.find_spec("exprhub.formats.miniml_writer") is not None


def test_soft_downloads_read_back(client, tmp_path):
    from exprhub.formats.soft import read_soft

    originals = {(r.type, r.key): r for r in all_records()}
    for url, name in [
        ("/api/v1/series/GSE900/download?format=soft", "GSE900_family.soft"),
        ("/api/v1/samples/GSM7?format=soft", "GSM7.soft"),
        ("/api/v1/platforms/GPL900/download?format=soft", "GPL900.soft"),
        ("/api/v1/gds/GDS900/download?format=soft", "GDS900.soft"),
    ]:
        r = client.get(url)
        assert r.status_code == 200, r.text
        assert name in r.headers["content-disposition"]
        path = tmp_path / name
        path.write_bytes(r.content)
        records = [x for x in read_soft(path) if x.type is not None]
        assert records, url
        for record in records:
            assert record == originals[(record.type, record.key)], record.key
    family = [x for x in read_soft(tmp_path / "GSE900_family.soft") if x.type is not None]
    assert sum(x.type is RecordType.SAMPLE for x in family) == N_HUMAN + N_MOUSE
    assert sum(x.type is RecordType.PLATFORM for x in family) == 2
    gds = [x.key for x in read_soft(tmp_path / "GDS900.soft") if x.type is not None]
    assert gds == ["GDS900", "GDS900_1", "GDS900_2", "GDS900_3"]


def test_gzip_download(client, tmp_path):
    r = client.get("/api/v1/samples/GSM7/download?format=soft&gzip=true")
    assert r.status_code == 200 and r.headers["content-type"] == "application/gzip"
    assert "GSM7.soft.gz" in r.headers["content-disposition"]
    assert gzip.decompress(r.content).startswith(b"^SAMPLE = GSM7")


def test_series_matrix_download_per_platform(client, tmp_path):
    from exprhub.formats.matrix import read_series_matrix

    r = client.get("/api/v1/series/GSE900?format=matrix")
    assert r.status_code == 200
    assert "GSE900-GPL900_series_matrix.txt" in r.headers["content-disposition"]
    path = tmp_path / "m.txt"
    path.write_bytes(r.content)
    records = read_series_matrix(path)
    samples = [x for x in records if x.type is RecordType.SAMPLE]
    assert len(samples) == N_HUMAN
    assert samples[2].key == "GSM3"
    table = samples[2].table
    assert table is not None and table.column("VALUE").tolist() == ["3.5", "6", "4"]
    mouse = client.get("/api/v1/series/GSE900/download?format=matrix&platform=GPL901")
    path.write_bytes(mouse.content)
    assert [x.key for x in read_series_matrix(path) if x.type is RecordType.SAMPLE] == [
        "GSM31",
        "GSM32",
    ]
    error = assert_error(
        client.get("/api/v1/series/GSE900/download?format=matrix&platform=GPL1"), 400
    )
    assert error["detail"]["platforms"] == ["GPL900", "GPL901"]


def test_tsv_and_json_downloads(client):
    tsv = client.get("/api/v1/samples/GSM5/download?format=tsv")
    assert tsv.headers["content-type"].startswith("text/tab-separated-values")
    assert tsv.text.splitlines() == ["ID_REF\tVALUE", "p1\t5.5", "p2\t10", "p3\tnull"]
    annotation = client.get("/api/v1/platforms/GPL900?format=tsv").text.splitlines()
    assert annotation[0] == "ID\tGene Symbol" and annotation[1] == "p1\tGp1"
    gds = client.get("/api/v1/gds/GDS900?format=tsv").text.splitlines()
    assert gds[0] == "ID_REF\tIDENTIFIER\tGSM1\tGSM2\tGSM3\tGSM4"
    document = client.get("/api/v1/samples/GSM5?format=json")
    assert "attachment" in document.headers["content-disposition"]
    assert json.loads(document.content)["accession"] == "GSM5"


def test_download_errors(client):
    assert_error(client.get("/api/v1/samples/GSM1?format=refined"), 501, "not_refined")
    error = assert_error(
        client.get("/api/v1/samples/GSM1/download?format=matrix"), 400, "unsupported_format"
    )
    assert "soft" in error["detail"]["offered"]
    assert_error(client.get("/api/v1/gds/GDS900?format=miniml"), 400, "unsupported_format")
    assert_error(client.get("/api/v1/samples/GSM1/download?format=pdf"), 422, "invalid_request")


def test_miniml_download(client, tmp_path):
    r = client.get("/api/v1/samples/GSM7?format=miniml")
    if not HAS_MINIML_WRITER:
        assert_error(r, 501, "format_unavailable")
        return
    assert r.status_code == 200, r.text
    from exprhub.formats.miniml import read_miniml

    path = tmp_path / "GSM7.xml"
    path.write_bytes(r.content)
    samples = [x for x in read_miniml(path) if isinstance(x, Sample)]
    assert [s.key for s in samples] == ["GSM7"]
    assert samples[0].characteristics() == [("tissue", "liver"), ("age", "27 years")]
    family = client.get("/api/v1/series/GSE900/download?format=miniml")
    assert family.status_code == 200, family.text
    assert "GSE900_family.xml" in family.headers["content-disposition"]
    path.write_bytes(family.content)
    records = read_miniml(path)
    assert sum(isinstance(x, Sample) for x in records) == N_HUMAN + N_MOUSE
    assert {x.key for x in records if x.type is RecordType.SERIES} == {"GSE900"}


def test_every_offered_format_downloads_as_the_registry_says(client):
    """Media type and file name of each download come from the file kind registry."""
    from exprhub.formats.kinds import GZIP_MEDIA_TYPE, KINDS
    from exprhub.web.service import formats_for

    records = {
        RecordType.SERIES: ("series", "GSE900"),
        RecordType.SAMPLE: ("samples", "GSM7"),
        RecordType.PLATFORM: ("platforms", "GPL900"),
        RecordType.DATASET: ("gds", "GDS900"),
    }
    for record_type, (segment, key) in records.items():
        for fmt in formats_for(record_type):
            kind = KINDS.by_option(fmt)
            if fmt == "refined":
                continue  # nothing is refined in this hub (test_download_errors)
            platform = "GPL900" if fmt == "matrix" else None
            name = kind.file_name(key, record_type, platform=platform)
            url = f"/api/v1/{segment}/{key}/download?format={fmt}"
            r = client.get(url)
            assert r.status_code == 200, (url, r.text)
            assert r.headers["content-type"] == kind.media_type, url
            assert f'filename="{name}"' in r.headers["content-disposition"], url
            packed = client.get(f"{url}&gzip=true")
            assert packed.headers["content-type"] == GZIP_MEDIA_TYPE, url
            assert f'filename="{name}.gz"' in packed.headers["content-disposition"], url
            assert gzip.decompress(packed.content) == r.content, url


def test_a_kind_without_a_writer_answers_501(client, monkeypatch):
    import dataclasses

    from exprhub.formats.kinds import KINDS
    from exprhub.web import downloads

    unwritten = dataclasses.replace(KINDS["miniml"], write=None)
    monkeypatch.setattr(downloads, "KINDS", KINDS.with_kind(unwritten))
    error = assert_error(client.get("/api/v1/samples/GSM6?format=miniml"), 501)
    assert error["code"] == "format_unavailable" and "miniml" in error["message"]
    assert "miniml" not in downloads.available_formats()
    assert client.get("/api/v1/samples/GSM6?format=soft").status_code == 200
