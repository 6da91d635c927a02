"""Benchmark the REST API under a real load generator on loopback.

Builds (or reuses, ``--home``) a demo hub of simulated GEO records, starts ``exprhub serve
[--workers N]`` on 127.0.0.1 as a separate process (one uvicorn worker by default), waits until
it answers, then drives it with ``wrk`` and a Lua script rotating over many URLs. Scenarios
(``--scenarios``):

- ``records``: every record document (``/api/v1/samples/GSM…``, ``/series/GSE…``,
  ``/platforms/GPL…``, ``/gds/GDS…``), shuffled;
- ``samples``, ``series``, ``platforms``: one record type each;
- ``etag``: the records again with ``If-None-Match`` set to their current ETag (expect 304);
- ``search``: ``/api/v1/search?q=…`` with words, fielded terms and facets;
- ``mixed``: record documents and searches interleaved (one search per four records);
- ``baseline``: ``/api`` (no database: the HTTP and framework cost every request pays;
  ``/api/v1/processors`` was part of it until 2026-11-27, but it runs a GROUP BY over the
  refined samples and costs more than a record document).

For each: requests/s, p50/p90/p99 latency, status counts, socket errors, the server's CPU
time per request and ``rps_per_server_core`` (1000 / CPU ms per request: the throughput one
fully available core would give, a figure that holds when other jobs share the machine).
Target: ``records`` >= 300 requests/s on 2 cores. The multi-user load test (issue 13) is
``--workers 4 --connections 50 --scenarios records,search,mixed``: its verdict
(``load_test.pass``) is 0 socket errors and only expected statuses in every scenario, with the
p99 latencies recorded. Falls back to an asyncio + httpx load generator in a separate process
when ``wrk`` is missing. Prints a JSON summary on stdout (progress goes to stderr).

    python bench/api.py                                # 20 series x 24 samples, 20 s each
    python bench/api.py --home /tmp/hub --duration 10 --scenarios records,etag
    python bench/api.py --workers 4 --connections 50 --scenarios records,search,mixed
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

TARGET_RPS = 300.0
SCENARIOS = ("records", "samples", "series", "platforms", "etag", "search", "mixed", "baseline")
BASELINE_PATHS = ["/api"]
RECORD_SEGMENTS = ("samples", "series", "platforms", "gds")
#: Records per search in the ``mixed`` scenario.
RECORDS_PER_SEARCH = 4

LUA = r"""
local paths = {%(paths)s}
local etags = {%(etags)s}
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  reqs = {}
  for i, p in ipairs(paths) do
    local h = nil
    if etags[i] ~= "" then h = {["If-None-Match"] = etags[i]} end
    reqs[i] = wrk.format("GET", p, h)
  end
  n = #reqs
  idx = (id * 7919) %% n
  statuses = {}
end

function request()
  idx = idx %% n + 1
  return reqs[idx]
end

function response(status, headers, body)
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
end

