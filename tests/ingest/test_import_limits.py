"""Importing hostile files (item 9): each is refused by ``exprhub import`` with one line naming
the file and the limit, the hub stays exactly as it was, and the import's memory stays bounded.

Each import runs in a child process whose address space is capped (a regression fails fast
with a MemoryError instead of taking the machine's memory) and which reports its peak resident
memory (Linux's ``VmHWM``; the tests are skipped elsewhere). The hostile files are generated
by tests/formats/test_limits.py's writers: a few megabytes of gzip each, inflating to
gigabytes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from exprhub.hub import Hub
from tests.formats.test_limits import (
    GIB,
    MIB,
    write_attribute_bomb,
    write_bundle_bomb,
    write_description_bomb,
    write_line_bomb,
    write_matrix_bomb,
    write_table_bomb,
    write_wide_table,
)
from tests.hub.test_hub import hub_snapshot

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="peak memory is read from /proc (Linux)"
)

#: Address space the child may map. An import reserves (and leaves untouched) up to about a
#: gigabyte of it with two malloc arenas; the cap keeps a regression's resident memory below
#: 2 GB, where it fails with a MemoryError.
ADDRESS_SPACE = 2 * GIB
#: Resident memory an import may reach.
PEAK = 1 * GIB

_CHILD = """
import json, resource, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from exprhub.cli import main
code = main(["import", sys.argv[3], "--home", sys.argv[2]])
# the process's own high-water mark: ru_maxrss would include the parent's memory at fork
with open("/proc/self/status") as status:
    hwm = [line.split()[1] for line in status if line.startswith("VmHWM:")]
print(json.dumps({"code": code, "peak": int(hwm[0]) * 1024}))
"""


def _import_in_child(home: Path, path: Path) -> tuple[int, int, str]:
    """Run ``exprhub import path`` in a capped child: exit code, peak RSS in bytes, stderr."""
    env = dict(os.environ, MALLOC_ARENA_MAX="2", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    for name in list(env):
        if name.startswith(("EXPRHUB_MAX_", "EXPRHUB_COMPRESSION_")):
            del env[name]  # the documented defaults are under test
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(ADDRESS_SPACE), str(home), str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, f"child failed (exit {done.returncode}): {done.stderr[-2000:]}"
    report = json.loads(lines[-1])
    return report["code"], report["peak"], done.stderr


@pytest.fixture
def home(geo_fixtures: Path, tmp_path: Path) -> Path:
    """A hub holding one real family."""
    with Hub.init(tmp_path / "hub") as hub:
        from exprhub.ingest.importer import import_file

        import_file(hub, geo_fixtures / "gemma/GDS1794.soft.gz")
    return tmp_path / "hub"


def _snapshot(home: Path) -> dict:
    with Hub(home) as hub:
        return hub_snapshot(hub)


@pytest.mark.parametrize(
    ("name", "write", "limit", "line"),
    [
        ("GSE1_family.soft.gz", write_table_bomb, "EXPRHUB_MAX_COMPRESSION_RATIO", None),
        ("GSE1_series_matrix.txt.gz", write_matrix_bomb, "EXPRHUB_MAX_COMPRESSION_RATIO", None),
        ("GSM1.soft.gz", write_line_bomb, "EXPRHUB_MAX_LINE_BYTES", 2),
        ("GSE1_family.xml.tgz", write_bundle_bomb, "EXPRHUB_MAX_MEMBER_BYTES", None),
        ("GSE1.soft.gz", write_attribute_bomb, "EXPRHUB_MAX_ATTRIBUTE_BYTES", 3),
        ("GSM1.xml.gz", write_description_bomb, "EXPRHUB_MAX_ATTRIBUTE_BYTES", None),
    ],
    ids=[
        "table-rows-4GiB",
        "matrix-rows-4GiB",
        "one-line-4GiB",
        "tgz-member-4GiB",
        "value-100MB",
        "miniml-text-200MB",
    ],
)
def test_hostile_file_refused_with_bounded_memory(
    home: Path,
    tmp_path: Path,
    name: str,
    write: Callable[[Path], None],
    limit: str,
    line: int | None,
) -> None:
    path = tmp_path / name
    write(path)
    assert path.stat().st_size < 16 * MIB
    before = _snapshot(home)
    code, peak, stderr = _import_in_child(home, path)
    assert code == 1, stderr
    (message,) = [text for text in stderr.splitlines() if text.strip()]
    where = f"{path}:{line}: " if line is not None else f"{path}: "
    assert message.startswith(f"error: {where}"), message
    assert f"{limit}=" in message, message
    assert peak < PEAK, f"peak RSS {peak / MIB:.0f} MiB"
    assert _snapshot(home) == before


def test_wide_table_imports_in_little_memory(home: Path, tmp_path: Path) -> None:
    """A 26 KB gzip holding a 10,000-column table of one row with a 600 KB cell imports
    without reserving rows for each column (it took 2.8 GB)."""
    path = tmp_path / "GSM1.soft.gz"
    write_wide_table(path, columns=10_000, cell=600_000)
    code, peak, stderr = _import_in_child(home, path)
    assert code == 0, stderr
    assert peak < PEAK // 2, f"peak RSS {peak / MIB:.0f} MiB"
    with Hub(home) as hub:
        record = hub.record("GSM1")
        assert record.table is not None and len(record.table.names) == 10_000
