"""Jobs kept in the hub: several managers (server processes) share them, queued jobs run after a
restart, and a job running when its process stopped fails as "interrupted by a server restart"
(in process, and with a process killed by SIGKILL under a real ``exprhub serve``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from exprhub.hub import Hub
from exprhub.hub import jobs as job_table
from exprhub.web import create_app
from exprhub.web.jobs import INTERRUPTED, JobContext, JobKind, JobManager, default_jobs
from tests.serving import serving

from .conftest import all_records, wait_for_job


@pytest.fixture
def hub(tmp_path):
    """A hub of its own with the hand-made records (jobs are counted per hub)."""
    with Hub.init(tmp_path / "hub") as hub:
        hub.put_records(all_records())
        yield hub


def test_a_job_is_seen_and_run_once_by_every_manager(hub):
    runs: list[str] = []

    def counted(context: JobContext, params: dict) -> dict:
        runs.append(context.job_id)
        return {"n": params["n"]}

    managers = [JobManager(hub, workers=2) for _ in range(3)]
    for manager in managers:
        manager.register(JobKind("count", counted, "counts its runs"))
        manager.start()
    try:
        submitted = [managers[n % 3].submit("count", {"n": n}) for n in range(12)]
        deadline = time.monotonic() + 60
        for job in submitted:
            for manager in managers:  # any manager answers for any job
                while (seen := manager.get(job.id)) is None or not seen.finished_running:
                    assert time.monotonic() < deadline
                    time.sleep(0.02)
                assert seen.status == "done" and seen.result == {"n": job.params["n"]}
    finally:
        for manager in managers:
            manager.shutdown()
    assert sorted(runs) == sorted(job.id for job in submitted)  # each exactly once


def test_queued_jobs_run_after_a_restart(hub):
    # queued by a server that stopped before running it
    now = datetime.now(UTC)
    job = job_table.create(
        hub, "e" * 32, "export", {"accession": "GSM3", "format": "tsv", "type": "GSM"},
        now=now, max_active=16, max_result_bytes=10**9,
    )  # fmt: skip
    with TestClient(create_app(hub)) as client:
        status = wait_for_job(client, job.id)
        assert status["status"] == "done", status
        url = client.get(f"/api/v1/jobs/{job.id}/result").json()["result"]["download_url"]
        assert client.get(url).text.splitlines()[1] == "p1\t3.5"


def test_a_job_running_for_a_stopped_process_fails_as_interrupted(hub):
    release = threading.Event()

    def waiting(context: JobContext, params: dict) -> dict:
        if not release.wait(timeout=60):
            raise RuntimeError("never released")
        return {}

    # A job claimed by a process that is gone: no lock file under <hub>/jobs/.workers.
    now = datetime.now(UTC)
    limits = {"max_active": 16, "max_result_bytes": 10**9}
    orphan = job_table.create(hub, "f" * 32, "wait", {}, now=now, **limits)
    assert job_table.claim(hub, "elsewhere-123-gone", ["wait"], now=now) is not None
    partial = hub.home / "jobs" / orphan.id
    partial.mkdir(parents=True)
    (partial / "half.bin").write_bytes(b"x" * 10)

    live = default_jobs(hub)
    live.register(JobKind("wait", waiting, "waits for the test"))
    assert live.start() == []
    try:
        failed = live.get(orphan.id)
        assert failed is not None and failed.status == "failed" and failed.error == INTERRUPTED
        assert failed.finished is not None and failed.expires is not None
        assert not partial.exists()
        # a job running for a live manager is left alone by a manager starting beside it
        running = live.submit("wait", {})
        deadline = time.monotonic() + 30
        while live.get(running.id).status != "running":  # type: ignore[union-attr]
            assert time.monotonic() < deadline
            time.sleep(0.02)
        beside = default_jobs(hub)
        beside.start()
        assert beside.get(running.id).status == "running"  # type: ignore[union-attr]
        assert beside.recover_interrupted() == []
        beside.shutdown()
        release.set()
        deadline = time.monotonic() + 30
        while (done := live.get(running.id)) is None or done.status != "done":
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        release.set()
        live.shutdown()


KILLED_SERVER = textwrap.dedent(
    """
    import sys, threading
    from exprhub.hub import Hub
    from exprhub.web.jobs import JobKind, JobManager

    def forever(context, params):
        (context.output_dir / "partial.bin").write_bytes(b"x")
        context.progress(0.5, "started")
        threading.Event().wait()

    manager = JobManager(Hub(sys.argv[1]))
    manager.register(JobKind("forever", forever, "never ends"))
    manager.start()
    job = manager.submit("forever", {})
    print(job.id, flush=True)
    threading.Event().wait()
    """
)


@pytest.mark.slow
def test_serve_fails_the_job_of_a_killed_server(tmp_path):
    home = tmp_path / "hub"
    Hub.init(home).close()
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_SERVER, str(home)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        job_id = process.stdout.readline().strip()
        deadline = time.monotonic() + 60
        with Hub(home) as hub:
            while (job := job_table.get(hub, job_id)) is None or job.message != "started":
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.05)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert (home / "jobs" / job_id / "partial.bin").exists()
    with (
        serving(home) as server,
        urllib.request.urlopen(server.url(f"/api/v1/jobs/{job_id}")) as response,
    ):
        status = json.loads(response.read())
    assert status["status"] == "failed" and status["error"] == INTERRUPTED
    assert not (home / "jobs" / job_id).exists()
    # the killed process's lock file and the server's own are gone
    assert list((home / "jobs" / ".workers").iterdir()) == []
