"""The append tier of the matrix store: appends write the sample-major array only, reads merge
it with the feature-major array, and compaction copies columns across (see docs/store.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from exprhub.storage.arrays import AtomicFiles, MatrixStore
from tests.storage.test_arrays import (
    SMALL,
    InjectedFailure,
    Model,
    build,
    check_against,
    is_chunk,
    snapshot,
)

# SMALL chunks: feature-major (4 features, 8 samples), sample-major (3 samples, 16 features).
WIDTH = SMALL["feature_chunks"][1]


def make_store(root: Path, **kw: object) -> MatrixStore:
    return MatrixStore(root, **{**SMALL, **kw})  # type: ignore[arg-type]


def feature_chunk_files(root: Path, name: str = "m") -> list[str]:
    directory = root / name / "by_feature"
    return sorted(p.name for p in directory.iterdir() if is_chunk(p)) if directory.exists() else []


def compacted(root: Path, name: str = "m") -> int:
    return int(json.loads((root / name / "compacted.json").read_text())["by_feature_columns"])


def test_appends_write_only_the_sample_major_array(tmp_path: Path) -> None:
    matrix = make_store(tmp_path).open("m", create=True)
    assert matrix.tiered
    model = Model("float32")
    build(matrix, model, [(10, 5), (13, 6), (30, 9)])
    assert feature_chunk_files(tmp_path) == []
    assert matrix.feature_columns(model.n_cols) == 0
    check_against(matrix, model)  # every read takes the columns from the sample-major array
    check_against(MatrixStore(tmp_path).open("m"), model)


def test_reads_merge_both_tiers_at_every_stage(tmp_path: Path) -> None:
    matrix = make_store(tmp_path).open("m", create=True)
    model = Model("float32")
    build(matrix, model, [(10, 5), (13, 6), (30, 9)], seed=1)  # 20 columns
    assert matrix.compact(model.n_rows, model.n_cols) == 16  # two complete 8-column stripes
    assert matrix.feature_columns(model.n_cols) == 16 == compacted(tmp_path)
    check_against(matrix, model)
    assert matrix.compact(model.n_rows, model.n_cols) == 0  # no complete stripe left
    build(matrix, model, [(31, 3), (12, 2)], seed=5)  # 25 columns, rows grow
    check_against(matrix, model)
    assert matrix.compact(model.n_rows, model.n_cols, whole=True) == 9
    assert matrix.feature_columns(model.n_cols) == 25
    check_against(matrix, model)
    build(matrix, model, [(40, 11)], seed=9)  # a partly compacted stripe, then more
    check_against(matrix, model)
    assert matrix.compact(model.n_rows, model.n_cols) == 7  # up to 32
    check_against(matrix, model)
    check_against(MatrixStore(tmp_path).open("m"), model)
    # A read asking for fewer columns than are compacted stops where it is told.
    assert np.array_equal(matrix.row(3, 10), model.data[3, :10], equal_nan=True)
    assert np.array_equal(matrix.rows([0, 3], 20), model.data[[0, 3], :20], equal_nan=True)


def test_complete_stripes_are_written_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compacting complete stripes creates new feature-major chunk files, replacing none; only
    a compaction that stopped inside a stripe makes the next one rewrite that stripe."""
    matrix = make_store(tmp_path).open("m", create=True)
    model = Model("float32")
    build(matrix, model, [(12, 7), (12, 9), (12, 10)], seed=2)  # 26 columns
    replaced: list[Path] = []
    real_replace = AtomicFiles._replace

    def note_replace(src: Path, dst: Path) -> None:
        replaced.append(Path(dst))
        real_replace(src, dst)

    monkeypatch.setattr(AtomicFiles, "_replace", staticmethod(note_replace))
    matrix.compact(model.n_rows, model.n_cols)
    assert not [p for p in replaced if is_chunk(p)]
    assert feature_chunk_files(tmp_path) == [f"c.{i}.{j}" for i in range(3) for j in range(3)]
    matrix.compact(model.n_rows, model.n_cols, whole=True)  # columns 24-25: new files
    assert not [p for p in replaced if is_chunk(p)]
    build(matrix, model, [(12, 3)], seed=3)
    matrix.compact(model.n_rows, model.n_cols, whole=True)  # 26-28: stripe 3 rewritten
    rewritten = {p.name for p in replaced if is_chunk(p) and p.parent.name == "by_feature"}
    assert rewritten == {"c.0.3", "c.1.3", "c.2.3"}
    check_against(matrix, model)


