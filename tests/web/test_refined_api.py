"""Refined data through the API and pages: QN targets, processors, provenance, refined TSV."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from exprhub.demo import build_demo
from exprhub.hub import Hub
from exprhub.records import RecordType
from exprhub.web import create_app
from tests.web.conftest import assert_error


@pytest.fixture(scope="module")
def refined(tmp_path_factory):
    home = tmp_path_factory.mktemp("refined") / "hub"
    summary = build_demo(home, series=2, samples=6, platforms=1, seed=11)
    assert summary["refined"]["normalized"] > 0
    hub = Hub(home)
    with TestClient(create_app(hub)) as client:
        yield hub, client
    hub.close()


def done_sample(hub):
    from exprhub.refine.store import refine_states

    states = refine_states(hub, [s.key for s in hub.records(RecordType.SAMPLE)])
    return next(k for k, st in sorted(states.items()) if st.status == "done")


def test_targets_and_processors(refined):
    _, client = refined
    targets = client.get("/api/v1/qn_targets").json()
    assert targets["count"] >= 1
    first = targets["results"][0]
    assert first["organism"] and first["n_samples"] >= 4 and len(first["sha256"]) == 64
    processors = client.get("/api/v1/processors").json()["results"]
    assert processors[0]["name"] == "exprhub-refinery" and "numpy" in processors[0]["tools"]


def test_provenance_and_refined_download(refined):
    hub, client = refined
    key = done_sample(hub)
    document = client.get(f"/api/v1/samples/{key}/provenance").json()
    assert document["status"] == "done" and document["qn_target_sha256"]
    assert document["mapping"]["sample"]["genes"] > 0
    tsv = client.get(f"/api/v1/samples/{key}/download", params={"format": "refined"})
    assert tsv.status_code == 200
    header, first = tsv.text.splitlines()[:2]
    assert header.split("\t") == ["gene_id", "symbol", key]
    assert float(first.split("\t")[2]) > 0
    page = client.get(f"/samples/{key}").text
    assert "Highest expressed" in page and document["qn_target_sha256"][:12] in page


def test_unrefined_sample_is_a_clear_error(refined):
    hub, client = refined
    from exprhub.refine.store import refine_states

    states = refine_states(hub, [s.key for s in hub.records(RecordType.SAMPLE)])
    failed = [k for k, st in states.items() if st.status != "done"]
    assert failed  # the simulated RNA-seq samples carry no values to refine
    response = client.get(f"/api/v1/samples/{failed[0]}/download", params={"format": "refined"})
    assert_error(response, 501, "not_refined")
