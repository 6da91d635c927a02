"""Record tables stored through a child process (``Hub.tables_in_a_child_process``): the same
blobs as the table thread, and nothing left behind when either process dies or fails."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import select

from exprhub.hub import Hub
from exprhub.hub import schema as s
from exprhub.hub.orphan_files import check_files
from exprhub.ingest.importer import TABLE_PROCESS_MIN_FILES, import_files
from exprhub.records import arrow_strings
from exprhub.storage.blobs import BlobDirectory, arrays_to_parquet
from exprhub.storage.table_process import TableProcess, TableProcessFailed
from tests.hub.test_orphan_files import blob_files

FAMILIES = [
    "gemma/GSE432_family.soft.gz",
    "gemma/GSE1623_family.soft.txt.gz",  # 8 samples x 12,488 rows: shared ID columns
    "gemma/GSE2870_family.soft.gz",
    "gemma/GDS334.soft.gz",
]
SMALL = "geoquery/GSM11805.txt.gz"


@pytest.fixture
def make_hub(tmp_path):
    """Hubs on SQLite: what differs here is outside SQL (the rollback of a failed write is
    the same code on both backends, tested in tests/hub)."""
    opened: list[Hub] = []

    def factory(name: str = "hub") -> Hub:
        opened.append(Hub.init(tmp_path / name))
        return opened[-1]

    yield factory
    for hub in opened:
        hub.close()


def table_refs(hub: Hub) -> dict[str, str | None]:
    """The stored table of every record, by accession."""
    with hub.engine.connect() as connection:
        return dict(connection.execute(select(s.records.c.key, s.records.c.table_ref)).all())


def test_the_child_stores_the_blobs_the_thread_stores(make_hub, geo_fixtures):
    files = [geo_fixtures / name for name in FAMILIES]
    by_thread, by_child = make_hub("thread"), make_hub("child")
    import_files(by_thread, files, table_process=False)
    import_files(by_child, files, table_process=True)
    assert by_child.table_process is None  # stopped at the end of the call
    assert blob_files(by_child) == blob_files(by_thread)
    assert len(blob_files(by_child)) > 40
    assert table_refs(by_child) == table_refs(by_thread)
    record = by_child.record("GSM27446")
    assert record.table is not None and record.table.n_rows == 12488
    assert check_files(by_child).orphans == ()
    assert not list(by_child.home.glob(".write-in-progress*"))


def test_a_killed_child_undoes_the_write_it_was_serving(make_hub, geo_fixtures):
    hub = make_hub()
    before_path, family = geo_fixtures / FAMILIES[0], geo_fixtures / FAMILIES[1]
    seen: list[tuple[Path, int]] = []

    def kill_child(path: Path, stored: int) -> None:
        seen.append((path, stored))
        if path == family and stored == 6:  # series, platform and 4 samples queued
            process = hub.table_process
            assert process is not None and process._process is not None
            process._process.kill()
            process._process.wait()

    with pytest.raises(TableProcessFailed, match="the table process stopped"):
        import_files(hub, [before_path, family], table_process=True, on_record=kill_child)
    assert hub.table_process is None
    assert hub.record("GSE432").type is not None
    stored = table_refs(hub)
    assert "GSE1623" not in stored and "GPL81" not in stored and "GSM27446" not in stored
    assert check_files(hub).orphans == ()  # the blobs the child made were removed
    assert not list(hub.home.glob(".write-in-progress*"))

    import_files(hub, [family], table_process=True)  # a new child: the family lands in full
    assert len(hub.samples_of("GSE1623")) == 8
    assert check_files(hub).orphans == ()


def test_a_failure_in_the_child_is_reported_and_the_child_goes_on(tmp_path):
    column = arrow_strings(["1.5", "2", "NA"])
    names = ["ID_REF", "VALUE"]
    arrays = {0: arrow_strings(["a", "b", "c"]), 1: column}
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    log = tmp_path / "log"
    process = TableProcess()
    try:
        process.send(BlobDirectory(not_a_folder, ".parquet"), log, names, arrays, {})
        good = BlobDirectory(tmp_path / "tables", ".parquet")
        process.send(good, log, names, arrays, {})
        with pytest.raises(TableProcessFailed, match=r"the table process failed: .*Error"):
            process.receive()  # the replies come in the order of the requests
        digest, created = process.receive()
        with pytest.raises(TableProcessFailed, match="no reply is due"):
            process.receive()
    finally:
        process.close()
    assert created
    assert good.path(digest).read_bytes() == arrays_to_parquet(names, arrays, {})
    # noted before each attempt to write it (the failed one too: the same table, same digest)
    assert log.read_text() == f"tables {digest}\n" * 2


def test_sliced_and_small_string_arrays_are_sent_as_they_are(tmp_path):
    whole = pa.array(["x", "", "yy", "zzz", ""], type=pa.string())
    arrays = {1: whole.slice(1, 3), 2: pa.array(["", "", ""], type=pa.large_string())}
    shared = {0: "0" * 64}
    names = ["ID", "a", "b"]
    process = TableProcess()
    try:
        process.send(BlobDirectory(tmp_path, ".parquet"), tmp_path / "log", names, arrays, shared)
        digest, _ = process.receive()
    finally:
        process.close()
    expected = {
        1: pa.array(["", "yy", "zzz"], type=pa.large_string()),
        2: pa.array(["", "", ""], type=pa.large_string()),
    }
    stored = BlobDirectory(tmp_path, ".parquet").path(digest).read_bytes()
    assert stored == arrays_to_parquet(names, expected, shared)


def test_the_child_ends_with_a_killed_importer_and_the_next_write_recovers(make_hub, geo_fixtures):
    hub = make_hub()
    import_files(hub, [geo_fixtures / FAMILIES[0]], table_process=False)
    before = blob_files(hub)
    family = geo_fixtures / FAMILIES[1]
    script = textwrap.dedent(
        f"""
        import os, signal, time
        from pathlib import Path
        from exprhub.hub import Hub
        from exprhub.ingest.importer import import_files
        hub = Hub({str(hub.home)!r})
        def stored(path, count):
            if count == 8:
                process = hub.table_process
                process.drain()  # the child has stored what was sent so far
                print(process._process.pid, flush=True)
                os.kill(os.getpid(), signal.SIGKILL)
        import_files(hub, [Path({str(family)!r})], table_process=True, on_record=stored)
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
    )
    assert run.returncode == -signal.SIGKILL, run.stderr
    child = int(run.stdout.split()[0])
    deadline = time.monotonic() + 30
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the table process outlived its importer"
    assert set(blob_files(hub)) > set(before)  # the killed write left blobs, noted
    assert list(hub.home.glob(".write-in-progress*"))

    import_files(hub, [geo_fixtures / SMALL], table_process=False)  # recovers the crash
    assert check_files(hub).orphans == ()
    assert not list(hub.home.glob(".write-in-progress*"))
    import_files(hub, [family], table_process=True)
    assert len(hub.samples_of("GSE1623")) == 8


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (its parent, the killed importer, is gone: init reaps it) is not alive
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_many_files_use_a_child_process_by_default(make_hub, geo_fixtures):
    hub = make_hub()
    during: list[bool] = []

    def note(path: Path, stored: int) -> None:
        during.append(hub.table_process is not None)

    small = geo_fixtures / SMALL
    import_files(hub, [small] * (TABLE_PROCESS_MIN_FILES - 1), on_record=note)
    assert during and not any(during)
    during.clear()
    import_files(hub, [small] * TABLE_PROCESS_MIN_FILES, on_record=note)
    assert during and all(during)
    assert hub.table_process is None


