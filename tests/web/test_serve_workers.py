"""``exprhub serve --workers N``: several server processes on one real hub (GSE1623), starting
together on a stale search index (one writer syncs, none fails), answering records, searches
and jobs alike whichever process takes a connection, and keeping jobs over a restart; on SQLite
and on PostgreSQL."""

from __future__ import annotations

import functools
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from exprhub.cli import main
from exprhub.cli.serve import WORKER_TIMEOUT, worker_config
from exprhub.hub import Hub
from tests.serving import Server, serving

pytestmark = pytest.mark.slow


def get(server: Server, path: str) -> tuple[int, dict]:
    """Status and JSON body of a GET on a new connection."""
    try:
        with urllib.request.urlopen(server.url(path), timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def post(server: Server, path: str, body: dict) -> tuple[int, dict]:
    """Status and JSON body of a POST of ``body`` as JSON."""
    request = urllib.request.Request(
        server.url(path),
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, json.loads(response.read())


@pytest.fixture(params=["sqlite", "postgres"])
def served_hub(
    request, tmp_path, geo_fixtures, monkeypatch
) -> Iterator[tuple[Path, dict[str, str]]]:
    """A hub holding GSE1623 (SQLite, or PostgreSQL metadata and full-text index) and the
    environment its commands need; built by the commands run in this process (the servers
    are the subprocesses under test)."""
    env: dict[str, str] = {}
    if request.param == "postgres":
        env["EXPRHUB_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    home = tmp_path / "hub"
    soft = geo_fixtures / "gemma" / "GSE1623_family.soft.txt.gz"
    with monkeypatch.context() as patched:
        for name, value in env.items():
            patched.setenv(name, value)
        for argv in (["init"], ["import", str(soft)]):
            assert main([*argv, "--home", str(home)]) == 0
    yield home, env


def test_workers_share_records_search_and_jobs(served_hub):
    home, env = served_hub
    # Forget the index's watermark: every worker finds the index stale when it starts, and
    # they sync it together (one writer at a time; the others wait, none fails).
    (home / "search-state.json").unlink()
    with serving(home, command=("serve", "--workers", "4"), env=env) as server:
        paths = ["/api/v1/series/GSE1623", "/api/v1/search?q=GSE1623", "/api/v1/samples"] * 20
        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(lambda path: get(server, path), paths))
        assert [status for status, _ in answers] == [200] * len(paths)
        for path, (_, body) in zip(paths, answers, strict=True):
            if path.startswith("/api/v1/search"):
                assert [hit["key"] for hit in body["results"]] == ["GSE1623"]

        submitted = [
            post(server, "/api/v1/jobs", {"kind": "export", "params": {"accession": acc}})
            for acc in ("GSE1623", "GPL81", "GSE1623")
        ]
        assert [status for status, _ in submitted] == [202] * 3
        states = {}
        deadline = time.monotonic() + 180
        for _, job in submitted:
            # each poll on a new connection: whichever worker takes it knows the job
            while (state := get(server, f"/api/v1/jobs/{job['id']}")[1])["status"] not in (
                "done",
                "failed",
            ):
                assert time.monotonic() < deadline
                time.sleep(0.1)
            assert state["status"] == "done", state
            states[job["id"]] = state
        output = server.output()
        assert "Traceback" not in output and "error" not in output.lower(), output
        assert "4 worker processes" in output

    with serving(home, command=("serve", "--workers", "2"), env=env) as server:
        for job_id, state in states.items():
            assert get(server, f"/api/v1/jobs/{job_id}") == (200, state)
            status, result = get(server, state["result_url"])
            assert status == 200
            with urllib.request.urlopen(server.url(result["result"]["download_url"])) as file:
                assert len(file.read()) == state["result_bytes"]
    # every worker withdrew its lock file when it stopped
    assert list((home / "jobs" / ".workers").iterdir()) == []


def refused_serve(home: Path, *options: str, capsys) -> str:
    """Run ``exprhub serve`` with ``options`` (in this process: it refuses before it serves),
    which must refuse to start; its stderr."""
    capsys.readouterr()
    assert main(["serve", "--home", str(home), *options]) == 1
    return capsys.readouterr().err.strip()


def test_workers_option_is_checked(tmp_path, capsys, monkeypatch):
    home = tmp_path / "hub"
    Hub.init(home).close()
    refused = functools.partial(refused_serve, home, capsys=capsys)
    assert refused("--workers", "0") == "error: --workers must be at least 1, got 0"
    monkeypatch.setenv("EXPRHUB_MAX_ACTIVE_JOBS", "many")
    bad_limit = refused("--workers", "2")
    assert bad_limit.splitlines() == [
        "error: EXPRHUB_MAX_ACTIVE_JOBS must be a whole number >= 1, got 'many'"
    ]
    monkeypatch.delenv("EXPRHUB_MAX_ACTIVE_JOBS")
    assert refused("--worker-timeout", "0") == (
        "error: --worker-timeout must be at least 1 second, got 0"
    )


def test_worker_health_check_waits_for_busy_workers():
    """Workers are given --worker-timeout (default 60 s, not uvicorn's 5 s) to answer the
    parent's health check: a worker starting on a loaded machine holds the interpreter lock
    for seconds and was killed as hung."""
    config = worker_config("127.0.0.1", 8000, 3, WORKER_TIMEOUT)
    assert config.workers == 3 and config.timeout_worker_healthcheck == WORKER_TIMEOUT == 60
    assert worker_config("127.0.0.1", 8000, 2, 7).timeout_worker_healthcheck == 7
