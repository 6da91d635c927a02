"""Benchmark: parsing GEO family SOFT files with exprhub's SoftReader vs GEOparse.

Writes a simulated GPL570-sized family SOFT file (default 400 samples x 54,675 probes, gzipped
like GEO's downloads) with exprhub's writer, then parses it, and the largest real family in
the fixtures, with each parser in its own subprocess. Wall time, CPU time and peak resident
memory (``ru_maxrss`` of the child, from ``os.wait4``) are measured per run; the best of
``--repeat`` runs is kept. Prints a JSON summary with the ratios exprhub / GEOparse and whether
they meet the targets (time and peak memory each at most 0.25 x GEOparse's).

Usage::

    python bench/parse.py                       # full size (~650 MB of SOFT text)
    python bench/parse.py --samples 20 --probes 5000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REAL = REPO.parent / "shared" / "fixtures" / "geo" / "gemma" / "GSE1623_family.soft.txt.gz"
TARGET_RATIO = 0.25


# --- the simulated family file ------------------------------------------------------------------


def _probe_ids(n: int, rng: np.random.Generator) -> np.ndarray:
    base = np.arange(1_000_000, 1_000_000 + n).astype(str)
    suffix = rng.choice(
        np.array(["_at", "_s_at", "_x_at", "_a_at"]), size=n, p=[0.7, 0.15, 0.1, 0.05]
    )
    ids = np.strings.add(base, suffix)
    ids[: min(n, 62)] = [f"AFFX-HUMGAPDH/M33197_{i}_at" for i in range(min(n, 62))]
    return ids


def _records(samples: int, probes: int, seed: int = 0) -> Iterator[object]:
    from exprhub.records import Database, Platform, Sample, Series, Table

    rng = np.random.default_rng(seed)
    ids = _probe_ids(probes, rng)
    yield Database(
        "GeoMiame",
        [
            ("Database_name", "Gene Expression Omnibus (GEO)"),
            ("Database_institute", "NCBI NLM NIH"),
        ],
    )
    series = Series("GSE999999", [("Series_title", "Simulated GPL570 series")])
    series.attributes += [("Series_sample_id", f"GSM{9_000_000 + i}") for i in range(samples)]
    series.attributes.append(("Series_platform_id", "GPL570"))
    yield series
    entrez = rng.integers(1, 120_000, size=probes).astype(str)
    multi = rng.random(probes) < 0.08
    entrez[multi] = np.strings.add(np.strings.add(entrez[multi], " /// "), entrez[multi][::-1])
    symbols = np.strings.add("GENE", rng.integers(1, 30_000, size=probes).astype(str))
    accessions = np.strings.add("NM_", rng.integers(1, 999_999, size=probes).astype(str))
    yield Platform(
        "GPL570",
        [
            ("Platform_title", "[HG-U133_Plus_2] Affymetrix Human Genome U133 Plus 2.0 Array"),
            ("Platform_organism", "Homo sapiens"),
            ("Platform_data_row_count", str(probes)),
        ],
        [
            ("ID", "Affymetrix Probe Set ID"),
            ("GB_ACC", "GenBank Accession Number"),
            ("Gene Symbol", "A gene symbol"),
            ("ENTREZ_GENE_ID", 'Entrez Gene Database UID DELIMIT:" /// "'),
        ],
        Table(
            ["ID", "GB_ACC", "Gene Symbol", "ENTREZ_GENE_ID"], [ids, accessions, symbols, entrez]
        ),
    )
    tissues = ["liver", "kidney", "brain", "lung"]
    for i in range(samples):
        values = np.round(rng.lognormal(6.0, 1.5, size=probes), 3).astype(str)
        pvalues = np.round(rng.random(probes), 5).astype(str)
        yield Sample(
            f"GSM{9_000_000 + i}",
            [
                ("Sample_title", f"simulated sample {i}"),
                ("Sample_geo_accession", f"GSM{9_000_000 + i}"),
                ("Sample_source_name_ch1", tissues[i % 4]),
                ("Sample_organism_ch1", "Homo sapiens"),
                ("Sample_characteristics_ch1", f"tissue: {tissues[i % 4]}"),
                ("Sample_characteristics_ch1", f"age: {20 + i % 50}"),
                ("Sample_characteristics_ch1", f"sex: {'female' if i % 2 else 'male'}"),
                ("Sample_platform_id", "GPL570"),
                ("Sample_data_row_count", str(probes)),
            ],
            [("ID_REF", ""), ("VALUE", "MAS5 signal"), ("DETECTION P-VALUE", "detection p")],
            Table(["ID_REF", "VALUE", "DETECTION P-VALUE"], [ids, values, pvalues]),
        )


def write_simulated(folder: Path, samples: int, probes: int) -> Path:
    """Write the simulated family file (streamed, one sample at a time)."""
    from exprhub.formats.soft import write_soft

    path = folder / "GSE999999_family.soft.gz"
    write_soft(_records(samples, probes), path)  # type: ignore[arg-type]
    return path


# --- the parsers, each run in a child process -------------------------------------------------


def _child(parser: str, path: str) -> None:
    start = time.perf_counter()
    if parser == "exprhub":
        from exprhub.formats.soft import SoftReader
        from exprhub.records import Sample

        n_samples = rows = cells = 0
        for record in SoftReader(path).records():
            n_samples += isinstance(record, Sample)
            table = record.table
            if table is not None:
                rows += table.n_rows
                cells += table.n_rows * table.n_cols
                for column in table.columns:  # touch every column
                    if len(column):
                        _ = (column[0], column[-1])
    else:
        import GEOparse

        gse = GEOparse.get_GEO(filepath=path, silent=True)
        n_samples = len(gse.gsms)
        tables = [g.table for g in gse.gsms.values()] + [p.table for p in gse.gpls.values()]
        rows = sum(len(t) for t in tables)
        cells = sum(t.size for t in tables)
    print(
        json.dumps(
            {
                "parse_s": time.perf_counter() - start,
                "samples": n_samples,
                "rows": rows,
                "cells": cells,
            }
        )
    )


def run_child(parser: str, path: Path) -> dict[str, float]:
    """Run one parser on one file in a fresh interpreter; wall, CPU and peak memory."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", parser, str(path)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{parser} failed on {path} (exit {proc.returncode})")
    result = json.loads(output.decode().strip().splitlines()[-1])
    result.update(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,
    )
    return result


