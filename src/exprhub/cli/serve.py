"""Serving commands: serve (a hub over HTTP) and demo (build a demo hub, then serve it)."""

from __future__ import annotations

import logging
import os
import re
import socket
from pathlib import Path
from typing import Annotated, Any

import typer

from exprhub.cli.app import (
    HomeOption,
    JsonOption,
    app,
    console,
    err_console,
    open_hub,
    print_json,
)

HostOption = Annotated[str, typer.Option(help="Interface to listen on.")]
PortOption = Annotated[int, typer.Option(help="TCP port.")]
WorkersOption = Annotated[
    int,
    typer.Option(
        help="Server processes (uvicorn workers) sharing the address; jobs and the search "
        "index are shared through the hub.",
    ),
]
WorkerTimeoutOption = Annotated[
    int,
    typer.Option(
        "--worker-timeout",
        help="With --workers: seconds a worker process may take to answer the parent's "
        "health check before it is killed and restarted.",
    ),
]
#: Seconds the server waits at start for another process's sync before serving anyway.
SERVE_SYNC_WAIT = 5.0
#: Default of ``--worker-timeout``. uvicorn's own, 5 s, kills workers that are only slow: a
#: worker answers from a thread that needs the interpreter lock, which the worker's start
#: (imports, opening the hub and index) holds for seconds at a time on a loaded machine.
WORKER_TIMEOUT = 60


class ListenError(OSError):
    """The server cannot listen on the address asked for (in use, not permitted, unknown)."""


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, ready for the server to listen on.

    Raises
    ------
    ListenError
        When the address cannot be bound (one line naming it and why).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise ListenError(f"cannot listen on {host}:{port}: {exc}") from None
    sock = socket.socket(family, kind, proto)
    try:
        # as uvicorn binds: lets a restart reuse a port left in TIME_WAIT, never a taken one
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise ListenError(
            f"cannot listen on {host}:{port}: {reason.lower()} (choose another with --port)"
        ) from None
    sock.set_inheritable(True)
    return sock


def _serve(
    hub: Any, host: str, port: int, workers: int = 1, worker_timeout: int = WORKER_TIMEOUT
) -> None:
    sock = listening_socket(host, port)  # before anything is announced
    try:
        if workers > 1:
            _serve_processes(hub, host, port, sock, workers, worker_timeout)
        else:
            _serve_on(hub, host, port, sock)
    finally:
        sock.close()


def _serve_processes(
    hub: Any, host: str, port: int, sock: socket.socket, workers: int, worker_timeout: int
) -> None:
    """Serve with ``workers`` uvicorn worker processes, each building its app with
    ``exprhub.web.app.app_from_environment`` from the hub location set here."""
    from uvicorn.supervisors import Multiprocess

    from exprhub.search.hub_index import HubSearch
    from exprhub.web.app import max_body_bytes_from_environment
    from exprhub.web.job_limits import JobLimits

    # limits checked here, so a wrong one is one line and not a failure in every worker
    JobLimits.from_environment()
    max_body_bytes_from_environment()
    # The index is opened (created, or rebuilt when outdated) once, before the workers open it.
    HubSearch(hub).close()
    os.environ["EXPRHUB_HOME"] = str(Path(hub.home).resolve())
    os.environ["EXPRHUB_DATABASE_URL"] = hub.database_url
    console.print(
        f"exprhub serving {hub.home} at http://{host}:{port}/ with {workers} worker processes "
        "(Ctrl-C stops)",
        markup=False,
    )
    config = worker_config(host, port, workers, worker_timeout)
    announce_worker_restarts(worker_timeout)
    Multiprocess(config, sockets=[sock]).run()


class WorkerRestarts(logging.Filter):
    """On uvicorn's supervisor logger: lets through, as a warning that says why, its note that
    it replaced a worker process (logged at INFO, below the server's level), and drops its
    other INFO lines (start and stop of each process)."""

    def __init__(self, worker_timeout: int) -> None:
        super().__init__()
        self.worker_timeout = worker_timeout

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        found = _WORKER_DIED.fullmatch(record.getMessage())
        if found is None:
            return False
        record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        record.msg = (
            f"worker process {found.group(1)} exited or did not answer the health check within "
            f"{self.worker_timeout} s (--worker-timeout); it was replaced by a new worker"
        )
        record.args = ()
        return True


