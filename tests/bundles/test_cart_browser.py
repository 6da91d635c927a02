"""The dataset cart in headless Chromium on real GEO series: add a series and samples from
record pages and search results, review what can and cannot be delivered, build, download.

Uses the system Chromium at /usr/bin/chromium; screenshots go to
``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from tests.web.browser import browser, page, require_chromium, serve_hub, shot  # noqa: F401

pytestmark = pytest.mark.slow

require_chromium()

from playwright import sync_api  # noqa: E402  (after the Chromium check)

expect = sync_api.expect


@pytest.fixture(scope="module")
def server(bundle_home):
    import exprhub

    with exprhub.Hub(bundle_home) as hub, serve_hub(hub) as url:
        yield url


def test_cart_review_build_download(page, server):  # noqa: F811
    page.goto(server + "/series/GSE1623")
    add = page.locator("button.cart-add")
    expect(add).to_have_text("Add to dataset cart")
    add.click()
    expect(add).to_have_text("In the cart ✓")
    expect(page.locator("#cart-link")).to_have_text("Cart (1)")
    page.goto(server + "/samples/GSM718707")
    page.locator("button.cart-add").click()
    page.goto(server + "/search?q=retinal")
    page.locator("li.hit:has(a.hit-acc:text-is('GSE3791')) button.cart-add").click()
    expect(page.locator("#cart-link")).to_have_text("Cart (3)")

    page.goto(server + "/cart")
    expect(page.locator("#cart-items li")).to_have_count(3)
    page.select_option("select[name=aggregate]", "species")
    page.click("#cart-review")
    aggregates = page.locator("#cart-aggregates tbody")
    expect(aggregates).to_contain_text("MUS_MUSCULUS")
    expect(aggregates).to_contain_text("HOMO_SAPIENS")
    filtered = page.locator("#cart-filtered tbody")
    expect(filtered).to_contain_text("GSM718707")
    expect(filtered).to_contain_text("skipped: no values")
    shot(page, "bundle-cart-review")

    page.click("#cart-build")
    link = page.locator("#cart-download")
    expect(link).to_be_visible(timeout=120_000)
    expect(page.locator("#cart-status")).to_contain_text("exprhub-bundle-species-tsv-")
    shot(page, "bundle-cart-built")
    response = page.request.get(server + link.get_attribute("href"))
    assert response.ok
    with zipfile.ZipFile(io.BytesIO(response.body())) as archive:
        metadata = json.loads(archive.read("aggregated_metadata.json"))
    assert sorted(metadata["aggregates"]) == ["HOMO_SAPIENS", "MUS_MUSCULUS"]
    assert list(metadata["filtered_samples"]) == ["GSM718707"]

    page.click("#cart-items li:has-text('GSM718707') button.cart-remove")
    expect(page.locator("#cart-items li")).to_have_count(2)
    page.click("#cart-clear")
    expect(page.locator("#cart-empty")).to_be_visible()
