"""The ASGI fast path for record documents (``exprhub.web.fastpath``) answers exactly as the
FastAPI route does: same status, body and headers (ETag, Cache-Control, content type), the same
304s and error shape, and never a stale document after a write to the hub."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from exprhub.hub import Hub
from exprhub.ingest.importer import import_file
from exprhub.records import RecordType
from exprhub.web import create_app, routes_records
from exprhub.web.fastpath import RecordDocumentFastPath, document_request

from .conftest import all_records, assert_error

DOCUMENT_PATHS = [
    "/api/v1/platforms/GPL900",
    "/api/v1/platforms/GPL901",
    "/api/v1/series/GSE900",
    "/api/v1/series/GSE901",
    "/api/v1/samples/GSM1",
    "/api/v1/samples/GSM31",
    "/api/v1/gds/GDS900",
    "/api/v1/samples/gsm2",  # accessions are matched case-insensitively
]


def route_only_app(hub: Hub) -> FastAPI:
    """The app as ``create_app`` builds it, minus the fast path (every request goes through
    FastAPI's route)."""
    app = create_app(hub)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not RecordDocumentFastPath]
    return app


@pytest.fixture(scope="module")
def clients(small_hub: Hub) -> Iterator[tuple[TestClient, TestClient]]:
    """Test clients of the app with the fast path and of the same app without it."""
    with TestClient(create_app(small_hub)) as fast, TestClient(route_only_app(small_hub)) as slow:
        yield fast, slow