#: uvicorn's words (``uvicorn.supervisors.multiprocess``) for a worker it kills or finds dead
#: and replaces.
_WORKER_DIED = re.compile(r"Child process \[(\d+)\] died")


def announce_worker_restarts(worker_timeout: int) -> None:
    """Make this process's uvicorn supervisor say, as a warning, when it replaces a worker
    (after :func:`worker_config`, which sets uvicorn's loggers to warnings only)."""
    logger = logging.getLogger("uvicorn.error")
    logger.setLevel(logging.INFO)
    for old in [f for f in logger.filters if isinstance(f, WorkerRestarts)]:
        logger.removeFilter(old)
    logger.addFilter(WorkerRestarts(worker_timeout))


def worker_config(host: str, port: int, workers: int, worker_timeout: int) -> Any:
    """The ``uvicorn.Config`` of ``workers`` server processes building their app with
    ``exprhub.web.app.app_from_environment``; a worker that does not answer the parent's
    health check within ``worker_timeout`` seconds is killed and restarted (one that exits
    is restarted at once)."""
    import uvicorn

    return uvicorn.Config(
        "exprhub.web.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        timeout_worker_healthcheck=worker_timeout,
    )


def _serve_on(hub: Any, host: str, port: int, sock: socket.socket) -> None:
    import uvicorn

    from exprhub.search.hub_index import HubSearch
    from exprhub.web.app import create_app
    from exprhub.web.searching import IndexSearch

    engine = HubSearch(hub)
    # the server holds the index's write lock only while a sync runs (see
    # exprhub.search.hub_index), so imports, `exprhub index` and `exprhub search` work meanwhile
    if engine.try_sync(wait=SERVE_SYNC_WAIT) is None:
        err_console.print(
            f"note: {engine.location} is being written by another exprhub process; "
            "searches will bring it up to date",
            markup=False,
            soft_wrap=True,
        )
    application = create_app(hub, search=IndexSearch(engine, hub))
    console.print(
        f"exprhub serving {hub.home} at http://{host}:{port}/ (Ctrl-C stops)", markup=False
    )
    config = uvicorn.Config(application, host=host, port=port, log_level="warning")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        engine.close()


@app.command()
def serve(
    home: HomeOption = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    workers: WorkersOption = 1,
    worker_timeout: WorkerTimeoutOption = WORKER_TIMEOUT,
) -> None:
    """Serve a hub: web pages at / and the REST API under /api/v1 (docs at /api/docs)."""
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    if worker_timeout < 1:
        raise ValueError(f"--worker-timeout must be at least 1 second, got {worker_timeout}")
    with open_hub(home) as hub:
        _serve(hub, host, port, workers, worker_timeout)


@app.command()
def demo(
    home: Annotated[Path, typer.Option("--home", help="Where to build the demo hub.")] = Path(
        "exprhub-demo"
    ),
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    series: Annotated[int, typer.Option(help="Simulated microarray series.")] = 4,
    samples: Annotated[int, typer.Option(help="Samples per series.")] = 12,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Build and index the demo hub, then stop.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Simulate realistic GEO files, import, refine and index them into a demo hub, and serve
    it on localhost."""
    from exprhub.demo import build_demo

    with console.status("building the demo hub", spinner="dots") as status:
        summary = build_demo(
            home, series=series, samples=samples, seed=seed, report=lambda m: status.update(m)
        )
    if json:
        print_json(summary)
    else:
        counts = ", ".join(f"{n} {t}" for t, n in summary["counts"].items() if n)
        console.print(f"demo hub at {summary['home']}: {counts}", markup=False)
    if no_serve:
        return
    with open_hub(home) as hub:
        _serve(hub, host, port)
