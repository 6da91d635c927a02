"""The tissue model over HTTP (a training job, models, predictions, QC) and on the sample page,
on real mouse series (tests/analysis/tissue_fixtures.py)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from exprhub.hub import Hub
from exprhub.web import create_app
from tests.analysis.tissue_fixtures import MISLABELLED, PANCREAS, UNLABELLED
from tests.conftest import copy_hub
from tests.web.browser import require_chromium, serve_hub, shot
from tests.web.conftest import assert_error, wait_for_job


@pytest.fixture(scope="module")
def served(tmp_path_factory, tissue_home):
    hub = Hub(copy_hub(tissue_home, tmp_path_factory.mktemp("tissueweb") / "hub"))
    with TestClient(create_app(hub)) as client:
        yield hub, client
    hub.close()


@pytest.fixture(scope="module")
def version(served):
    _, client = served
    assert client.get("/api/v1/labels/tissue-models").json() == {"models": []}
    page = client.get(f"/samples/{UNLABELLED}").text
    assert 'id="tissue-check"' not in page  # no model yet
    submitted = client.post(
        "/api/v1/labels/tissue-models", json={"organism": "10090", "predict": "unlabelled"}
    )
    assert submitted.status_code == 202, submitted.text
    status = wait_for_job(client, submitted.json()["id"], timeout=120)
    assert status["status"] == "done", status
    result = client.get(f"/api/v1/jobs/{submitted.json()['id']}/result").json()["result"]
    (model,) = result["models"]
    assert model["new"] and model["evaluation"]["scheme"] == "leave-one-group-out"
    assert result["predictions"]["stored"] == 1
    return model["model"]["version"]


def test_models_are_listed_with_their_training_set(served, version):
    _, client = served
    (listed,) = client.get("/api/v1/labels/tissue-models").json()["models"]
    assert listed["version"] == version and listed["current"] and listed["tax_id"] == 10090
    assert listed["classes"][PANCREAS]["series_groups"] == 1
    assert "training" not in listed
    detail = client.get(f"/api/v1/labels/tissue-models/{version}").json()
    assert len(detail["training"]["samples"]) == 24
    assert_error(client.get("/api/v1/labels/tissue-models/tissue-1-000000000000"), 404)
    spec = client.get("/api/openapi.json").json()["paths"]
    for path in ("/api/v1/labels/tissue-models", "/api/v1/labels/tissue-qc"):
        assert path in spec


def test_predictions_and_qc(served, version):
    _, client = served
    body = client.get("/api/v1/labels/tissue-predictions", params={"accessions": UNLABELLED})
    (row,) = body.json()["samples"]
    assert (row["tissue"], row["ontology_id"], row["model_version"]) == (
        "pancreas",
        PANCREAS,
        version,
    )
    qc = client.get("/api/v1/labels/tissue-qc").json()
    assert qc["flagged"] == 1 and [r["sample"] for r in qc["samples"]] == [MISLABELLED]
    every = client.get("/api/v1/labels/tissue-qc", params={"accessions": "GSE1623", "all": "true"})
    assert every.json()["checked"] == 8 and len(every.json()["samples"]) == 8
    assert_error(client.get("/api/v1/labels/tissue-qc", params={"accessions": "GSE999999999"}), 404)


def test_bad_training_requests(served):
    _, client = served
    error = assert_error(
        client.post("/api/v1/labels/tissue-models", json={"organism": "unicorn"}), 422
    )
    assert "unknown organism" in error["message"]
    assert_error(client.post("/api/v1/labels/tissue-models", json={"predict": "everything"}), 422)


def test_sample_pages_show_the_predicted_tissue(served, version):
    _, client = served
    flagged = client.get(f"/samples/{MISLABELLED}").text
    assert 'id="tissue-check"' in flagged and "qc-flag" in flagged
    assert version in flagged and "disagree" in flagged
    predicted = client.get(f"/samples/{UNLABELLED}").text
    assert 'id="tissue-check"' in predicted and "Stored label" in predicted
    assert "expression model" in predicted  # the stored label in the labels card too


def test_sample_page_in_the_browser(served, version, browser):
    require_chromium()
    hub, _ = served
    with serve_hub(hub) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(f"{url}/samples/{MISLABELLED}")
            section = page.locator("#tissue-check")
            assert section.is_visible() and version in section.inner_text()
            section.scroll_into_view_if_needed()
            shot(page, f"sample_tissue_check_{MISLABELLED}")
            page.goto(f"{url}/samples/{UNLABELLED}")
            assert "pancreas" in page.locator("#tissue-check").inner_text()
            shot(page, f"sample_tissue_predicted_{UNLABELLED}")
        finally:
            page.context.close()