def test_discard_beyond_after_compaction(tmp_path: Path) -> None:
    matrix = make_store(tmp_path).open("m", create=True)
    model = Model("float32")
    build(matrix, model, [(10, 5), (13, 12)], seed=4)
    matrix.compact(model.n_rows, model.n_cols, whole=True)
    before = snapshot(tmp_path)
    matrix.append_columns(model.n_cols, np.ones((50, 30), dtype=np.float32))
    matrix.discard_beyond(model.n_rows, model.n_cols)
    assert snapshot(tmp_path) == before
    check_against(matrix, model)
    # Cutting below the compacted columns moves the mark back.
    matrix.discard_beyond(0, 0)
    assert compacted(tmp_path) == 0
    check_against(matrix, Model("float32"))


def test_matrices_without_the_tier_are_written_in_both_layouts(tmp_path: Path) -> None:
    """A matrix created before the append tier (no compacted.json) keeps its way: appends
    write both arrays, compaction has nothing to do."""
    make_store(tmp_path, append_tier=False).open("m", create=True)
    matrix = make_store(tmp_path).open("m")  # opened by a store that creates tiered ones
    assert not matrix.tiered
    model = Model("float32")
    build(matrix, model, [(10, 5), (13, 6)])
    assert feature_chunk_files(tmp_path)
    assert matrix.compact(model.n_rows, model.n_cols, whole=True) == 0
    assert not (tmp_path / "m" / "compacted.json").exists()
    check_against(matrix, model)


def reference_compaction(root: Path) -> dict[str, bytes]:
    """Files of the test matrix after an uninterrupted compaction."""
    matrix = make_store(root).open("m", create=True)
    model = Model("float32")
    build(matrix, model, [(10, 5), (13, 6), (30, 20)], seed=7)
    matrix.compact(model.n_rows, 8, whole=True)
    matrix.compact(model.n_rows, model.n_cols, whole=True)
    return snapshot(root)


def built_for_compaction(root: Path) -> tuple[MatrixStore, Model]:
    store = make_store(root)
    matrix = store.open("m", create=True)
    model = Model("float32")
    build(matrix, model, [(10, 5), (13, 6), (30, 20)], seed=7)
    matrix.compact(model.n_rows, 8, whole=True)  # a stripe compacted before
    return store, model


