"""Benchmark: what each RNA-seq counts table attached to a series costs a hub.

Imports the real GSE29006 family (8 RNA-seq samples), then ``--tables`` simulated NCBI raw
counts tables of ``--genes`` genes (NCBI's human annotation has 39,376) for 6 of its samples,
each its own file and so its own counts matrix, as ``exprhub fetch`` brings one per series.
Prints, per table: the import's wall time, how much the SQLite database grew and how many
bytes of matrix chunk files were written (the values themselves), as JSON. The database grows
by the table's metadata and, before schema 0014, by one SQL row per gene of every table.

Usage::

    python bench/counts_tables.py --dir /tmp/cbench --tables 6
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sqlite3
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FAMILY = REPO.parent / "shared" / "fixtures" / "geo" / "gemma" / "GSE29006_family.soft.gz"
SAMPLES = [f"GSM7187{n:02d}" for n in range(7, 13)]  # 6 of GSE29006's 8 samples


def write_counts_table(path: Path, genes: int, seed: int) -> None:
    """An NCBI raw counts table (``GeneID`` then one column per GSM) of negative binomial
    counts."""
    rng = np.random.default_rng(seed)
    mu = np.exp2(rng.normal(5.0, 2.5, genes)).clip(0.1, 1e5)[:, None]
    counts = rng.negative_binomial(5, 5 / (5 + mu * rng.uniform(0.5, 1.5, len(SAMPLES))))
    lines = ["GeneID\t" + "\t".join(SAMPLES)]
    lines += [f"{g}\t" + "\t".join(map(str, row)) for g, row in enumerate(counts, start=1)]
    with gzip.open(path, "wt", compresslevel=6) as handle:
        handle.write("\n".join(lines) + "\n")


def database_bytes(home: Path) -> int:
    """The SQLite file's size with every committed page in it (the WAL checkpointed)."""
    with sqlite3.connect(home / "exprhub.sqlite") as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return (home / "exprhub.sqlite").stat().st_size


def tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/exprhub-counts-bench"))
    parser.add_argument("--tables", type=int, default=6)
    parser.add_argument("--genes", type=int, default=39_376)
    args = parser.parse_args()
    import exprhub

    tables = args.dir / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    home = args.dir / "hub"
    shutil.rmtree(home, ignore_errors=True)
    runs = []
    with exprhub.Hub.init(home) as hub:
        hub.import_files(FAMILY)
        for i in range(args.tables):
            path = tables / f"GSE29006_raw_counts_GRCh38.p13_NCBI.{args.genes}.{i}.tsv.gz"
            if not path.exists():
                write_counts_table(path, args.genes, seed=i)
            before_db, before_matrices = database_bytes(home), tree_bytes(home / "matrices")
            start = time.perf_counter()
            hub.import_files(path, series="GSE29006")
            runs.append(
                {
                    "import_s": round(time.perf_counter() - start, 3),
                    "file_bytes": path.stat().st_size,
                    "database_growth_bytes": database_bytes(home) - before_db,
                    "matrix_bytes": tree_bytes(home / "matrices") - before_matrices,
                }
            )
    print(
        json.dumps(
            {
                "exprhub": str(Path(exprhub.__file__).parent),
                "genes": args.genes,
                "samples_per_table": len(SAMPLES),
                "tables": runs,
                "database_bytes_at_end": database_bytes(home),
                "load_average": os.getloadavg(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
