"""The main job: `exprhub demo` builds a demo hub through the normal paths and serves it."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from exprhub.cli import main
from tests.serving import serving


def wait_for(url: str, timeout: float = 60.0) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return bytes(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


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
    home = tmp_path / "demo"
    demo = ("demo", "--series", "2", "--samples", "6")
    with serving(home, command=demo, timeout=180) as server:
        port = server.port
        stats = json.loads(wait_for(f"http://127.0.0.1:{port}/api/v1/stats", timeout=180))
        assert stats["counts"]["GSE"] >= 2
        home_page = wait_for(f"http://127.0.0.1:{port}/").decode()
        assert "exprhub" in home_page
        found = json.loads(wait_for(f"http://127.0.0.1:{port}/api/v1/search?q=GSM%5BETYP%5D"))
        assert found["count"] >= 12


def test_serving_stops_the_server_when_the_block_fails(tmp_path):
    home = tmp_path / "hub"
    assert main(["init", "--home", str(home)]) == 0
    with pytest.raises(RuntimeError, match="the test failed"), serving(home) as server:
        assert json.loads(wait_for(server.url("/api/v1/stats")))["counts"] is not None
        raise RuntimeError("the test failed")
    assert server.process.returncode is not None
    assert not server.log.exists()  # the default log is a temporary file


def test_a_replaced_worker_is_announced_as_a_warning():
    import logging

    from exprhub.cli.serve import announce_worker_restarts, worker_config

    worker_config("127.0.0.1", 8000, 2, 7)  # sets uvicorn's loggers to warnings only
    logger = logging.getLogger("uvicorn.error")
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    handler = Keep()
    logger.addHandler(handler)
    try:
        logger.info("Child process [4242] died")  # uvicorn's words, at its level
        assert seen == []  # silent before
        announce_worker_restarts(7)
        announce_worker_restarts(7)  # once, however often it is called
        logger.info("Waiting for child process [4242]")
        logger.info("Child process [4242] died")
        logger.warning("something else")
    finally:
        logger.removeHandler(handler)
        for f in list(logger.filters):
            logger.removeFilter(f)
    assert [(r.levelname, r.getMessage()) for r in seen] == [
        (
            "WARNING",
            "worker process 4242 exited or did not answer the health check within 7 s "
            "(--worker-timeout); it was replaced by a new worker",
        ),
        ("WARNING", "something else"),
    ]
