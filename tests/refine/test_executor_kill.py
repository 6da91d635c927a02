"""No refine worker outlives `exprhub refine`: killed with SIGKILL, SIGTERM or SIGINT while its
workers compute, the command leaves no process behind (workers, forkserver, resource tracker),
and an interrupted run leaves the hub as a killed one does: resumable, nothing marked failed."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from exprhub.cli import main
from exprhub.hub import Hub
from exprhub.ingest.importer import import_file
from exprhub.refine import store
from exprhub.refine.executor import LocalExecutor, WorkerDied
from exprhub.refine.pipeline_work import GeneJob, GeneResult, compute_gene_level

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Path of the gate file; the gated gene-level job waits until it exists.
GATE_ENV = "EXPRHUB_TEST_REFINE_GATE"


def gated_gene_level(job: GeneJob) -> GeneResult:
    """``compute_gene_level``, after saying it started and waiting for the test's gate, so that
    the test kills the command while its workers hold jobs (whatever the machine's speed)."""
    gate = Path(os.environ[GATE_ENV])
    (gate.parent / f"started-{os.getpid()}").touch()
    give_up = time.monotonic() + 600  # never left waiting forever by a broken test
    while not gate.exists() and time.monotonic() < give_up:
        time.sleep(0.05)
    return compute_gene_level(job)


_SMALL = ["--batch-size", "1", "--commit-size", "1", "--json"]

_RUN = (
    "import sys; import exprhub.refine.pipeline as pipeline; "
    "from tests.refine.test_executor_kill import gated_gene_level; "
    "pipeline.compute_gene_level = gated_gene_level; "
    "from exprhub.cli.app import main; sys.exit(main(sys.argv[1:]))"
)


@pytest.fixture(scope="module")
def gse1623_hub(tmp_path_factory, geo_fixtures) -> Path:
    home = tmp_path_factory.mktemp("template") / "hub"
    with Hub.init(home) as hub:
        import_file(hub, geo_fixtures / "gemma/GSE1623_family.soft.txt.gz")
    return home


def _wait_until(condition: Callable[[], bool], what: str, limit: float = 300) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _describe(process: psutil.Process) -> str:
    try:
        return f"{process.pid} {' '.join(process.cmdline())[:100]}"
    except psutil.Error:
        return str(process.pid)


@pytest.mark.slow
@pytest.mark.parametrize(
    "signum", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=["SIGKILL", "SIGTERM", "SIGINT"]
)
def test_killed_refine_leaves_no_process_behind(tmp_path, gse1623_hub, signum, capsys):
    home = tmp_path / "hub"
    shutil.copytree(gse1623_hub, home)
    gates = tmp_path / "gates"
    gates.mkdir()
    gate = gates / "open"
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        # files, not pipes: leftover processes holding a pipe would hang the test instead
        proc = subprocess.Popen(
            [sys.executable, "-c", _RUN, "refine", "--home", str(home), "--workers", "2", *_SMALL],
            stdout=stdout,
            stderr=stderr,
            cwd=REPO_ROOT,
            env={**os.environ, GATE_ENV: str(gate)},
            start_new_session=True,  # lets the test clean up whatever the fix fails to stop
        )
    try:
        _wait_until(
            lambda: len(list(gates.glob("started-*"))) >= 2 or proc.poll() is not None,
            "both workers to start a job",
        )
        assert proc.poll() is None, err.read_text()
        descendants = psutil.Process(proc.pid).children(recursive=True)
        names = " ".join(" ".join(p.cmdline()) for p in descendants)
        assert "resource_tracker" in names and "forkserver" in names
        assert len(descendants) >= 4  # resource tracker, forkserver, two workers

        os.kill(proc.pid, signum)
        code = proc.wait(timeout=120)

        deadline = time.monotonic() + 30
        while any(_running(p) for p in descendants) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [_describe(p) for p in descendants if _running(p)]
        assert left == [], f"still running after the refine process ended: {left}"
        if signum == signal.SIGKILL:
            assert code == -signal.SIGKILL
        else:
            assert code == 128 + signum
            lines = err.read_text().splitlines()
            assert len(lines) == 1, lines
            name = signal.Signals(signum).name
            assert lines[0].startswith(f"error: refine interrupted by {name}")
            assert "run the same command again to resume" in lines[0]
    finally:
        gate.touch()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)

    if signum == signal.SIGTERM:
        # the stopped run recorded no failure, and running again refines every sample
        with Hub(home) as hub:
            assert [st for st in store.refine_states(hub).values() if st.status == "failed"] == []
        capsys.readouterr()
        assert main(["refine", "--home", str(home), "--workers", "0", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["failed"] == {} and report["samples"] == report["normalized"] == 8
        with Hub(home) as hub:
            states = store.refine_states(hub).values()
            assert sorted(st.status for st in states) == ["done"] * 8


def test_dead_worker_stops_the_run_instead_of_failing_its_items():
    """A worker that dies (killed, out of memory) is not the items' fault: the run stops with
    WorkerDied rather than recording its samples as failed, so running again retries them."""
    with LocalExecutor(1) as executor, pytest.raises(WorkerDied, match="ended abruptly"):
        list(executor.map_unordered(os._exit, [3]))
