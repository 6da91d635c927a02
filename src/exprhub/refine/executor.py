"""Where the refinery's work runs: a local process pool or a Dask distributed cluster.

Both offer the same small interface (:class:`Executor`): submit picklable functions with
picklable arguments and collect results as they complete. Workers only compute; the process
that called the refinery is the only one writing to the hub.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from typing import Any, Protocol, TypeVar

__all__ = [
    "DEFAULT_WORKERS",
    "DaskExecutor",
    "Executor",
    "LocalExecutor",
    "SerialExecutor",
    "make_executor",
]

T = TypeVar("T")
R = TypeVar("R")

#: Worker processes of the local pool by default.
DEFAULT_WORKERS = 2


class Executor(Protocol):
    """Runs ``fn(item)`` for many items and yields ``(item index, result or exception)``."""

    name: str

    def map_unordered(
        self, fn: Callable[[T], R], items: Iterable[T]
    ) -> Iterator[tuple[int, R | BaseException]]:
        """Yield ``(index, result)`` as each call completes; a call that raised yields its
        exception instead of stopping the others."""
        ...

    def close(self) -> None:
        """Release the workers."""
        ...

    def describe(self) -> dict[str, Any]:
        """JSON-ready description (kind, workers, address)."""
        ...


class SerialExecutor:
    """Runs everything in the calling process (tests, debugging, tiny jobs)."""

    name = "serial"

    def map_unordered(
        self, fn: Callable[[T], R], items: Iterable[T]
    ) -> Iterator[tuple[int, R | BaseException]]:
        for i, item in enumerate(items):
            try:
                yield i, fn(item)
            except Exception as exc:
                yield i, exc

    def close(self) -> None:
        return None

    def describe(self) -> dict[str, Any]:
        return {"kind": self.name, "workers": 1}

    def __enter__(self) -> SerialExecutor:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class LocalExecutor:
    """A pool of local worker processes (``concurrent.futures.ProcessPoolExecutor``).

    Parameters
    ----------
    workers
        Worker processes (default :data:`DEFAULT_WORKERS`, or ``$EXPRHUB_REFINE_WORKERS``).
    window
        Calls in flight at once per worker (bounds memory held by pending inputs/results).
    """

    name = "local"

    def __init__(self, workers: int | None = None, *, window: int = 2) -> None:
        env = os.environ.get("EXPRHUB_REFINE_WORKERS")
        self.workers = int(workers or (int(env) if env else DEFAULT_WORKERS))
        self.window = max(1, window)
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing

            context = multiprocessing.get_context("forkserver")
            # workers fork from a server that has the refinery imported already
            context.set_forkserver_preload(["exprhub.refine.pipeline_work"])
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        return self._pool

    def map_unordered(
        self, fn: Callable[[T], R], items: Iterable[T]
    ) -> Iterator[tuple[int, R | BaseException]]:
        pool = self._get_pool()
        limit = self.workers * self.window
        pending: dict[Future[R], int] = {}
        iterator = iter(enumerate(items))
        exhausted = False
        while True:
            while not exhausted and len(pending) < limit:
                try:
                    i, item = next(iterator)
                except StopIteration:
                    exhausted = True
                    break
                pending[pool.submit(fn, item)] = i
            if not pending:
                return
            done = next(as_completed(pending))
            i = pending.pop(done)
            exc = done.exception()
            yield i, (exc if exc is not None else done.result())

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def describe(self) -> dict[str, Any]:
        return {"kind": self.name, "workers": self.workers}

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class DaskExecutor:
    """Work sent to a running Dask distributed scheduler (``tcp://host:port``).

    The workers must be able to import exprhub; inputs travel with each call, so they need no
    access to the hub.
    """

    name = "dask"

    def __init__(self, address: str, *, window: int = 2, timeout: float = 30.0) -> None:
        try:
            from distributed import Client
        except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
            raise RuntimeError(
                "a Dask scheduler needs the 'distributed' package: "
                "pip install 'exprhub[distributed]'"
            ) from exc
        self.address = address
        try:
            self._client = Client(address, timeout=timeout, set_as_default=False)
        except OSError as exc:
            raise RuntimeError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        workers = self._client.scheduler_info().get("workers", {})
        self.workers = max(1, len(workers))
        self.window = max(1, window)

    def map_unordered(
        self, fn: Callable[[T], R], items: Iterable[T]
    ) -> Iterator[tuple[int, R | BaseException]]:
        from distributed import as_completed

        limit = self.workers * self.window
        iterator = iter(enumerate(items))
        pending: dict[Any, int] = {}
        queue = as_completed([], loop=self._client.loop, with_results=False)
        exhausted = False
        while True:
            while not exhausted and len(pending) < limit:
                try:
                    i, item = next(iterator)
                except StopIteration:
                    exhausted = True
                    break
                future = self._client.submit(fn, item, pure=False)
                pending[future] = i
                queue.add(future)
            if not pending:
                return
            future = next(queue)
            i = pending.pop(future)
            if future.status == "error":
                yield i, future.exception()
            else:
                yield i, future.result()
            future.release()

    def close(self) -> None:
        self._client.close()

    def describe(self) -> dict[str, Any]:
        return {"kind": self.name, "workers": self.workers, "address": self.address}

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def make_executor(
    scheduler: str | None = None, workers: int | None = None
) -> LocalExecutor | DaskExecutor | SerialExecutor:
    """A Dask executor when a scheduler address is given, else a local process pool
    (``workers=0`` runs in the calling process)."""
    if scheduler:
        return DaskExecutor(scheduler)
    if workers == 0:
        return SerialExecutor()
    return LocalExecutor(workers)
