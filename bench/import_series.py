"""Benchmark: importing many small series onto one platform, and small families, into a hub.

Three measurements (issue #14), each printed as JSON:

``series``
    200 simulated 20-sample family files (one 22,283-probe platform, MAS5-like values with one
    decimal) imported by one ``import_files`` call into an empty hub, then the same again into
    a hub whose platform already holds 10,000 samples. Reports samples/s, the time of the first
    and the last 20 files (target: last / first <= 1.25), the matrix bytes written per imported
    sample against the compressed size of its values (target <= 3), and one-row / one-sample
    reads right after the import (before any explicit compaction). Each is run with the
    record tables stored through a child process (the default for 8 files or more) and
    through a thread (``--tables``), alternating; the targets are judged on the first.
``family``
    A simulated family shaped like a typical real series (34 samples on two platforms of 22,283
    and 22,645 probes) and the real GSE1623 family: import into an empty hub against GEOparse's
    parse of the same file, each in a fresh subprocess, alternating, best of ``--repeat``
    (target: import <= 0.75 x GEOparse). Judged on each child's time to its result (``done_s``:
    interpreter start-up, module imports and the work; the interpreter's exit is reported as
    ``wall_s``). GEOparse reads none of GSE1623's lower-case sample blocks, so, as in
    ``bench/parse.py``, GSE1623 is judged on exprhub's upper-case re-export of it (both tools
    read that file); the original is reported beside it.

The machine is shared: compare figures taken in the same run, and see the CPU times.

Usage::

    python bench/import_series.py series --dir /tmp/sbench       # files kept for reruns
    python bench/import_series.py family --dir /tmp/sbench --repeat 3
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "fixtures" / "geo" / "gemma" / "GSE1623_family.soft.txt.gz"
SERIES_TARGET = 100.0  # samples/s
DRIFT_TARGET = 1.25
AMPLIFICATION_TARGET = 3.0
FAMILY_TARGET = 0.75
ROW_TARGET_MS, SAMPLE_TARGET_MS = 50.0, 20.0


# --- simulated files ----------------------------------------------------------------------------


def _probe_ids(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.arange(1_000_000, 1_000_000 + n).astype(str)
    suffix = rng.choice(np.array(["_at", "_s_at", "_x_at", "_a_at"]), size=n)
    return np.strings.add(base, suffix)


def _platform(accession: str, probes: int, seed: int) -> Any:
    from exprhub.records import Platform, Table

    rng = np.random.default_rng(seed)
    ids = _probe_ids(probes, seed)
    symbols = np.strings.add("GENE", rng.integers(1, 30_000, size=probes).astype(str))
    entrez = rng.integers(1, 120_000, size=probes).astype(str)
    return Platform(
        accession,
        [
            ("Platform_title", f"Simulated array {accession}"),
            ("Platform_geo_accession", accession),
            ("Platform_organism", "Homo sapiens"),
            ("Platform_last_update_date", "Jun 01 2020"),
            ("Platform_data_row_count", str(probes)),
        ],
        [("ID", "Probe set"), ("Gene Symbol", "symbol"), ("ENTREZ_GENE_ID", "Entrez")],
        Table(["ID", "Gene Symbol", "ENTREZ_GENE_ID"], [ids, symbols, entrez]),
    )


def _family(
    series: str, platforms: list[tuple[str, int]], samples: list[tuple[str, str]], seed: int
) -> Iterator[Any]:
    """Records of one family: the series, its platforms (full tables, as GEO writes them) and
    its samples ``(accession, platform)`` with MAS5-like values (one decimal)."""
    from exprhub.records import Sample, Series, Table

    rng = np.random.default_rng(seed)
    record = Series(series, [("Series_title", f"Simulated series {series}")])
    record.attributes += [("Series_geo_accession", series)]
    record.attributes += [("Series_sample_id", acc) for acc, _ in samples]
    record.attributes += [("Series_platform_id", acc) for acc, _ in platforms]
    yield record
    probes = dict(platforms)
    for accession, n in platforms:
        yield _platform(accession, n, seed=n)
    for i, (accession, platform) in enumerate(samples):
        n = probes[platform]
        values = np.round(rng.lognormal(6.0, 1.5, size=n), 1).astype(str)
        calls = rng.choice(np.array(["P", "A", "M"]), size=n)
        yield Sample(
            accession,
            [
                ("Sample_title", f"{series} sample {i}"),
                ("Sample_geo_accession", accession),
                ("Sample_organism_ch1", "Homo sapiens"),
                ("Sample_characteristics_ch1", f"tissue: {['liver', 'brain'][i % 2]}"),
                ("Sample_platform_id", platform),
                ("Sample_last_update_date", "Jun 01 2020"),
                ("Sample_data_row_count", str(n)),
            ],
            [("ID_REF", ""), ("VALUE", "MAS5 signal"), ("ABS_CALL", "call")],
            Table(["ID_REF", "VALUE", "ABS_CALL"], [_probe_ids(n, n), values, calls]),
        )


def write_series_files(folder: Path, count: int, first: int = 1) -> list[Path]:
    """``count`` 20-sample families on GPL96000 (22,283 probes); existing files are kept."""
    from exprhub.formats.soft import write_soft

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for s in range(first, first + count):
        path = folder / f"GSE{960000 + s}_family.soft.gz"
        if not path.exists():
            samples = [(f"GSM{9600000 + s * 20 + i}", "GPL96000") for i in range(20)]
            records = _family(f"GSE{960000 + s}", [("GPL96000", 22_283)], samples, seed=s)
            tmp = path.with_suffix(".tmp.gz")
            write_soft(records, tmp)
            tmp.replace(path)
        paths.append(path)
    return paths


def write_typical_family(folder: Path) -> Path:
    """34 samples on two platforms (22,283 and 22,645 probes), like GSE1623's shape."""
    from exprhub.formats.soft import write_soft

    path = folder / "GSE970001_family.soft.gz"
    if not path.exists():
        samples = [(f"GSM97000{i:02d}", "GPL97001" if i < 17 else "GPL97002") for i in range(34)]
        platforms = [("GPL97001", 22_283), ("GPL97002", 22_645)]
        write_soft(_family("GSE970001", platforms, samples, seed=7), path)
    return path


