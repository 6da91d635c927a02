"""The web pages end to end in headless Chromium (Playwright), served by uvicorn.

Uses the system Chromium at /usr/bin/chromium (never downloads a browser). Screenshots of
the main pages go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from exprhub.hub import Hub
from tests.web.browser import require_chromium, serve_hub, shot

from .conftest import N_HUMAN, N_MOUSE, all_records

pytestmark = pytest.mark.slow

require_chromium()

from playwright import sync_api  # noqa: E402  (after the Chromium check)

expect = sync_api.expect


@pytest.fixture(scope="module")
def web_hub(tmp_path_factory, request) -> Iterator[Hub]:
    hub = Hub.init(Path(tmp_path_factory.mktemp("web")) / "hub")
    records = all_records()
    try:  # a real GEO family makes the screenshots honest; the tests do not depend on it
        from exprhub.formats.soft import read_soft

        geo = request.getfixturevalue("geo_fixtures")
        records += read_soft(geo / "gemma" / "GSE2870_family.soft.gz")
        records += read_soft(geo / "gemma" / "GDS1794.soft.gz")
    except (ImportError, pytest.skip.Exception):
        pass
    hub.put_records(records)
    yield hub
    hub.close()


@pytest.fixture(scope="module")
def server(web_hub):
    """The app as `exprhub serve` runs it: on the hub's real search index."""
    with serve_hub(web_hub) as url:
        yield url


def test_home_shows_counts(page, server, web_hub):
    page.goto(server + "/")
    counts = web_hub.counts()
    for code in ("GSE", "GSM", "GPL", "GDS"):
        card = page.locator(f'.count-card[data-type="{code}"] .count-number')
        expect(card).to_have_text(f"{counts[code]:,}")
    expect(page.get_by_role("heading", name="Organisms")).to_be_visible()
    shot(page, "home")
    page.get_by_role("link", name="GSE[ETYP]").click()
    expect(page.locator(".hit .badge").first).to_have_text("GSE")


def test_search_with_field_facet_and_paging(page, server):
    page.goto(server + "/")
    page.get_by_label("Search", exact=True).fill("Homo sapiens[ORGN]")
    page.get_by_label("Search", exact=True).press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=Homo"))
    expect(page.locator("#result-summary")).to_contain_text("records")
    shot(page, "search")
    # choose the Samples facet
    page.locator('[data-facet="type"] a', has_text="Samples").click()
    expect(page).to_have_url(re.compile(r"type=GSM"))
    expect(page.locator('[data-facet="type"] a.selected')).to_contain_text("Samples")
    badges = page.locator(".hit .badge")
    expect(badges).to_have_count(20)
    assert set(badges.all_text_contents()) == {"GSM"}
    summary = page.locator("#result-summary").inner_text()
    found = re.search(r"of (\d+)", summary)
    assert found is not None
    total = int(found.group(1))
    assert total >= N_HUMAN
    first_page = page.locator(".hit-acc").all_text_contents()
    page.get_by_role("link", name="Next →").click()
    expect(page.locator(".pager")).to_contain_text("Page 2")
    second_page = page.locator(".hit-acc").all_text_contents()
    assert second_page and not set(first_page) & set(second_page)
    page.get_by_role("link", name="← Previous").click()
    expect(page.locator(".pager")).to_contain_text("Page 1")
    # a second facet narrows further; selecting it again removes it
    page.locator('[data-facet="platform"] a', has_text="GPL900").click()
    expect(page.locator("#result-summary")).to_contain_text(f"of {N_HUMAN} records")
    page.locator('[data-facet="platform"] a.selected').click()
    expect(page.locator('[data-facet="platform"] a.selected')).to_have_count(0)


def test_label_facets(page, server):
    page.goto(server + "/search?q=Homo+sapiens%5BORGN%5D")
    tissue = page.locator('[data-facet="tissue"]')
    expect(tissue.locator("h2")).to_have_text("Tissue")
    liver = tissue.locator("a", has_text="liver")
    count = int(liver.locator(".facet-count").inner_text())
    liver.click()
    expect(page).to_have_url(re.compile(r"tissue=liver"))
    expect(page.locator("#result-summary")).to_contain_text(f"of {count} records")
    assert set(page.locator(".hit .badge").all_text_contents()) == {"GSM"}
    expect(page.locator('[data-facet="technology"]')).to_contain_text("in situ oligonucleotide")
    shot(page, "search-facets")


