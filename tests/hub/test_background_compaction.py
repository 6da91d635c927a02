"""Compaction on a kept thread while the next writes go on (``Hub.compacting_in_background``,
used by ``import_files``), and the matrix lock that keeps it apart from what cuts a matrix
back, deletes it or resizes it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from exprhub.storage import arrays
from exprhub.storage.arrays import Matrix
from exprhub.storage.matrix_files import feature_major_lock
from tests.hub.test_append_tier import expected_row, make_store, samples, small_chunked
from tests.storage.test_arrays import InjectedFailure, Model, build, check_against, snapshot

NAME = "submitted/GPL900"


class HeldCompaction:
    """Makes compactions stop, holding the matrix's lock, until released; notes the threads
    they ran on."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.threads: list[str] = []
        real = arrays.sync_filesystem

        self.timed_out = False

        def held(path: Path) -> None:
            self.threads.append(threading.current_thread().name)
            self.started.set()
            if not self.release.wait(30):  # the test never released it: a write waited
                self.timed_out = True
            real(path)

        monkeypatch.setattr(arrays, "sync_filesystem", held)


def test_writes_go_on_while_a_stripe_is_compacted(make_hub, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    hub = small_chunked(make_hub())
    held = HeldCompaction(monkeypatch)
    with hub.compacting_in_background():
        hub.put_records(samples(1, 9))  # a complete stripe of 8: its compaction starts
        assert held.started.wait(60)
        # The compaction holds the lock; the next write (within the capacity of 16 columns:
        # growing it would take the lock) does not wait for it.
        hub.put_records(samples(10, 5))
        _, row = hub.feature_values("GPL900", "p1")
        np.testing.assert_array_equal(row, expected_row(1, 14))
        assert hub.store.open(NAME).feature_columns(14) == 0  # the mark has not moved
        held.release.set()
        hub.put_records(samples(15, 3))  # 17 columns: the capacity grows, a stripe is due
    assert not held.timed_out
    # Leaving the block waited for the compactions and compacted what was still due.
    assert hub.store.open(NAME).feature_columns(17) == 16
    assert held.threads[0].startswith("exprhub-compaction")
    _, row = hub.feature_values("GPL900", "p1")
    np.testing.assert_array_equal(row, expected_row(1, 17))
    features, values = hub.sample_values("GSM9")
    assert features == ["p1", "p2", "p3"]
    np.testing.assert_array_equal(values, [9, 9.5, 7])


def test_a_failed_write_waits_for_the_compaction_and_is_undone(  # type: ignore[no-untyped-def]
    make_hub, monkeypatch
) -> None:
    """Undoing a write cuts the matrix back to its committed extent: it waits for a
    compaction of that matrix under way, and both end correct."""
    hub = small_chunked(make_hub())
    held = HeldCompaction(monkeypatch)
    real_append = Matrix.append_columns

    def append_then_fail(self, start_column, values):  # type: ignore[no-untyped-def]
        real_append(self, start_column, values)
        raise InjectedFailure("after the append")

    failed: list[BaseException] = []

    def failing_write() -> None:
        try:
            hub.put_records(samples(10, 3))
        except InjectedFailure as exc:
            failed.append(exc)

    with hub.compacting_in_background():
        hub.put_records(samples(1, 9))
        assert held.started.wait(60)
        monkeypatch.setattr(Matrix, "append_columns", append_then_fail)
        writer = threading.Thread(target=failing_write)
        writer.start()
        writer.join(1.0)
        assert writer.is_alive()  # its undo waits for the matrix's lock
        held.release.set()
        writer.join(60)
        assert not held.timed_out
        monkeypatch.setattr(Matrix, "append_columns", real_append)
    assert failed and not writer.is_alive()
    assert hub.store.open(NAME).feature_columns(9) == 8
    keys, row = hub.feature_values("GPL900", "p1")
    assert keys == [f"GSM{n}" for n in range(1, 10)]
    np.testing.assert_array_equal(row, expected_row(1, 9))
    hub.put_records(samples(10, 8))
    assert hub.store.open(NAME).feature_columns(17) == 16
    _, row = hub.feature_values("GPL900", "p1")
    np.testing.assert_array_equal(row, expected_row(1, 17))


def test_the_lock_keeps_compaction_apart_across_processes(tmp_path: Path) -> None:
    """A compaction waits while another process (here: another open file) holds the matrix's
    lock."""
    root = tmp_path / "store"
    matrix = make_store(root).open("m", create=True)
    model = Model("float32")
    build(matrix, model, [(10, 5), (13, 6)], seed=3)
    done: list[int] = []
    with feature_major_lock(root / "m"):
        compaction = threading.Thread(target=lambda: done.append(matrix.compact(13, 11)))
        compaction.start()
        compaction.join(1.0)
        assert compaction.is_alive() and not done
    compaction.join(60)
    assert done == [8]
    check_against(matrix, model)


@pytest.mark.parametrize("created_again", [False, True])
def test_a_compaction_that_waited_through_a_deletion_writes_nothing(
    tmp_path: Path, created_again: bool
) -> None:
    store = make_store(tmp_path / "store")
    matrix = store.open("m", create=True)
    build(matrix, Model("float32"), [(10, 5), (13, 6)], seed=3)
    errors: list[BaseException] = []

    def compact() -> None:
        try:
            matrix.compact(13, 11)
        except FileNotFoundError as exc:
            errors.append(exc)

    with feature_major_lock(store.root / "m"):
        compaction = threading.Thread(target=compact)
        compaction.start()
        compaction.join(0.5)
        assert compaction.is_alive()
        # Deleted (a rename under the lock, as MatrixStore.delete does), maybe created again.
        (store.root / "m").rename(store.root / ".deleted-m")
        if created_again:
            store.open("m", create=True)
    compaction.join(60)
    assert len(errors) == 1 and "m/zarr.json" in str(errors[0])
    assert ("deleted meanwhile" in str(errors[0])) is created_again
    if created_again:  # the new matrix is as created
        assert store.open("m").feature_columns(11) == 0


def test_import_files_compacts_as_file_by_file_imports_do(
    tmp_path: Path, geo_fixtures: Path
) -> None:
    """Three real families, each a matrix with complete stripes: one ``import_files`` call
    (compacting in the background) leaves the same matrix files as three ``import_file``."""
    from exprhub.hub import Hub
    from exprhub.ingest.importer import import_file, import_files

    files = [
        geo_fixtures / "gemma" / name
        for name in (
            "GSE2870_family.soft.gz",
            "GSE432_family.soft.gz",
            "GSE1623_family.soft.txt.gz",
        )
    ]
    together = small_chunked(Hub.init(tmp_path / "together"))
    import_files(together, files)
    one_by_one = small_chunked(Hub.init(tmp_path / "one_by_one"))
    for path in files:
        import_file(one_by_one, path)
    for hub in (together, one_by_one):
        marks = {n: hub.store.open(n).feature_columns(10_000) for n in hub.store.names()}
        assert marks == {"submitted/GPL1355": 16, "submitted/GPL285": 8, "submitted/GPL81": 8}
    assert snapshot(together.home / "matrices") == snapshot(one_by_one.home / "matrices")
    for name in ("GSM27446", "GSM53299", "GSM6592"):
        np.testing.assert_array_equal(
            together.sample_values(name)[1], one_by_one.sample_values(name)[1]
        )
    together.close()
    one_by_one.close()


KILLED_IMPORT = textwrap.dedent(
    """
    import os, sys, threading
    from exprhub.hub import Hub
    from exprhub.storage import arrays
    from tests.hub.test_append_tier import samples, small_chunked

    hub = small_chunked(Hub(sys.argv[1]))
    real_sync = arrays.sync_filesystem

    def dying_sync(path):
        # every chunk of the stripe written, not flushed, mark not moved; the importing
        # thread is writing the next samples meanwhile
        if threading.current_thread().name.startswith("exprhub-compaction"):
            os._exit(3)
        real_sync(path)

    arrays.sync_filesystem = dying_sync
    with hub.compacting_in_background():
        for first in range(10, 200, 3):
            hub.put_records(samples(first, 3))
    os._exit(0)
    """
)


def test_process_killed_mid_background_compaction(tmp_path: Path) -> None:
    """Killed while compacting in the background (and importing): reads are correct for
    every committed sample, and the next write resumes both."""
    from exprhub.hub import Hub

    hub = small_chunked(Hub.init(tmp_path / "hub"))
    hub.put_records(samples(1, 9))  # no compaction here: 9 columns, then 8 compacted
    assert hub.store.open(NAME).feature_columns(9) == 8
    hub.close()
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_IMPORT, str(tmp_path / "hub")],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 3, proc.stderr
    hub = small_chunked(Hub(tmp_path / "hub"))
    keys, row = hub.feature_values("GPL900", "p1")
    n = len(keys)
    assert 18 <= n < 199 and n % 3 == 0  # 9 + whole writes of 3 committed; 16 makes it due
    assert keys == [f"GSM{i}" for i in range(1, n + 1)]
    np.testing.assert_array_equal(row, expected_row(1, n))
    assert hub.store.open(NAME).feature_columns(n) == 8  # the killed one never moved it
    hub.put_records(samples(n + 1, 3))  # recovers the crashed write, then compacts
    n += 3
    assert hub.store.open(NAME).feature_columns(n) == n // 8 * 8
    _, row = hub.feature_values("GPL900", "p1")
    np.testing.assert_array_equal(row, expected_row(1, n))
    for name in (f"GSM{n}", "GSM5"):
        _, values = hub.sample_values(name)
        assert values[0] == float(name[3:])
    hub.close()


def test_close_waits_for_a_compaction_in_the_background(make_hub, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    hub = small_chunked(make_hub())
    held = HeldCompaction(monkeypatch)
    with hub.compacting_in_background():
        hub.put_records(samples(1, 9))
        assert held.started.wait(60)
        threading.Timer(0.3, held.release.set).start()
        hub.close()  # returns once the compaction has ended
        assert hub.store.open(NAME).feature_columns(9) == 8