# --- measuring ----------------------------------------------------------------------------------


class WriteCounter:
    """Counts the bytes the matrix store writes (chunk files and metadata)."""

    def __init__(self) -> None:
        try:
            from exprhub.storage.atomic_store import AtomicFiles as writer_class
        except ImportError:  # the code before the store's writes moved out of zarr
            from exprhub.storage.atomic_store import (  # type: ignore[attr-defined,no-redef]
                AtomicLocalStore as writer_class,
            )

        self.bytes = 0
        counter = self
        real_file, real_new = writer_class._write_file, writer_class.write_new_file

        def write_file(store: Any, path: Path, data: Any, exclusive: bool) -> None:
            counter.bytes += memoryview(data).nbytes
            real_file(store, path, data, exclusive)

        def write_new_file(store: Any, path: Path, data: bytes) -> None:
            counter.bytes += len(data)
            real_new(store, path, data)

        writer_class._write_file = write_file  # type: ignore[method-assign]
        writer_class.write_new_file = write_new_file  # type: ignore[method-assign]


def compressed_size(values: np.ndarray) -> int:
    """Bytes of ``values`` (features x samples) compressed alone, 16 samples at a time, with
    the store's codec (blosc lz4 level 5, byte shuffle)."""
    from numcodecs import Blosc

    codec = Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE)
    block = np.ascontiguousarray(values.T, dtype=np.float32)
    return sum(len(codec.encode(block[i : i + 16])) for i in range(0, block.shape[0], 16))


def prefill(hub: Any, files: list[Path], columns: int) -> None:
    """Give the platform ``columns`` samples before the measured import: the platform record
    and ``columns`` synthetic sample columns, written through the hub writer."""
    from exprhub.formats.soft import SoftReader
    from exprhub.hub import submitted_matrix_name
    from exprhub.records import Platform

    platform = next(r for r in SoftReader(files[0]).records() if isinstance(r, Platform))
    ids = platform.table.columns[0] if platform.table is not None else None
    rng = np.random.default_rng(1)
    with hub.writer() as writer:
        writer.put(platform)
        state = writer.matrix(submitted_matrix_name(platform.key), "submitted", platform.key)
        rows = state.rows_for(ids)
        for j in range(columns):
            values = np.round(rng.lognormal(6.0, 1.5, size=len(rows)), 1).astype(np.float32)
            writer.add_column(state, f"GSM8{j:07d}", rows, values)


