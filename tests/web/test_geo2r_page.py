"""The GEO2R page in headless Chromium: groups defined by clicking samples of GDS507 (RCC and
normal kidney) or by a field of GSE2870 (a real series with sample titles and
characteristics), a limma run with its volcano plot and top table, and the whole table as a
TSV download equal to Hub.differential's.

Screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import exprhub
from tests.web.browser import require_chromium, serve_hub, shot

pytestmark = pytest.mark.slow

require_chromium()

from playwright import sync_api  # noqa: E402  (after the Chromium check)

expect = sync_api.expect


@pytest.fixture(scope="module")
def hub(tmp_path_factory, geo_fixtures) -> Iterator[exprhub.Hub]:
    with exprhub.Hub.init(Path(tmp_path_factory.mktemp("geo2r-page")) / "hub") as opened:
        opened.import_files(
            [
                geo_fixtures / "geoquery/GDS507.soft.gz",
                geo_fixtures / "geoquery/GPL97.annot.gz",
                geo_fixtures / "gemma/GDS1794.soft.gz",
                geo_fixtures / "gemma/GSE2870_family.soft.gz",
            ]
        )
        yield opened


@pytest.fixture(scope="module")
def server(hub) -> Iterator[str]:
    with serve_hub(hub) as url:
        yield url


def _ready(page) -> None:
    expect(page.locator("#geo2r")).to_have_attribute("data-ready", "true", timeout=60000)


def _row(page, sample: str):
    return page.locator(f'#samples tbody tr[data-sample="{sample}"]')


def _define(page, name: str) -> None:
    page.locator("#group-name").fill(name)
    page.locator("#new-group-form button").click()
    expect(page.locator(f'#groups li[data-group="{name}"]')).to_be_visible()


def test_gds507_groups_by_clicking_samples(page, server, hub, tmp_path):
    page.goto(server + "/datasets/GDS507")
    page.locator("a.geo2r-link").click()
    expect(page).to_have_url(server + "/analyze/GDS507/geo2r")
    _ready(page)
    expect(page.locator("#status")).to_contain_text("17 samples")
    rows = page.locator("#samples tbody tr")
    expect(rows).to_have_count(17)
    expect(page.locator("#run")).to_be_disabled()  # no groups yet
    states = {
        rows.nth(i).get_attribute("data-sample"): rows.nth(i).locator("td").nth(3).inner_text()
        for i in range(17)
    }
    rcc = [s for s, state in states.items() if state == "RCC"]
    normal = [s for s, state in states.items() if state == "normal"]
    assert len(rcc) == 9 and len(normal) == 8

    _define(page, "tumour")
    _define(page, "normal")
    # the RCC samples come first in the table: a click and a shift-click select them all
    _row(page, rcc[0]).click()
    _row(page, rcc[-1]).click(modifiers=["Shift"])
    expect(page.locator("#selected-count")).to_have_text("9 selected")
    page.locator('#groups li[data-group="tumour"] .add-selected').click()
    expect(page.locator('#groups li[data-group="tumour"] .group-count')).to_have_text("9 samples")
    for sample in normal:  # one click each
        _row(page, sample).click()
    expect(page.locator("#selected-count")).to_have_text("8 selected")
    shot(page, "geo2r_gds507_selecting")
    page.locator('#groups li[data-group="normal"] .add-selected').click()
    expect(page.locator('#groups li[data-group="normal"] .group-count')).to_have_text("8 samples")
    expect(_row(page, rcc[0]).locator(".g2-group-tag")).to_have_text("tumour")
    expect(page.locator("#contrast")).to_have_value("tumour-normal")

    page.locator("#run").click()
    expect(page.locator("#run-summary")).to_contain_text("22645 rows tested", timeout=60000)
    expect(page.locator("#run-summary")).to_contain_text("tumour (9) vs normal (8)")
    expect(page.locator("#volcano-chart .main-svg").first).to_be_visible()
    expect(page.locator("#volcano-chart .legend")).to_contain_text("down")
    first = page.locator("#top-table tbody tr").first
    expect(first).to_contain_text("228581_at")
    expect(first).to_contain_text("KCNJ10")
    expect(page.locator("#top-table tbody tr")).to_have_count(250)
    shot(page, "geo2r_gds507_result")

    with page.expect_download() as info:
        page.locator("#download-tsv").click()
    saved = tmp_path / "geo2r.tsv"
    info.value.save_as(saved)
    assert info.value.suggested_filename == "GDS507_geo2r.tsv"
    table = pd.read_csv(saved, sep="\t", index_col=0)
    assert len(table) == 22645 and table.index[0] == "228581_at"
    expected = hub.differential("GDS507", by="disease state").table  # RCC - normal
    np.testing.assert_allclose(
        table["t"].to_numpy(), expected.loc[table.index, "t"].to_numpy(), rtol=0, atol=1e-9
    )
    with page.expect_download() as png:
        page.locator("#download-png").click()
    assert png.value.suggested_filename == "GDS507_volcano.png"

    # a sample taken out of its group changes the run
    _row(page, normal[0]).click()
    page.locator("#ungroup").click()
    expect(page.locator('#groups li[data-group="normal"] .group-count')).to_have_text("7 samples")
    page.locator("#run").click()
    expect(page.locator("#run-summary")).to_contain_text("tumour (9) vs normal (7)", timeout=60000)


def test_gse2870_groups_by_a_field(page, server):
    page.goto(server + "/series/GSE2870")
    page.locator("a.geo2r-link").click()
    _ready(page)
    expect(page.locator("#samples tbody tr")).to_have_count(18)
    # titles and characteristics of the series' samples are shown to pick from
    expect(page.locator("#samples")).to_contain_text("Stress-Amygdala")
    expect(page.locator("#samples thead")).to_contain_text("tissue")
    page.locator("#field").select_option("stress")
    page.locator("#field-form button").click()
    expect(page.locator("#groups li")).to_have_count(2)
    page.locator("#run").click()
    expect(page.locator("#run-summary")).to_contain_text("rows tested", timeout=60000)
    expect(page.locator("#volcano-chart .main-svg").first).to_be_visible()
    expect(page.locator("#top-table tbody tr").first).to_be_visible()
    shot(page, "geo2r_gse2870_by_stress")
    # three groups by tissue: the moderated F across all pairs (no volcano)
    page.locator("#field").select_option("tissue")
    page.locator("#field-form button").click()
    count = page.locator("#groups li").count()
    assert count >= 3
    page.locator("#contrast").select_option("")
    page.locator("#run").click()
    expect(page.locator("#top-table thead")).to_contain_text("F", timeout=60000)
    expect(page.locator("#download-png")).to_be_disabled()
