"""The sex check over HTTP and on the sample page, on real GSM11805 (annotated female,
expresses the Y genes)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from exprhub.api import Hub as ApiHub
from exprhub.hub import Hub
from exprhub.web import create_app
from tests.web.browser import require_chromium, serve_hub, shot
from tests.web.conftest import assert_error


@pytest.fixture(scope="module")
def kidney(tmp_path_factory, geo_fixtures):
    home = tmp_path_factory.mktemp("qcweb") / "hub"
    with ApiHub.init(home) as api_hub:
        api_hub.import_files(
            [
                geo_fixtures / "geoquery/GPL96.txt.gz",
                geo_fixtures / "geoquery/GSM11805.txt.gz",
                geo_fixtures / "gemma/GSE3791_family.soft.gz",
            ]
        )
        api_hub.refine(["GSM11805", "GSE3791"], workers=0)
    hub = Hub(home)
    with TestClient(create_app(hub)) as client:
        yield hub, client
    hub.close()


def test_qc_lists_the_disagreement(kidney):
    _, client = kidney
    body = client.get("/api/v1/labels/qc").json()
    assert body["flagged"] == 1 and [r["sample"] for r in body["samples"]] == ["GSM11805"]
    row = body["samples"][0]
    assert (row["annotated"], row["predicted"], row["flag"]) == ("female", "male", True)
    every = client.get(
        "/api/v1/labels/qc", params={"accessions": "GSE3791,GSM11805", "all": "true"}
    )
    rows = {r["sample"]: r for r in every.json()["samples"]}
    assert len(rows) == 13 and rows["GSM87191"]["status"] == "uncertain"
    assert rows["GSM87191"]["confidence"] == 0.0


def test_qc_of_an_unknown_accession_is_a_404(kidney):
    _, client = kidney
    spec = client.get("/api/openapi.json").json()
    assert "/api/v1/labels/qc" in spec["paths"]
    assert_error(client.get("/api/v1/labels/qc", params={"accessions": "GSE999999999"}), 404)


def test_sample_page_shows_the_flag(kidney):
    _, client = kidney
    html = client.get("/samples/GSM11805").text
    assert 'id="sex-check"' in html and "qc-flag" in html
    assert "male (confidence" in html
    # a sample with neither a prediction nor a stated sex has no sex check section
    assert 'id="sex-check"' in client.get("/samples/GSM87191").text  # annotated male
    assert 'id="sex-check"' not in client.get("/platforms/GPL96").text


def test_sample_page_in_the_browser(kidney, browser):
    require_chromium()
    hub, _ = kidney
    with serve_hub(hub) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(f"{url}/samples/GSM11805")
            section = page.locator("#sex-check")
            assert section.is_visible()
            assert "disagree" in section.inner_text()
            section.scroll_into_view_if_needed()
            shot(page, "sample_sex_check_GSM11805")
        finally:
            page.context.close()