def best_of(parser: str, path: Path, repeat: int) -> dict[str, float]:
    runs = [run_child(parser, path) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["wall_s"])
    best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in best.items()}


def compare(path: Path, repeat: int, geoparse: bool) -> dict[str, object]:
    ours = best_of("exprhub", path, repeat)
    entry: dict[str, object] = {"file": str(path), "size_mb": round(path.stat().st_size / 2**20, 1)}
    entry["exprhub"] = ours
    if geoparse:
        theirs = best_of("geoparse", path, repeat)
        entry["geoparse"] = theirs
        ratios = {
            key: round(ours[key] / theirs[key], 3)
            for key in ("wall_s", "parse_s", "cpu_s", "peak_rss_mb")
            if theirs[key]
        }
        entry["ratio_exprhub_over_geoparse"] = ratios
        entry["meets_targets"] = {
            "time": ratios.get("wall_s", 1.0) <= TARGET_RATIO,
            "memory": ratios.get("peak_rss_mb", 1.0) <= TARGET_RATIO,
        }
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--probes", type=int, default=54_675)
    parser.add_argument("--repeat", type=int, default=1, help="runs per parser; best kept")
    parser.add_argument("--real", type=Path, default=DEFAULT_REAL, help="a real family file")
    parser.add_argument(
        "--dir", type=Path, help="keep the simulated file here (reused when the sizes match)"
    )
    parser.add_argument("--no-geoparse", action="store_true")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return

    with tempfile.TemporaryDirectory() as scratch:
        folder = args.dir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        params = folder / "params.json"
        wanted = json.dumps({"samples": args.samples, "probes": args.probes})
        simulated = folder / "GSE999999_family.soft.gz"
        if not (
            args.dir and simulated.exists() and params.exists() and params.read_text() == wanted
        ):
            simulated = write_simulated(folder, args.samples, args.probes)
            params.write_text(wanted)
        summary: dict[str, object] = {
            "samples": args.samples,
            "probes": args.probes,
            "write_s": round(time.perf_counter() - start, 2),
            "cpus": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "targets": f"exprhub time and peak memory <= {TARGET_RATIO} x GEOparse's",
        }
        summary["simulated"] = compare(simulated, args.repeat, not args.no_geoparse)
        if args.real.exists():
            summary["real"] = compare(args.real, args.repeat, not args.no_geoparse)
            # GEOparse misses lower-case '^sample' blocks; our upper-case re-export is a fair test
            from exprhub.formats.soft import read_soft, write_soft

            export = folder / f"{args.real.name.split('_')[0]}_family.soft.gz"
            write_soft(read_soft(args.real), export)
            summary["real_reexported"] = compare(export, args.repeat, not args.no_geoparse)
        summary["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
