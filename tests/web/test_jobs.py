"""Background jobs through the API: submit, poll, result, files, failures."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient

from exprhub.web import create_app
from exprhub.web.jobs import JobContext, JobKind

from .conftest import assert_error, wait_for_job


def test_export_job_life_cycle(client, tmp_path):
    kinds = client.get("/api/v1/jobs").json()["kinds"]
    assert "export" in [k["name"] for k in kinds]
    submitted = client.post(
        "/api/v1/jobs", json={"kind": "export", "params": {"accession": "gsm4", "format": "tsv"}}
    )
    assert submitted.status_code == 202
    job_id = submitted.json()["id"]
    assert submitted.headers["location"] == f"/api/v1/jobs/{job_id}"
    assert submitted.json()["status"] in ("queued", "running", "done")
    status = wait_for_job(client, job_id)
    assert status["status"] == "done" and status["progress"] == 1.0 and status["error"] is None
    result = client.get(f"/api/v1/jobs/{job_id}/result").json()["result"]
    assert result["files"] == ["GSM4.tsv"]
    download = client.get(result["download_url"])
    assert download.status_code == 200
    assert download.text.splitlines()[1] == "p1\t4.5"
    assert_error(client.get(f"/api/v1/jobs/{job_id}/files/other.txt"), 404)
    assert_error(client.get(f"/api/v1/jobs/{job_id}/files/..%2Fhub.json"), 404)


def test_export_job_writes_soft(client, tmp_path):
    from exprhub.formats.soft import read_soft

    job = client.post(
        "/api/v1/jobs", json={"kind": "export", "params": {"accession": "GSE901"}}
    ).json()
    assert wait_for_job(client, job["id"])["status"] == "done"
    result = client.get(f"/api/v1/jobs/{job['id']}/result").json()["result"]
    path = tmp_path / "f.soft"
    path.write_bytes(client.get(result["download_url"]).content)
    keys = [r.key for r in read_soft(path) if r.type is not None]
    assert keys[0] == "GSE901" and {"GSM1", "GSM2", "GPL900"} <= set(keys)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"kind": "nothing"}, "unknown_job_kind"),
        ({"kind": "export", "params": {}}, "invalid_job_params"),
        ({"kind": "export", "params": {"accession": "GSM999999"}}, "invalid_job_params"),
        (
            {"kind": "export", "params": {"accession": "GSM1", "format": "pdf"}},
            "invalid_job_params",
        ),
        ({"params": {}}, "invalid_request"),
    ],
)
def test_job_submission_errors(client, body, code):
    assert_error(client.post("/api/v1/jobs", json=body), 422, code)


def test_unknown_job(client):
    assert_error(client.get("/api/v1/jobs/nope"), 404, "not_found")
    assert_error(client.get("/api/v1/jobs/nope/result"), 404, "not_found")


def test_job_states_running_and_failed(small_hub):
    release = threading.Event()

    def slow(context: JobContext, params: dict) -> dict:
        context.progress(0.5, "half way")
        if not release.wait(timeout=60):
            raise RuntimeError("never released")
        if params.get("fail"):
            raise ValueError("asked to fail")
        (context.output_dir / "out.txt").write_text("ok\n")
        return {"files": ["out.txt"], "download_url": context.file_url("out.txt")}

    app = create_app(small_hub)
    app.state.jobs.register(JobKind("slow", slow, "waits for the test"))
    with TestClient(app) as c:
        job_id = c.post("/api/v1/jobs", json={"kind": "slow"}).json()["id"]
        failing = c.post("/api/v1/jobs", json={"kind": "slow", "params": {"fail": True}}).json()
        deadline = time.monotonic() + 30
        while c.get(f"/api/v1/jobs/{job_id}").json()["progress"] < 0.5:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        running = c.get(f"/api/v1/jobs/{job_id}").json()
        assert running["status"] == "running" and running["message"] == "half way"
        assert_error(c.get(f"/api/v1/jobs/{job_id}/result"), 409, "job_not_finished")
        assert_error(c.get(f"/api/v1/jobs/{job_id}/files/out.txt"), 404)
        release.set()
        assert wait_for_job(c, job_id)["status"] == "done"
        assert c.get(f"/api/v1/jobs/{job_id}/files/out.txt").text == "ok\n"
        failed = wait_for_job(c, failing["id"])
        assert failed["status"] == "failed" and failed["error"] == "asked to fail"
        assert_error(c.get(f"/api/v1/jobs/{failing['id']}/result"), 409, "job_failed")
