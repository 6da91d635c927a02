"""Benchmark profile neighbours, flags and profiles (issue 17: neighbours for a 22,000-probe x
17-sample DataSet <= 1 s; a profile chart page <= 200 ms).

Two parts, one JSON summary on stdout:

- ``matrix``: a random log-normal ``--probes`` x ``--samples`` matrix (seed 0). ``zscore_s``:
  z-scoring every row once; ``neighbours_s``: one probe's neighbours (r with every row, best
  ``--count`` with r >= 0.7) on the z-scored matrix; ``cold_neighbours_s``: both together
  (what the first request on a DataSet pays); ``flags_s``: one-way ANOVA + BH of every row
  across two groups. Best of ``--repeat``.
- ``gds`` (with ``--gds GDS507.soft.gz``, default: the shared fixture when present): the
  real DataSet imported into a temporary hub; ``neighbours_cold_s`` is
  ``Hub.profile_neighbours`` of a gene symbol right after the import (reading its 22,645 x 17
  table, log2, z-scoring, one query, and building the probe -> gene cache from the DataSet's
  IDENTIFIER column), ``neighbours_warm_s`` the next call, ``neighbours_cold_cached_s`` the
  same in a fresh process (memory caches emptied, the probe -> gene cache file present) and
  ``neighbours_cold_by_probe_s`` by probe id (no gene look-up); ``profile_route_ms``:
  ``GET /api/v1/profiles/GDS507/{gene}`` (the JSON behind the chart) through the ASGI app,
  best of ``--repeat`` after one warm-up; ``gene_page_ms``: ``GET /genes/{gene}`` likewise.
- ``flag_search``: GDS507 and ``--flag-datasets`` copies of it (other accessions) in a hub;
  ``PFKFB2[GENE] AND flagged[FLAG]`` with the flags computed on request (nothing stored),
  then ``Hub.compute_stored_flags`` and the same search reading the stored sets (checking
  each is current), and ``PFKFB2[GENE] AND GDS[ETYP]`` (``search_gene_only_s``: what the
  gene term alone costs); memory caches emptied before each search, as in a fresh server
  process.
- ``gene_lookup`` (with ``--gene-hub DIR``): ``PFKFB2[GENE] AND GDS[ETYP]`` alone, cold and
  warm, in a hub of ``--gene-datasets`` DataSets on ``--gene-platforms`` platforms, built in
  DIR the first time and reused after (so that code before and after a change can be timed
  alternately on the same hub).

    python bench/profiles.py                            # 22,000 x 17 + GDS507
    python bench/profiles.py --probes 54675 --samples 100 --no-gds --no-flag-search
    python bench/profiles.py --no-gds --flag-datasets 12      # [FLAG] search, 13 DataSets
    python bench/profiles.py --only-gene --gene-hub /tmp/g50 --gene-datasets 50 --gene-platforms 5
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FIXTURE = Path(__file__).resolve().parents[1].parent / "shared/fixtures/geo/geoquery/GDS507.soft.gz"


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def matrix_part(probes: int, samples: int, count: int, repeat: int) -> dict:
    from exprhub.analysis.flags import flag_table
    from exprhub.analysis.neighbours import NeighbourOptions, zscore_rows

    rng = np.random.default_rng(0)
    values = rng.lognormal(7, 1.5, size=(probes, samples))
    logged = np.log2(values)
    features = [f"p{i}" for i in range(probes)]
    options = NeighbourOptions(0.7, count)
    z = zscore_rows(features, logged)
    labels = {f"S{j}": ("a" if j < samples // 2 else "b") for j in range(samples)}
    names = list(labels)
    return {
        "probes": probes,
        "samples": samples,
        "zscore_s": round(_best(lambda: zscore_rows(features, logged), repeat), 4),
        "neighbours_s": round(_best(lambda: z.neighbours(123, options), repeat), 4),
        "cold_neighbours_s": round(
            _best(lambda: zscore_rows(features, logged).neighbours(123, options), repeat), 4
        ),
        "flags_s": round(
            _best(lambda: flag_table(features, logged, {"group": labels}, names), repeat), 4
        ),
    }


def gds_part(path: Path, repeat: int) -> dict:
    import warnings

    warnings.filterwarnings("ignore")
    import exprhub
    from exprhub.analysis import probe_genes, profiles
    from exprhub.web.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        hub = exprhub.Hub.init(Path(tmp) / "hub")
        hub.import_files([path])
        gene = "PFKFB2"
        profiles._CACHE.clear()  # a cold start: nothing of the DataSet in memory
        start = time.perf_counter()
        found = hub.profile_neighbours("GDS507", gene)
        cold = time.perf_counter() - start
        warm = _best(lambda: hub.profile_neighbours("GDS507", gene), repeat)
        # a new process on the same hub: the probe-gene cache file is there, memory is empty
        profiles._CACHE.clear()
        probe_genes._CACHE.clear()
        start = time.perf_counter()
        hub.profile_neighbours("GDS507", gene)
        cold_cached = time.perf_counter() - start
        profiles._CACHE.clear()
        start = time.perf_counter()
        hub.profile_neighbours("GDS507", "226733_at")
        cold_probe = time.perf_counter() - start
        from fastapi.testclient import TestClient

        client = TestClient(create_app(hub))
        assert client.get(f"/api/v1/profiles/GDS507/{gene}").status_code == 200
        route = _best(lambda: client.get(f"/api/v1/profiles/GDS507/{gene}"), repeat)
        assert client.get(f"/genes/{gene}").status_code == 200
        page = _best(lambda: client.get(f"/genes/{gene}"), repeat)
        hub.close()
    return {
        "dataset": "GDS507 (22,645 probes x 17 samples)",
        "neighbours_found": len(found),
        "neighbours_cold_s": round(cold, 4),
        "neighbours_cold_cached_s": round(cold_cached, 4),
        "neighbours_cold_by_probe_s": round(cold_probe, 4),
        "neighbours_warm_s": round(warm, 4),
        "profile_route_ms": round(route * 1000, 1),
        "gene_page_ms": round(page * 1000, 1),
    }


def _copies(path: Path, directory: Path, copies: int, platforms: int = 1) -> list[Path]:
    """GDS507 and ``copies`` more DataSets made from it (GDS90001 ...: same values and
    subsets), so that a gene is measured by ``copies + 1`` DataSets; on GPL97 with
    ``platforms=1``, else spread over GPL97 and ``platforms - 1`` more platforms (GPL90001
    ...: same probes, known from the DataSets' IDENTIFIER column)."""
    import gzip

    with gzip.open(path, "rt") as handle:
        text = handle.read()
    out = [path]
    for i in range(copies):
        name = f"GDS{90001 + i}"
        platform = (i + 1) % platforms
        target = directory / f"{name}.soft.gz"
        copy = text.replace("GDS507", name)
        if platform:
            copy = copy.replace("= GPL97\n", f"= GPL{90000 + platform}\n")
        with gzip.open(target, "wt", compresslevel=1) as handle:
            handle.write(copy)
        out.append(target)
    return out


def flag_search_part(path: Path, copies: int) -> dict:
    """``PFKFB2[GENE] AND flagged[FLAG]`` over ``copies + 1`` DataSets, as a fresh server
    process pays it: flags computed on request (no stored flags), then read from the stored
    sets (after ``Hub.compute_stored_flags``), in-memory caches emptied before each search."""
    import warnings

    warnings.filterwarnings("ignore")
    import exprhub
    from exprhub.analysis import probe_genes, profiles

    def fresh() -> None:
        profiles._CACHE.clear()
        probe_genes._CACHE.clear()

    query = "PFKFB2[GENE] AND flagged[FLAG]"
    with tempfile.TemporaryDirectory() as tmp:
        hub = exprhub.Hub.init(Path(tmp) / "hub")
        start = time.perf_counter()
        hub.import_files(_copies(path, Path(tmp), copies))
        imported = time.perf_counter() - start
        hub.search(query)  # the probe -> gene cache file and search index, once
        fresh()
        start = time.perf_counter()
        before = [h.accession for h in hub.search(query).hits]
        on_request = time.perf_counter() - start
        fresh()
        start = time.perf_counter()
        updates = hub.compute_stored_flags(values=["submitted"])
        stored = time.perf_counter() - start
        fresh()
        start = time.perf_counter()
        after = [h.accession for h in hub.search(query).hits]
        from_store = time.perf_counter() - start
        fresh()
        start = time.perf_counter()
        hub.search("PFKFB2[GENE] AND GDS[ETYP]")
        gene_only = time.perf_counter() - start
        hub.close()
    assert before == after, (before, after)
    return {
        "datasets": copies + 1,
        "import_s": round(imported, 2),
        "hits": len(after),
        "search_computed_on_request_s": round(on_request, 3),
        "compute_stored_flags_s": round(stored, 2),
        "sets_stored": sum(1 for u in updates if u.status == "new"),
        "search_stored_s": round(from_store, 3),
        "search_gene_only_s": round(gene_only, 3),
    }


def gene_lookup_part(path: Path, datasets: int, platforms: int, home: Path, repeat: int) -> dict:
    """``PFKFB2[GENE] AND GDS[ETYP]`` over ``datasets`` DataSets on ``platforms`` platforms
    (GDS507 and copies, :func:`_copies`), in the hub at ``home`` (imported there the first
    time, reused after: the same hub for runs of the code before and after a change).
    ``cold``: memory caches emptied before each search (a fresh server process; the probe ->
    gene cache files present), ``warm``: kept; best of ``repeat`` each."""
    import warnings

    warnings.filterwarnings("ignore")
    import exprhub
    from exprhub.analysis import probe_genes, profiles

    def fresh() -> None:
        profiles._CACHE.clear()
        probe_genes._CACHE.clear()

    query = "PFKFB2[GENE] AND GDS[ETYP]"
    if (home / "hub").exists():
        hub = exprhub.Hub(home / "hub")
    else:
        hub = exprhub.Hub.init(home / "hub")
        hub.import_files(_copies(path, home, datasets - 1, platforms))
    hits = len(hub.search(query).hits)  # the probe -> gene cache files and search index, once

    def cold() -> None:
        fresh()
        hub.search(query)

    out = {
        "datasets": datasets,
        "platforms": platforms,
        "hits": hits,
        "search_gene_cold_s": round(_best(cold, repeat), 4),
        "search_gene_warm_s": round(_best(lambda: hub.search(query), repeat), 4),
    }
    hub.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=22_000)
    parser.add_argument("--samples", type=int, default=17)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--gds", type=Path, default=FIXTURE)
    parser.add_argument("--no-gds", action="store_true")
    parser.add_argument(
        "--flag-datasets", type=int, default=6, help="[FLAG] search over GDS507 + this many copies"
    )
    parser.add_argument("--no-flag-search", action="store_true")
    parser.add_argument(
        "--gene-hub",
        type=Path,
        help="time the [GENE] term alone in this directory's hub (built the first time)",
    )
    parser.add_argument("--gene-datasets", type=int, default=7, help="DataSets of --gene-hub")
    parser.add_argument("--gene-platforms", type=int, default=1, help="platforms of --gene-hub")
    parser.add_argument("--only-gene", action="store_true", help="only the --gene-hub part")
    args = parser.parse_args()
    if args.only_gene:
        if args.gene_hub is None or not args.gds.is_file():
            parser.error("--only-gene needs --gene-hub and the GDS507 file")
        lookup = gene_lookup_part(
            args.gds, args.gene_datasets, args.gene_platforms, args.gene_hub, args.repeat
        )
        json.dump({"load_average": list(os.getloadavg()), "gene_lookup": lookup}, sys.stdout)
        sys.stdout.write("\n")
        return
    out: dict = {
        "load_average": list(os.getloadavg()),
        "matrix": matrix_part(args.probes, args.samples, args.count, args.repeat),
    }
    if not args.no_gds and args.gds.is_file():
        out["gds"] = gds_part(args.gds, args.repeat)
    if not args.no_flag_search and args.gds.is_file():
        out["flag_search"] = flag_search_part(args.gds, args.flag_datasets)
    if args.gene_hub is not None and args.gds.is_file():
        out["gene_lookup"] = gene_lookup_part(
            args.gds, args.gene_datasets, args.gene_platforms, args.gene_hub, args.repeat
        )
    out["targets"] = {
        "neighbours_22000x17_le_1s": out["matrix"]["cold_neighbours_s"] <= 1.0
        and ("gds" not in out or out["gds"]["neighbours_cold_cached_s"] <= 1.0),
        "profile_route_le_200ms": "gds" not in out or out["gds"]["profile_route_ms"] <= 200,
    }
    out["load_average_after"] = list(os.getloadavg())
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
