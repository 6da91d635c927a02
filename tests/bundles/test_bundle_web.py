"""Bundles over HTTP: POST /api/v1/bundles -> job id -> status -> download; the job builds in
a worker process, and the downloaded file is byte-identical to the one the Python API
writes."""

from __future__ import annotations

import os
import time

import pytest
from fastapi.testclient import TestClient

from exprhub.web import create_app
from tests.web.conftest import assert_error


def _wait(client, url: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(url).json()
        if status["status"] in ("done", "failed") or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


@pytest.fixture
def client(hub):
    with TestClient(create_app(hub)) as test_client:
        yield test_client


def test_bundle_job_builds_in_a_worker_and_downloads(client, hub, tmp_path):
    body = {"series": ["GSE1623"], "samples": ["GSM718707"], "aggregate": "species"}
    submitted = client.post("/api/v1/bundles", json=body)
    assert submitted.status_code == 202, submitted.text
    created = submitted.json()
    job_id = created["id"]
    assert created["status_url"] == f"/api/v1/bundles/{job_id}"
    assert submitted.headers["location"] == created["status_url"]
    status = _wait(client, created["status_url"])
    assert status["status"] == "done", status
    bundle = status["bundle"]
    assert bundle["aggregates"]["MUS_MUSCULUS"]["n_samples"] == 8
    assert bundle["filtered_samples"]["GSM718707"].startswith("skipped")
    assert bundle["worker_pid"] != os.getpid()  # built in another process
    download = client.get(created["download_url"])
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    assert bundle["file"] in download.headers["content-disposition"]
    local = hub.bundle(tmp_path, series="GSE1623", samples="GSM718707", aggregate="species")
    assert download.content == local.path.read_bytes() and local.path.name == bundle["file"]
    # the generic job routes see the same job
    assert client.get(f"/api/v1/jobs/{job_id}").json()["kind"] == "bundle"


def test_bundle_job_errors(client):
    assert_error(client.post("/api/v1/bundles", json={"aggregate": "species"}), 422)
    error = assert_error(
        client.post("/api/v1/bundles", json={"series": ["GSE1623"], "scale": "zscore"}), 422
    )
    assert "scale must be one of" in error["message"]
    submitted = client.post("/api/v1/bundles", json={"series": ["GSE3791"], "aggregate": "all"})
    status = _wait(client, submitted.json()["status_url"])
    assert status["status"] == "failed"
    assert "no gene is measured in every one" in status["error"]
    assert_error(client.get(submitted.json()["download_url"]), 409, "job_failed")
    assert_error(client.get("/api/v1/bundles/nope"), 404)