def import_run(
    files: list[Path],
    prefilled: int,
    workdir: Path,
    tier: bool,
    started: list[float],
    tables: str = "process",
) -> dict[str, Any]:
    """Import ``files`` in one call into a new hub (its platform given ``prefilled`` samples
    first), the record tables stored by a child process or a thread (``tables``); ``started``
    receives the time the import began."""
    from exprhub.hub import Hub
    from exprhub.ingest.importer import import_files
    from exprhub.storage.arrays import MatrixStore

    counter = WriteCounter()
    home = Path(tempfile.mkdtemp(prefix=f"hub-{prefilled}-{tier}-{tables}-", dir=workdir))
    hub = Hub.init(home)
    hub.store = MatrixStore(home / "matrices", append_tier=tier)
    if prefilled:
        prefill(hub, files, prefilled)
        hub.compact()
    os.sync()
    counter.bytes = 0
    start, cpu, thread = time.perf_counter(), time.process_time(), time.thread_time()
    children = _children_cpu()
    started.append(start)
    if "table_process" in inspect.signature(import_files).parameters:
        results = import_files(hub, files, table_process=tables == "process")
    else:  # the code before the table process
        results = import_files(hub, files)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    thread = time.thread_time() - thread
    children = _children_cpu() - children
    written = counter.bytes
    samples = sum(r.by_type.get("GSM", {}).get("added", 0) for r in results)
    name = "submitted/GPL96000"
    with hub.engine.connect() as connection:
        from sqlalchemy import select

        from exprhub.hub import schema as s

        n_rows, n_cols = connection.execute(
            select(s.matrices.c.n_rows, s.matrices.c.n_columns).where(s.matrices.c.name == name)
        ).one()
    matrix = hub.store.open(name)
    imported = matrix.block(slice(0, n_rows), slice(n_cols - samples, n_cols))
    size = compressed_size(imported)
    reads = read_times(matrix, n_rows, n_cols)
    hub.close()
    return {
        "tables": tables,
        "append_tier": tier,
        "prefilled_samples": prefilled,
        "files": len(files),
        "samples": samples,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "importing_thread_cpu_ms_per_sample": round(thread / samples * 1e3, 2),
        "process_cpu_ms_per_sample": round(cpu / samples * 1e3, 2),
        "table_process_cpu_ms_per_sample": round(children / samples * 1e3, 2),
        "samples_per_s": round(samples / wall, 1),
        "matrix_bytes_written": written,
        "compressed_bytes_of_values": size,
        "write_amplification": round(written / size, 2),
        "compacted_columns": matrix.feature_columns(n_cols),
        "columns": n_cols,
        **reads,
    }


def _children_cpu() -> float:
    """CPU seconds of this process's ended children (the table process, once stopped)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def read_times(matrix: Any, n_rows: int, n_cols: int) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    rows = rng.integers(0, n_rows, size=30)
    cols = rng.integers(0, n_cols, size=30)
    for i in rows[:5]:
        matrix.row(int(i), n_cols)
    row_ms, col_ms = [], []
    for i in rows:
        t = time.perf_counter()
        matrix.row(int(i), n_cols)
        row_ms.append((time.perf_counter() - t) * 1e3)
    for j in cols:
        t = time.perf_counter()
        matrix.column(int(j), n_rows)
        col_ms.append((time.perf_counter() - t) * 1e3)
    return {
        "row_read_ms_median": round(float(np.median(row_ms)), 2),
        "row_read_ms_p95": round(float(np.percentile(row_ms, 95)), 2),
        "sample_read_ms_median": round(float(np.median(col_ms)), 2),
        "sample_read_ms_p95": round(float(np.percentile(col_ms, 95)), 2),
    }


def timed_per_file(
    files: list[Path], prefilled: int, workdir: Path, tier: bool = True, tables: str = "process"
) -> dict[str, Any]:
    """The run above, with the time of each file taken from the record callback."""
    from exprhub.ingest import importer

    stamps: dict[Path, float] = {}
    # what import_files calls for each file (import_file in code before 2026-12-07 17:00)
    name = "_import_file" if hasattr(importer, "_import_file") else "import_file"
    real = getattr(importer, name)

    def stamped(hub: Any, path: Any, **kw: Any) -> Any:
        result = real(hub, path, **kw)
        stamps[Path(path)] = time.perf_counter()
        return result

    setattr(importer, name, stamped)
    started: list[float] = []
    try:
        summary = import_run(files, prefilled, workdir, tier, started, tables)
    finally:
        setattr(importer, name, real)
    per_file = np.diff([started[0], *(stamps[p] for p in files)])
    first, last = float(per_file[:20].sum()), float(per_file[-20:].sum())
    summary.update(
        {
            "first_20_files_s": round(first, 2),
            "last_20_files_s": round(last, 2),
            "last_over_first": round(last / first, 2),
        }
    )
    return summary


def series(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(args.dir) / "series"
    files = write_series_files(folder, args.files)
    with tempfile.TemporaryDirectory(prefix="exprhub-series-", dir=args.dir) as tmp:
        runs = [
            timed_per_file(files, prefilled, Path(tmp), args.tier, tables)
            for _ in range(args.rounds)
            for prefilled in args.prefilled
            for tables in args.tables
        ]
    judged = [r for r in runs if r["tables"] == "process"] or runs  # the default of 8+ files
    verdict = {
        "samples_per_s": all(r["samples_per_s"] >= SERIES_TARGET for r in judged),
        "last_over_first": all(r["last_over_first"] <= DRIFT_TARGET for r in judged),
        "write_amplification": all(
            r["write_amplification"] <= AMPLIFICATION_TARGET for r in judged
        ),
    }
    return {"runs": runs, "meets_targets": verdict, "load_average": os.getloadavg()}


# --- families against GEOparse ------------------------------------------------------------------

CHILD_IMPORT = """
import sys, time
from exprhub.hub import Hub
from exprhub.ingest.importer import import_file
with Hub.init(sys.argv[2]) as hub:
    records = import_file(hub, sys.argv[1]).records
