"""Benchmark: importing a family SOFT file into a hub (parse + store) vs parsing it alone.

Target (GEO formats issue): import of the simulated 400-sample x 54,675-probe family within
3 x exprhub's parse time. Each measurement runs in its own subprocess (wall time, CPU time and
peak RSS); a JSON summary is printed, with the 1-minute load average before and after. With
``--repeat N`` parses and imports alternate and the best wall time of each is kept; the ratio
of each round is listed too (on a shared machine, also compare CPU times). Every run starts
after an ``os.sync()``, so that no run pays for the write-back of the one before.

Usage::

    python bench/parse.py --dir /tmp/pbench          # writes the simulated family once
    python bench/import_family.py /tmp/pbench/GSE999999_family.soft.gz
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 3.0

CHILD_PARSE = """
import sys
from exprhub.formats.soft import SoftReader
n = 0
for record in SoftReader(sys.argv[1]).records():
    n += record.table.n_rows if record.table is not None else 0
print(n)
"""

CHILD_IMPORT = """
import sys
from exprhub.hub import Hub
from exprhub.ingest.importer import import_file
with Hub.init(sys.argv[2]) as hub:
    result = import_file(hub, sys.argv[1])
    print(result.records)
"""


def run(code: str, *args: str) -> dict[str, float]:
    # Start with no dirty pages from the previous round: their write-back (an import writes
    # ~0.6 GB) would otherwise slow whichever run comes next.
    os.sync()
    # byte-code caching on, as on a user's machine (see bench/parse.py's _child_env)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    out = process.stdout.read().decode().strip() if process.stdout else ""
    if status != 0:
        raise SystemExit(f"child failed with status {status}")
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "output": out,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("family", type=Path, help="a family SOFT file (e.g. from bench/parse.py)")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    # Parse and import alternate, so that a change of load hits both alike.
    parses, imports, rounds = [], [], []
    for _ in range(args.repeat):
        parses.append(run(CHILD_PARSE, str(args.family)))
        with tempfile.TemporaryDirectory(prefix="exprhub-import-") as tmp:
            imports.append(run(CHILD_IMPORT, str(args.family), str(Path(tmp) / "hub")))
        rounds.append(round(imports[-1]["wall_s"] / parses[-1]["wall_s"], 2))
    parse = min(parses, key=lambda r: r["wall_s"])
    best = min(imports, key=lambda r: r["wall_s"])
    ratio = best["wall_s"] / parse["wall_s"]
    print(
        json.dumps(
            {
                "file": str(args.family),
                "size_mb": round(args.family.stat().st_size / 2**20, 1),
                "parse": parse,
                "import": best,
                "import_over_parse": round(ratio, 2),
                "import_over_parse_by_round": rounds,
                "target": f"import <= {TARGET} x parse",
                "meets_target": ratio <= TARGET,
                "load_average": os.getloadavg()[0],
                "load_average_start": load_start,
                "max_rss_limit": resource.getrlimit(resource.RLIMIT_AS)[0],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
