"""Bounds of the API: request body size (413), short error excerpts, the job quota (429),
result expiry (410) and removal of orphaned results when a server starts, in process and
through a real ``exprhub serve``; jobs and their results outlive a restart."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from exprhub.hub import Hub
from exprhub.web import create_app
from exprhub.web.jobs import JobContext, JobKind, JobLimits, JobManager, default_jobs
from tests.serving import serving

from .conftest import all_records, assert_error, wait_for_job

LIMIT = 4096


# ---------------------------------------------------------------------- request bodies
@pytest.fixture(scope="module")
def limited(small_hub):
    """A client of an app accepting request bodies of at most LIMIT bytes."""
    with TestClient(create_app(small_hub, max_body_bytes=LIMIT)) as c:
        yield c


@pytest.mark.parametrize("path", ["/api/v1/jobs", "/api/v1/search", "/", "/nowhere"])
def test_declared_body_over_the_limit_is_refused(limited, path):
    body = json.dumps({"kind": "export", "params": {"pad": "x" * 2 * LIMIT}})
    response = limited.post(path, content=body, headers={"content-type": "application/json"})
    error = assert_error(response, 413, "too_large")
    assert str(LIMIT) in error["message"] and error["detail"] == {"max_bytes": LIMIT}


def test_chunked_body_over_the_limit_is_refused(limited):
    sent = []

    def chunks() -> Iterator[bytes]:
        for _ in range(1000):
            sent.append(1)
            yield b"x" * 1024

    response = limited.post(
        "/api/v1/jobs", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "too_large")


def test_body_within_the_limit_is_served(limited):
    response = limited.post(
        "/api/v1/jobs", json={"kind": "export", "params": {"accession": "GSM1"}}
    )
    assert response.status_code == 202
    assert wait_for_job(limited, response.json()["id"])["status"] == "done"


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "x" * 500_000},
        {"kind": "export", "params": "x" * 500_000},
        {"kind": "export", "params": {"accession": "GSM" + "1" * 500_000}},
        {"kind": "export", "params": {"accession": "GSM1", "format": "y" * 500_000}},
        {"kind": "export", "params": {"accession": "G" * 500_000}},
        {"kind": "export", "params": {"accession": "GSM1", "type": "t" * 500_000}},
        {"kind": ["x" * 1000] * 400},
    ],
)
def test_errors_repeat_only_an_excerpt_of_the_input(client, body):
    response = client.post("/api/v1/jobs", json=body)
    assert_error(response, 422)
    assert len(response.content) < 3000, response.content[:200]


def test_error_pages_repeat_only_an_excerpt(client):
    accession = "GSM" + "7" * 20_000
    page = client.get(f"/samples/{accession}")
    assert page.status_code == 404
    assert "7" * 100 in page.text and "7" * 1000 not in page.text
    api = client.get(f"/api/v1/samples/{accession}")
    assert_error(api, 404)
    assert len(api.content) < 1000


# ---------------------------------------------------------------------- quota and expiry
class Clock:
    """A settable clock for expiry (no waiting in tests)."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def writing(size: int) -> JobKind:
    """A job kind writing ``size`` bytes (``params["size"]`` overrides) to out.bin."""

    def run(context: JobContext, params: dict) -> dict:
        (context.output_dir / "out.bin").write_bytes(b"x" * int(params.get("size", size)))
        return {"files": ["out.bin"], "download_url": context.file_url("out.bin")}

    return JobKind("write", run, "writes bytes")


@contextmanager
def jobs_client(
    tmp_path: Path, limits: JobLimits, clock: Clock | None = None
) -> Iterator[TestClient]:
    """A client of an app on a hub of its own (jobs are counted per hub)."""
    with Hub.init(tmp_path / "jobs-hub") as hub:
        manager = JobManager(hub, limits=limits, clock=clock or Clock())
        manager.register(writing(100))
        with TestClient(create_app(hub, jobs=manager)) as c:
            yield c


def test_too_many_active_jobs_answer_429(tmp_path):
    release = threading.Event()

    def waiting(context: JobContext, params: dict) -> dict:
        if not release.wait(timeout=60):
            raise RuntimeError("never released")
        return {}

    with jobs_client(tmp_path, JobLimits(max_active=2)) as c:
        c.app.state.jobs.register(JobKind("wait", waiting, "waits for the test"))
        first = c.post("/api/v1/jobs", json={"kind": "wait"}).json()["id"]
        c.post("/api/v1/jobs", json={"kind": "wait"})
        error = assert_error(c.post("/api/v1/jobs", json={"kind": "wait"}), 429, "too_many_jobs")
        assert "2" in error["message"] and error["detail"]["max_active_jobs"] == 2
        limits = c.get("/api/v1/jobs").json()["limits"]
        assert limits["max_active_jobs"] == 2 and limits["active_jobs"] == 2
        release.set()
        assert wait_for_job(c, first)["status"] == "done"
        deadline = time.monotonic() + 30
        while c.get("/api/v1/jobs").json()["limits"]["active_jobs"]:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert c.post("/api/v1/jobs", json={"kind": "wait"}).status_code == 202


