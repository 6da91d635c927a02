"""/api/v1/analysis: compare, cluster (directly and as a job), distributions, PCA and fields
on GDS507 and GSE3791; JSON with plotly figures, TSV and image downloads, errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from exprhub.hub import Hub
from exprhub.ingest.importer import import_file
from exprhub.web import create_app

from .conftest import assert_error, wait_for_job


@pytest.fixture(scope="module")
def client(tmp_path_factory, geo_fixtures) -> Iterator[TestClient]:
    hub = Hub.init(Path(tmp_path_factory.mktemp("analysis-api")) / "hub")
    import_file(hub, geo_fixtures / "geoquery/GDS507.soft.gz")
    import_file(hub, geo_fixtures / "gemma/GSE3791_family.soft.gz")
    with TestClient(create_app(hub)) as test_client:
        yield test_client
    hub.close()


def test_routes_are_documented(client):
    paths = set(client.get("/api/openapi.json").json()["paths"])
    for route in ("fields", "compare", "cluster", "distributions", "pca"):
        assert f"/api/v1/analysis/{{acc}}/{route}" in paths


def test_fields_of_a_dataset(client):
    body = client.get("/api/v1/analysis/GDS507/fields").json()
    assert body["fields"]["disease state"] == ["RCC", "normal"]
    assert body["counts"]["disease state"] == {"RCC": 9, "normal": 8}
    assert len(body["samples"]) == 17 and body["rows"] == 22645
    assert {s["key"] for s in body["subsets"]} >= {"GDS507_1", "GDS507_2"}


def test_compare_json_with_volcano_and_tsv(client):
    query = "a=disease%20state%3DRCC&b=GDS507_2&limit=5"
    body = client.get(f"/api/v1/analysis/GDS507/compare?{query}&figure=true").json()
    assert body["rows_shown"] == 5 and body["rows"][0]["identifier"] == "KCNJ10"
    assert body["figure"]["layout"]["title"]["text"].startswith("disease state = RCC vs")
    assert sum(len(t["x"]) for t in body["figure"]["data"]) == body["rows_tested"]
    tsv = client.get(f"/api/v1/analysis/GDS507/compare?{query}&format=tsv")
    assert tsv.headers["content-type"].startswith("text/tab-separated-values")
    assert len(tsv.text.splitlines()) == 1 + 22645
    png = client.get(f"/api/v1/analysis/GDS507/compare?{query}&method=fold&format=png")
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")


def test_cluster_json_image_and_assignments(client):
    body = client.get("/api/v1/analysis/GDS507/cluster?top=200&k=2&figure=true").json()
    assert body["rows_clustered"] == 200 and len(body["sample_order"]) == 17
    assert {t["type"] for t in body["figure"]["data"]} == {"heatmap", "scatter"}
    svg = client.get("/api/v1/analysis/GDS507/cluster?top=200&format=svg")
    assert svg.headers["content-type"] == "image/svg+xml" and b"<svg" in svg.content[:1000]
    annotated = client.get(
        "/api/v1/analysis/GDS507/cluster?top=200&annotate=disease%20state&figure=true"
    ).json()
    assert len(annotated["figure"]["data"]) == len(body["figure"]["data"]) + 1
    bad = client.get("/api/v1/analysis/GDS507/cluster?top=200&annotate=stage&format=png")
    assert_error(bad, 400, "invalid_analysis")
    tsv = client.get("/api/v1/analysis/GDS507/cluster?top=200&method=kmeans&k=3&format=tsv")
    assert tsv.text.splitlines()[0] == "axis\tid\torder\tcluster"


def test_big_clustering_runs_as_a_job(client):
    error = assert_error(client.get("/api/v1/analysis/GDS507/cluster?top=0"), 422, "use_job")
    assert error["detail"]["kind"] == "cluster"
    submitted = client.post(
        "/api/v1/jobs",
        json={
            "kind": "cluster",
            "params": {"accession": "GDS507", "top": 0, "method": "kmeans", "k": 2},
        },
    )
    assert submitted.status_code == 202, submitted.text
    status = wait_for_job(client, submitted.json()["id"], timeout=120)
    assert status["status"] == "done", status
    result = client.get(f"/api/v1/jobs/{status['id']}/result").json()["result"]
    assert result["rows_clustered"] == 22645 and "heatmap.png" in result["files"]
    assignments = client.get(result["urls"]["assignments.tsv"]).text.splitlines()
    assert len(assignments) == 1 + 22645 + 17
    bad = client.post("/api/v1/jobs", json={"kind": "cluster", "params": {"accession": "GDS9"}})
    assert_error(bad, 422)


def test_distributions_and_pca(client):
    body = client.get("/api/v1/analysis/GDS507/distributions?by=disease%20state&figure=true").json()
    assert [t["name"] for t in body["figure"]["data"]] == ["RCC", "normal"]
    pca = client.get("/api/v1/analysis/GDS507/pca?color=disease%20state&figure=true").json()
    assert pca["color"] == "disease state" and len(pca["samples"]) == 17
    several = client.get("/api/v1/analysis/GSM87191,GSM87193,GSM87199/pca").json()
    assert [s["sample"] for s in several["samples"]] == ["GSM87191", "GSM87193", "GSM87199"]


def test_errors(client):
    error = assert_error(client.get("/api/v1/analysis/GSE3791/pca"), 400, "invalid_analysis")
    assert "4 platforms" in error["message"]
    assert_error(client.get("/api/v1/analysis/GDS507/compare?a=nope%3Dx"), 400, "invalid_analysis")
    assert_error(client.get("/api/v1/analysis/GDS999/pca"), 404, "not_found")
    assert_error(client.get("/api/v1/analysis/GDS507/pca?format=gif"), 422, "invalid_request")


def test_analyze_page_relaxes_styles_only(client):
    from exprhub.web.app import CONTENT_SECURITY_POLICY

    page = client.get("/analyze/GDS507")
    assert page.status_code == 200 and 'data-acc="GDS507"' in page.text
    policy = page.headers["content-security-policy"]
    assert "style-src 'self' 'unsafe-inline'" in policy and "script-src 'self';" in policy
    site, chart = (
        dict(d.strip().split(" ", 1) for d in p.split(";"))
        for p in (CONTENT_SECURITY_POLICY, policy)
    )
    assert chart["style-src"] == "'self' 'unsafe-inline'"  # no hash: it would void unsafe-inline
    assert {k: v for k, v in chart.items() if k != "style-src"} == {
        k: v for k, v in site.items() if k != "style-src"
    }
    assert "/vendor/plotly.min.js" in page.text
    assert 'href="/analyze/GDS507"' in client.get("/datasets/GDS507").text
    assert client.get("/analyze/GPL97").status_code == 404
    assert client.get("/datasets/GDS507").headers["content-security-policy"] == (
        CONTENT_SECURITY_POLICY
    )