function done(summary, latency, requests)
  local agg = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do agg[k] = (agg[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(agg) do table.insert(parts, string.format('"%%s": %%d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %%d, "duration_us": %%d, "bytes": %%d, ' ..
    '"p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "mean_us": %%.1f, "max_us": %%d, ' ..
    '"errors": {"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}, ' ..
    '"statuses": {%%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max,
    e.connect, e.read, e.write, e.status, e.timeout, table.concat(parts, ", ")))
end
"""


def log(message: str) -> None:
    """Progress on stderr (stdout carries only the JSON summary)."""
    print(f"[bench/api] {message}", file=sys.stderr, flush=True)


def build_hub(home: Path, series: int, samples: int, platforms: int, seed: int) -> dict[str, Any]:
    """Reuse the hub at ``home`` if there is one, else build a demo hub there; its record
    counts."""
    from exprhub.demo import build_demo
    from exprhub.hub import Hub, HubNotFound

    try:
        with Hub(home) as hub:
            log(f"reusing the hub at {home}")
            existing: dict[str, Any] = hub.counts()
            return existing
    except HubNotFound:
        pass
    log(f"building a demo hub of {series} series x {samples} samples at {home}")
    summary = build_demo(home, series=series, samples=samples, platforms=platforms, seed=seed)
    counts: dict[str, Any] = summary["counts"]
    return counts


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """The API server in a child process (its own process group)."""

    def __init__(self, home: Path, port: int, workers: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        env = dict(os.environ)
        cmd = [sys.executable, "-m", "exprhub", "serve", "--home", str(home)]
        cmd += ["--port", str(port), "--workers", str(workers)]
        self.command = cmd
        self.log = tempfile.TemporaryFile()  # noqa: SIM115  (closed in stop)
        self.proc = subprocess.Popen(
            cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )

    def wait_ready(self, timeout: float = 120.0) -> float:
        """Seconds until ``/api/v1/stats`` answers 200."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.proc.poll() is not None or "Traceback" in self.output():
                raise RuntimeError(f"server failed to start: {self.output()}")
            try:
                if httpx.get(f"{self.base}/api/v1/stats", timeout=2).status_code == 200:
                    return time.monotonic() - start
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not answer within {timeout:.0f} s: {self.output()}")

    def output(self) -> str:
        """The server's output so far (its tail)."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-2000:]

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server and its worker processes."""
        import psutil

        try:
            root = psutil.Process(self.proc.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        total = 0.0
        for proc in procs:
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def stop(self) -> None:
        """Terminate the server (SIGTERM to its group, SIGKILL after 10 s)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        self.log.close()


def record_paths(base: str) -> dict[str, list[str]]:
    """API paths of every record document in the hub, by URL segment."""
    out: dict[str, list[str]] = {}
    with httpx.Client(base_url=base, timeout=60) as client:
        for segment in RECORD_SEGMENTS:
            paths: list[str] = []
            offset = 0
            while True:
                url = f"/api/v1/{segment}?limit=1000&offset={offset}"
                body = client.get(url).raise_for_status().json()
                paths += [row["url"] for row in body["results"]]
                offset += 1000
                if offset >= body["count"]:
                    break
            out[segment] = paths
    return out


def fetch_etags(base: str, paths: list[str]) -> list[str]:
    """Current ETag of each path (this also warms the server up)."""
    with httpx.Client(base_url=base, timeout=60) as client:
        return [client.get(p).raise_for_status().headers["etag"] for p in paths]


def search_paths(base: str, count: int, rng: random.Random) -> list[str]:
    """Search URLs built from the hub's own title words: single words, pairs, fielded
    organism terms, and words with a type or organism facet."""
    from urllib.parse import urlencode

    with httpx.Client(base_url=base, timeout=60) as client:
        titles = [
            row["title"] or ""
            for segment in ("series", "samples")
            for row in client.get(f"/api/v1/{segment}?limit=1000").json()["results"]
        ]
    words = Counter(
        w.strip(",.()").lower() for t in titles for w in t.split() if len(w.strip(",.()")) > 3
    )
    vocab = [w for w, _ in words.most_common(60)]
    organisms = ["Homo sapiens", "Mus musculus"]
    out = []
    for i in range(count):
        word, other = rng.sample(vocab, 2)
        params: list[tuple[str, str]]
        match i % 5:
            case 0:
                params = [("q", word)]
            case 1:
                params = [("q", f"{word} {other}")]
            case 2:
                params = [("q", f"{word} AND {rng.choice(organisms)}[ORGN]")]
            case 3:
                params = [("q", word), ("type", rng.choice(["GSE", "GSM"]))]
            case _:
                params = [("q", word), ("organism", rng.choice(organisms))]
        out.append(f"/api/v1/search?{urlencode(params)}")
    return out


def lua_string(text: str) -> str:
    """A Lua string literal."""
    return json.dumps(text)  # JSON escapes are valid Lua escapes for these ASCII strings


def run_wrk(
    base: str,
    paths: list[str],
    etags: list[str] | None,
    args: argparse.Namespace,
    workdir: Path,
) -> dict[str, Any]:
    """Drive ``base`` with wrk rotating over ``paths``; its figures as a dict."""
    script = workdir / "rotate.lua"
    tags = etags or [""] * len(paths)
    script.write_text(
        LUA
        % {
            "paths": ", ".join(lua_string(p) for p in paths),
            "etags": ", ".join(lua_string(t) for t in tags),
        }
    )
    cmd = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
        f"--timeout={args.timeout}s", "--latency", "-s", str(script), base,
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRK_JSON "))
    raw = json.loads(line.removeprefix("WRK_JSON "))
    return {
        "requests": raw["requests"],
        "duration_s": raw["duration_us"] / 1e6,
        "bytes": raw["bytes"],
        "latency_ms": {k: raw[f"{k}_us"] / 1000 for k in ("p50", "p90", "p99", "mean", "max")},
        "socket_errors": raw["errors"],
        "statuses": dict(sorted(raw["statuses"].items())),
    }


async def _httpx_load(
    base: str, paths: list[str], etags: list[str] | None, duration: float, connections: int
) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    errors = 0
    nbytes = 0
    stop = time.monotonic() + duration
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)

    async def worker(client: httpx.AsyncClient, start: int) -> None:
        nonlocal errors, nbytes
        i = start
        while time.monotonic() < stop:
            i = (i + 1) % len(paths)
            headers = {"If-None-Match": etags[i]} if etags else {}
            t0 = time.perf_counter()
            try:
                response = await client.get(paths[i], headers=headers)
            except httpx.HTTPError:
                errors += 1
                continue
            latencies.append(time.perf_counter() - t0)
            statuses[str(response.status_code)] += 1
            nbytes += len(response.content)

    began = time.monotonic()
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(client, k * 7919) for k in range(connections)))
    elapsed = time.monotonic() - began
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {
        "requests": len(latencies),
        "duration_s": elapsed,
        "bytes": nbytes,
        "latency_ms": {
            "p50": pct(0.5),
            "p90": pct(0.9),
            "p99": pct(0.99),
            "mean": 1000 * sum(latencies) / max(1, len(latencies)),
            "max": pct(1.0),
        },
        "socket_errors": {"other": errors},
        "statuses": dict(sorted(statuses.items())),
    }


def run_httpx(
    base: str,
    paths: list[str],
    etags: list[str] | None,
    args: argparse.Namespace,
    workdir: Path,
) -> dict[str, Any]:
    """Fallback load generator: asyncio + httpx in a separate process."""
    spec = workdir / "load.json"
    out = workdir / "load-result.json"
    spec.write_text(
        json.dumps(
            {
                "base": base,
                "paths": paths,
                "etags": etags,
                "duration": args.duration,
                "connections": args.connections,
            }
        )
    )
    cmd = [sys.executable, __file__, "--loadgen", str(spec), "--loadgen-out", str(out)]
    subprocess.run(cmd, check=True)
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def scenario_paths(
    name: str, records: dict[str, list[str]], search: list[str], rng: random.Random
) -> list[str]:
    """The URLs a scenario rotates over (records shuffled so types interleave)."""
    if name == "search":
        return search
    if name == "mixed":
        documents = [p for segment in RECORD_SEGMENTS for p in records[segment]]
        rng.shuffle(documents)
        mixed: list[str] = []
        for i, path in enumerate(documents):
            mixed.append(path)
            if i % RECORDS_PER_SEARCH == RECORDS_PER_SEARCH - 1:
                mixed.append(search[(i // RECORDS_PER_SEARCH) % len(search)])
        return mixed
    if name == "baseline":
        return list(BASELINE_PATHS)
    if name in ("records", "etag"):
        paths = [p for segment in RECORD_SEGMENTS for p in records[segment]]
    else:
        paths = list(records[name])
    rng.shuffle(paths)
    return paths


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Build the hub, serve it, run the scenarios; the JSON summary."""
    workdir = Path(tempfile.mkdtemp(prefix="exprhub-bench-api-"))
    home = Path(args.home) if args.home else workdir / "hub"
    generator = "wrk" if shutil.which("wrk") and not args.httpx else "httpx"
    driver = run_wrk if generator == "wrk" else run_httpx
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenario(s) {sorted(unknown)}; choose from {SCENARIOS}")
    if generator == "httpx":
        log("wrk not found (or --httpx): using the asyncio + httpx fallback load generator")
    rng = random.Random(args.seed)
    summary: dict[str, Any] = {
        "target_rps": TARGET_RPS,
        "cores": os.cpu_count(),
        "load_average_before": list(os.getloadavg()),
        "generator": generator,
        "threads": args.threads if generator == "wrk" else 1,
        "connections": args.connections,
        "duration_s": args.duration,
        "workers": args.workers,
    }
    if generator == "httpx":
        summary["generator_note"] = (
            "wrk not found (or --httpx): asyncio + httpx fallback in a separate process; "
            "one Python client saturates near a few hundred requests/s, so high figures are "
            "client-bound"
        )
    server: Server | None = None
    try:
        t0 = time.perf_counter()
        summary["counts"] = build_hub(home, args.series, args.samples, args.platforms, args.seed)
        summary["build_s"] = round(time.perf_counter() - t0, 2)
        port = args.port or free_port()
        server = Server(home, port, args.workers)
        summary["server_command"] = " ".join(server.command)
        summary["startup_s"] = round(server.wait_ready(), 2)
        log(f"server up at {server.base} (pid {server.proc.pid})")
        records = record_paths(server.base)
        all_records = [p for segment in RECORD_SEGMENTS for p in records[segment]]
        etag_of = dict(zip(all_records, fetch_etags(server.base, all_records), strict=True))
        search = search_paths(server.base, args.search_queries, rng)
        summary["urls"] = {k: len(v) for k, v in records.items()} | {"search": len(search)}
        results: dict[str, Any] = {}
        for name in scenarios:
            paths = scenario_paths(name, records, search, rng)
            etags = [etag_of[p] for p in paths] if name == "etag" else None
            log(f"scenario {name}: {len(paths)} URLs, {args.duration} s")
            cpu0 = server.cpu_seconds()
            result = driver(server.base, paths, etags, args, workdir)
            cpu = server.cpu_seconds() - cpu0
            rps = result["requests"] / result["duration_s"] if result["duration_s"] else 0.0
            result["rps"] = round(rps, 1)
            cpu_ms = 1000 * cpu / max(1, result["requests"])
            result["server_cpu_ms_per_request"] = round(cpu_ms, 2)
            result["rps_per_server_core"] = round(1000 / cpu_ms, 1) if cpu_ms else None
            result["server_cpu_utilisation"] = round(cpu / result["duration_s"], 2)
            expected = "304" if name == "etag" else "200"
            result["unexpected_statuses"] = sum(
                n for s, n in result["statuses"].items() if s != expected
            )
            result["pass"] = rps >= TARGET_RPS
            results[name] = result
            log(f"  {rps:.1f} req/s, p99 {result['latency_ms']['p99']:.1f} ms")
        summary["scenarios"] = results
        if "records" in results:
            summary["records_rps"] = results["records"]["rps"]
            summary["records_p99_ms"] = results["records"]["latency_ms"]["p99"]
            summary["pass"] = results["records"]["pass"]
        summary["load_test"] = load_test_verdict(results, args)
        summary["load_average_after"] = list(os.getloadavg())
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return summary


def load_test_verdict(results: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The multi-user load test's figures: errors (socket errors plus unexpected statuses) and
    p99 latency per scenario; ``pass`` when there is no error at all."""
    errors = {
        name: sum(result["socket_errors"].values()) + result["unexpected_statuses"]
        for name, result in results.items()
    }
    return {
        "workers": args.workers,
        "connections": args.connections,
        "requests": sum(result["requests"] for result in results.values()),
        "errors": errors,
        "p99_ms": {name: result["latency_ms"]["p99"] for name, result in results.items()},
        "rps": {name: result["rps"] for name, result in results.items()},
        "pass": not any(errors.values()),
    }


def loadgen_main(spec_path: str, out_path: str) -> None:
    """Entry of the fallback load generator process."""
    spec = json.loads(Path(spec_path).read_text())
    result = asyncio.run(
        _httpx_load(
            spec["base"], spec["paths"], spec["etags"], spec["duration"], spec["connections"]
        )
    )
    Path(out_path).write_text(json.dumps(result))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", help="reuse (or build) the hub here instead of a temp dir")
    parser.add_argument("--series", type=int, default=20, help="simulated series (default 20)")
    parser.add_argument("--samples", type=int, default=24, help="samples per series (24)")
    parser.add_argument("--platforms", type=int, default=2, help="simulated platforms (2)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes (exprhub serve --workers)"
    )
    parser.add_argument("--duration", type=int, default=20, help="seconds per scenario (20)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--connections", type=int, default=32, help="open connections (32)")
    parser.add_argument("--timeout", type=int, default=10, help="wrk request timeout, s (10)")
    parser.add_argument("--search-queries", type=int, default=200, help="distinct searches")
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help=f"comma-separated, of {SCENARIOS}"
    )
    parser.add_argument("--httpx", action="store_true", help="use the httpx fallback generator")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--loadgen", help=argparse.SUPPRESS)
    parser.add_argument("--loadgen-out", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the JSON summary."""
    args = parse_args(argv)
    if args.loadgen:
        loadgen_main(args.loadgen, args.loadgen_out)
        return 0
    print(json.dumps(run(args), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