def test_result_bytes_quota(tmp_path):
    with jobs_client(tmp_path, JobLimits(max_result_bytes=250)) as c:
        first = c.post("/api/v1/jobs", json={"kind": "write"}).json()["id"]
        assert wait_for_job(c, first)["result_bytes"] == 100
        too_big = c.post("/api/v1/jobs", json={"kind": "write", "params": {"size": 200}}).json()
        failed = wait_for_job(c, too_big["id"])
        assert failed["status"] == "failed" and "250 bytes allowed" in failed["error"]
        assert not (c.app.state.jobs.output_dir(too_big["id"])).exists()
        second = c.post("/api/v1/jobs", json={"kind": "write", "params": {"size": 150}}).json()
        assert wait_for_job(c, second["id"])["status"] == "done"
        error = assert_error(
            c.post("/api/v1/jobs", json={"kind": "write"}), 429, "result_quota_exceeded"
        )
        assert "250" in error["message"] and error["detail"]["result_bytes"] == 250
        assert c.delete(f"/api/v1/jobs/{second['id']}").status_code == 204
        assert_error(c.get(f"/api/v1/jobs/{second['id']}"), 404)
        assert c.post("/api/v1/jobs", json={"kind": "write"}).status_code == 202


def test_finished_jobs_expire(tmp_path):
    clock = Clock()
    with jobs_client(tmp_path, JobLimits(result_ttl=600), clock) as c:
        manager = c.app.state.jobs
        job_id = c.post("/api/v1/jobs", json={"kind": "write"}).json()["id"]
        status = wait_for_job(c, job_id)
        assert status["status"] == "done" and status["expires"] is not None
        url = c.get(f"/api/v1/jobs/{job_id}/result").json()["result"]["download_url"]
        assert c.get(url).content == b"x" * 100
        clock.now += 599
        assert c.get(f"/api/v1/jobs/{job_id}").status_code == 200
        clock.now += 2
        for path in (f"/api/v1/jobs/{job_id}", f"/api/v1/jobs/{job_id}/result", url):
            error = assert_error(c.get(path), 410, "job_expired")
            assert "expired" in error["message"] and "600" in error["message"]
        assert not manager.output_dir(job_id).exists()
        assert c.get("/api/v1/jobs").json()["limits"]["result_bytes"] == 0


def test_limits_from_the_environment():
    assert JobLimits.from_environment({}) == JobLimits()
    limits = JobLimits.from_environment(
        {
            "EXPRHUB_MAX_ACTIVE_JOBS": "3",
            "EXPRHUB_MAX_RESULT_BYTES": "1_000",
            "EXPRHUB_JOB_TTL_SECONDS": "60",
        }
    )
    assert limits == JobLimits(max_active=3, max_result_bytes=1000, result_ttl=60)
    with pytest.raises(ValueError, match="EXPRHUB_MAX_ACTIVE_JOBS must be a whole number >= 1"):
        JobLimits.from_environment({"EXPRHUB_MAX_ACTIVE_JOBS": "many"})
    with pytest.raises(ValueError, match="EXPRHUB_JOB_TTL_SECONDS"):
        JobLimits.from_environment({"EXPRHUB_JOB_TTL_SECONDS": "0"})


def test_openapi_documents_the_limits(client):
    spec = client.get("/api/openapi.json").json()
    description = spec["info"]["description"]
    for name in (
        "EXPRHUB_MAX_BODY_BYTES",
        "EXPRHUB_MAX_ACTIVE_JOBS",
        "EXPRHUB_MAX_RESULT_BYTES",
        "EXPRHUB_JOB_TTL_SECONDS",
    ):
        assert name in description
    submit = spec["paths"]["/api/v1/jobs"]["post"]
    assert "429" in submit["responses"]
    assert "410" in spec["paths"]["/api/v1/jobs/{job_id}"]["get"]["responses"]


# ---------------------------------------------------------------------- cleanup at start
def test_results_of_unknown_jobs_are_removed_at_start(tmp_path):
    # A hub of its own: the module's other apps hold <hub>/jobs of the shared one.
    small_hub = Hub.init(tmp_path / "hub")
    small_hub.put_records(all_records())
    root = Path(small_hub.home) / "jobs"
    stray = root / "0123456789abcdef0123456789abcdef"
    stray.mkdir(parents=True, exist_ok=True)
    (stray / "GSE1_family.soft").write_text("left by a previous process\n")
    (root / "exprhub-dl-stray").mkdir(exist_ok=True)
    (root / ".lock").write_text("")  # the in-memory job manager's lock, before 0007
    with TestClient(create_app(small_hub)) as first:
        assert not stray.exists() and not (root / "exprhub-dl-stray").exists()
        assert not (root / ".lock").exists()
        job_id = first.post(
            "/api/v1/jobs", json={"kind": "export", "params": {"accession": "GSM2"}}
        ).json()["id"]
        assert wait_for_job(first, job_id)["status"] == "done"
        kept = root / job_id
        assert kept.is_dir()
        # A second server on the same hub while the first runs leaves the first's results.
        other = default_jobs(small_hub)
        assert other.start() == [] and kept.is_dir()
        other.shutdown()
        assert first.get(f"/api/v1/jobs/{job_id}/files/GSM2.soft").status_code == 200
    # The job is in the hub: a later server keeps its results and serves them.
    stray.mkdir()
    manager = default_jobs(small_hub)
    assert manager.start() == [stray] and kept.is_dir()
    assert manager.get(job_id) is not None
    manager.shutdown()
    with TestClient(create_app(small_hub)) as later:
        assert later.get(f"/api/v1/jobs/{job_id}/files/GSM2.soft").status_code == 200
    small_hub.close()