def test_series_page(page, server):
    page.goto(server + "/search?q=GSE900")
    expect(page).to_have_url(server + "/series/GSE900")
    expect(page.get_by_role("heading", level=1)).to_contain_text("GSE900")
    expect(page.locator("#sample-table tbody tr")).to_have_count(N_HUMAN + N_MOUSE)
    page.get_by_placeholder("title or characteristic").fill("age: 23 years")
    expect(page.locator("#sample-table tbody tr:visible")).to_have_count(1)
    page.get_by_placeholder("title or characteristic").fill("")
    attributes = page.locator("details.attributes")
    expect(attributes.locator("table")).to_be_hidden()
    attributes.locator("summary").click()
    expect(attributes.locator("table")).to_be_visible()
    expect(page.get_by_role("link", name="GSE901")).to_be_visible()
    shot(page, "series")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "series-phone")


def test_record_pages_of_each_type(page, server):
    page.goto(server + "/series/GSE900")
    page.locator("#sample-table").get_by_role("link", name="GSM3", exact=True).click()
    expect(page).to_have_url(server + "/samples/GSM3")
    table = page.locator("table.characteristics")
    expect(table).to_contain_text("tissue")
    expect(table).to_contain_text("liver")
    expect(page.get_by_text("Not refined yet.")).to_be_visible()
    expect(page.locator("table.preview tbody tr")).to_have_count(3)
    shot(page, "sample")
    page.get_by_role("link", name="GPL900").first.click()
    expect(page).to_have_url(server + "/platforms/GPL900")
    expect(page.get_by_role("heading", name="Annotation table")).to_be_visible()
    expect(page.locator("table.preview")).to_contain_text("Gp1")
    shot(page, "platform")
    page.goto(server + "/search?q=curated&type=GDS")
    page.locator(".hit-acc", has_text="GDS900").click()
    expect(page).to_have_url(server + "/datasets/GDS900")
    subsets = page.locator("table.subsets")
    expect(subsets).to_contain_text("tissue")
    expect(subsets).to_contain_text("protocol")
    expect(subsets.get_by_role("link", name="GSM4").first).to_be_visible()
    shot(page, "dataset")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server + "/samples/GSM3")
    shot(page, "sample-phone")


def test_real_geo_pages(page, server, web_hub):
    if not web_hub.has("GSE2870"):
        pytest.skip("the GEO fixtures or the SOFT reader are not available")
    page.goto(server + "/series/GSE2870")
    expect(page.locator("#sample-table tbody tr")).to_have_count(18)
    shot(page, "series-GSE2870")
    page.goto(server + "/datasets/GDS1794")
    expect(page.locator("table.subsets")).to_contain_text("stress")
    shot(page, "dataset-GDS1794")


def test_downloads(page, server, tmp_path):
    page.goto(server + "/samples/GSM5")
    with page.expect_download() as info:
        page.get_by_role("link", name="Data table (TSV)").click()
    download = info.value
    assert download.suggested_filename == "GSM5.tsv"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    assert path.read_text().splitlines() == ["ID_REF\tVALUE", "p1\t5.5", "p2\t10", "p3\tnull"]
    page.goto(server + "/series/GSE900")
    soft = page.get_by_role("link", name="SOFT (family)")
    if soft.count():
        with page.expect_download() as info:
            soft.click()
        target = tmp_path / info.value.suggested_filename
        info.value.save_as(target)
        assert target.name == "GSE900_family.soft"
        text = target.read_text()
        assert text.startswith("^SERIES = GSE900") and text.count("^SAMPLE = ") == 32
    with page.expect_download() as info:
        page.get_by_role("link", name="Series matrix (GPL901)").click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    assert target.name == "GSE900-GPL901_series_matrix.txt"
    assert '"ID_REF"\t"GSM31"\t"GSM32"' in target.read_text()


def test_api_docs_page(page, server):
    page.goto(server + "/api/docs")
    operation = page.locator(
        "details.operation", has=page.locator("code", has_text=re.compile(r"^/api/v1/stats$"))
    )
    expect(operation).to_have_count(1)
    operation.locator("summary").click()
    operation.get_by_role("button", name="Send").click()
    expect(operation.locator("pre.response")).to_contain_text("200")
    expect(operation.locator("pre.response")).to_contain_text('"counts"')
    shot(page, "api-docs")
    submit = page.locator(
        "details.operation",
        has=page.locator(".method-post"),
    ).filter(has=page.locator("code", has_text=re.compile(r"^/api/v1/jobs$")))
    expect(submit).to_have_count(1)
    submit.locator("summary").click()
    submit.get_by_label("JSON request body").fill(
        '{"kind": "export", "params": {"accession": "GSM1", "format": "tsv"}}'
    )
    submit.get_by_role("button", name="Send").click()
    expect(submit.locator("pre.response")).to_contain_text("→ 202")
    expect(submit.locator("pre.response")).to_contain_text('"status"')


def test_missing_page(page, server):
    response = page.goto(server + "/series/GSE424242")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_contain_text("404")