print(records, time.time() - float(sys.argv[-1]))
sys.stdout.flush()
"""

CHILD_GEOPARSE = """
import sys, time
import GEOparse
gse = GEOparse.get_GEO(filepath=sys.argv[1], silent=True)
print(len(gse.gsms), time.time() - float(sys.argv[-1]))
sys.stdout.flush()
"""


def run_child(code: str, *args: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter: its wall time to exit (``wall_s``), to having its
    result (``done_s``: start-up, module imports and the work, not the interpreter's exit)
    and its CPU time."""
    os.sync()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    started = time.time()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args, repr(started)], stdout=subprocess.PIPE, env=env
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status or proc.stdout is None:
        raise SystemExit(f"child failed ({status})")
    out, done = proc.stdout.read().decode().split()[-2:]
    return {
        "done_s": round(float(done), 3),
        "wall_s": round(wall, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "out": out,
    }


def reexport(real: Path, folder: Path) -> Path:
    """The real family written again by exprhub (upper-case ``^SAMPLE`` blocks, LF line ends):
    GEOparse reads none of the original's lower-case sample blocks."""
    from exprhub.formats.soft import read_soft, write_soft

    export = folder / f"{real.name.split('_')[0]}_family.reexported.soft.gz"
    write_soft(read_soft(real), export)
    return export


def compare_family(path: Path, repeat: int, folder: Path) -> dict[str, Any]:
    """Import ``path`` into an empty hub (in ``folder``) against GEOparse's parse of it,
    alternating in fresh processes; the best of ``repeat`` of each."""
    imports, parses, rounds = [], [], []
    for _ in range(repeat):
        parses.append(run_child(CHILD_GEOPARSE, str(path)))
        with tempfile.TemporaryDirectory(prefix="exprhub-family-", dir=folder) as tmp:
            imports.append(run_child(CHILD_IMPORT, str(path), str(Path(tmp) / "hub")))
        rounds.append(round(imports[-1]["done_s"] / parses[-1]["done_s"], 3))
    best_import = min(imports, key=lambda r: r["done_s"])
    best_parse = min(parses, key=lambda r: r["done_s"])
    ratio = best_import["done_s"] / best_parse["done_s"]
    wall = min(r["wall_s"] for r in imports) / min(r["wall_s"] for r in parses)
    return {
        "file": str(path),
        "import": best_import,
        "geoparse_parse": best_parse,
        "import_over_geoparse": round(ratio, 3),
        "by_round": rounds,
        "import_over_geoparse_wall_to_exit": round(wall, 3),
        "meets_target": ratio <= FAMILY_TARGET,
    }


def family(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    export = reexport(REAL, folder)
    out: dict[str, Any] = {
        "simulated_34x2": compare_family(write_typical_family(folder), args.repeat, folder),
        # judged: GEOparse reads the re-export's 8 samples and platform (as bench/parse.py)
        "GSE1623_reexported": compare_family(export, args.repeat, folder),
        # not judged: GEOparse reads 0 of the original's samples ("out")
        "GSE1623_original": compare_family(REAL, args.repeat, folder),
    }
    out["meets_targets"] = (
        out["simulated_34x2"]["meets_target"] and out["GSE1623_reexported"]["meets_target"]
    )
    import exprhub

    out["exprhub"] = str(Path(exprhub.__file__).parent)  # the code measured (PYTHONPATH)
    out["load_average"] = os.getloadavg()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["series", "family"])
    parser.add_argument("--dir", default=tempfile.gettempdir() + "/exprhub-series-bench")
    parser.add_argument("--files", type=int, default=200, help="series files (default 200)")
    parser.add_argument(
        "--prefilled",
        type=int,
        nargs="+",
        default=[0, 10_000],
        help="samples on the platform before the import, one run each (default 0 10000)",
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--tables",
        nargs="+",
        choices=["process", "thread"],
        default=["process", "thread"],
        help="series: store record tables through a child process and/or a thread, one run "
        "each, alternating (default both)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="series: rounds of the runs")
    parser.add_argument(
        "--no-tier",
        dest="tier",
        action="store_false",
        help="new matrices written in both layouts at each append (the layout before #14)",
    )
    args = parser.parse_args()
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    result = series(args) if args.what == "series" else family(args)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