@pytest.fixture
def route_forbidden(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the FastAPI record route fail, to prove the fast path answered."""

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("the FastAPI record route was called")

    monkeypatch.setattr(routes_records, "record_response", fail)


def same_response(fast, slow) -> None:  # type: ignore[no-untyped-def]
    assert fast.status_code == slow.status_code
    assert fast.content == slow.content
    assert fast.headers.raw == slow.headers.raw  # every header, in the same order


def test_the_fast_path_is_installed(client):
    assert any(m.cls is RecordDocumentFastPath for m in client.app.user_middleware)


@pytest.mark.parametrize("path", DOCUMENT_PATHS)
def test_documents_are_byte_identical(clients, path):
    fast, slow = clients
    for _ in range(2):  # cold, then cached
        answer = fast.get(path)
        same_response(answer, slow.get(path))
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["etag"].startswith('"')
        assert answer.headers["cache-control"] == "public, max-age=60, must-revalidate"
        assert answer.headers["x-content-type-options"] == "nosniff"


def test_cache_hits_are_served_without_the_route(clients, route_forbidden):
    fast, _ = clients
    fast.get("/api/v1/series/GSE900")  # the cache may be cold: fill it (through the fast path)
    again = fast.get("/api/v1/series/GSE900")
    assert again.status_code == 200 and again.json()["key"] == "GSE900"
    matching = fast.get("/api/v1/series/GSE900", headers={"If-None-Match": again.headers["etag"]})
    assert matching.status_code == 304


def test_not_modified_is_identical(clients):
    fast, slow = clients
    for path in DOCUMENT_PATHS:
        etag = slow.get(path).headers["etag"]
        for header in (etag, f'"x", W/{etag}', "*"):
            answer = fast.get(path, headers={"If-None-Match": header})
            same_response(answer, slow.get(path, headers={"If-None-Match": header}))
            assert answer.status_code == 304 and answer.content == b""
            assert answer.headers["etag"] == etag
        other = fast.get(path, headers={"If-None-Match": '"nope"'})
        assert other.status_code == 200
        same_response(other, slow.get(path, headers={"If-None-Match": '"nope"'}))


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/samples/GSM999999",
        "/api/v1/series/GSM1",  # a record, but of another type
        "/api/v1/gds/nothing",
        "/api/v1/platforms/GSE900",
    ],
)
def test_unknown_records_give_the_same_error(clients, route_forbidden, path):
    fast, _ = clients
    answer = fast.get(path)
    error = assert_error(answer, 404, "not_found")
    assert "is not in this hub" in error["message"] and "/" not in error["message"]
    assert answer.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path", ["/api/v1/samples/GSM999999", "/api/v1/series/GSM1", "/api/v1/gds/nothing"]
)
def test_unknown_record_errors_are_identical(clients, path):
    fast, slow = clients
    same_response(fast.get(path), slow.get(path))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/series/GSE900?format=json"),
        ("GET", "/api/v1/series/GSE900?gzip=true"),
        ("GET", "/api/v1/series/GSE900?format=xlsx"),
        ("GET", "/api/v1/series/GSE900/"),
        ("GET", "/api/v1/series/GSE900/nothing"),
        ("GET", "/api/v1/series/GSE900/download?format=json"),
        ("GET", "/api/v1/samples"),
        ("GET", "/api/v1/subsets/GDS900_1"),
        ("HEAD", "/api/v1/series/GSE900"),
        ("POST", "/api/v1/series/GSE900"),
        ("GET", "/series/GSE900"),
    ],
)
def test_other_requests_fall_through_unchanged(clients, method, path):
    fast, slow = clients
    first = fast.request(method, path, follow_redirects=False)
    second = slow.request(method, path, follow_redirects=False)
    assert first.status_code == second.status_code
    if "download" in path or "format=json" in path:  # downloads carry a fresh file name
        assert first.headers["etag"] == second.headers["etag"]
    else:
        same_response(first, second)


def test_document_request_matching():
    get = {"type": "http", "method": "GET", "query_string": b"", "root_path": "", "path": ""}
    assert document_request(get | {"path": "/api/v1/samples/GSM1"}) == (RecordType.SAMPLE, "GSM1")
    assert document_request(get | {"path": "/api/v1/gds/GDS900"}) == (RecordType.DATASET, "GDS900")
    for path in ("/api/v1/samples", "/api/v1/samples/", "/api/v1/samples/GSM1/x", "/samples/GSM1"):
        assert document_request(get | {"path": path}) is None
    assert document_request(get | {"path": "/api/v1/samples/GSM1", "method": "HEAD"}) is None
    assert document_request(get | {"path": "/api/v1/samples/GSM1", "query_string": b"a=1"}) is None
    assert document_request(get | {"path": "/api/v1/samples/GSM1", "root_path": "/x"}) is None
    assert document_request({"type": "websocket", "path": "/api/v1/samples/GSM1"}) is None


SOFT_UPDATE = """\
^SERIES = GSE901
!Series_title = Renamed by a new import
!Series_geo_accession = GSE901
!Series_status = Public on Jan 02 2004
!Series_submission_date = Jan 01 2004
!Series_last_update_date = Feb 01 2005
!Series_summary = Updated.
!Series_overall_design = Two samples.
!Series_type = Expression profiling by array
!Series_relation = SubSeries of: GSE900
!Series_sample_id = GSM1
!Series_sample_id = GSM2
!Series_platform_id = GPL900
"""


@pytest.fixture
def writable_hub(tmp_path: Path) -> Iterator[Hub]:
    """A hub holding the test records that a test may change."""
    hub = Hub.init(tmp_path / "hub")
    hub.put_records(all_records())
    yield hub
    hub.close()


def test_an_import_is_served_at_once(writable_hub, tmp_path):
    with TestClient(create_app(writable_hub)) as fast:
        series = fast.get("/api/v1/series/GSE901")
        sample = fast.get("/api/v1/samples/GSM1")
        assert fast.get("/api/v1/series/GSE901").content == series.content  # now cached
        soft = tmp_path / "GSE901_family.soft"
        soft.write_text(SOFT_UPDATE)
        import_file(writable_hub, soft)

        renamed = fast.get(
            "/api/v1/series/GSE901", headers={"If-None-Match": series.headers["etag"]}
        )
        assert renamed.status_code == 200
        assert renamed.json()["title"] == "Renamed by a new import"
        assert renamed.headers["etag"] != series.headers["etag"]
        # any write changes every ETag: a related record's document shows the new title too
        related = fast.get(
            "/api/v1/samples/GSM1", headers={"If-None-Match": sample.headers["etag"]}
        )
        assert related.status_code == 200 and related.headers["etag"] != sample.headers["etag"]
        briefs = related.json()["related_records"]["series"]["items"]
        assert "Renamed by a new import" in [b["title"] for b in briefs]
        with TestClient(route_only_app(writable_hub)) as slow:
            for path in ("/api/v1/series/GSE901", "/api/v1/samples/GSM1", "/api/v1/gds/GDS900"):
                same_response(fast.get(path), slow.get(path))


def test_put_records_is_served_at_once(writable_hub, route_forbidden):
    from .conftest import make_series

    with TestClient(create_app(writable_hub)) as fast:
        assert fast.get("/api/v1/series/GSE777").status_code == 404
        newer = make_series("GSE777", ["GSM1"], ["GPL900"])
        writable_hub.put_records([newer])
        added = fast.get("/api/v1/series/GSE777")
        assert added.status_code == 200 and added.json()["key"] == "GSE777"


def test_security_headers_are_added_only_where_missing():
    from exprhub.web.app import CONTENT_SECURITY_POLICY, with_security_headers

    json_headers = [(b"content-type", b"application/json")]
    assert with_security_headers(json_headers) == [
        *json_headers,
        (b"x-content-type-options", b"nosniff"),
    ]
    assert json_headers == [(b"content-type", b"application/json")]  # left unchanged
    html = with_security_headers(iter([(b"content-type", b"text/html; charset=utf-8")]))
    assert dict(html) == {
        b"content-type": b"text/html; charset=utf-8",
        b"x-content-type-options": b"nosniff",
        b"content-security-policy": CONTENT_SECURITY_POLICY.encode(),
        b"referrer-policy": b"same-origin",
    }
    own = [(b"content-type", b"text/html"), (b"referrer-policy", b"no-referrer")]
    assert dict(with_security_headers(own))[b"referrer-policy"] == b"no-referrer"
