"""Benchmark: what one record request and one search cost the hub's database at scale.

Builds a SQLite hub holding ``--series`` series of ``--samples`` samples in all (default 50,000
and 1,000,000, the scale of the search benchmark) by bulk SQL inserts of the ``records`` and
``relations`` rows an import would write (titles, organisms, series <-> sample and sample ->
platform relations; no attributes or tables: what is timed are the look-ups, which do not
depend on them), then times the hub calls every API request or search makes:

- ``revision``: ``Hub.revision(acc, type)``, the ETag behind every record response and 304;
- ``revision_untyped``: the same without the type (``exprhub show ACC``);
- ``summary_sample`` / ``summary_series``: ``Hub.record_and_summary``, building a document on a
  cache miss (relations in both directions);
- ``briefs``: ``Hub.briefs`` of 25 accessions (search hits, related records);
- ``search_stale``: ``HubSearch.is_stale()``, run before every search;
- ``list_samples_page`` / ``list_samples_deep_page``: a page of 20 samples of the listing
  (``/api/v1/samples``, ``exprhub ls``) among the first thousand, and at the middle;
- ``organism_counts``: the home page's and ``/api/v1/organisms``' counts (``first``: right
  after opening the hub; then repeated, which later versions answer from memory until the
  next write).

Each is run ``--reps`` times on random accessions; median and p95 in ms go to a JSON summary.
Run it against another checkout with ``PYTHONPATH=<checkout>/src`` to compare versions.

Usage::

    python bench/lookup.py                          # 1,000,000 samples (build ~2-3 min)
    python bench/lookup.py --samples 100000 --series 5000
    python bench/lookup.py --dir /tmp/lookuphub     # keep the hub and reuse it next time
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from exprhub.hub import Hub
from exprhub.hub import schema as s
from exprhub.hub.listing import list_records, organism_counts
from exprhub.records import RecordType
from exprhub.search.hub_index import HubSearch

BATCH = 50_000


def _row(base: dict[str, Any], rtype: str, key: str, title: str) -> dict[str, Any]:
    row = {**base, "type": rtype, "key": key, "accession": key, "title": title}
    if "sort_key" in s.records.c:  # a version that stores the listing order
        row["sort_key"] = s.listing_sort_key(key)
    return row


def _build(hub: Hub, series: int, samples: int) -> None:
    """Insert ``samples`` GSM rows spread over ``series`` GSE rows, and one GPL."""
    now = datetime.now(UTC)
    base = {
        "status": "Public",
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "organisms": "Homo sapiens",
    }
    with hub.engine.begin() as connection:
        connection.execute(
            insert(s.records),
            [_row(base, "GPL", "GPL1", "array")]
            + [_row(base, "GSE", f"GSE{i}", "s") for i in range(1, series + 1)],
        )
        series_ids = dict(
            connection.execute(
                s.records.select().with_only_columns(s.records.c.key, s.records.c.id)
            ).all()
        )
        for start in range(0, samples, BATCH):
            rows = [
                _row(base, "GSM", f"GSM{i}", "x")
                for i in range(start + 1, min(samples, start + BATCH) + 1)
            ]
            connection.execute(insert(s.records), rows)
        sample_ids = connection.execute(
            s.records.select()
            .with_only_columns(s.records.c.key, s.records.c.id)
            .where(s.records.c.type == "GSM")
        ).all()
        relations: list[dict[str, Any]] = []
        for n, (key, record_id) in enumerate(sample_ids):
            owner = f"GSE{n % series + 1}"
            relations += [
                {"source_id": record_id, "kind": "series", "target_key": owner, "position": 0},
                {"source_id": record_id, "kind": "platform", "target_key": "GPL1", "position": 1},
                {
                    "source_id": series_ids[owner],
                    "kind": "sample",
                    "target_key": key,
                    "position": n // series,
                },
            ]
            if len(relations) >= 3 * BATCH:
                connection.execute(insert(s.relations), relations)
                relations = []
        if relations:
            connection.execute(insert(s.relations), relations)


def _time(call: Callable[[int], object], reps: int, space: int) -> dict[str, float]:
    rng = random.Random(0)
    seconds = []
    for _ in range(reps):
        i = rng.randrange(1, space + 1)
        t = time.perf_counter()
        call(i)
        seconds.append(time.perf_counter() - t)
    ms = sorted(x * 1e3 for x in seconds)
    return {
        "median_ms": round(statistics.median(ms), 3),
        "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--series", type=int, default=50_000)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--dir", type=Path, default=None, help="keep (and reuse) the hub here")
    args = parser.parse_args()

    home = args.dir or Path(tempfile.mkdtemp(prefix="exprhub-lookup-")) / "hub"
    built_s = None
    if not (home / "exprhub.sqlite").exists():
        hub = Hub.init(home)
        t = time.perf_counter()
        _build(hub, args.series, args.samples)
        built_s = round(time.perf_counter() - t, 1)
        hub.close()
    t = time.perf_counter()
    hub = Hub(home)  # migrates an older hub (new indexes) before anything is timed
    open_s = round(time.perf_counter() - t, 2)
    counts = hub.counts()
    search = HubSearch(hub, str(home / "search-index"))
    n, m = counts.get("GSM", 0), counts.get("GSE", 0)
    timings = {
        "revision": _time(lambda i: hub.revision(f"GSM{i}", RecordType.SAMPLE), args.reps, n),
        "revision_untyped": _time(lambda i: hub.revision(f"GSM{i}"), args.reps, n),
        "summary_sample": _time(
            lambda i: hub.record_and_summary(f"GSM{i}", RecordType.SAMPLE), args.reps, n
        ),
        "summary_series": _time(
            lambda i: hub.record_and_summary(f"GSE{i}", RecordType.SERIES), args.reps, m
        ),
        "briefs": _time(
            lambda i: hub.briefs([f"GSM{(i + k) % n + 1}" for k in range(25)]), args.reps, n
        ),
        "search_stale": _time(lambda i: search.is_stale(), args.reps, 1),
        "list_samples_page": _time(
            lambda i: list_records(hub, RecordType.SAMPLE, limit=20, offset=20 * (i % 50)),
            min(args.reps, 10),
            n,
        ),
        "list_samples_deep_page": _time(
            lambda i: list_records(hub, RecordType.SAMPLE, limit=20, offset=n // 2),
            min(args.reps, 5),
            1,
        ),
        "organism_counts_first": _time(lambda i: organism_counts(hub), 1, 1),
        "organism_counts": _time(lambda i: organism_counts(hub), min(args.reps, 5), 1),
    }
    hub.close()
    print(
        json.dumps(
            {
                "samples": n,
                "series": m,
                "build_s": built_s,
                "open_s": open_s,
                "exprhub_from": str(Path(sys.modules["exprhub"].__file__ or "").parent),
                "load_avg_1m": round(os.getloadavg()[0], 2),
                "timings": timings,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
