"""A real ``exprhub serve`` subprocess for tests: started on a free loopback port, waited for
until it answers, and always stopped (killed if it does not stop when asked)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Seconds a server may take to start, and to stop when asked before it is killed.
START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running ``exprhub serve``.

    Attributes
    ----------
    port
        Its port on 127.0.0.1.
    process
        The subprocess.
    log
        The file that receives its standard output and error.
    """

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """The URL of ``path`` (starting with ``/``) on this server."""
        return self.base_url + path

    def output(self) -> str:
        """What the server has written to standard output and error so far."""
        return self.log.read_text(errors="replace")


def answers(server: Server) -> bool:
    """Whether the server answers ``GET /api/v1/stats`` (raises OSError while it does not)."""
    with urllib.request.urlopen(server.url("/api/v1/stats"), timeout=5) as response:
        response.read()
    return True


@contextmanager
def serving(
    home: Path,
    *,
    command: Sequence[str] = ("serve",),
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
    ready: Callable[[Server], bool] = answers,
    timeout: float = START_TIMEOUT,
) -> Iterator[Server]:
    """Run ``exprhub serve --home home`` on a free port for the duration of the block.

    Parameters
    ----------
    home
        The hub served.
    command
        The ``exprhub`` command and its options other than ``--home`` and ``--port`` (``demo``
        serves too).
    env
        Environment variables set for the server on top of this process's (and ``NO_COLOR``).
    log
        Where the server's output goes (default: a temporary file removed afterwards).
    ready
        Whether the server is ready; polled until true (an OSError counts as not yet).
    timeout
        Seconds the server may take to become ready.

    Yields
    ------
    Server
        The running server. It is terminated when the block ends, and killed if it has not
        exited ``STOP_TIMEOUT`` seconds later.
    """
    with ExitStack() as stack:
        if log is None:
            log = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "server.log"
        port = free_port()
        argv = [sys.executable, "-m", "exprhub", *command, "--home", str(home), "--port", str(port)]
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "NO_COLOR": "1", **(env or {})},
            )
        server = Server(port, process, log)
        try:
            _wait_until_ready(server, ready, timeout)
            yield server
        finally:
            _stop(process)


def _wait_until_ready(server: Server, ready: Callable[[Server], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready(server):
                return
        except OSError:
            pass
        assert server.process.poll() is None, server.output()
        assert time.monotonic() < deadline, f"exprhub serve was not ready in {timeout} s"
        time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


@contextmanager
def serving_app(app: Any) -> Iterator[str]:
    """Serve an ASGI ``app`` with uvicorn on a thread at a free loopback port; yield its base
    URL (``http://127.0.0.1:PORT``); stop it when the block ends."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise AssertionError("uvicorn did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
