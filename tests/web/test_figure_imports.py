"""Charts drawn by concurrent first requests: the app, once created, has imported every
module a chart needs, so that handlers running in threads never import plotly (or narwhals
through it) at the same time, which failed one of them with ``_DeadlockError`` (a 500)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT, copy_hub

# Run in a fresh interpreter: this test session has imported plotly long since.
FIRST_REQUESTS = """
import sys
from concurrent.futures import ThreadPoolExecutor
from fastapi.testclient import TestClient
from exprhub.hub import Hub
from exprhub.web import create_app

app = create_app(Hub(sys.argv[1]))
before = set(sys.modules)
paths = [
    "/api/v1/analysis/GDS507/distributions?figure=true",
    "/api/v1/analysis/GDS507/pca?figure=true",
    "/api/v1/analysis/GDS507/cluster?top=50&k=2&figure=true&annotate=disease%20state",
] * 2
with TestClient(app) as client, ThreadPoolExecutor(len(paths)) as pool:
    answers = list(pool.map(client.get, paths))
print([a.status_code for a in answers])
print(sorted(m for m in set(sys.modules) - before if m.split(".")[0] in
             ("plotly", "_plotly_utils", "narwhals")))
"""


def test_concurrent_first_chart_requests_import_nothing_plotly_needs(imported_template, tmp_path):
    home = copy_hub(imported_template(("geoquery/GDS507.soft.gz",)), tmp_path / "hub")
    done = subprocess.run(
        [sys.executable, "-c", FIRST_REQUESTS, str(home)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    statuses, imported = done.stdout.splitlines()[-2:]
    assert statuses == str([200] * 6), done.stderr
    assert imported == "[]"
