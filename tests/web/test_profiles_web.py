"""Genes and profiles over HTTP and in headless Chromium, on real GEO files (the hub of
``tests.analysis.conftest``): the JSON routes, the gene page and the profile charts of the
gene, DataSet and series pages (plotly.js from /vendor, no CSP violation). Screenshots go to
``test-artifacts/screenshots/``."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

import exprhub
from tests.conftest import copy_hub
from tests.web.browser import require_chromium, serve_hub, shot

pytestmark = pytest.mark.slow

require_chromium()

from playwright import sync_api  # noqa: E402  (after the Chromium check)

expect = sync_api.expect


@pytest.fixture(scope="module")
def hub(tmp_path_factory, profiles_home) -> Iterator[exprhub.Hub]:
    hub = exprhub.Hub(copy_hub(profiles_home, tmp_path_factory.mktemp("profiles-web") / "hub"))
    yield hub
    hub.close()


@pytest.fixture(scope="module")
def server(hub) -> Iterator[str]:
    with serve_hub(hub) as url:
        yield url


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_gene_and_profile_routes(server, hub):
    status, body = _get(server + "/api/v1/genes?q=beta-actin")
    assert status == 200 and body["genes"][0]["symbol"] == "Actb"
    status, body = _get(server + "/api/v1/genes/Actb")
    assert status == 200 and body == json.loads(json.dumps(hub.gene("Actb").as_dict()))
    status, body = _get(server + "/api/v1/genes/nosuchgene")
    assert status == 404 and body["error"]["code"] == "not_found"
    status, body = _get(server + "/api/v1/profiles/GDS507/PFKFB2")
    frame = hub.profile("GDS507", "PFKFB2")
    assert status == 200 and body["features"] == ["226733_at"]
    assert [r["value"] for r in body["rows"]] == pytest.approx(list(frame["value"]))
    assert [r["rank_percentile"] for r in body["rows"]] == list(frame["rank_percentile"])
    assert body["subset_types"]["disease state"] == ["RCC", "normal"]
    status, body = _get(server + "/api/v1/profiles/GSE1623/11461?values=refined")
    assert status == 200 and body["features"] == ["11461"]
    status, body = _get(server + "/api/v1/profiles/GDS507/PFKFB2/neighbours?count=3")
    assert status == 200 and len(body["neighbours"]) == 3
    assert body["neighbours"][0]["r"] == pytest.approx(
        float(hub.profile_neighbours("GDS507", "PFKFB2", count=3)["r"].iloc[0])
    )
    status, body = _get(server + "/api/v1/flags/GDS507?limit=5")
    assert status == 200 and body["total"] == len(hub.profile_flags("GDS507"))
    assert len(body["rows"]) == 5 and all(r["flagged"] for r in body["rows"])
    status, body = _get(server + "/api/v1/profiles/GDS507/nosuchgene")
    assert status == 404
    status, body = _get(server + "/api/v1/profiles/GDS507/PFKFB2?values=normalized")
    assert status == 422


def test_gene_search_on_the_search_page(page, server):
    page.goto(server + "/search?q=ACTG1%5BGENE%5D")
    expect(page.get_by_role("link", name="GDS507", exact=True).first).to_be_visible()


def test_gene_page_shows_profile_charts(page, server):
    page.goto(server + "/genes/ACTG1")
    expect(page.locator("h1")).to_contain_text("ACTG1")
    expect(page.locator("table.data")).to_contain_text("224585_x_at")
    chart = page.locator(".profile-chart[data-accession=GDS507]")
    expect(chart.locator(".main-svg").first).to_be_visible(timeout=30_000)
    expect(chart.locator(".bars .point")).not_to_have_count(0)
    card = page.locator(".profile-card").first
    expect(card.locator(".profile-status")).to_contain_text("DataSet GDS507 subsets")
    expect(card.locator(".profile-flags")).to_contain_text("disease state")
    shot(page, "profiles-gene-ACTG1")


def test_refined_gene_page_summarises_the_hub(page, server):
    page.goto(server + "/genes/Actb")
    expect(page.locator("#refined-heading")).to_be_visible()
    expect(page.locator("table.data").last).to_contain_text("GSE1623")
    chart = page.locator(".profile-chart[data-accession=GSE1623]")
    expect(chart.locator(".main-svg").first).to_be_visible(timeout=30_000)
    shot(page, "profiles-gene-Actb")


def test_dataset_page_draws_a_profile_on_request(page, server):
    page.goto(server + "/datasets/GDS507")
    form = page.locator(".profile-form")
    form.locator("input[name=gene]").fill("PFKFB2")
    form.get_by_role("button", name="Show profile").click()
    chart = page.locator(".profile-chart")
    expect(chart.locator(".main-svg").first).to_be_visible(timeout=30_000)
    flags = page.locator(".profile-flags")
    expect(flags).to_contain_text("Flagged: differentially expressed across disease state")
    shot(page, "profiles-dataset-GDS507-PFKFB2")
    page.goto(server + "/series/GSE2870?gene=Sumo2")
    expect(page.locator(".profile-chart .main-svg").first).to_be_visible(timeout=30_000)
    expect(page.locator(".profile-status")).to_contain_text("DataSet GDS1794 subsets")
    shot(page, "profiles-series-GSE2870-Sumo2")
    page.goto(server + "/datasets/GDS507?gene=nosuchgene")
    expect(page.locator(".profile-status")).to_contain_text("has no probe or gene")
