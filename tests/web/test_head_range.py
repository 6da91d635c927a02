"""HEAD on every GET route (pages, API, downloads, static files) and byte ranges on downloads:
checked before a download is built, errors in the API's JSON error shape."""

from __future__ import annotations

import pytest

from exprhub.web import routes_records
from exprhub.web.http_semantics import ByteRange, RangeError, parse_range, resolve_ranges

from .conftest import assert_error, wait_for_job

DOWNLOAD = "/api/v1/samples/GSM7/download?format=soft"

GET_ROUTES = [
    "/",
    "/search?q=liver",
    "/series/GSE900",
    "/samples/GSM7",
    "/platforms/GPL900",
    "/datasets/GDS900",
    "/acc/GSM7",
    "/api",
    "/api/docs",
    "/api/openapi.json",
    "/api/v1/samples",
    "/api/v1/series/GSE900",
    "/api/v1/samples/GSM7?format=tsv",
    "/api/v1/series/GSE900/download?format=soft&gzip=true",
    "/api/v1/search?q=liver",
    "/api/v1/stats",
    "/api/v1/jobs",
    "/static/style.css",
    "/favicon.ico",
    "/no/such/page",
    "/api/v1/samples/GSM999999",
]


def comparable(headers) -> dict[str, str]:
    """Response headers that must agree between GET and HEAD (a download's Last-Modified is
    the time it was written)."""
    return {k: v for k, v in headers.items() if k not in ("date", "last-modified")}


@pytest.fixture
def builds(monkeypatch):
    """Count the downloads the record routes build."""
    calls = []
    original = routes_records.make_download

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(routes_records, "make_download", counting)
    return calls


@pytest.mark.parametrize("path", GET_ROUTES)
def test_head_answers_like_get_without_a_body(client, path):
    got = client.get(path, follow_redirects=False)
    head = client.head(path, follow_redirects=False)
    assert head.status_code == got.status_code, path
    assert head.content == b""
    assert comparable(head.headers) == comparable(got.headers)
    if got.status_code == 200:
        assert int(head.headers["content-length"]) == len(got.content)


def test_head_of_a_job_file(client):
    job = client.post(
        "/api/v1/jobs", json={"kind": "export", "params": {"accession": "GSM3", "format": "tsv"}}
    ).json()
    assert wait_for_job(client, job["id"])["status"] == "done"
    url = client.get(f"/api/v1/jobs/{job['id']}/result").json()["result"]["download_url"]
    got, head = client.get(url), client.head(url)
    assert head.status_code == got.status_code == 200 and head.content == b""
    assert comparable(head.headers) == comparable(got.headers)
    ranged = client.get(url, headers={"Range": "bytes=0-5"})
    assert ranged.status_code == 206 and ranged.content == got.content[:6]
    assert ranged.headers["content-range"] == f"bytes 0-5/{len(got.content)}"
    error = assert_error(client.get(url, headers={"Range": "bytes=999999-"}), 416)
    assert error["code"] == "range_not_satisfiable"
    assert assert_error(client.get(url, headers={"Range": "lines=1-2"}), 400)["code"] == "bad_range"


def test_head_of_a_download_built_before_builds_nothing(client, builds):
    got = client.get(DOWNLOAD)
    assert len(builds) == 1
    head = client.head(DOWNLOAD)
    assert len(builds) == 1
    assert head.status_code == 200 and head.content == b""
    assert comparable(head.headers) == comparable(got.headers)


def test_single_range_of_a_download(client):
    whole = client.get(DOWNLOAD).content
    part = client.get(DOWNLOAD, headers={"Range": "bytes=1-6"})
    assert part.status_code == 206
    assert part.content == whole[1:7]
    assert part.headers["content-range"] == f"bytes 1-6/{len(whole)}"
    tail = client.get(DOWNLOAD, headers={"Range": "bytes=-4"})
    assert tail.status_code == 206 and tail.content == whole[-4:]
    head = client.head(DOWNLOAD, headers={"Range": "bytes=1-6"})
    assert head.status_code == 206 and head.content == b""
    assert head.headers["content-range"] == f"bytes 1-6/{len(whole)}"


@pytest.mark.parametrize(
    ("header", "status", "code"),
    [
        ("bytes=abc", 400, "bad_range"),
        ("bytes", 400, "bad_range"),
        ("lines=0-10", 400, "bad_range"),
        ("bytes=,", 400, "bad_range"),
        ("bytes=1-2-3", 400, "bad_range"),
        ("bytes=9-2", 416, "range_not_satisfiable"),
        ("bytes=-0", 416, "range_not_satisfiable"),
        (",".join(["bytes=0-1"] + ["3-4"] * 20), 416, "range_not_satisfiable"),
    ],
)
def test_bad_range_answers_at_once_without_building(client, builds, header, status, code):
    response = client.get(DOWNLOAD + "&gzip=true", headers={"Range": header})
    assert assert_error(response, status)["code"] == code
    assert builds == []
    assert len(response.content) < 600


def test_range_beyond_the_end(client, builds):
    url = "/api/v1/platforms/GPL900/download?format=soft"
    error = client.get(url, headers={"Range": "bytes=100000000-"})
    assert_error(error, 416, "range_not_satisfiable")
    size = len(client.get(url).content)
    assert error.headers["content-range"] == f"bytes */{size}"
    built = len(builds)
    again = client.get(url, headers={"Range": "bytes=100000000-"})  # size known: no build
    assert_error(again, 416, "range_not_satisfiable")
    assert again.headers["content-range"] == f"bytes */{size}"
    assert len(builds) == built


def test_range_on_static_files(client):
    whole = client.get("/static/style.css").content
    part = client.get("/static/style.css", headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.content == whole[:10]
    assert_error(client.get("/static/style.css", headers={"Range": "bytes=x-"}), 400, "bad_range")


def test_range_parsing():
    assert parse_range("bytes=0-99") == [ByteRange(0, 99)]
    assert parse_range("Bytes = 5- , -7,") == [ByteRange(5, None), ByteRange(None, 7)]
    assert resolve_ranges(parse_range("bytes=0-99,-7,5-"), 50) == [(0, 50), (43, 50), (5, 50)]
    assert resolve_ranges(parse_range("bytes=-70"), 50) == [(0, 50)]
    with pytest.raises(RangeError) as beyond:
        resolve_ranges(parse_range("bytes=50-"), 50)
    assert beyond.value.status == 416 and beyond.value.headers == {"Content-Range": "bytes */50"}
    with pytest.raises(RangeError) as empty:
        resolve_ranges(parse_range("bytes=-5"), 0)
    assert empty.value.status == 416
    with pytest.raises(RangeError) as long:
        parse_range("bytes=" + "x" * 100_000)
    assert long.value.status == 400 and len(long.value.message) < 300
