"""Tests of the chunked matrix store (exprhub.storage.arrays)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exprhub.storage.arrays import AtomicFiles, Matrix, MatrixNotFound, MatrixStore

# Small chunks so that tests cross chunk edges in both dimensions of both layouts.
SMALL = {"feature_chunks": (4, 8), "sample_chunks": (3, 16)}


def make_store(root: Path, **kw: object) -> MatrixStore:
    return MatrixStore(root, **{**SMALL, **kw})  # type: ignore[arg-type]


def random_values(seed: int, shape: tuple[int, int], dtype: str, nan_rate: float = 0.1):
    rng = np.random.default_rng(seed)
    values = rng.lognormal(3.0, 1.0, size=shape).astype(dtype)
    values[rng.random(shape) < nan_rate] = np.nan
    return values


class Model:
    """The matrix as a dense numpy array, for comparison."""

    def __init__(self, dtype: str) -> None:
        self.data = np.full((0, 0), np.nan, dtype=dtype)
        self.n_rows = 0
        self.n_cols = 0

    def append(self, start: int, values: np.ndarray) -> None:
        rows, k = values.shape
        n_rows, n_cols = max(self.n_rows, rows), max(self.n_cols, start + k)
        grown = np.full((n_rows, n_cols), np.nan, dtype=self.data.dtype)
        grown[: self.n_rows, : self.n_cols] = self.data
        grown[:rows, start : start + k] = values
        self.data, self.n_rows, self.n_cols = grown, n_rows, n_cols


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def check_against(matrix: Matrix, model: Model) -> None:
    n_rows, n_cols = model.n_rows, model.n_cols
    expected = model.data
    assert matrix.capacity[0] >= n_rows and matrix.capacity[1] >= n_cols
    for i in sorted({0, n_rows // 2, n_rows - 1}) if n_rows else []:
        assert same(matrix.row(i, n_cols), expected[i])
    for j in sorted({0, n_cols // 2, n_cols - 1}) if n_cols else []:
        assert same(matrix.column(j, n_rows), expected[:, j])
    all_rows = np.arange(n_rows)
    assert same(matrix.rows(all_rows, n_cols), expected)
    assert same(matrix.columns(np.arange(n_cols), n_rows), expected)
    if n_rows and n_cols:
        pick_r = [*all_rows[::-2].tolist(), 0, 0]
        assert same(matrix.rows(pick_r, n_cols), expected[pick_r])
        pick_c = [n_cols - 1, 0, n_cols // 2, 0]
        assert same(matrix.columns(pick_c, n_rows), expected[:, pick_c])
    assert same(matrix.block(slice(0, n_rows), slice(0, n_cols)), expected)
    if n_rows and n_cols:  # tall and wide blocks, read from different layouts
        assert same(matrix.block(slice(0, n_rows), slice(0, 1)), expected[:, :1])
        assert same(matrix.block(slice(1, n_rows), slice(0, n_cols)), expected[1:])
    # Everything beyond the extent but within the capacity is unwritten.
    cap_r, cap_c = matrix.capacity
    whole = matrix.block(slice(0, cap_r), slice(0, cap_c))
    assert same(whole[:n_rows, :n_cols], expected)
    assert np.isnan(whole[n_rows:]).all() and np.isnan(whole[:, n_cols:]).all()


def is_chunk(path: Path) -> bool:
    """Whether ``path`` names a chunk file (``c.<i>.<j>``, or ``c/<i>/<j>`` in old matrices)."""
    return path.name.startswith("c.") or path.parent.parent.name == "c"


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def build(matrix: Matrix, model: Model, batches: list[tuple[int, int]], seed: int = 0) -> None:
    for n, (rows, k) in enumerate(batches):
        values = random_values(seed + n, (rows, k), str(matrix.dtype))
        start = model.n_cols
        matrix.append_columns(start, values)
        model.append(start, values)


batches_strategy = st.lists(
    st.tuples(st.integers(1, 30), st.integers(1, 20)), min_size=1, max_size=5
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=batches_strategy,
    dtype=st.sampled_from(["float32", "float64"]),
    seed=st.integers(0, 2**16),
    tier=st.booleans(),
)
def test_round_trip(
    tmp_path_factory: pytest.TempPathFactory, batches, dtype, seed, tier: bool
) -> None:
    root = tmp_path_factory.mktemp("store")
    store = make_store(root, append_tier=tier)
    matrix = store.open("submitted/GPL96", create=True, dtype=dtype)
    model = Model(dtype)
    build(matrix, model, batches, seed)
    check_against(matrix, model)
    # Reads after reopening, from a fresh store object.
    reopened = MatrixStore(root).open("submitted/GPL96")
    assert reopened.dtype == np.dtype(dtype)
    check_against(reopened, model)


def test_rows_grow_and_capacity_is_geometric(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    matrix = store.open("m", create=True)
    model = Model("float32")
    seen = set()
    for n in range(40):
        build(matrix, model, [(10 + n, 1)], seed=n)
        seen.add(matrix.capacity)
    check_against(matrix, model)
    assert matrix.capacity == (64, 64)
    assert len(seen) <= 5  # resized a handful of times, not on every append


def test_all_nan_and_empty_reads(tmp_path: Path) -> None:
    matrix = make_store(tmp_path).open("m", create=True)
    matrix.append_columns(0, np.full((5, 3), np.nan, dtype=np.float32))
    assert np.isnan(matrix.block(slice(0, 5), slice(0, 3))).all()
    assert matrix.rows([], 3).shape == (0, 3)
    assert matrix.columns([], 5).shape == (5, 0)
    assert matrix.row(2, 0).shape == (0,)
    with pytest.raises(IndexError):
        matrix.row(10_000, 3)
    with pytest.raises(IndexError):
        matrix.rows([1, -1], 3)
    with pytest.raises(IndexError):
        matrix.column(0, 10_000)


def test_names_exists_delete(tmp_path: Path) -> None:
    store = MatrixStore(tmp_path / "matrices")
    assert store.names() == []
    with pytest.raises(MatrixNotFound):
        store.open("refined/Homo sapiens")
    store.open("refined/Homo sapiens", create=True)
    store.open("submitted/GPL96", create=True, dtype="float64")
    store.open("submitted", create=True)
    assert store.names() == ["refined/Homo sapiens", "submitted", "submitted/GPL96"]
    assert store.exists("submitted/GPL96") and not store.exists("submitted/GPL97")
    assert store.open("submitted/GPL96").dtype == np.float64
    with pytest.raises(ValueError, match="dtype"):
        store.open("submitted/GPL96", create=True, dtype="float32")
    with pytest.raises(ValueError, match="float"):
        store.open("ints", create=True, dtype="int32")
    with pytest.raises(ValueError):
        store.open("", create=True)
    store.delete("submitted")
    assert store.names() == ["refined/Homo sapiens", "submitted/GPL96"]
    with pytest.raises(MatrixNotFound):
        store.delete("submitted")
    assert [p.name for p in (tmp_path / "matrices").iterdir() if p.name.startswith(".")] == []


def test_interrupted_create_is_invisible_and_recreated(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    matrix = store.open("m", create=True)
    matrix.append_columns(0, np.ones((3, 3), dtype=np.float32))
    # Simulate a create that died before writing the marker.
    (tmp_path / "m" / "zarr.json").write_text('{"zarr_format": 3, "node_type": "group"}')
    assert store.names() == [] and not store.exists("m")
    fresh = store.open("m", create=True)
    assert np.isnan(fresh.block(slice(0, 3), slice(0, 3))).all()


def test_discard_beyond_restores_exactly(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    matrix = store.open("m", create=True)
    model = Model("float32")
    build(matrix, model, [(10, 5), (13, 6)])
    before = snapshot(tmp_path)
    capacity = matrix.capacity
    # An uncommitted transaction: more columns, and rows growing well beyond the capacity.
    matrix.append_columns(model.n_cols, random_values(7, (70, 40), "float32"))
    assert matrix.capacity != capacity
    matrix.discard_beyond(model.n_rows, model.n_cols)
    assert matrix.capacity == capacity
    check_against(matrix, model)
    assert snapshot(tmp_path) == before
    check_against(MatrixStore(tmp_path).open("m"), model)


def test_discard_to_empty(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    matrix = store.open("m", create=True)
    matrix.append_columns(0, random_values(1, (20, 20), "float64"))
    matrix.discard_beyond(0, 0)
    check_against(matrix, Model("float32"))
    assert not [p for p in (tmp_path / "m").rglob("c.*") if not p.name.endswith(".partial")]


class InjectedFailure(RuntimeError):
    pass


@pytest.fixture(params=["one thread", "threads"])
def chunk_threads(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks written on the caller's thread, or shared among two threads even when few."""
    from exprhub.storage import chunk_writer

    if request.param == "threads":
        monkeypatch.setattr(chunk_writer, "WRITE_THREADS", 2)
        monkeypatch.setattr(chunk_writer, "_CHUNKS_PER_THREAD", 2)
    else:
        monkeypatch.setattr(chunk_writer, "WRITE_THREADS", 1)


