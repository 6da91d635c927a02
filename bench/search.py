"""Benchmark the search backends on simulated GEO metadata.

Builds the embedded tantivy index (and, with ``--postgres-url``, the PostgreSQL one) from the
same generated documents (series with their samples, plus platforms), records build time and
index size, then measures p50/p95 latency of:

- ``common``: a ranked query on the most frequent vocabulary word with the default facets;
- ``common_mix``: the 20 most frequent words in turn (no two consecutive queries alike);
- ``rare``: a ranked query on a word present in a handful of documents (with facets);
- ``fielded``: ``Homo sapiens[ORGN] AND <mid-frequency word> AND 2010:2015[PDAT]`` with facets;
- ``expanded``: ``kidney cancer`` with ontology expansion (exprhub.search.expansion: 64 phrases
  ORed in, as ``exprhub search`` does by default).

Targets at 1,000,000 samples in 50,000 series: common p95 <= 50 ms, rare p95 <= 5 ms.
Prints a JSON summary on stdout.

    python bench/search.py                      # small: 500 series, ~10,000 samples
    python bench/search.py --series 50000 --samples 1000000
    python bench/search.py --postgres-url postgresql+psycopg://postgres@127.0.0.1:55432/db

SQLite FTS5 was measured here as the other embedded candidate and dropped (bench/README.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from exprhub.search import PostgresIndex, Query, SearchDocument, TantivyIndex, parse_query
from exprhub.search.expansion import expand

ORGANISMS = [
    ("Homo sapiens", 0.50),
    ("Mus musculus", 0.28),
    ("Rattus norvegicus", 0.07),
    ("Danio rerio", 0.03),
    ("Drosophila melanogaster", 0.03),
    ("Arabidopsis thaliana", 0.03),
    ("Saccharomyces cerevisiae", 0.02),
    ("Caenorhabditis elegans", 0.02),
    ("Sus scrofa", 0.01),
    ("Bos taurus", 0.01),
]
PTYPES = [
    "in situ oligonucleotide",
    "high-throughput sequencing",
    "spotted DNA/cDNA",
    "spotted oligonucleotide",
]
GTYPES = [
    "Expression profiling by array",
    "Expression profiling by high throughput sequencing",
    "Non-coding RNA profiling by array",
    "Genome binding/occupancy profiling by high throughput sequencing",
]
TISSUES = [
    "liver",
    "brain",
    "heart",
    "lung",
    "kidney",
    "blood",
    "skin",
    "muscle",
    "breast",
    "colon",
    "pancreas",
    "spleen",
    "bone marrow",
    "adipose tissue",
    "retina",
    "prostate",
    "ovary",
]
DISEASES = [
    "normal",
    "breast cancer",
    "type 2 diabetes",
    "asthma",
    "alzheimer disease",
    "colorectal cancer",
    "obesity",
    "influenza",
    "lupus",
    "leukemia",
    "melanoma",
    "crohn disease",
    "sepsis",
]
BIO = [
    "expression",
    "gene",
    "cells",
    "tissue",
    "patients",
    "mice",
    "samples",
    "analysis",
    "response",
    "treatment",
    "cancer",
    "tumor",
    "rna",
    "profiling",
    "control",
    "human",
    "mouse",
    "study",
    "transcriptome",
    "signaling",
    "regulation",
    "differentiation",
    "stem",
    "immune",
    "inflammation",
    "infection",
    "metabolism",
    "development",
    "knockout",
    "mutant",
    "cell",
    "line",
    "time",
    "course",
    "dose",
    "receptor",
    "kinase",
    "factor",
    "pathway",
    "protein",
    "microarray",
    "sequencing",
    "genome",
    "wide",
    "diabetes",
    "insulin",
    "liver",
    "brain",
    "heart",
    "lung",
    "kidney",
    "blood",
    "macrophage",
    "lymphocyte",
    "neuron",
]
SYLL = [
    "ka",
    "ro",
    "mi",
    "ten",
    "sal",
    "vor",
    "pi",
    "lu",
    "dex",
    "gan",
    "tor",
    "bel",
    "zu",
    "fy",
    "quo",
    "nar",
    "ix",
    "el",
    "sun",
    "dra",
]


def vocabulary(n: int, rng: np.random.Generator) -> list[str]:
    words = list(dict.fromkeys(BIO))
    seen = set(words)
    while len(words) < n:
        w = "".join(rng.choice(SYLL, size=int(rng.integers(2, 5))))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


class Corpus:
    """Deterministic generator of series, samples and platforms."""

    def __init__(self, n_series: int, n_samples: int, seed: int = 7, vocab: int = 30_000) -> None:
        self.n_series, self.n_samples, self.seed = n_series, n_samples, seed
        rng = np.random.default_rng(seed)
        self.words = np.array(vocabulary(vocab, rng), dtype=object)
        ranks = np.arange(1, vocab + 1, dtype=float)
        self.cdf_word = np.cumsum(1 / ranks**1.07)  # Zipf
        self.cdf_word /= self.cdf_word[-1]
        self.n_platforms = max(20, n_series // 100)
        p = 1 / np.arange(1, self.n_platforms + 1) ** 1.2
        self.p_plat = p / p.sum()
        self.orgs = [o for o, _ in ORGANISMS]
        self.p_org = np.array([w for _, w in ORGANISMS]) / sum(w for _, w in ORGANISMS)
        self.authors = [
            f"{a} {b}"
            for a in "ABCDEFGHJKLMNPRSTW"
            for b in (
                "Smith",
                "Chen",
                "Garcia",
                "Müller",
                "Kim",
                "Rossi",
                "Dubois",
                "Tanaka",
                "Nowak",
                "Silva",
                "Okafor",
                "Singh",
            )
        ]
        self.rare = [f"rarexq{i}" for i in range(200)]  # in every 50th series title, cycling

    def text(self, rng: np.random.Generator, n: int) -> str:
        return " ".join(self.words[np.searchsorted(self.cdf_word, rng.random(n))])

    def docs(self) -> Iterator[SearchDocument]:
        rng = np.random.default_rng(self.seed + 1)
        per = self.n_samples / self.n_series
        gsm = 0
        for p in range(1, self.n_platforms + 1):
            yield SearchDocument(
                f"GPL{p}",
                "GPL",
                f"Platform {self.text(rng, 5)}",
                self.text(rng, 30),
                organisms=[self.orgs[p % len(self.orgs)]],
                ptype=PTYPES[p % len(PTYPES)],
            )
        for s in range(1, self.n_series + 1):
            org = self.orgs[rng.choice(len(self.orgs), p=self.p_org)]
            plat = int(rng.choice(self.n_platforms, p=self.p_plat)) + 1
            n = max(1, int(rng.poisson(per)))
            if s == self.n_series:
                n = max(1, self.n_samples - gsm)
            year = int(rng.integers(2002, 2025))
            pdat = dt.date(year, int(rng.integers(1, 13)), int(rng.integers(1, 29)))
            disease = DISEASES[int(rng.integers(len(DISEASES)))]
            extra = f" {self.rare[(s // 50) % len(self.rare)]}" if s % 50 == 0 else ""
            yield SearchDocument(
                f"GSE{s}",
                "GSE",
                f"{self.text(rng, 10)} {disease}{extra}",
                self.text(rng, int(rng.integers(80, 250))),
                organisms=[org],
                gtype=[GTYPES[plat % len(GTYPES)]],
                platforms=[f"GPL{plat}"],
                ptype=PTYPES[plat % len(PTYPES)],
                authors=list(rng.choice(self.authors, size=int(rng.integers(2, 8)))),
                pdat=pdat,
                nsam=n,
            )
            for _ in range(n):
                gsm += 1
                tissue = TISSUES[int(rng.integers(len(TISSUES)))]
                d = disease if rng.random() < 0.6 else "normal"
                yield SearchDocument(
                    f"GSM{gsm}",
                    "GSM",
                    f"{tissue} {d} replicate {int(rng.integers(1, 9))}",
                    self.text(rng, int(rng.integers(10, 40))),
                    organisms=[org],
                    platforms=[f"GPL{plat}"],
                    ptype=PTYPES[plat % len(PTYPES)],
                    pdat=pdat,
                    labels={
                        "sex": [["female", "male"][int(rng.integers(2))]],
                        "tissue": [tissue],
                        "disease": [d],
                        "age": [str(int(rng.integers(1, 90)))],
                    },
                )


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def build(
    backend: str, corpus: Corpus, where: Path, pg_url: str | None, reuse: bool = False
) -> tuple[TantivyIndex | PostgresIndex, dict[str, float]]:
    t0 = time.perf_counter()
    loc = where / "tantivy"
    index: TantivyIndex | PostgresIndex
    if backend == "tantivy" and reuse and (loc / "meta.json").exists():
        index = TantivyIndex(loc)
        return index, {"docs": index.count(), "build_s": -1.0, "size_mb": dir_size(loc) / 1e6}
    if backend == "tantivy":
        index = TantivyIndex(loc, writer_heap=1_000_000_000)
    elif backend == "postgres" and pg_url:
        index = PostgresIndex(pg_url, prefix=f"bench_{os.getpid()}")
    else:
        raise SystemExit(f"unknown backend {backend!r} (postgres needs --postgres-url)")
    batch: list[SearchDocument] = []
    n = 0
    for d in corpus.docs():
        batch.append(d)
        if len(batch) == 5000:
            n += index.add(batch)
            batch = []
    n += index.add(batch)
    index.commit()
    if isinstance(index, TantivyIndex):
        index.close()  # waits for merges
        index = TantivyIndex(loc)
        size = dir_size(loc)
    else:
        size = index.size_bytes()
    secs = time.perf_counter() - t0
    return index, {"docs": n, "build_s": round(secs, 1), "size_mb": round(size / 1e6, 1)}


def timed(
    index: object, query: str | Query | list[str], reps: int, budget_s: float = 90.0
) -> dict[str, float]:
    """p50/p95 over ``reps`` runs after 3 warm-up runs (fewer, at least 5, past ``budget_s``);
    a list of queries is taken in turn."""
    times: list[float] = []
    res = None
    start = time.perf_counter()
    queries = query if isinstance(query, list) else [query]
    for i in range(reps + 3):
        t0 = time.perf_counter()
        res = index.search(queries[i % len(queries)], limit=20)  # type: ignore[attr-defined]
        if i >= 3:
            times.append((time.perf_counter() - t0) * 1000)
            if len(times) >= 5 and time.perf_counter() - start > budget_s:
                break
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 2),
        "runs": len(times),
        "total_hits": res.total,  # type: ignore[union-attr]
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--series", type=int, default=500)
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--backends", default=None, help="default: tantivy (+postgres with a URL)")
    ap.add_argument("--postgres-url", default=None, help="also measure PostgreSQL full text")
    ap.add_argument("--dir", type=Path, default=None, help="where to build (default: a temp dir)")
    ap.add_argument(
        "--reuse", action="store_true", help="use the tantivy index already in --dir (no build)"
    )
    args = ap.parse_args(argv)
    corpus = Corpus(args.series, args.samples)
    common = str(corpus.words[0])
    mid = str(corpus.words[200])
    queries: dict[str, str | list[str]] = {
        "common": common,
        # the 20 most frequent words in turn (each matching 50-94 % of the documents)
        "common_mix": [str(w) for w in corpus.words[:20]],
        "rare": corpus.rare[1],
        "fielded": f"Homo sapiens[ORGN] AND {mid} AND 2010:2015[PDAT]",
        "expanded": "kidney cancer",
    }
    expanded = {"expanded"}
    where = args.dir or Path(tempfile.mkdtemp(prefix="exprhub-search-bench-"))
    summary: dict[str, object] = {
        "series": args.series,
        "samples": args.samples,
        "queries": queries,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "loadavg_start": [round(x, 1) for x in os.getloadavg()],
        "backends": {},
    }
    backends = args.backends or ("tantivy,postgres" if args.postgres_url else "tantivy")
    for backend in backends.split(","):
        index, stats = build(backend, corpus, where, args.postgres_url, args.reuse)
        for name, q in queries.items():
            if name in expanded:
                assert isinstance(q, str)
                query = expand(parse_query(q, index.schema))
                stats[name] = timed(index, query, args.reps)  # type: ignore[assignment]
                continue
            stats[name] = timed(index, q, args.reps)  # type: ignore[assignment]
        if isinstance(index, PostgresIndex):
            index.drop()
        else:
            index.close()
        summary["backends"][backend] = stats  # type: ignore[index]
        print(json.dumps({backend: stats}), file=sys.stderr, flush=True)
    if args.dir is None:
        shutil.rmtree(where, ignore_errors=True)
    summary["loadavg_end"] = [round(x, 1) for x in os.getloadavg()]
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
