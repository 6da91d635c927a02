"""Imports, `exprhub index` and `exprhub search` while `exprhub serve` runs on the same hub, and
the server's searches under parallel load right after outside writes.

The server is a real `exprhub serve` subprocess on a free loopback port. Before it starts, the
hub gets records that are not yet indexed (an "outside write": imported through the Python API,
which leaves indexing to the next sync), so the server writes the index as it starts.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from exprhub.api import intake
from exprhub.cli import main
from exprhub.hub import Hub
from exprhub.ingest.importer import import_file
from exprhub.search.hub_index import HubSearch
from tests.serving import Server, serving

#: Seconds any one request, command or server start may take before the test gives up.
TIMEOUT = 120


@dataclass
class Served:
    home: Path
    server: Server

    @property
    def port(self) -> int:
        return self.server.port

    def url(self, path: str) -> str:
        return self.server.url(path)

    def search(self, query: str) -> dict:  # type: ignore[type-arg]
        with urllib.request.urlopen(
            self.url(f"/api/v1/search?q={quote(query)}"), timeout=TIMEOUT
        ) as response:
            return dict(json.loads(response.read()))


def outside_write(home: Path, fixture: Path) -> None:
    """Import through the Python API: records committed in the hub, the index left behind."""
    hub = Hub(home)
    try:
        import_file(hub, fixture)
    finally:
        hub.close()


def exprhub(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exprhub", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory, geo_fixtures) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("serving")
    home = root / "hub"
    assert exprhub("init", "--home", home).returncode == 0
    outside_write(home, geo_fixtures / "gemma/GSE2870_family.soft.gz")

    def indexed(server: Server) -> bool:
        return Served(home, server).search("GSE2870[ACCN]")["count"] == 1

    with serving(home, log=root / "server.log", ready=indexed, timeout=TIMEOUT) as server:
        yield Served(home, server)


def test_import_while_serving_succeeds_and_is_searchable(served, geo_fixtures):
    done = exprhub("import", "--home", served.home, geo_fixtures / "geoquery/GSM11805.txt.gz")
    assert done.returncode == 0, done.stderr
    assert "GSM11805.txt.gz: soft, 1 added" in done.stdout
    assert "error" not in done.stderr
    found = served.search("GSM11805")
    assert [hit["key"] for hit in found["results"]] == ["GSM11805"]
    cli = exprhub("search", "GSM11805[ACCN]", "--home", served.home, "--json")
    assert cli.returncode == 0, cli.stderr
    assert [hit["accession"] for hit in json.loads(cli.stdout)["hits"]] == ["GSM11805"]


def test_index_and_search_commands_work_while_serving(served, geo_fixtures):
    outside_write(served.home, geo_fixtures / "gemma/GSE2122.soft.gz")
    indexed = exprhub("index", "--home", served.home, "--json")
    assert indexed.returncode == 0, indexed.stderr
    assert json.loads(indexed.stdout)["indexed"] >= 1
    outside_write(served.home, geo_fixtures / "gemma/GSE29006_family.soft.gz")
    cli = exprhub("search", "GSE29006[ACCN] OR GSE2122[ACCN]", "--home", served.home, "--json")
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["total"] == 2
    assert served.search("GSE29006[ACCN] OR GSE2122[ACCN]")["count"] == 2


def test_parallel_searches_right_after_an_outside_write(served, geo_fixtures):
    outside_write(served.home, geo_fixtures / "gemma/GSE1623_family.soft.txt.gz")
    start = threading.Barrier(8)

    def search(_: int) -> tuple[int, list[str]]:
        start.wait()
        url = served.url("/api/v1/search?q=" + quote("GSE1623[ACCN]"))
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
                body = json.loads(response.read())
                return response.status, [hit["key"] for hit in body["results"]]
        except urllib.error.HTTPError as exc:
            return exc.code, [exc.read().decode(errors="replace")]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(search, range(8)))
    assert answers == [(200, ["GSE1623"])] * 8


@pytest.mark.slow
def test_bounded_load_while_records_arrive(served, geo_fixtures):
    """4 clients x 250 GETs on kept-alive connections while three imports land."""
    paths = [
        "/api/v1/search?q=" + quote("GSM[ETYP]"),
        "/api/v1/search?q=kidney",
        "/search?q=GSE",
        "/api/v1/stats",
        "/api/v1/series/GSE2870",
        "/",
    ]
    failures: list[str] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def client(offset: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=TIMEOUT)
        try:
            for i in range(250):
                path = paths[(i + offset) % len(paths)]
                try:
                    connection.request("GET", path)
                    response = connection.getresponse()
                    response.read()
                    with lock:
                        statuses.append(response.status)
                        if response.status != 200:
                            failures.append(f"{response.status} {path}")
                except (OSError, http.client.HTTPException) as exc:
                    with lock:
                        failures.append(f"{type(exc).__name__}: {exc} ({path})")
                    connection.close()
                    connection = http.client.HTTPConnection(
                        "127.0.0.1", served.port, timeout=TIMEOUT
                    )
        finally:
            connection.close()

    def imports() -> None:
        for name in ("GSE432_family.soft.gz", "GSE3791_family.soft.gz", "GDS1794.soft.gz"):
            outside_write(served.home, geo_fixtures / "gemma" / name)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    threads.append(threading.Thread(target=imports))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10 * TIMEOUT)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    assert len(statuses) == 1000
    assert served.search("GSE3791[ACCN]")["count"] == 1


def test_import_says_when_the_index_will_catch_up(tmp_path, geo_fixtures, capsys, monkeypatch):
    """With the index's write lock held elsewhere, the import still succeeds (exit 0), says the
    index is behind, and the next search catches up."""
    home = tmp_path / "hub"
    assert main(["init", "--home", str(home)]) == 0
    monkeypatch.setattr(intake, "INDEX_SYNC_WAIT", 0.0)
    hub = Hub(home)
    try:
        with HubSearch(hub) as holder, holder.index.writing():
            code = main(
                ["import", "--home", str(home), str(geo_fixtures / "geoquery/GSM11805.txt.gz")]
            )
            captured = capsys.readouterr()
            assert code == 0, captured.err
            assert "search index not updated yet" in captured.err
            assert "exprhub index" in captured.err
            assert "GSM11805" in {r.key for r in hub.records()}
    finally:
        hub.close()
    assert main(["search", "GSM11805[ACCN]", "--home", str(home), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 1
