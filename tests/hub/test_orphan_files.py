"""Files a killed import leaves under tables/ and files/: listed, removed, and only they (the
shared ID-column blobs many tables refer to are never touched)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from exprhub.cli import main
from exprhub.hub import Hub
from exprhub.hub.orphan_files import NOT_REFERENCED, PARTIAL_WRITE, check_files
from exprhub.ingest.importer import import_file
from exprhub.storage.blobs import column_table, table_blob_header, table_to_parquet

FAMILY = "gemma/GSE1623_family.soft.txt.gz"  # 8 samples x 12,488 rows: shared ID columns
BEFORE = "gemma/GSE432_family.soft.gz"
OTHER = "geoquery/GSM11805.txt.gz"

#: Python run in the child before the import: kill the process at the chosen point.
KILL_POINTS = {
    # the 3rd new table blob is in place, noted before it was written (the note is what
    # lets the next write remove a crashed write's files)
    "after a blob": """
        original = blobs.BlobDirectory.put_bytes
        made = [0]
        def put_bytes(self, data, before_create=None):
            digest, created = original(self, data, before_create)
            made[0] += created
            if made[0] == 3:
                os.kill(os.getpid(), signal.SIGKILL)
            return digest, created
        blobs.BlobDirectory.put_bytes = put_bytes
    """,
    # mid-write of the 3rd new table blob: its temporary file is written, never renamed
    "mid-write": """
        original = os.replace
        made = [0]
        def replace(source, target):
            if "/tables/" in str(target):
                made[0] += 1
                if made[0] == 3:
                    os.kill(os.getpid(), signal.SIGKILL)
            return original(source, target)
        blobs.os.replace = replace
    """,
}


def killed_import(hub: Hub, database_url: str | None, path: Path, point: str) -> int:
    """Import ``path`` into the hub in a child process SIGKILLed at ``point``; its exit code."""
    script = textwrap.dedent(
        """
        import os, signal
        from exprhub.hub import Hub
        from exprhub.ingest.importer import import_file
        from exprhub.storage import blobs
        """
    )
    script += textwrap.dedent(KILL_POINTS[point])
    script += f"import_file(Hub({str(hub.home)!r}, database_url={database_url!r}), {str(path)!r})\n"
    return subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[2]).returncode


def blob_files(hub: Hub) -> dict[str, str]:
    """Every file under tables/ and files/ (relative path -> SHA-256 of its bytes)."""
    return {
        path.relative_to(hub.home).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in ("tables", "files")
        for path in sorted((hub.home / folder).rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize("point", sorted(KILL_POINTS))
def test_orphans_of_a_killed_import_are_listed_and_removed(
    make_hub, database_url, geo_fixtures, point
):
    hub = make_hub()
    import_file(hub, geo_fixtures / BEFORE)
    before = blob_files(hub)
    assert check_files(hub).orphans == ()

    assert killed_import(hub, database_url, geo_fixtures / FAMILY, point) == -9
    left = sorted(set(blob_files(hub)) - set(before))
    assert left, "the killed import left files"
    if point == "after a blob":
        # every blob was noted before it was written: the next write recovers them all
        import_file(hub, geo_fixtures / OTHER)
        assert not [p for p in left if (hub.home / p).exists()]
        assert check_files(hub).orphans == ()
    else:
        list_and_remove_orphans(hub, before, left, point)

    # the hub still reads, and the family imports in full
    assert hub.record("GSE432").type is not None
    import_file(hub, geo_fixtures / FAMILY)
    samples = hub.samples_of("GSE1623")
    assert len(samples) == 8
    record = hub.record(samples[0])
    assert record.table is not None and record.table.n_rows == 12488
    features, values = hub.sample_values(samples[0])
    assert len(features) == 12488 and np.isfinite(values).sum() > 12000
    assert check_files(hub).orphans == ()


def list_and_remove_orphans(hub: Hub, before: dict[str, str], left: list[str], point: str) -> None:
    """``exprhub check`` lists exactly the files ``left`` behind, then removes only them."""
    found = check_files(hub)
    assert [o.path for o in found.orphans] == left
    assert found.missing == ()
    reasons = {o.reason for o in found.orphans}
    assert reasons == (
        {PARTIAL_WRITE, NOT_REFERENCED} if point == "mid-write" else {NOT_REFERENCED}
    )
    assert all(o.size == (hub.home / o.path).stat().st_size for o in found.orphans)
    assert not found.removed and not found.ok
    assert blob_files(hub) == {**before, **{p: blob_files(hub)[p] for p in left}}  # nothing gone

    repaired = check_files(hub, repair=True)
    assert repaired.removed and repaired.ok
    assert [o.path for o in repaired.orphans] == left
    assert blob_files(hub) == before  # the orphans went, every other file is byte-identical
    assert not list(hub.home.glob(".write-in-progress*"))
    assert not [d for d in (hub.home / "tables").iterdir() if not any(d.iterdir())]
    assert check_files(hub).orphans == ()


def test_referenced_blobs_are_never_removed(make_hub, geo_fixtures):
    """Tables, their shared ID-column blobs (referred to only from inside other tables),
    history versions and kept originals all stay; an unreferenced ID-column blob goes."""
    hub = make_hub()
    for name in (BEFORE, FAMILY, "gemma/GSE2870_family.soft.gz"):
        import_file(hub, geo_fixtures / name)
    shared = {
        digest
        for path in (hub.home / "tables").rglob("*.parquet")
        for digest in table_blob_header(path)[1]
    }
    assert len(shared) >= 2  # ID columns kept apart, each referred to by tables only
    stray, created = hub.tables.put_bytes(
        table_to_parquet(column_table(np.array(["1007_s_at", "1053_at"])))
    )
    assert created and stray not in shared
    tables_before = {key: hub.record(key).table for key in hub.samples_of("GSE1623")}
    before = blob_files(hub)

    found = check_files(hub, repair=True)
    assert [o.path for o in found.orphans] == [f"tables/{stray[:2]}/{stray}.parquet"]
    after = blob_files(hub)
    assert after == {p: d for p, d in before.items() if stray not in p}
    assert all(hub.tables.has(d) for d in shared)
    for key, table in tables_before.items():
        read = hub.record(key).table
        assert read is not None and table is not None
        assert read.names == table.names
        assert all(np.array_equal(a, b) for a, b in zip(read.columns, table.columns, strict=True))


def test_missing_referenced_file_is_reported(make_hub, geo_fixtures):
    hub = make_hub()
    result = import_file(hub, geo_fixtures / OTHER)
    hub.files.path(result.sha256).unlink()
    found = check_files(hub, repair=True)
    assert found.missing == (f"files/{result.sha256[:2]}/{result.sha256}",)
    assert found.orphans == () and not found.ok


def test_check_from_the_command_line(tmp_path, geo_fixtures, capsys):
    home = tmp_path / "hub"
    with Hub.init(home) as hub:
        import_file(hub, geo_fixtures / OTHER)
        stray, _ = hub.files.put_bytes(b"left by a killed import")
        partial = hub.tables.root / "ab" / ".tmp-killed"
        partial.parent.mkdir(parents=True)
        partial.write_bytes(b"torn")
    assert main(["check", "--home", str(home), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["orphan_files"] == 2 and report["orphan_bytes"] == 4 + 23
    assert not report["removed"] and report["missing"] == []
    assert (home / "files" / stray[:2] / stray).exists()

    assert main(["check", "--repair", "--home", str(home)]) == 0
    out = capsys.readouterr().out
    assert "2 orphan files (27 bytes) removed" in out
    assert not (home / "files" / stray[:2] / stray).exists() and not partial.parent.exists()
    assert main(["check", "--home", str(home)]) == 0
    assert "0 orphan files (0 bytes) found; 0 referenced files missing" in capsys.readouterr().out
