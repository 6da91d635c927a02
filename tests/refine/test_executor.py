"""Executors: the local process pool, a real Dask LocalCluster, and a refine run killed with
SIGKILL and resumed (identical refined values to an uninterrupted run)."""

from __future__ import annotations

import math
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from exprhub.cli import main
from exprhub.hub import Hub
from exprhub.ingest.importer import import_file
from exprhub.refine import store
from exprhub.refine.executor import LocalExecutor, SerialExecutor, make_executor
from exprhub.refine.pipeline import RefineOptions, import_genes, refine
from exprhub.simulate import simulate


def _results(executor, items):
    return dict(executor.map_unordered(math.sqrt, items))


@pytest.mark.parametrize("make", [SerialExecutor, lambda: LocalExecutor(2)])
def test_map_unordered_reports_failures_per_item(make):
    with make() as executor:
        out = _results(executor, [4.0, -1.0, 9.0, 16.0, 25.0, 36.0])
    assert out[0] == 2.0 and out[2] == 3.0 and out[5] == 6.0
    assert isinstance(out[1], ValueError)
    assert sorted(out) == list(range(6))


def test_make_executor_kinds():
    assert make_executor(None, 0).describe() == {"kind": "serial", "workers": 1}
    local = make_executor(None, 3)
    assert local.describe() == {"kind": "local", "workers": 3}
    local.close()


def _sim_hub(path, sim_dir, manifest) -> Hub:
    hub = Hub.init(path)
    for series in manifest.series:
        if series.kind == "microarray":
            import_file(hub, sim_dir / f"{series.accession}_family.soft.gz")
    import_genes(hub, [str(sim_dir / "gene_info.gz")], [str(sim_dir / "gene2ensembl.gz")])
    return hub


def _all_refined(hub: Hub):
    keys = sorted(store.refine_states(hub))
    return store.refined_matrix(hub, keys)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    manifest = simulate(out, series=3, samples=8, platforms=1, seed=2, probes=300)
    return out, manifest


def test_dask_local_cluster_matches_local_pool(tmp_path, sim):
    import distributed

    sim_dir, manifest = sim
    hub = _sim_hub(tmp_path / "a", sim_dir, manifest)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        make_executor(cluster.scheduler_address) as executor,
    ):
        assert executor.describe()["kind"] == "dask"
        report = refine(hub, [], executor=executor, options=RefineOptions(batch_size=4))
    assert report.failed == {} and report.gene_level == 24 and report.normalized == 24
    other = Hub(tmp_path / "b")
    with LocalExecutor(2) as executor:
        local = refine(other, [], executor=executor, options=RefineOptions(batch_size=5))
    assert local.failed == {}
    a, b = _all_refined(hub), _all_refined(other)
    assert a.shape == (a.shape[0], 24) and a.equals(b)
    hub.close()
    other.close()


_RUN = (
    "import sys; import exprhub.cli.refine; from exprhub.cli.app import main; "
    "sys.exit(main(sys.argv[1:]))"
)


_REFINE_ARGS = ["refine", "--workers", "2", "--batch-size", "2", "--commit-size", "2", "--json"]


def _refine_cli(home, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", _RUN, *_REFINE_ARGS, "--home", str(home), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,  # its own process group: the kill takes its workers too
    )


def _committed(home) -> int:
    try:
        with sqlite3.connect(home / "exprhub.sqlite", timeout=1) as db:
            return db.execute("SELECT count(*) FROM refined_samples").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_kill_and_resume_gives_identical_values(tmp_path, sim):
    sim_dir, manifest = sim
    _sim_hub(tmp_path / "killed", sim_dir, manifest).close()
    shutil.copytree(tmp_path / "killed", tmp_path / "whole")
    # uninterrupted: the same command in this process (only the killed run needs its own)
    assert main([*_REFINE_ARGS, "--home", str(tmp_path / "whole")]) == 0
    # killed once some batches are committed, then resumed
    home = tmp_path / "killed"
    proc = _refine_cli(home)
    deadline = time.monotonic() + 300
    while _committed(home) < 4 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    killed = proc.poll() is None
    if killed:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    partial = _committed(home)
    proc = _refine_cli(home)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()
    import json

    report = json.loads(out)
    assert report["failed"] == {}
    assert report["gene_level"] == 24 - partial  # committed batches were not redone
    with Hub(tmp_path / "whole") as whole, Hub(home) as resumed:
        a, b = _all_refined(whole), _all_refined(resumed)
        assert a.shape[1] == 24 and a.equals(b)
        ta, tb = store.targets(whole, current_only=True), store.targets(resumed, current_only=True)
        assert [t.sha256 for t in ta] == [t.sha256 for t in tb]
