"""The main job: `exprhub demo` builds a demo hub through the normal paths and serves it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from exprhub.cli import main


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, timeout: float = 60.0) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return bytes(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_demo_builds_hub_and_is_idempotent(tmp_path, capsys):
    home = tmp_path / "demo"
    assert (
        main(
            ["demo", "--home", str(home), "--no-serve", "--json", "--series", "2", "--samples", "6"]
        )
        == 0
    )
    first = json.loads(capsys.readouterr().out)
    assert (
        first["counts"]["GSE"] >= 2 and first["counts"]["GSM"] >= 12 and first["counts"]["GDS"] == 1
    )
    assert main(["demo", "--home", str(home), "--no-serve", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["counts"] == first["counts"]
    assert main(["search", "GSE[ETYP]", "--home", str(home), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == first["counts"]["GSE"]


@pytest.mark.slow
def test_demo_serves_pages_and_api(tmp_path):
    port = free_port()
    home = tmp_path / "demo"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "exprhub",
            "demo",
            "--home",
            str(home),
            "--port",
            str(port),
            "--series",
            "2",
            "--samples",
            "6",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        stats = json.loads(wait_for(f"http://127.0.0.1:{port}/api/v1/stats", timeout=180))
        assert stats["counts"]["GSE"] >= 2
        home_page = wait_for(f"http://127.0.0.1:{port}/").decode()
        assert "exprhub" in home_page
        found = json.loads(wait_for(f"http://127.0.0.1:{port}/api/v1/search?q=GSM%5BETYP%5D"))
        assert found["count"] >= 12
    finally:
        process.terminate()
        process.wait(timeout=30)
