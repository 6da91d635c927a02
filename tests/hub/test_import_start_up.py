"""What a process that imports one family loads (issue #14: a fresh process's start-up is most
of a small family's import): not zarr (appends, array metadata and rollback are written
without it, and one-sample reads read the chunk files), not SQLAlchemy's ORM, not Alembic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

CHILD = """
import json, sys
from exprhub.hub import Hub
from exprhub.ingest.importer import import_file
with Hub.init(sys.argv[2]) as hub:
    records = import_file(hub, sys.argv[1]).records
    features, values = hub.sample_values("GSM27446")
loaded = sorted(
    m for m in sys.modules
    if m.split(".")[0] in ("zarr", "alembic") or m.startswith("sqlalchemy.orm")
)
stored = {f: float(v) for f, v in zip(features, values.tolist())}
print(json.dumps({"records": records, "loaded": loaded, "values": stored}))
"""


def test_importing_a_family_loads_no_zarr_orm_or_alembic(
    geo_fixtures: Path, tmp_path: Path
) -> None:
    from exprhub.formats.soft_reader import read_soft

    path = geo_fixtures / "gemma" / "GSE1623_family.soft.txt.gz"
    if not path.exists():
        pytest.skip(f"{path} not found")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(tmp_path / "hub")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["loaded"] == []
    assert out["records"] == 10
    # The values read back (without zarr) are the file's.
    sample = next(r for r in read_soft(path) if r.key == "GSM27446")
    table = sample.table
    assert table is not None
    ids = table.columns[0].tolist()
    expected = np.asarray(table.columns[table.names.index("VALUE")].tolist(), dtype=np.float32)
    got = np.asarray([out["values"][i] for i in ids], dtype=np.float32)
    assert len(ids) == 12488
    assert np.array_equal(got, expected, equal_nan=True)