def test_only_the_thread_that_started_it_writes_through_the_child(make_hub):
    import threading

    hub = make_hub()
    seen: list[object] = []
    with hub.tables_in_a_child_process():
        other = threading.Thread(target=lambda: seen.append(hub.table_process_of_this_thread()))
        other.start()
        other.join()
        mine = hub.table_process_of_this_thread()
        with hub.tables_in_a_child_process():  # nested: the outer block's process
            assert hub.table_process_of_this_thread() is mine
    assert seen == [None]
    assert mine is not None
    assert hub.table_process is None and hub.table_process_of_this_thread() is None


def test_removing_a_blob_removes_the_copies_of_it_cut_short(tmp_path):
    directory = BlobDirectory(tmp_path, ".parquet")
    digest, _ = directory.put_bytes(b"table bytes")
    other, _ = directory.put_bytes(b"another table")
    folder = directory.path(digest).parent
    (folder / ".tmp-abc123").write_bytes(b"half a tab")  # a killed write's temporary file
    directory.remove(digest)
    assert not directory.path(digest).exists()
    assert not (folder.exists() and list(folder.glob(".tmp-*")))
    assert directory.path(other).exists()
    directory.remove(digest)  # gone already: nothing to do


def test_closing_the_hub_inside_the_block_stops_the_child(tmp_path):
    hub = Hub.init(tmp_path / "hub")
    with hub.tables_in_a_child_process():
        process = hub.table_process
        assert process is not None
        hub.close()
        assert hub.table_process is None and process.outstanding == 0