@pytest.mark.parametrize("fail_after", [0, 1, 4, 11])
def test_failure_mid_compaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_after: int
) -> None:
    """A compaction failing after some chunk writes leaves the mark where it was, reads
    correct, and the next compaction ends with the files of an uninterrupted one."""
    expected = reference_compaction(tmp_path / "reference")
    root = tmp_path / "store"
    store, model = built_for_compaction(root)
    matrix = store.open("m")
    calls = {"n": 0}
    real_replace, real_new = AtomicFiles._replace, AtomicFiles.write_new_file

    def failing_replace(src: Path, dst: Path) -> None:
        if is_chunk(dst) and calls["n"] >= fail_after:
            raise InjectedFailure("replace")
        calls["n"] += is_chunk(dst)
        real_replace(src, dst)

    def failing_new(self: AtomicFiles, path: Path, data: bytes) -> None:
        if calls["n"] >= fail_after:  # torn, as a crash would leave it
            path.write_bytes(bytes(data)[: len(data) // 2])
            raise InjectedFailure("in place")
        calls["n"] += 1
        real_new(self, path, data)

    monkeypatch.setattr(AtomicFiles, "_replace", staticmethod(failing_replace))
    monkeypatch.setattr(AtomicFiles, "write_new_file", failing_new)
    with pytest.raises(InjectedFailure):
        matrix.compact(model.n_rows, model.n_cols, whole=True)
    monkeypatch.undo()
    assert compacted(root) == 8
    check_against(matrix, model)
    check_against(MatrixStore(root).open("m"), model)
    assert matrix.compact(model.n_rows, model.n_cols, whole=True) == model.n_cols - 8
    assert snapshot(root) == {k.replace("reference", "store"): v for k, v in expected.items()}
    check_against(matrix, model)


KILL_SCRIPT = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from exprhub.storage import arrays
    from exprhub.storage.arrays import AtomicFiles, MatrixStore

    root, point, n_rows, n_cols = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    real_new = AtomicFiles.write_new_file
    writes = [0]

    def dying_new(self, path, data):
        if point.startswith("chunk") and writes[0] == int(point[5:]):
            path.write_bytes(bytes(data)[: len(data) // 2])  # torn
            os._exit(3)
        writes[0] += 1
        real_new(self, path, data)

    def dying_sync(path):
        os._exit(3)  # every chunk written, not yet flushed, mark not moved

    real_write_file = AtomicFiles.write_file

    def dying_mark(self, path, data):
        if path.name == "compacted.json":
            real_write_file(self, path, data)
            os._exit(3)  # the mark moved: the compaction is complete
        real_write_file(self, path, data)

    AtomicFiles.write_new_file = dying_new
    if point == "sync":
        arrays.sync_filesystem = dying_sync
    if point == "mark":
        AtomicFiles.write_file = dying_mark
    matrix = MatrixStore(root, feature_chunks=(4, 8), sample_chunks=(3, 16)).open("m")
    matrix.compact(n_rows, n_cols, whole=True)
    os._exit(0)
    """
)


@pytest.mark.parametrize("point", ["chunk0", "chunk5", "sync", "mark"])
def test_process_killed_mid_compaction(tmp_path: Path, point: str) -> None:
    """A compaction killed at several points: reads stay correct from either tier, and the
    next compaction (or a rollback to the committed extent) resumes and ends with the files of
    an uninterrupted compaction."""
    expected = reference_compaction(tmp_path / "reference")
    root = tmp_path / "store"
    _, model = built_for_compaction(root)
    before = snapshot(root)
    proc = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(root), point, str(model.n_rows), str(model.n_cols)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert proc.returncode == 3, proc.stderr
    assert snapshot(root) != before
    assert compacted(root) == (model.n_cols if point == "mark" else 8)
    matrix = MatrixStore(root).open("m")
    check_against(matrix, model)
    # Recovery after a crashed write cuts back to the committed extent: leftovers go.
    matrix.discard_beyond(model.n_rows, model.n_cols)
    check_against(matrix, model)
    matrix.compact(model.n_rows, model.n_cols, whole=True)
    assert snapshot(root) == {k.replace("reference", "store"): v for k, v in expected.items()}
    check_against(matrix, model)


# ---------------------------------------------------------------------- through the hub


def small_chunked(hub):  # type: ignore[no-untyped-def]
    """The hub, creating matrices with SMALL chunks (compaction every 8 samples)."""
    hub.store = make_store(hub.home / "matrices")
    return hub


def samples(first: int, count: int) -> list:  # type: ignore[type-arg]
    from tests.hub.test_hub import make_sample

    return [
        make_sample(f"GSM{n}", [str(n), str(n + 0.5), "null" if n % 3 else "7"])
        for n in range(first, first + count)
    ]


def expected_row(first: int, count: int) -> np.ndarray:
    return np.arange(first, first + count, dtype=np.float32)


def test_hub_compacts_complete_stripes_after_a_write(make_hub) -> None:  # type: ignore[no-untyped-def]
    from tests.hub.test_hub import make_platform

    hub = small_chunked(make_hub())
    hub.put_records([make_platform(), *samples(1, 5)])
    name = "submitted/GPL900"
    matrix = hub.store.open(name)
    assert matrix.feature_columns(5) == 0  # reads come from the append tier
    keys, row = hub.feature_values("GPL900", "p1")
    assert keys == [f"GSM{n}" for n in range(1, 6)]
    np.testing.assert_array_equal(row, expected_row(1, 5))
    hub.put_records(samples(6, 5))  # 10 columns: one complete stripe of 8 is compacted
    assert hub.store.open(name).feature_columns(10) == 8
    _, row = hub.feature_values("GPL900", "p1")
    np.testing.assert_array_equal(row, expected_row(1, 10))
    assert hub.compact() == {name: 2}
    assert hub.store.open(name).feature_columns(10) == 10
    _, row = hub.feature_values("GPL900", "p1")
    np.testing.assert_array_equal(row, expected_row(1, 10))
    features, values = hub.sample_values("GSM9")
    assert features == ["p1", "p2", "p3"]
    np.testing.assert_array_equal(values, [9, 9.5, 7])


def test_hub_compact_names_and_errors(make_hub) -> None:  # type: ignore[no-untyped-def]
    from exprhub.hub import HubError

    hub = small_chunked(make_hub())
    hub.put_records(samples(1, 3))
    assert hub.compact(["submitted/GPL900"]) == {"submitted/GPL900": 3}
    assert hub.compact() == {"submitted/GPL900": 0}
    with pytest.raises(HubError, match="no matrix 'nope'"):
        hub.compact(["nope"])


def test_a_failed_compaction_after_a_write_keeps_the_write(
    make_hub, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from exprhub.storage.arrays import Matrix

    hub = small_chunked(make_hub())

    def failing(self, n_rows, n_columns, *, whole=False):  # type: ignore[no-untyped-def]
        raise InjectedFailure("compaction")

    monkeypatch.setattr(Matrix, "compact", failing)
    hub.put_records(samples(1, 9))  # committed; the compaction failure is only logged
    monkeypatch.undo()
    _, row = hub.feature_values("GPL900", "p1")
    np.testing.assert_array_equal(row, expected_row(1, 9))
    hub.put_records(samples(10, 1))  # the next write compacts what is complete
    assert hub.store.open("submitted/GPL900").feature_columns(10) == 8
    _, row = hub.feature_values("GPL900", "p1")
    np.testing.assert_array_equal(row, expected_row(1, 10))


def test_writer_flush_is_idempotent(make_hub) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from exprhub.hub import schema as s

    hub = make_hub()
    with hub.writer() as writer:
        for record in samples(1, 2):
            writer.put(record)
        writer.flush()
        writer.flush()
        for record in samples(3, 1):
            writer.put(record)
        writer.flush()
    with hub.engine.connect() as connection:
        columns = connection.execute(select(func.count()).select_from(s.matrix_columns)).scalar()
        lists = connection.execute(select(s.feature_lists.c.n_features)).scalars().all()
    assert (columns, lists) == (3, [3])  # the one list the matrix points to, of 3 features
    assert hub.matrix_samples("submitted/GPL900") == [("GSM1", 0), ("GSM2", 1), ("GSM3", 2)]
    _, row = hub.feature_values("GPL900", "p2")
    np.testing.assert_array_equal(row, expected_row(1, 3) + 0.5)


def test_feature_rows_are_reused_only_while_sql_agrees(make_hub) -> None:  # type: ignore[no-untyped-def]
    hub = make_hub()
    hub.put_records(samples(1, 2))
    with pytest.raises(InjectedFailure), hub.writer() as writer:
        from tests.hub.test_hub import make_sample

        writer.put(make_sample("GSM50", ["1", "2"], ["p1", "brand-new"]))
        raise InjectedFailure("rolled back")
    hub.put_records([make_sample("GSM51", ["3", "4"], ["other-new", "p2"])])
    assert hub.matrix_features("submitted/GPL900") == ["p1", "p2", "p3", "other-new"]
    # the longer list replaced the matrix's list, which no matrix points to any more
    from sqlalchemy import select

    from exprhub.hub import schema as s

    with hub.engine.connect() as connection:
        lists = connection.execute(select(s.feature_lists.c.n_features)).scalars().all()
    assert lists == [4]
    _, values = hub.sample_values("GSM51")
    np.testing.assert_array_equal(values, [np.nan, 4, np.nan, 3])


def test_compaction_due(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    matrix = store.open("m", create=True)
    model = Model("float32")
    build(matrix, model, [(10, 7)])
    assert not store.compaction_due("m", 7)
    build(matrix, model, [(10, 2)])
    assert store.compaction_due("m", 9)
    matrix.compact(model.n_rows, model.n_cols)
    assert not store.compaction_due("m", 9)
    make_store(tmp_path, append_tier=False).open("legacy", create=True)
    assert not store.compaction_due("legacy", 100)


def test_rows_for_maps_known_new_and_repeated_features() -> None:
    from exprhub.hub import MatrixBuffer
    from exprhub.records.table import as_string_array

    state = MatrixBuffer(1, "m", 3, 0, {"p1": 0, "p2": 1, "p3": 2})
    ids = as_string_array(["p2", "new", "p1", "new", "other"])
    assert state.rows_for(ids).tolist() == [1, 3, 0, 3, 4]
    assert state.new_features == ["new", "other"]
    assert state.rows_for(as_string_array(["other", "p3"])).tolist() == [4, 2]
    assert state.n_rows == 5


def test_long_lines_read_on_two_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from exprhub.storage import matrix_reads

    monkeypatch.setattr(matrix_reads, "READ_THREADS", 2)
    monkeypatch.setattr(matrix_reads, "_PARALLEL_READ_CHUNKS", 2)
    matrix = make_store(tmp_path).open("m", create=True)
    model = Model("float32")
    build(matrix, model, [(30, 20), (33, 21), (10, 9)], seed=12)
    matrix.compact(model.n_rows, model.n_cols)
    check_against(matrix, model)
    # A chunk that cannot be decoded fails the read once both threads have stopped.
    chunk = sorted((tmp_path / "m" / "by_feature").glob("c.0.*"))[-1]
    chunk.write_bytes(b"not blosc")
    with pytest.raises(Exception):  # noqa: B017 - whatever numcodecs raises
        matrix.row(0, model.n_cols)


def test_append_after_another_object_shrank_the_matrix(tmp_path: Path) -> None:
    """A Matrix object whose arrays are stale (another object rolled the capacity back)
    re-reads the metadata before appending instead of writing beyond the arrays' shape."""
    store = make_store(tmp_path)
    first = store.open("m", create=True)
    model = Model("float32")
    build(first, model, [(10, 5)])
    first.append_columns(5, np.ones((40, 40), dtype=np.float32))  # capacity grows
    other = store.open("m")
    other.discard_beyond(model.n_rows, model.n_cols)  # and shrinks back
    build(first, model, [(12, 20)], seed=3)
    check_against(MatrixStore(tmp_path).open("m"), model)


def test_columns_written_in_the_background_land_with_the_rest(make_hub) -> None:  # type: ignore[no-untyped-def]
    hub = small_chunked(make_hub())
    with hub.writer() as writer:
        for record in samples(1, 3):
            writer.put(record)
        writer.write_matrices_in_background()
        for record in samples(4, 2):  # added while the first three are being written
            writer.put(record)
        writer.write_matrices_in_background()
        writer.put(samples(6, 1)[0])
    assert hub.matrix_samples("submitted/GPL900") == [(f"GSM{n}", n - 1) for n in range(1, 7)]
    _, row = hub.feature_values("GPL900", "p1")
    np.testing.assert_array_equal(row, expected_row(1, 6))


@pytest.mark.parametrize("where", ["in the background write", "after it, in the block"])
def test_a_failure_with_columns_written_in_the_background_undoes_the_write(
    make_hub, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:  # type: ignore[no-untyped-def]
    from exprhub.storage.arrays import Matrix
    from tests.hub.test_hub import hub_snapshot

    hub = small_chunked(make_hub())
    hub.put_records(samples(1, 2))
    before = hub_snapshot(hub)
    files_before = sorted(p.name for p in hub.store.root.rglob("*") if p.is_file())
    if where == "in the background write":
        append = Matrix.append_columns

        def failing(self, start, values):  # type: ignore[no-untyped-def]
            append(self, start, values[:, :1])  # part of it on disk, then the failure
            raise InjectedFailure("append")

        monkeypatch.setattr(Matrix, "append_columns", failing)
    with pytest.raises(InjectedFailure), hub.writer() as writer:
        for record in samples(3, 4):
            writer.put(record)
        writer.write_matrices_in_background()
        if where != "in the background write":
            raise InjectedFailure("the block")
    monkeypatch.undo()
    assert hub_snapshot(hub) == before
    assert sorted(p.name for p in hub.store.root.rglob("*") if p.is_file()) == files_before
    _, row = hub.feature_values("GPL900", "p1")
    np.testing.assert_array_equal(row, expected_row(1, 2))
    hub.put_records(samples(3, 1))  # the next write appends where the committed ones end
    _, row = hub.feature_values("GPL900", "p1")
    np.testing.assert_array_equal(row, expected_row(1, 3))


def test_a_forked_child_writes_through_threads_of_its_own(make_hub) -> None:  # type: ignore[no-untyped-def]
    """The threads kept for kept files and matrix columns are the parent's: a child forked
    after they started starts its own (else its writes would wait for ever)."""
    import os
    import time

    hub = small_chunked(make_hub())
    with hub.writer() as writer:  # the parent's threads are running now
        writer.put(samples(1, 1)[0])
        writer.write_matrices_in_background()
    pid = os.fork()
    if pid == 0:  # the child: write, and report by exit status
        code = 1
        try:
            hub.engine.dispose(close=False)  # the parent's connections stay the parent's
            with hub.writer() as writer:
                writer.put(samples(2, 1)[0])
                writer.write_matrices_in_background()
            code = 0
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if done[0] == 0:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child's write never finished")
    assert os.waitstatus_to_exitcode(done[1]) == 0
    assert hub.matrix_samples("submitted/GPL900") == [("GSM1", 0), ("GSM2", 1)]
