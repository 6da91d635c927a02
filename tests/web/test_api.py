"""REST API: every route, paging limits, the one error shape, caching, listings and filters,
search (fallback and pluggable index) and the pages served by the same app. Downloads and jobs
are in test_downloads.py and test_jobs.py."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from exprhub.hub import Hub
from exprhub.records import Series
from exprhub.web import create_app
from exprhub.web.searching import IndexSearch, NaiveSearch, parse_query

from .conftest import N_HUMAN, N_MOUSE, all_records, assert_error, make_series


# ------------------------------------------------------------------ app shape
def test_openapi_lists_every_route(client):
    spec = client.get("/api/openapi.json").json()
    paths = set(spec["paths"])
    for segment in ("series", "samples", "platforms", "gds"):
        assert f"/api/v1/{segment}" in paths
        assert f"/api/v1/{segment}/{{acc}}" in paths
        assert f"/api/v1/{segment}/{{acc}}/download" in paths
    for path in (
        "/api/v1/organisms",
        "/api/v1/stats",
        "/api/v1/processors",
        "/api/v1/qn_targets",
        "/api/v1/search",
        "/api/v1/jobs",
        "/api/v1/jobs/{job_id}",
        "/api/v1/jobs/{job_id}/result",
    ):
        assert path in paths
    assert not any(p.startswith("/series") or p == "/" for p in paths)  # pages stay out


def test_docs_page_is_offline(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert "/api/openapi.json" in page.text
    for url in ("http://", "https://", "//cdn", "fonts.googleapis"):
        assert url not in page.text
    assert client.get("/static/app.js").status_code == 200
    css = client.get("/static/style.css").text
    assert "@import" not in css and "url(http" not in css


def test_api_handlers_do_not_block_the_event_loop(client):
    for route in client.app.routes:
        endpoint = getattr(route, "endpoint", None)
        path = getattr(route, "path", "")
        if endpoint is None or path.startswith(("/docs", "/openapi")):
            continue
        if path.startswith("/api/v1") or path in ("/", "/search") or "{acc}" in path:
            assert not inspect.iscoroutinefunction(endpoint), path


def test_errors_are_documented_in_openapi(client):
    spec = client.get("/api/openapi.json").json()
    responses = spec["paths"]["/api/v1/samples"]["get"]["responses"]
    assert responses["422"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorBody")
    assert "HTTPValidationError" not in json.dumps(spec)


def test_unexpected_errors_use_the_error_shape(small_hub):
    app = create_app(small_hub)

    def boom() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/api/v1/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        error = assert_error(c.get("/api/v1/boom"), 500, "internal_error")
        assert "secret" not in error["message"]


def test_api_root(client):
    body = client.get("/api").json()
    assert body["openapi"] == "/api/openapi.json" and body["docs"] == "/api/docs"


# ------------------------------------------------------------------ records
def test_series_document(client):
    r = client.get("/api/v1/series/gse900")
    assert r.status_code == 200
    doc = r.json()
    assert doc["accession"] == "GSE900" and doc["type"] == "GSE"
    assert doc["title"] == "Liver and lung study GSE900"
    assert doc["relations"]["platform"] == ["GPL900", "GPL901"]
    related = doc["related_records"]
    assert related["sample"]["total"] == N_HUMAN + N_MOUSE
    first = related["sample"]["items"][0]
    assert first == {
        "key": "GSM1",
        "accession": "GSM1",
        "type": "GSM",
        "title": "liver sample 1",
        "in_hub": True,
        "url": "/api/v1/samples/GSM1",
        "page": "/samples/GSM1",
        "organisms": ["Homo sapiens"],
        "platforms": ["GPL900"],
    }
    assert [i["key"] for i in related["subseries"]["items"]] == ["GSE901"]
    assert [i["key"] for i in related["dataset"]["items"]] == ["GDS900"]
    assert doc["pubmed_ids"] == ["123456"]
    assert doc["organisms"] == ["Homo sapiens", "Mus musculus"]
    assert doc["links"]["downloads"]["matrix"] == "/api/v1/series/GSE900/download?format=matrix"
    assert ["Series_contributor", "Jane,,Doe"] in doc["attributes"]


def test_sample_document(client):
    doc = client.get("/api/v1/samples/GSM3").json()
    assert doc["characteristics"] == {"ch1": [["tissue", "liver"], ["age", "23 years"]]}
    assert doc["platform_id"] == "GPL900" and doc["series_ids"] == ["GSE900"]
    assert doc["table"] == {"rows": 3, "columns": 2}
    assert [i["key"] for i in doc["related_records"]["subset"]["items"]] == [
        "GDS900_1",
        "GDS900_3",
    ]


def test_platform_and_dataset_documents(client):
    gpl = client.get("/api/v1/platforms/GPL900").json()
    assert gpl["organisms"] == ["Homo sapiens"]
    assert gpl["related_records"]["sample"]["total"] == N_HUMAN
    gds = client.get("/api/v1/gds/GDS900").json()
    assert gds["value_type"] == "count"
    assert gds["reference_series"] == ["GSE900"]
    subsets = {s["key"]: s for s in gds["subsets"]}
    assert subsets["GDS900_1"]["subset_type"] == "tissue"
    assert subsets["GDS900_1"]["description"] == "liver"
    assert subsets["GDS900_1"]["sample_ids"] == ["GSM1", "GSM3"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/samples/GSE900",
        "/api/v1/series/GSM1",
        "/api/v1/platforms/GDS900",
        "/api/v1/gds/GPL900",
        "/api/v1/series/GSE424242",
        "/api/v1/samples/GSE900/download",
    ],
)
def test_wrong_type_or_missing_is_404(client, small_hub, url):
    error = assert_error(client.get(url), 404, "not_found")
    assert "is not in this hub" in error["message"]
    assert str(small_hub.home) not in error["message"]


def test_unknown_api_routes_use_the_error_shape(client):
    assert_error(client.get("/api/v2/nothing"), 404, "not_found")
    assert_error(client.get("/api/v1/series/GSE900/nothing"), 404)
    assert_error(client.post("/api/v1/series/GSE900"), 405, "method_not_allowed")
    assert_error(client.get("/api/v1/series/GSE900?format=xlsx"), 422, "invalid_request")


# ------------------------------------------------------------------ caching
def test_etag_and_304(client):
    first = client.get("/api/v1/series/GSE900")
    etag = first.headers["etag"]
    assert etag.startswith('"') and "max-age" in first.headers["cache-control"]
    again = client.get("/api/v1/series/GSE900", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag and again.content == b""
    weak = client.get("/api/v1/series/GSE900", headers={"If-None-Match": f'"x", W/{etag}'})
    assert weak.status_code == 304
    other = client.get("/api/v1/series/GSE900", headers={"If-None-Match": '"nope"'})
    assert other.status_code == 200
    download = client.get("/api/v1/series/GSE900/download?format=json")
    assert download.headers["etag"] != etag
    cached = client.get(
        "/api/v1/series/GSE900/download?format=json",
        headers={"If-None-Match": download.headers["etag"]},
    )
    assert cached.status_code == 304


def test_etag_changes_when_the_record_is_updated(tmp_path):
    hub = Hub.init(tmp_path / "hub")
    hub.put_records(all_records())
    with TestClient(create_app(hub)) as c:
        before = c.get("/api/v1/series/GSE901").headers["etag"]
        newer = make_series("GSE901", ["GSM1", "GSM2"], ["GPL900"], sup="SubSeries of: GSE900")
        newer.attributes = [
            (k, "Jan 09 2004" if k == "Series_last_update_date" else v) for k, v in newer.attributes
        ]
        hub.put_records([newer])
        after = c.get("/api/v1/series/GSE901", headers={"If-None-Match": before})
        assert after.status_code == 200 and after.headers["etag"] != before
    hub.close()


# ------------------------------------------------------------------ listings and paging
def test_paging_defaults_and_links(client):
    body = client.get("/api/v1/samples").json()
    assert body["count"] == N_HUMAN + N_MOUSE and body["limit"] == 25 and body["offset"] == 0
    assert len(body["results"]) == 25 and body["previous"] is None
    second = client.get(body["next"]).json()
    assert len(second["results"]) == N_HUMAN + N_MOUSE - 25 and second["next"] is None
    assert client.get(second["previous"]).json()["results"] == body["results"]
    keys = [r["key"] for r in body["results"] + second["results"]]
    assert len(set(keys)) == len(keys) == N_HUMAN + N_MOUSE
    assert client.get("/api/v1/samples?limit=1000").json()["limit"] == 1000


@pytest.mark.parametrize("query", ["limit=1001", "limit=0", "offset=-1", "limit=abc"])
def test_paging_limits_are_validated(client, query):
    error = assert_error(client.get(f"/api/v1/samples?{query}"), 422, "invalid_request")
    assert error["detail"][0]["location"].startswith("query.")


def test_sample_filters(client):
    def keys(query: str) -> list[str]:
        body = client.get(f"/api/v1/samples?limit=1000&{query}").json()
        assert body["count"] == len(body["results"])
        return [r["key"] for r in body["results"]]

    assert keys("organism=mus musculus") == ["GSM31", "GSM32"]
    assert len(keys("platform=GPL900")) == N_HUMAN
    assert keys("series=GSE901") == ["GSM1", "GSM2"]
    liver = keys("characteristic=tissue=liver")
    assert len(liver) == (N_HUMAN + N_MOUSE) // 2 and "GSM1" in liver and "GSM2" not in liver
    assert keys("characteristic=Tissue:LIVER&characteristic=age=23 years") == ["GSM3"]
    assert keys("series=GSE901&characteristic=tissue=lung") == ["GSM2"]
    assert keys("platform=GPL901&organism=Homo sapiens") == []
    paged = client.get("/api/v1/samples?platform=GPL900&limit=10&offset=25").json()
    assert paged["count"] == N_HUMAN and len(paged["results"]) == 5
    assert "platform=GPL900" in paged["previous"]
    assert_error(client.get("/api/v1/samples?characteristic=liver"), 422, "invalid_request")
    # harmonized labels: the 'tissue' label is refine.bio's specimen_part
    assert keys("label=tissue=liver") == liver
    assert keys("label=specimen_part:LIVER&characteristic=age=23 years") == ["GSM3"]
    assert keys("label=age=23 years&label=tissue=lung") == []
    error = assert_error(client.get("/api/v1/samples?label=colour=red"), 422, "invalid_request")
    assert "unknown label 'colour'" in error["message"]


def test_other_listings(client):
    series = client.get("/api/v1/series").json()
    assert [r["key"] for r in series["results"]] == ["GSE900", "GSE901"]
    assert series["results"][0]["url"] == "/api/v1/series/GSE900"
    assert client.get("/api/v1/series?organism=mus musculus").json()["count"] == 1
    assert client.get("/api/v1/series?platform=GPL901").json()["count"] == 1
    platforms = client.get("/api/v1/platforms?organism=Mus musculus").json()
    assert [r["key"] for r in platforms["results"]] == ["GPL901"]
    gds = client.get("/api/v1/gds").json()
    assert [r["key"] for r in gds["results"]] == ["GDS900"]
    assert client.get("/api/v1/gds?series=GSE900").json()["count"] == 1
    assert client.get("/api/v1/gds?platform=GPL901").json()["count"] == 0


def test_organisms_stats_and_refinery_lists(client, small_hub):
    organisms = client.get("/api/v1/organisms").json()["results"]
    # series name no organisms in GEO; theirs come from their samples
    assert organisms[0] == {"name": "Homo sapiens", "samples": N_HUMAN, "series": 2, "platforms": 1}
    assert organisms[1] == {"name": "Mus musculus", "samples": N_MOUSE, "series": 1, "platforms": 1}
    stats = client.get("/api/v1/stats")
    body = stats.json()
    assert body["counts"] == {"GSE": 2, "GSM": 32, "GPL": 2, "GDS": 1, "SUBSET": 3}
    assert body["database"]["backend"] == "sqlite"
    assert str(small_hub.home.resolve()) not in stats.text
    for name in ("processors", "qn_targets"):
        listing = client.get(f"/api/v1/{name}").json()
        assert listing["count"] == 0 and listing["results"] == []


# ------------------------------------------------------------------ search
def test_search_with_facets_and_paging(client):
    body = client.get("/api/v1/search?q=liver").json()
    assert body["count"] == (N_HUMAN + N_MOUSE) // 2 + 2 + 1  # samples, two series, the GDS
    assert body["facets"]["type"] == {"GSM": 16, "GSE": 2, "GDS": 1}
    assert body["facets"]["organism"]["Homo sapiens"] == 15 + 2 + 1
    assert body["facets"]["organism"]["Mus musculus"] == 1 + 1
    narrowed = client.get("/api/v1/search?q=liver&type=GSM&organism=Mus musculus").json()
    assert [h["key"] for h in narrowed["results"]] == ["GSM31"]
    assert narrowed["results"][0]["page"] == "/samples/GSM31"
    assert narrowed["results"][0]["platforms"] == ["GPL901"]
    # counts of a facet ignore that facet's own selection, so alternatives stay visible
    assert narrowed["facets"]["organism"] == {"Homo sapiens": 15, "Mus musculus": 1}
    either = client.get("/api/v1/search?q=liver&type=GSE&type=GDS").json()
    assert either["count"] == 3
    page2 = client.get("/api/v1/search?q=liver&limit=5&offset=5").json()
    assert len(page2["results"]) == 5 and page2["next"] and page2["previous"]
    fielded = client.get("/api/v1/search", params={"q": "Mus musculus[ORGN] GSM[ETYP]"}).json()
    assert {h["key"] for h in fielded["results"]} == {"GSM31", "GSM32"}
    assert client.get("/api/v1/search?q=GPL901").json()["results"][0]["key"] == "GPL901"
    assert_error(client.get("/api/v1/search?q=x&limit=2000"), 422)


def test_query_parsing_of_the_fallback():
    parsed = parse_query('liver "Homo sapiens"[ORGN] NOT lung GSE[ETYP]')
    assert parsed.words == ["liver"] and parsed.excluded == ["lung"]
    assert parsed.fields == {"ORGN": ["Homo sapiens"], "ETYP": ["GSE"]}
    assert parse_query("Homo sapiens[ORGN] AND liver").fields == {"ORGN": ["Homo sapiens"]}


def test_pluggable_search_service(small_hub):
    class FakeIndex:
        def __init__(self):
            self.queries = []
            self.filters = []

        def search(self, query, *, limit=20, offset=0, facets=None, filters=None):
            self.queries.append(query)
            self.filters.append(filters)
            if "((" in query:
                raise ValueError("unbalanced parentheses\n  ((\n  ^")
            return {
                "total": 1,
                "hits": [{"accession": "GSE900", "etype": "gse", "title": "T", "score": 2.0}],
                "facets": {"etype": [{"value": "gse", "count": 1}], "organism": []},
            }

    index = FakeIndex()
    with TestClient(create_app(small_hub, search=IndexSearch(index))) as c:
        body = c.get("/api/v1/search?q=liver&organism=Homo sapiens&type=gse&sex=").json()
        assert index.queries[-1] == "liver"
        assert index.filters[-1] == {"organism": ["Homo sapiens"], "etype": ["GSE"]}
        assert body["results"][0]["page"] == "/series/GSE900"
        assert body["results"][0]["type"] == "GSE" and body["facets"]["type"] == {"GSE": 1}
        assert_error(c.get("/api/v1/search?q=(("), 422, "invalid_query")
        assert c.get("/search?q=((").status_code == 422


def test_page_text_is_escaped(tmp_path):
    hub = Hub.init(tmp_path / "hub")
    attributes = [("Series_title", "<script>alert(1)</script>"), ("Series_geo_accession", "GSE5")]
    hub.put_records([Series("GSE5", attributes)])
    with TestClient(create_app(hub)) as c:
        page = c.get("/series/GSE5").text
        assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page
        assert "<script>alert" not in c.get("/search?q=%3Cscript%3E").text
    hub.close()


def test_naive_search_is_a_search_service(small_hub):
    from exprhub.web.searching import SearchService

    assert isinstance(NaiveSearch(small_hub), SearchService)


# ------------------------------------------------------------------ pages through the same app
def test_pages_render(client):
    home = client.get("/")
    assert home.status_code == 200 and "text/html" in home.headers["content-type"]
    assert 'data-type="GSM"' in home.text and ">32<" in home.text
    assert "default-src 'self'" in home.headers["content-security-policy"]
    assert home.headers["x-content-type-options"] == "nosniff"
    series = client.get("/series/GSE900").text
    for text in (
        "We compared liver and lung.",
        "Second paragraph.",
        "Jane Doe",
        "John Q Public",
        "Thirty human and two mouse samples.",
        "GSE901",
        "GDS900",
        "age: 21 years",
        "format=matrix&amp;platform=GPL901",
        "All attributes",
    ):
        assert text in series, text
    sample = client.get("/samples/GSM3").text
    for text in (
        "Characteristics",
        "tissue",
        "23 years",
        "Grown at 37 C.",
        "Trizol.",
        "Not refined yet",
        "Provenance",
        "First 3 of 3 rows",
        "MAS5 signal",
    ):
        assert text in sample, text
    platform = client.get("/platforms/GPL900").text
    assert "Annotation table" in platform and "Gp1" in platform and "Acme" in platform
    dataset = client.get("/datasets/GDS900").text
    for text in ("Subsets", "tissue", "protocol", "liver", "GSM3", "count", "GSE900"):
        assert text in dataset, text
    assert client.get("/datasets/GDS900_2", follow_redirects=False).headers["location"] == (
        "/datasets/GDS900"
    )
    assert client.get("/acc/gsm5", follow_redirects=False).headers["location"] == "/samples/GSM5"


def test_search_page_redirects_accessions_and_pages(client):
    r = client.get("/search?q=gse901", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/series/GSE901"
    page = client.get("/search?q=sample").text
    assert "1–20 of <strong>32</strong>" in page and 'rel="next"' in page
    assert "Page 1 of 2" in page
    assert "21–32 of" in client.get("/search?q=sample&page=2").text


def test_page_errors_are_html(client):
    missing = client.get("/series/GSE424242")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    assert "not in this hub" in missing.text
    assert client.get("/no/such/page").status_code == 404
    assert client.get("/samples/GSE900").status_code == 404
    assert client.get("/search?page=0").status_code == 422


# ------------------------------------------------------------------ a real GEO family
@pytest.fixture(scope="module")
def geo_hub(tmp_path_factory, geo_fixtures):
    from exprhub.formats import soft

    hub = Hub.init(Path(tmp_path_factory.mktemp("geo")) / "hub")
    records = soft.read_soft(geo_fixtures / "gemma" / "GSE2870_family.soft.gz")
    records += soft.read_soft(geo_fixtures / "gemma" / "GDS1794.soft.gz")
    hub.put_records(records)
    yield hub
    hub.close()


def test_real_family(geo_hub, tmp_path):
    from exprhub.formats.soft import read_soft

    with TestClient(create_app(geo_hub)) as c:
        doc = c.get("/api/v1/series/GSE2870").json()
        assert doc["related_records"]["sample"]["total"] == 18
        assert doc["related_records"]["dataset"]["items"][0]["key"] == "GDS1794"
        gds = c.get("/api/v1/gds/GDS1794").json()
        assert {s["subset_type"] for s in gds["subsets"]} == {"tissue", "stress"}
        assert c.get("/series/GSE2870").status_code == 200
        assert c.get("/datasets/GDS1794").status_code == 200
        assert c.get("/platforms/GPL1355").status_code == 200
        sample = doc["relations"]["sample"][0]
        assert c.get(f"/samples/{sample}").status_code == 200
        r = c.get(f"/api/v1/samples/{sample}?format=soft")
        path = tmp_path / "s.soft"
        path.write_bytes(r.content)
        (back,) = [x for x in read_soft(path) if x.type is not None]
        assert back == geo_hub.record(sample)
        matrix = c.get("/api/v1/series/GSE2870?format=matrix")
        assert matrix.status_code == 200 and b"!series_matrix_table_begin" in matrix.content
        assert c.get("/api/v1/search?q=amygdala").json()["count"] > 0


def test_plotly_js_is_served_from_the_installed_package(client):
    response = client.get("/vendor/plotly.min.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert len(response.content) > 1_000_000
    assert b"plotly" in response.content[:2000].lower()
