"""Pages that tell the truth (issue #15), in headless Chromium on real GEO fixtures: refined
coverage of a series, how a sample's refined values were processed, no links to downloads
that cannot work or to samples the hub does not hold.

Uses the system Chromium at /usr/bin/chromium; screenshots go to
``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from exprhub.hub import Hub
from exprhub.ingest.importer import import_file
from exprhub.records import RecordType
from exprhub.refine.executor import SerialExecutor
from exprhub.refine.pipeline import RefineOptions, refine
from exprhub.refine.store import gene_accessions
from tests.web.browser import require_chromium, serve_hub, shot

pytestmark = pytest.mark.slow

require_chromium()

from playwright import sync_api  # noqa: E402  (after the Chromium check)

expect = sync_api.expect

#: GSE432's samples refined in the hub; the others stay unrefined (a partly refined series).
GSE432_REFINED = ["GSM6592", "GSM6593"]


def _mouse_links_for_gpl285(hub: Hub) -> None:
    """Accession -> gene links for GPL285's GenBank accessions, so its two-colour samples can
    be refined without an NCBI download (the gene ids are placeholders: these tests check how
    the values are described, not which genes they belong to)."""
    platform = hub.record("GPL285", RecordType.PLATFORM, table=True)
    assert platform.table is not None
    accessions = sorted({str(a) for a in platform.table.column("GB_ACC") if a})
    gene_accessions.replace_accessions(
        hub, 10090, [(acc, str(1000 + i)) for i, acc in enumerate(accessions)]
    )


@pytest.fixture(scope="module")
def hub(tmp_path_factory, geo_fixtures) -> Iterator[Hub]:
    hub = Hub.init(Path(tmp_path_factory.mktemp("truthful")) / "hub")
    import_file(hub, geo_fixtures / "gemma/GSE1623_family.soft.txt.gz")
    import_file(hub, geo_fixtures / "gemma/GSE432_family.soft.gz")
    import_file(hub, geo_fixtures / "gemma/GDS334.soft.gz")
    import_file(hub, geo_fixtures / "geoquery/GDS507.soft.gz")
    _mouse_links_for_gpl285(hub)
    for accessions in (["GSE1623"], GSE432_REFINED):
        report = refine(hub, accessions, executor=SerialExecutor(), options=RefineOptions())
        assert report.to_dict()["failed"] == {}
    yield hub
    hub.close()


@pytest.fixture(scope="module")
def server(hub) -> Iterator[str]:
    """The app as `exprhub serve` runs it: on the hub's search index."""
    with serve_hub(hub) as url:
        yield url


def test_fully_refined_series_says_so(page, server):
    page.goto(server + "/series/GSE1623")
    card = page.locator(".refined-status")
    expect(card.locator(".refined-count")).to_have_text("8 of 8 samples refined (all).")
    expect(card).not_to_contain_text("Not refined yet")
    expect(card.locator(".refined-missing")).to_have_count(0)
    link = page.get_by_role("link", name="Refined genes x samples (TSV)")
    expect(link).to_have_attribute("href", "/api/v1/series/GSE1623/download?format=refined")
    shot(page, "truthful-series-refined")


def test_partly_refined_series_counts_and_offers_no_broken_download(page, server):
    page.goto(server + "/series/GSE432")
    card = page.locator(".refined-status")
    expect(card.locator(".refined-count")).to_have_text("2 of 11 samples refined.")
    expect(card.locator(".refined-missing")).to_contain_text(
        "9 not refined yet: run exprhub refine GSE432"
    )
    box = page.locator(".downloads")
    expect(box.get_by_role("link", name="Refined genes x samples (TSV)")).to_have_count(0)
    expect(box.locator(".download-reason")).to_contain_text("2 of 11 samples are refined")
    expect(box.locator(".download-reason")).to_contain_text("exprhub refine GSE432")
    shot(page, "truthful-series-partial")


def test_api_clients_still_get_json_for_an_unrefined_download(server):
    url = server + "/api/v1/series/GSE432/download?format=refined"
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url, timeout=30)
    assert caught.value.code == 409
    body = json.loads(caught.value.read())
    assert "partially_refined" in json.dumps(body)


def test_unrefined_dataset_offers_no_refined_link(page, server):
    page.goto(server + "/datasets/GDS507")
    box = page.locator(".downloads")
    expect(box.get_by_role("link", name="Refined genes x samples (TSV)")).to_have_count(0)
    expect(box.locator(".download-reason")).to_contain_text("0 of 17 samples are refined")
    expect(box.locator(".download-reason")).to_contain_text("exprhub refine GDS507")


def test_log_ratio_sample_is_not_called_quantile_normalized(page, server):
    page.goto(server + "/samples/GSM6592")
    kind = page.locator(".refined-kind")
    expect(kind).to_contain_text("two-colour log ratios, kept as submitted (not normalized)")
    expect(kind).not_to_contain_text("quantile-normalized")
    shot(page, "truthful-sample-log-ratio")
    page.goto(server + "/samples/GSM27446")  # single channel, normalized with its series
    expect(page.locator(".refined-kind")).to_contain_text("log2, quantile-normalized to target")


def test_subset_samples_not_in_hub_are_not_links(page, server):
    page.goto(server + "/datasets/GDS507")
    subsets = page.locator("table.subsets")
    expect(subsets).to_contain_text("GSM11810")
    expect(subsets.locator("a")).to_have_count(0)
    expect(page.locator(".subset-note")).to_contain_text("not in this hub")
    page.goto(server + "/datasets/GDS334")  # its samples are in the hub: links, no note
    links = page.locator("table.subsets a")
    expect(links.first).to_be_visible()
    hrefs = {links.nth(i).get_attribute("href") for i in range(links.count())}
    assert hrefs == {f"/samples/GSM{n}" for n in range(6592, 6603)}
    expect(page.locator(".subset-note")).to_have_count(0)
    shot(page, "truthful-dataset-subsets")


def test_series_result_cards_name_organisms_without_stray_separator(page, server):
    page.goto(server + "/search?type=GSE")
    cards = page.locator(".hit")
    expect(cards).to_have_count(2)
    metas = page.locator(".hit .hit-meta")
    for text in metas.all_inner_texts():
        assert not text.strip().startswith("·"), text
    card = page.locator(".hit", has=page.locator(".hit-acc", has_text="GSE1623"))
    expect(card.locator(".hit-meta")).to_have_text("Mus musculus · GPL81")
    expect(card.locator(".hit-meta i")).to_have_text("Mus musculus")
    shot(page, "truthful-search-series")
