"""The analyze page in headless Chromium: GDS507 (box plots by disease state, PCA, heatmap,
RCC vs normal volcano and table) and GSE3791 (four platforms: one chosen at a time), all
drawn by plotly.js from /vendor under the pages' Content-Security-Policy.

Screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from exprhub.hub import Hub
from exprhub.ingest.importer import import_file
from tests.web.browser import require_chromium, serve_hub, shot

pytestmark = pytest.mark.slow

require_chromium()

from playwright import sync_api  # noqa: E402  (after the Chromium check)

expect = sync_api.expect


@pytest.fixture(scope="module")
def server(tmp_path_factory, geo_fixtures) -> Iterator[str]:
    hub = Hub.init(Path(tmp_path_factory.mktemp("analyze-page")) / "hub")
    import_file(hub, geo_fixtures / "geoquery/GDS507.soft.gz")
    import_file(hub, geo_fixtures / "gemma/GSE3791_family.soft.gz")
    with serve_hub(hub) as url:
        yield url
    hub.close()


def _ready(page) -> None:
    expect(page.locator("#analyze")).to_have_attribute("data-ready", "true", timeout=60000)


def test_gds507_analyze_page(page, server):
    page.goto(server + "/datasets/GDS507")
    page.locator("a.analyze-link").click()
    expect(page).to_have_url(server + "/analyze/GDS507")
    _ready(page)
    expect(page.locator("#status")).to_contain_text("17 samples, 22645 rows")
    expect(page.locator("#group-by")).to_have_value("disease state")
    expect(page.locator("#set-a")).to_have_value("disease state=RCC")
    expect(page.locator("#set-b")).to_have_value("disease state=normal")
    for chart in ("volcano-chart", "heatmap-chart", "box-chart", "pca-chart"):
        expect(page.locator(f"#{chart} .main-svg").first).to_be_visible()
    expect(page.locator("#compare-table tbody tr").first).to_contain_text("KCNJ10")
    expect(page.locator("#box-chart .legend")).to_contain_text("normal")
    assert "format=png" in (page.locator("#cluster-png").get_attribute("href") or "")
    shot(page, "analyze_gds507")
    page.locator("#cluster-method").select_option("kmedians")
    page.locator("#k").fill("4")
    page.locator("#cluster-form button").click()
    expect(page.locator("#heatmap-chart .main-svg").first).to_be_visible()
    page.locator("#method").select_option("rank-fold")
    page.locator("#fold").fill("4")
    page.locator("#compare-form button").click()
    expect(page.locator("#compare-summary")).to_contain_text("rows kept")
    shot(page, "analyze_gds507_kmedians_rankfold")
    # GEO2R's test: limma's moderated t, volcano and table
    page.locator("#method").select_option("limma")
    page.locator("#fold").fill("")
    page.locator("#adj-p").fill("0.05")
    page.locator("#compare-form button").click()
    expect(page.locator("#compare-summary")).to_contain_text("rows kept")
    expect(page.locator("#volcano-chart .main-svg").first).to_be_visible()
    expect(page.locator("#compare-table tbody tr").first).to_contain_text("KCNJ10")
    shot(page, "analyze_gds507_limma")


def test_gse3791_one_platform_at_a_time(page, server):
    page.goto(server + "/series/GSE3791")
    page.locator("a.analyze-link").click()
    _ready(page)
    expect(page.locator("#platform")).to_have_value("GPL96")
    expect(page.locator("#status")).to_contain_text("3 samples")
    expect(page.locator("#status")).to_contain_text("GPL96")
    expect(page.locator("#pca-chart .main-svg").first).to_be_visible()
    # one sample on one side: no t-test possible, the page starts with the fold of means
    expect(page.locator("#method")).to_have_value("fold")
    expect(page.locator("#compare-summary")).to_contain_text("rows kept")
    shot(page, "analyze_gse3791_gpl96")
    page.locator("#platform").select_option("GPL97")
    expect(page.locator("#status")).to_contain_text("GPL97", timeout=30000)
    expect(page.locator("#heatmap-chart .main-svg").first).to_be_visible()