@pytest.mark.parametrize("fail_after", [0, 1, 3, 7, 15])
def test_failure_mid_append_leaves_committed_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_after: int, chunk_threads: None
) -> None:
    store = make_store(tmp_path)
    matrix = store.open("m", create=True)
    model = Model("float32")
    build(matrix, model, [(10, 5), (12, 6)])  # extent (12, 11): chunks straddle the edges
    before = snapshot(tmp_path)
    committed = matrix.block(slice(0, model.n_rows), slice(0, model.n_cols))

    calls = {"n": 0}
    real_replace = AtomicFiles._replace

    def failing_replace(src: Path, dst: Path) -> None:
        if is_chunk(dst) and calls["n"] >= fail_after:
            raise InjectedFailure(f"injected failure after {calls['n']} chunk writes")
        calls["n"] += is_chunk(dst)
        real_replace(src, dst)

    real_new = AtomicFiles.write_new_file

    def failing_new(self: AtomicFiles, path: Path, data: bytes) -> None:
        if calls["n"] >= fail_after:  # chunks beyond the extent are written in place: torn
            path.write_bytes(bytes(data)[: len(data) // 2])
            raise InjectedFailure(f"injected failure after {calls['n']} chunk writes")
        calls["n"] += 1
        real_new(self, path, data)

    monkeypatch.setattr(AtomicFiles, "_replace", staticmethod(failing_replace))
    monkeypatch.setattr(AtomicFiles, "write_new_file", failing_new)
    with pytest.raises(InjectedFailure):
        matrix.append_columns(model.n_cols, random_values(9, (30, 20), "float32"))
    monkeypatch.undo()

    # No temporary file is left behind, committed cells are byte-identical in both layouts.
    assert not [p for p in tmp_path.rglob("*.partial")]
    assert same(matrix.block(slice(0, model.n_rows), slice(0, model.n_cols)), committed)
    check_committed(matrix, model)
    matrix.discard_beyond(model.n_rows, model.n_cols)
    check_against(matrix, model)
    assert snapshot(tmp_path) == before
    # And the matrix keeps working afterwards.
    build(matrix, model, [(14, 4)], seed=50)
    check_against(matrix, model)


def test_only_chunks_beyond_the_start_column_are_written_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(tmp_path, append_tier=False)  # both layouts written by the append
    matrix = store.open("m", create=True)
    in_place: list[Path] = []
    replaced: list[Path] = []
    real_new, real_replace = AtomicFiles.write_new_file, AtomicFiles._replace

    def note_new(self: AtomicFiles, path: Path, data: bytes) -> None:
        in_place.append(path)
        real_new(self, path, data)

    def note_replace(src: Path, dst: Path) -> None:
        replaced.append(Path(dst))
        real_replace(src, dst)

    monkeypatch.setattr(AtomicFiles, "write_new_file", note_new)
    monkeypatch.setattr(AtomicFiles, "_replace", staticmethod(note_replace))
    values = np.ones((10, 5), dtype=np.float32)
    matrix.append_columns(0, values)  # a new matrix: every chunk in place
    assert in_place and not [p for p in replaced if is_chunk(p)]
    in_place.clear()
    matrix.append_columns(5, np.ones((10, 20), dtype=np.float32))
    # Feature-major chunks are 8 samples wide, sample-major ones 3 samples tall: the chunks
    # holding samples 0-4 are replaced atomically, the ones starting at sample 5+ in place.
    for path in in_place:
        i, j = (int(x) for x in path.name.split(".")[1:])
        assert (j * 8 if path.parent.name == "by_feature" else i * 3) >= 5, path
    kept = {(p.parent.name, p.name) for p in replaced if is_chunk(p)}
    assert kept == {("by_feature", "c.0.0"), ("by_feature", "c.1.0"), ("by_feature", "c.2.0")} | {
        ("by_sample", "c.1.0")
    }


def check_committed(matrix: Matrix, model: Model) -> None:
    n_rows, n_cols = model.n_rows, model.n_cols
    assert same(matrix.rows(np.arange(n_rows), n_cols), model.data)
    assert same(matrix.columns(np.arange(n_cols), n_rows), model.data)


CRASH_SCRIPT = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    import numpy as np
    from exprhub.storage.arrays import AtomicFiles, MatrixStore

    root, fail_after = Path(sys.argv[1]), int(sys.argv[2])
    calls = [0]
    real = AtomicFiles._write_file

    def dying_write(self, path, data, exclusive):
        if calls[0] >= fail_after:
            # Leave a half-written temporary file, as a killed process would, then die.
            tmp = path.parent / f".{path.name}.crash.partial"
            tmp.write_bytes(bytes(memoryview(data))[: len(memoryview(data)) // 2])
            os._exit(3)
        calls[0] += 1
        real(self, path, data, exclusive)

    real_new = AtomicFiles.write_new_file

    def dying_new(self, path, data):
        if calls[0] >= fail_after:  # a chunk beyond the extent, written in place: torn
            path.write_bytes(bytes(memoryview(data))[: len(memoryview(data)) // 2])
            os._exit(3)
        calls[0] += 1
        real_new(self, path, data)

    AtomicFiles._write_file = dying_write
    AtomicFiles.write_new_file = dying_new
    matrix = MatrixStore(root, feature_chunks=(4, 8), sample_chunks=(3, 16)).open("m")
    rng = np.random.default_rng(5)
    matrix.append_columns(11, rng.random((30, 20)).astype("float32"))
    os._exit(0)
    """
)


@pytest.mark.parametrize("tier", [True, False], ids=["append tier", "both layouts"])
@pytest.mark.parametrize("fail_after", [0, 2, 9])
def test_process_killed_mid_append(tmp_path: Path, fail_after: int, tier: bool) -> None:
    store = make_store(tmp_path, append_tier=tier)
    matrix = store.open("m", create=True)
    model = Model("float32")
    build(matrix, model, [(10, 5), (12, 6)])
    before = snapshot(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, str(tmp_path), str(fail_after)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert proc.returncode == 3, proc.stderr
    assert snapshot(tmp_path) != before  # the crash left debris (.partial or torn chunks)
    reopened = MatrixStore(tmp_path).open("m")
    check_committed(reopened, model)
    reopened.discard_beyond(model.n_rows, model.n_cols)
    assert snapshot(tmp_path) == before


def test_concurrent_readers(tmp_path: Path) -> None:
    store = MatrixStore(tmp_path, feature_chunks=(4, 64), sample_chunks=(4, 64))
    matrix = store.open("m", create=True)
    model = Model("float32")
    build(matrix, model, [(100, 90), (120, 50)])
    errors: list[BaseException] = []

    def reader(seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            # 6 threads reading small chunks at once; each round reads a row, a column and 7 rows
            for _ in range(10):
                i, j = int(rng.integers(model.n_rows)), int(rng.integers(model.n_cols))
                assert same(matrix.row(i, model.n_cols), model.data[i])
                assert same(matrix.column(j, model.n_rows), model.data[:, j])
                idx = rng.integers(0, model.n_rows, 7)
                assert same(matrix.rows(idx, model.n_cols), model.data[idx])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(s,)) for s in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_reader_sees_growth_by_another_writer(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    reader = store.open("m", create=True)
    writer = make_store(tmp_path).open("m")
    values = random_values(3, (50, 40), "float32")
    writer.append_columns(0, values)
    assert same(reader.column(39, 50), values[:, 39])
    assert same(reader.row(49, 40), values[49])


def test_append_validates(tmp_path: Path) -> None:
    matrix = make_store(tmp_path).open("m", create=True)
    with pytest.raises(ValueError):
        matrix.append_columns(0, np.ones(3, dtype=np.float32))
    with pytest.raises(ValueError):
        matrix.append_columns(-1, np.ones((3, 1), dtype=np.float32))
    matrix.append_columns(0, np.ones((3, 0), dtype=np.float32))
    assert matrix.nbytes_on_disk() > 0


def test_chunk_files_are_the_ones_zarr_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_threads: None
) -> None:
    """Appends encode chunks themselves; the files must be byte-identical to zarr's for the
    same values, including partly and wholly NaN chunks, merged stripes and rollbacks."""
    from exprhub.storage import chunk_writer

    batches = [(10, 5), (13, 6), (30, 25), (7, 1)]
    nan_columns = np.full((13, 4), np.nan, dtype=np.float32)

    def build_all(root: Path) -> Model:
        matrix = make_store(root).open("m", create=True)
        model = Model("float32")
        build(matrix, model, batches, seed=3)
        matrix.append_columns(model.n_cols, nan_columns)
        model.append(model.n_cols, nan_columns)
        matrix.compact(model.n_rows, model.n_cols, whole=True)
        matrix.append_columns(model.n_cols, random_values(8, (40, 9), "float32"))
        matrix.discard_beyond(model.n_rows, model.n_cols)
        check_against(matrix, model)
        return model

    ours = build_all(tmp_path / "ours")
    assert (tmp_path / "ours" / "m" / "by_feature" / "c.0.0").exists()  # compacted, above
    monkeypatch.setattr(chunk_writer.ChunkCodec, "of", classmethod(lambda cls, array: None))
    theirs = build_all(tmp_path / "zarr")
    assert same(ours.data, theirs.data)
    assert snapshot(tmp_path / "ours") == snapshot(tmp_path / "zarr")


def test_interrupted_threaded_append_stops_every_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception in the caller's thread while chunk threads run (as KeyboardInterrupt
    would be) reaches it only after they stopped; the matrix then rolls back exactly."""
    from exprhub.storage import chunk_writer

    monkeypatch.setattr(chunk_writer, "WRITE_THREADS", 2)
    monkeypatch.setattr(chunk_writer, "_CHUNKS_PER_THREAD", 2)
    store = make_store(tmp_path)
    matrix = store.open("m", create=True)
    model = Model("float32")
    build(matrix, model, [(10, 5), (12, 6)])
    before = snapshot(tmp_path)
    real_join = threading.Thread.join
    running: list[threading.Thread] = []

    def interrupted_join(self: threading.Thread, timeout: float | None = None) -> None:
        if self.name.startswith("exprhub-chunks") and not running:
            running.append(self)
            raise InjectedFailure("interrupted")
        real_join(self, timeout)

    monkeypatch.setattr(threading.Thread, "join", interrupted_join)
    with pytest.raises(InjectedFailure):
        matrix.append_columns(model.n_cols, random_values(9, (60, 40), "float32"))
    monkeypatch.undo()
    assert not [t for t in threading.enumerate() if t.name.startswith("exprhub-chunks")]
    matrix.discard_beyond(model.n_rows, model.n_cols)
    assert snapshot(tmp_path) == before


def test_matrix_with_nested_chunk_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Matrices created before the flat chunk keys (c/<i>/<j>) are still appended to, read and
    rolled back."""
    from exprhub.storage import arrays

    monkeypatch.setattr(arrays, "_CHUNK_KEY_SEPARATOR", "/")
    matrix = make_store(tmp_path, append_tier=False).open("m", create=True)
    monkeypatch.undo()
    model = Model("float32")
    build(matrix, model, [(10, 5), (13, 6)])
    assert list((tmp_path / "m" / "by_feature" / "c").glob("*/*"))
    assert not list(tmp_path.rglob("c.*"))
    before = snapshot(tmp_path)
    matrix.append_columns(model.n_cols, random_values(7, (40, 30), "float32"))
    matrix.discard_beyond(model.n_rows, model.n_cols)
    assert snapshot(tmp_path) == before
    build(matrix, model, [(20, 9)], seed=11)
    check_against(MatrixStore(tmp_path).open("m"), model)


def test_fsync_store_round_trip(tmp_path: Path) -> None:
    matrix = make_store(tmp_path, fsync=True).open("m", create=True)
    model = Model("float32")
    build(matrix, model, [(10, 5), (21, 9)])
    check_against(matrix, model)
    matrix.discard_beyond(10, 5)
    assert not list(tmp_path.rglob("*.partial"))
