"""Labels over HTTP: one sample's labels, many samples' labels, and the sample page showing
them with their evidence (real GEO files imported into a hub)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from exprhub.hub import Hub
from exprhub.ingest.importer import import_file
from exprhub.web import create_app
from tests.web.browser import require_chromium, serve_hub, shot


@pytest.fixture(scope="module")
def labelled_hub(tmp_path_factory, geo_fixtures) -> Iterator[Hub]:
    hub = Hub.init(tmp_path_factory.mktemp("labels") / "hub")
    import_file(hub, geo_fixtures / "geoquery" / "GSM11805.txt.gz")
    import_file(hub, geo_fixtures / "gemma" / "GSE2870_family.soft.gz")
    import_file(hub, geo_fixtures / "gemma" / "GDS1862.soft.gz")  # 4 columns, no records
    yield hub
    hub.close()


@pytest.fixture(scope="module")
def labels_client(labelled_hub) -> Iterator[TestClient]:
    with TestClient(create_app(labelled_hub)) as client:
        yield client


def test_sample_labels_with_evidence(labels_client):
    body = labels_client.get("/api/v1/samples/gsm11805/labels").json()
    assert body["sample"] == "GSM11805"
    sex = next(lab for lab in body["labels"] if lab["field"] == "sex")
    assert sex == {
        "field": "sex",
        "value": "female",
        "ontology_id": None,
        "source": "description:gender",
        "evidence": "Female",
        "start": sex["start"],
        "end": sex["start"] + 6,
        "method": "rule",
        "confidence": 0.9,
    }
    assert labels_client.get("/api/v1/samples/GSM999/labels").status_code == 404
    # a series is not a sample
    assert labels_client.get("/api/v1/samples/GSE2870/labels").status_code == 404


def test_labels_of_a_dataset_column_without_a_record(labels_client):
    body = labels_client.get("/api/v1/samples/GSM38209/labels").json()
    sex = next(lab for lab in body["labels"] if lab["field"] == "sex")
    # "gastrocnemius muscle of adrenalectomized C57BL6 males": no subset splits the sex
    assert (sex["value"], sex["source"], sex["evidence"]) == (
        "male",
        "GDS1862:description",
        "males",
    )
    agent = [lab for lab in body["labels"] if lab["method"] == "curated subset"]
    assert {lab["source"] for lab in agent} >= {"GDS1862_3:agent"}
    many = labels_client.get("/api/v1/labels", params={"accessions": "GDS1862"}).json()
    assert [s["sample"] for s in many["samples"]] == [
        "GSM38209",
        "GSM38210",
        "GSM38211",
        "GSM38111",
    ]
    assert labels_client.get("/api/v1/samples/GSM99999999/labels").status_code == 404


def test_labels_of_many_samples(labels_client):
    body = labels_client.get("/api/v1/labels", params={"accessions": "GSE2870,GSM11805"}).json()
    assert [s["sample"] for s in body["samples"]][:2] == ["GSM53299", "GSM53300"]
    assert len(body["samples"]) == 19
    tissues = {
        lab["value"] for s in body["samples"] for lab in s["labels"] if lab["field"] == "tissue"
    }
    assert tissues == {"amygdala", "hippocampal formation", "cerebral cortex", "kidney"}
    missing = labels_client.get("/api/v1/labels", params={"accessions": "GSE0"})
    assert missing.status_code == 404


def test_listing_api_filters_on_labels(labels_client):
    found = labels_client.get(
        "/api/v1/samples", params={"label": ["sex=female", "tissue=kidney"]}
    ).json()
    assert [r["key"] for r in found["results"]] == ["GSM11805"]


@pytest.fixture(scope="module")
def server(labelled_hub) -> Iterator[str]:
    require_chromium()
    with serve_hub(labelled_hub) as url:
        yield url


def test_sample_page_shows_labels_and_evidence(server, page):
    page.goto(f"{server}/samples/GSM11805")
    text = page.locator("section[aria-labelledby=labels-heading]").inner_text()
    assert "female" in text and "description:gender" in text
    assert "UBERON:0002113" in text
    shot(page, "sample-labels")