# ---------------------------------------------------------------------- a real server
def request(port: int, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data else {}
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else {}
    finally:
        connection.close()


def raw_exchange(port: int, head: bytes, body: bytes) -> tuple[int, dict]:
    """Send a request head and part of a body, never finishing it; read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head + body)
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    payload = rest.split(b"\r\n\r\n", 1)[1]
    return int(status_line.split()[1]), json.loads(payload[: _length(data)])


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 1 << 30


@pytest.fixture(scope="module")
def imported_home(tmp_path_factory, geo_fixtures) -> Path:
    from exprhub.cli import main

    home = Path(tmp_path_factory.mktemp("serve")) / "hub"
    soft = geo_fixtures / "gemma" / "GSE1623_family.soft.txt.gz"
    assert main(["init", "--home", str(home)]) == 0
    assert main(["import", str(soft), "--home", str(home)]) == 0
    return home


@pytest.mark.slow
def test_serve_bounds_bodies_and_keeps_jobs_over_a_restart(imported_home):
    env = {"EXPRHUB_MAX_BODY_BYTES": str(LIMIT)}
    with serving(imported_home, env=env) as server:
        port = server.port
        # Chunked: the body is refused as it streams in (the final chunk is never sent).
        head = (
            b"POST /api/v1/jobs HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"x" * (2 * LIMIT)
        status, body = raw_exchange(port, head, b"%x\r\n%s\r\n" % (len(chunk), chunk))
        assert status == 413 and body["error"]["code"] == "too_large"
        # Declared: refused from Content-Length alone (none of the 100 MB is sent).
        head = (
            b"POST /api/v1/jobs HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"
        )
        status, body = raw_exchange(port, head, b"")
        assert status == 413 and body["error"]["detail"] == {"max_bytes": LIMIT}

        status, job = request(
            port, "POST", "/api/v1/jobs", {"kind": "export", "params": {"accession": "GSE1623"}}
        )
        assert status == 202
        deadline = time.monotonic() + 120
        while (state := request(port, "GET", f"/api/v1/jobs/{job['id']}")[1])["status"] not in (
            "done",
            "failed",
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert state["status"] == "done", state
        result_dir = imported_home / "jobs" / job["id"]
        assert (result_dir / "GSE1623_family.soft").stat().st_size == state["result_bytes"]
    stray = imported_home / "jobs" / "exprhub-dl-stray"
    stray.mkdir()
    with serving(imported_home, env=env) as server:
        port = server.port
        assert not stray.exists() and result_dir.is_dir()
        status, again = request(port, "GET", f"/api/v1/jobs/{job['id']}")
        assert status == 200 and again == state
        with urllib.request.urlopen(server.url(state["result_url"])) as response:
            result = json.loads(response.read())["result"]
        with urllib.request.urlopen(server.url(result["download_url"])) as response:
            assert len(response.read()) == state["result_bytes"]
        assert request(port, "DELETE", f"/api/v1/jobs/{job['id']}")[0] == 204
        assert not result_dir.exists()


# ---------------------------------------------------------------------- a busy database
def test_job_submitted_while_another_process_writes_gets_503_retry_after(tmp_path, small_hub):
    """SQLite allows one writer: a job submitted while an import holds the write lock is told
    to come back (503 + Retry-After) after a short wait, not held 30 s and then given a 500;
    nothing is queued."""
    import sqlite3

    from exprhub.hub import jobs as job_table

    if small_hub.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's single writer")
    with TestClient(create_app(small_hub)) as client:
        before = len(job_table.list_jobs(small_hub))
        blocker = sqlite3.connect(small_hub.engine.url.database, timeout=1)
        try:
            blocker.execute("BEGIN IMMEDIATE")
            response = client.post(
                "/api/v1/jobs", json={"kind": "export", "params": {"accession": "GSM1"}}
            )
        finally:
            blocker.rollback()
            blocker.close()
        error = assert_error(response, 503, "busy")
        assert response.headers["retry-after"] == str(job_table.RETRY_AFTER)
        assert error["detail"] == {"retry_after": job_table.RETRY_AFTER}
        assert "busy" in error["message"]
        assert len(job_table.list_jobs(small_hub)) == before
        # and once the lock is gone, the same request is queued
        again = client.post(
            "/api/v1/jobs", json={"kind": "export", "params": {"accession": "GSM1"}}
        )
        assert again.status_code == 202
        assert wait_for_job(client, again.json()["id"])["status"] == "done"
