"""Paging and query bounds over HTTP: every out-of-bounds offset/limit, query nested too deeply
or number out of range is a 4xx in the API's error shape, and the server keeps answering.

Searches go through the hub's real tantivy index (as ``exprhub serve`` runs it): a deep
offset used to make tantivy allocate offset x 16 bytes and abort the whole process.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from exprhub.hub import Hub
from exprhub.hub.listing import MAX_LISTING_OFFSET
from exprhub.search.hub_index import HubSearch
from exprhub.search.paging import MAX_SEARCH_END, MAX_SEARCH_LIMIT, MAX_SEARCH_OFFSET
from exprhub.search.query import MAX_QUERY_DEPTH
from exprhub.web import create_app
from exprhub.web.deps import MAX_LIMIT
from exprhub.web.pages import MAX_SEARCH_PAGE, PAGE_SIZE
from exprhub.web.searching import IndexSearch
from tests.web.conftest import N_HUMAN, N_MOUSE, all_records, assert_error

HUGE = "1000000000000000000000"


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[TestClient]:
    """A client of the app on a hub searched through its real index (module-scoped)."""
    hub = Hub.init(tmp_path_factory.mktemp("bounds") / "hub")
    hub.put_records(all_records())
    engine = HubSearch(hub)
    engine.sync()
    with TestClient(create_app(hub, search=IndexSearch(engine, hub))) as client:
        yield client
    engine.close()
    hub.close()


def search(client: TestClient, **params: object):
    return client.get("/api/v1/search", params={"q": "liver", **params})


def assert_answers(client: TestClient) -> None:
    """The server still answers searches (ranked and in accession order) after an error."""
    ranked = search(client, limit=5)
    assert ranked.status_code == 200 and ranked.json()["count"] > 0
    listed = client.get("/api/v1/search", params={"q": "GSM[ETYP]", "limit": 5})
    assert listed.status_code == 200 and listed.json()["count"] == N_HUMAN + N_MOUSE


# ------------------------------------------------------------------ item 1: search offsets


@pytest.mark.parametrize("q", ["a", "liver", "GSM[ETYP]", ""])
def test_a_huge_search_offset_is_a_422_and_the_server_keeps_answering(served, q: str):
    # "a" and "liver" are ranked pages, GSM[ETYP] and "" pages in accession order: both
    # tantivy paths used to allocate offset x 16 bytes and abort
    error = assert_error(
        served.get("/api/v1/search", params={"q": q, "offset": 2_000_000_000}),
        422,
        "invalid_request",
    )
    assert "offset" in error["message"] and "9999" in error["message"]
    assert_answers(served)


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"offset": MAX_SEARCH_OFFSET + 1}, ["offset", str(MAX_SEARCH_OFFSET)]),
        ({"offset": HUGE}, ["offset"]),
        ({"offset": -1}, ["offset"]),
        ({"limit": MAX_SEARCH_LIMIT + 1}, ["limit", str(MAX_SEARCH_LIMIT)]),
        ({"limit": 0}, ["limit"]),
        ({"limit": HUGE}, ["limit"]),
        (
            {"offset": MAX_SEARCH_END - 10, "limit": 11},
            ["offset + limit", str(MAX_SEARCH_END)],
        ),
    ],
)
def test_search_paging_out_of_bounds_is_a_422(served, params: dict, words: list[str]):
    error = assert_error(search(served, **params), 422, "invalid_request")
    for word in words:
        assert word in error["message"], error
    assert "\n" not in error["message"]
    assert_answers(served)


def test_the_last_pages_within_bounds_are_served(served):
    for params in (
        {"offset": MAX_SEARCH_OFFSET, "limit": 1},
        {"offset": MAX_SEARCH_END - MAX_SEARCH_LIMIT, "limit": MAX_SEARCH_LIMIT},
    ):
        for q in ("liver", "GSM[ETYP]"):
            body = served.get("/api/v1/search", params={"q": q, **params}).json()
            assert body["results"] == [] and body["count"] > 0 and body["next"] is None


def test_openapi_documents_the_search_and_listing_bounds(served):
    spec = served.get("/api/openapi.json").json()

    def parameters(path: str) -> dict[str, dict]:
        return {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}

    assert f"first {MAX_SEARCH_END:,} hits" in spec["paths"]["/api/v1/search"]["get"]["description"]
    found = parameters("/api/v1/search")
    assert found["offset"]["schema"]["maximum"] == MAX_SEARCH_OFFSET
    assert found["limit"]["schema"]["maximum"] == MAX_SEARCH_LIMIT
    assert f"{MAX_SEARCH_END:,}" in found["offset"]["description"]
    for path in ("/api/v1/samples", "/api/v1/series", "/api/v1/platforms", "/api/v1/gds"):
        listed = parameters(path)
        assert listed["offset"]["schema"]["maximum"] == MAX_LISTING_OFFSET, path
        assert listed["limit"]["schema"]["maximum"] == MAX_LIMIT, path
        assert f"{MAX_LISTING_OFFSET:,}" in listed["offset"]["description"], path


# ------------------------------------------------------------------ item 2: listing offsets


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/samples",
        "/api/v1/series",
        "/api/v1/platforms",
        "/api/v1/gds",
        "/api/v1/organisms",
        "/api/v1/samples?organism=Homo sapiens",
        "/api/v1/samples?label=sex=female",
    ],
)
@pytest.mark.parametrize("offset", [HUGE, str(MAX_LISTING_OFFSET + 1), "-1"])
def test_listing_offsets_out_of_bounds_are_a_422(served, path: str, offset: str):
    joiner = "&" if "?" in path else "?"
    error = assert_error(served.get(f"{path}{joiner}offset={offset}"), 422, "invalid_request")
    assert error["detail"][0]["location"] == "query.offset"
    assert "offset" in error["message"]
    assert served.get("/api/v1/samples?limit=1").status_code == 200


def test_the_largest_listing_offset_is_served(served):
    body = served.get(f"/api/v1/samples?offset={MAX_LISTING_OFFSET}").json()
    assert body["results"] == [] and body["count"] == N_HUMAN + N_MOUSE
    assert body["next"] is None and body["previous"] is not None


# ------------------------------------------------------------------ item 3: malformed queries


@pytest.mark.parametrize(
    ("q", "words"),
    [
        ("(" * 490 + "liver" + ")" * 490, ["nested too deeply", str(MAX_QUERY_DEPTH)]),
        ("NOT " * 240 + "liver", ["nested too deeply"]),
        ("99999999999999999999[NSAM]", ["out of range for [NSAM]"]),
        ("1:99999999999999999999[NSAM]", ["out of range for [NSAM]"]),
        ("x" * 300 + "*", ["longer than"]),
    ],
)
def test_malformed_queries_are_a_422_invalid_query(served, q: str, words: list[str]):
    error = assert_error(search(served, q=q), 422, "invalid_query")
    for word in words:
        assert word in error["message"]
    assert set(error["detail"]) == {"query"}
    assert_answers(served)


# ------------------------------------------------------------------ the web search page


def test_web_search_pages_stop_at_the_paging_bound(served):
    assert MAX_SEARCH_PAGE * PAGE_SIZE == MAX_SEARCH_END
    deepest = served.get("/search", params={"q": "liver", "page": MAX_SEARCH_PAGE})
    assert deepest.status_code == 200
    for page in (MAX_SEARCH_PAGE + 1, 100_000, HUGE):
        response = served.get("/search", params={"q": "liver", "page": page})
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("text/html")
    bad = served.get("/search", params={"q": "(" * 490 + "liver" + ")" * 490})
    assert bad.status_code == 422 and "nested too deeply" in bad.text
    assert served.get("/search", params={"q": "liver"}).status_code == 200
