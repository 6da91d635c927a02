"""The web app on the hub's real search index (as `exprhub serve` runs it): fields, facets,
paging, syntax errors, and records imported after start-up."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from exprhub.hub import Hub
from exprhub.search.hub_index import HubSearch
from exprhub.web import create_app
from exprhub.web.searching import IndexSearch
from tests.web.conftest import all_records, assert_error


@pytest.fixture
def served(tmp_path):
    hub = Hub.init(tmp_path / "hub")
    hub.put_records(all_records())
    engine = HubSearch(hub)
    engine.sync()
    with TestClient(create_app(hub, search=IndexSearch(engine, hub))) as client:
        yield hub, client
    engine.close()
    hub.close()


def test_field_query_and_facet(served):
    _, client = served
    body = client.get(
        "/api/v1/search", params={"q": "liver[ALL] AND GSM[ETYP]", "limit": 100}
    ).json()
    assert body["count"] > 0
    assert all(r["type"] == "GSM" for r in body["results"])
    organisms = body["facets"]["organism"]
    assert "Homo sapiens" in organisms
    mouse = client.get(
        "/api/v1/search", params={"q": "GSM[ETYP]", "organism": "Mus musculus"}
    ).json()
    assert mouse["count"] == 2


def test_paging_and_syntax_error(served):
    _, client = served
    first = client.get("/api/v1/search", params={"q": "GSM[ETYP]", "limit": 10}).json()
    second = client.get(
        "/api/v1/search", params={"q": "GSM[ETYP]", "limit": 10, "offset": 10}
    ).json()
    assert first["count"] == second["count"] == 32
    assert not {r["key"] for r in first["results"]} & {r["key"] for r in second["results"]}
    assert_error(client.get("/api/v1/search", params={"q": "liver[NOPE]"}), 422)


def test_new_records_are_found_without_restart(served):
    hub, client = served
    from exprhub.records import Series

    hub.put_records([Series("GSE777", [("Series_title", "zebrafish regeneration atlas")])])
    body = client.get("/api/v1/search", params={"q": "zebrafish"}).json()
    assert [r["key"] for r in body["results"]] == ["GSE777"]


def test_search_page_with_facets(served):
    _, client = served
    everything = client.get("/api/v1/search", params={"q": "liver"}).json()
    assert everything["facets"]["type"]["GSM"] == 16
    page = client.get("/search", params={"q": "liver", "type": "GSM", "organism": "Mus musculus"})
    assert page.status_code == 200 and "GSM31" in page.text and "GSM1<" not in page.text


def test_cached_documents_follow_writes(served):
    hub, client = served
    from exprhub.records import Series

    first = client.get("/api/v1/series/GSE777")
    assert first.status_code == 404
    hub.put_records(
        [Series("GSE777", [("Series_title", "v1"), ("Series_last_update_date", "Jan 01 2020")])]
    )
    one = client.get("/api/v1/series/GSE777")
    assert (
        one.json()["title"] == "v1" and client.get("/api/v1/series/GSE777").json()["title"] == "v1"
    )
    hub.put_records(
        [Series("GSE777", [("Series_title", "v2"), ("Series_last_update_date", "Jan 01 2021")])]
    )
    two = client.get("/api/v1/series/GSE777")
    assert two.json()["title"] == "v2" and two.headers["ETag"] != one.headers["ETag"]


@pytest.fixture
def real(tmp_path, geo_fixtures):
    from exprhub.ingest.importer import import_file

    hub = Hub.init(tmp_path / "real")
    for name in ("GSE3791_family.soft.gz", "GSE11897_family.soft.gz", "GSE2870_family.soft.gz"):
        import_file(hub, geo_fixtures / "gemma" / name)
    engine = HubSearch(hub)
    with TestClient(create_app(hub, search=IndexSearch(engine, hub))) as client:
        yield client
    engine.close()
    hub.close()


def test_every_facet_count_is_the_number_of_hits_it_selects(real):
    """On real files: selecting a facet value (labels included) gives exactly its count."""
    body = real.get("/api/v1/search", params={"q": "", "limit": 1}).json()
    assert {"sex", "tissue", "technology", "series_type"} <= set(body["facets"])
    assert body["facets"]["sex"] and body["facets"]["technology"]
    for name, values in body["facets"].items():
        for value, count in values.items():
            chosen = real.get("/api/v1/search", params={"q": "", "limit": 1, name: value}).json()
            assert chosen["count"] == count, (name, value)
            assert chosen["selected"] == {name: [value]}
    both = real.get("/api/v1/search", params={"q": "", "sex": ["male", "female"]}).json()
    assert both["count"] == body["facets"]["sex"]["male"] + body["facets"]["sex"]["female"]
    page = real.get("/search", params={"sex": "female"})
    assert page.status_code == 200 and 'data-facet="sex"' in page.text
