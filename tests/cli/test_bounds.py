"""Paging and query bounds from the command line and in a real ``exprhub serve`` process.

A deep search offset used to make tantivy allocate offset x 16 bytes and abort the process
(exit 134, and a served hub refusing every later request); now it is a one-line error. That
case runs the command in a subprocess (an abort would kill pytest otherwise); the other
bounds run ``exprhub.cli.main`` in-process, which is much faster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from exprhub.cli import main
from exprhub.hub import Hub
from exprhub.hub.listing import MAX_LISTING_LIMIT, MAX_LISTING_OFFSET
from exprhub.search.hub_index import HubSearch
from exprhub.search.paging import MAX_SEARCH_END, MAX_SEARCH_OFFSET
from tests.serving import serving
from tests.web.conftest import all_records

ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A hub of hand-made records, indexed."""
    path = tmp_path_factory.mktemp("cli-bounds") / "hub"
    with Hub.init(path) as hub, HubSearch(hub) as engine:
        hub.put_records(all_records())
        engine.sync()
    return path


def exprhub(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exprhub", *args],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
    )


def in_process(capsys, *args: str) -> subprocess.CompletedProcess[str]:
    """``exprhub ARGS`` run by ``exprhub.cli.main`` in this process."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, out, err)


def assert_one_line_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 1, (done.returncode, done.stderr)  # 134 was the abort
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize("query", ["a", "GSM[ETYP]"])  # a ranked page; accession order
def test_search_with_a_huge_offset_is_a_one_line_error(home: Path, query: str):
    done = exprhub("search", query, "--offset", "2000000000", "--home", str(home))
    assert_one_line_error(done, "offset 2000000000 is too large", str(MAX_SEARCH_OFFSET))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--offset", "1000000000000000000000"], ["offset", "too large"]),
        (["--offset", "-1"], ["limit and offset must be >= 0"]),
        (["--limit", "1001"], ["limit 1001 is too large"]),
        (["--offset", str(MAX_SEARCH_END - 5), "--limit", "10"], ["offset + limit"]),
    ],
)
def test_search_paging_out_of_bounds(capsys, home: Path, args: list[str], words: list[str]):
    done = in_process(capsys, "search", "liver", *args, "--home", str(home))
    assert_one_line_error(done, *words)


def test_the_last_search_page_within_bounds_works(capsys, home: Path):
    offset = str(MAX_SEARCH_OFFSET)
    done = in_process(
        capsys, "search", "liver", "--offset", offset, "--limit", "1", "--json", "--home", str(home)
    )
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["hits"] == [] and body["total"] > 0


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("(" * 490 + "liver" + ")" * 490, ["nested too deeply", "(at column 33 of the query)"]),
        ("99999999999999999999[NSAM]", ["out of range for [NSAM]", "(at column 1 of the query)"]),
        ("liver[NOPE]", ["unknown field [NOPE] at column 6;"]),
    ],
)
def test_malformed_queries_are_one_line_errors(capsys, home: Path, query: str, words: list[str]):
    assert_one_line_error(in_process(capsys, "search", query, "--home", str(home)), *words)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--offset", "1000000000000000000000"], ["offset", str(MAX_LISTING_OFFSET)]),
        (["--type", "gsm", "--offset", "1000000000000000000000"], ["offset", "too large"]),
        (["--type", "gsm", "--offset", "-3"], [">= 0"]),
        (["--limit", "-1"], [">= 0"]),
        (["--limit", str(MAX_LISTING_LIMIT + 1)], ["limit", "too large"]),
    ],
)
def test_ls_paging_out_of_bounds(capsys, home: Path, args: list[str], words: list[str]):
    assert_one_line_error(in_process(capsys, "ls", *args, "--home", str(home)), *words)


def test_ls_at_the_largest_offset_lists_nothing(capsys, home: Path):
    for extra in ([], ["--type", "gsm"]):
        done = in_process(
            capsys, "ls", *extra, "--offset", str(MAX_LISTING_OFFSET), "--json", "--home", str(home)
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == []


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_served_hub_answers_after_a_huge_search_offset(home: Path):
    with serving(home, env=ENV, timeout=60) as server:
        base = server.base_url
        for query in ("a", "GSM[ETYP]"):  # a ranked page, and a page in accession order
            params = urllib.parse.urlencode({"q": query, "offset": 2_000_000_000})
            status, body = _get(f"{base}/api/v1/search?{params}")
            assert status == 422 and body["error"]["code"] == "invalid_request", body
            assert "offset" in body["error"]["message"]
        status, body = _get(f"{base}/api/v1/samples?offset=1000000000000000000000")
        assert status == 422 and body["error"]["code"] == "invalid_request", body
        status, body = _get(f"{base}/api/v1/search?q=liver")
        assert status == 200 and body["count"] > 0
        assert server.process.poll() is None
