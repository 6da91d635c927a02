"""Where the refinery's work runs: a local process pool or a Dask distributed cluster.

Both offer the same small interface (:class:`Executor`): submit picklable functions with
picklable arguments and collect results as they complete. Workers only compute; the process
that called the refinery is the only one writing to the hub.

No worker outlives the process that started it: a local worker exits on its own as soon as
that process is gone (even after SIGKILL), and leaving an executor's ``with`` block on an
exception stops the workers at once instead of letting them finish. :func:`stop_on_signals`
turns SIGTERM and SIGINT into :class:`RefineInterrupted`, raised at once unless a hub
transaction is committing or rolling back (then where the run next waits for its workers).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from types import CodeType, FrameType
from typing import Any, Protocol, TypeVar

__all__ = [
    "DEFAULT_WORKERS",
    "DaskExecutor",
    "Executor",
    "LocalExecutor",
    "RefineInterrupted",
    "SerialExecutor",
    "WorkerDied",
    "make_executor",
    "stop_on_signals",
]

T = TypeVar("T")
R = TypeVar("R")

#: Worker processes of the local pool by default.
DEFAULT_WORKERS = 2

#: Exit status of a worker that found the process that started it gone.
ORPHANED_EXIT_STATUS = 70


class RefineInterrupted(BaseException):
    """SIGTERM or SIGINT asked a refine run to stop (a ``BaseException``, like
    ``KeyboardInterrupt``, so no ``except Exception`` turns it into a failed sample).

    Parameters
    ----------
    signum
        The signal received.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")

    @property
    def exit_status(self) -> int:
        """Shell convention for a process ended by the signal: 128 + its number."""
        return 128 + self.signum


class WorkerDied(RuntimeError):
    """A local worker process ended abruptly (killed, out of memory): the pool is unusable,
    and the samples it held are left as they were so that running refine again retries
    them."""


class _StopRequest:
    """What the signal handler of :func:`stop_on_signals` shares with the waits."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.installed = False

    def raise_if_requested(self) -> None:
        if self.signum is not None:
            raise RefineInterrupted(self.signum)


_stop = _StopRequest()


def _commit_code() -> set[CodeType]:
    """Code of the hub's transaction (commit, rollback, crash recovery): an exception raised
    inside it by a signal could undo files of a transaction that just committed."""
    from exprhub.hub import commit_code

    return set(commit_code())


def _inside(frame: FrameType | None, codes: set[CodeType]) -> bool:
    while frame is not None:
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT raise :class:`RefineInterrupted` in the main
    thread. A signal arriving while a hub transaction commits is held until the run next waits
    for its workers (or the block ends); a second signal while stopping exits at once, which
    is safe: the hub recovers from an interrupted write and the workers exit by themselves.

    Outside the main thread (where Python cannot install handlers) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread() or _stop.installed:
        yield
        return
    protected = _commit_code()

    def handler(signum: int, frame: FrameType | None) -> None:
        if _stop.signum is not None:
            os._exit(128 + signum)
        _stop.signum = signum
        if not _inside(frame, protected):
            raise RefineInterrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    _stop.installed = True
    _stop.signum = None
    try:
        yield
        _stop.raise_if_requested()
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        _stop.installed = False
        _stop.signum = None


def _exit_with_parent() -> None:
    """Worker initializer: leave Ctrl-C to the parent (it stops the pool) and exit as soon
    as the process that started the pool is gone.

    The forkserver hands each worker the write ends of its own "alive" pipe and of the
    resource tracker's pipe, and ProcessPoolExecutor gives it both ends of its call queue, so
    an orphaned worker waits forever and keeps the forkserver and the tracker running too.
    ``parent_process().sentinel`` is a pipe only the parent holds open: it turns readable
    when the parent exits, however it ended.
    """
    import multiprocessing
    from multiprocessing.connection import wait

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:  # pragma: no cover - not started by a pool
        return
    sentinel = parent.sentinel

    def watch() -> None:
        wait([sentinel])
        os._exit(ORPHANED_EXIT_STATUS)

    threading.Thread(target=watch, name="exprhub-parent-watch", daemon=True).start()


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
        """Release the workers once their calls are done."""
        ...

    def terminate(self) -> None:
        """Release the workers now, dropping calls in flight."""
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
            _stop.raise_if_requested()
            try:
                result: R | BaseException = fn(item)
            except Exception as exc:
                result = exc
            yield i, result

    def close(self) -> None:
        return None

    def describe(self) -> dict[str, Any]:
        return {"kind": self.name, "workers": 1}

    def terminate(self) -> None:
        return None

    def __enter__(self) -> SerialExecutor:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class LocalExecutor:
    """A pool of local worker processes (``concurrent.futures.ProcessPoolExecutor``).

    Workers exit by themselves when the process that started them is gone; leaving the
    ``with`` block on an exception (:class:`RefineInterrupted` included) kills them instead
    of waiting for their calls to finish.

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
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=context, initializer=_exit_with_parent
            )
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
                try:
                    pending[pool.submit(fn, item)] = i
                except BrokenProcessPool as broken:
                    raise WorkerDied(_died_message(broken)) from None
            if not pending:
                return
            _stop.raise_if_requested()
            done = next(as_completed(pending))
            i = pending.pop(done)
            error = done.exception()
            if isinstance(error, BrokenProcessPool):
                # not the item's fault: leave its samples unrecorded so a rerun retries them
                raise WorkerDied(_died_message(error)) from None
            if error is not None and not isinstance(error, Exception):
                raise error
            yield i, (error if error is not None else done.result())

    def close(self) -> None:
        """Wait for calls in flight, then release the workers."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def terminate(self) -> None:
        """Drop queued calls and kill the workers without waiting for their calls."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # ProcessPoolExecutor has no public way to stop busy workers before Python 3.14
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.kill()
        for process in processes:
            process.join(timeout=10)
        pool.shutdown(wait=True)

    def describe(self) -> dict[str, Any]:
        return {"kind": self.name, "workers": self.workers}

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.terminate()


def _died_message(exc: BaseException) -> str:
    return (
        f"a refine worker process ended abruptly ({exc}); work committed so far is kept: "
        "run the same command again to resume"
    )


class DaskExecutor:
    """Work sent to a running Dask distributed scheduler (``tcp://host:port``).

    The workers must be able to import exprhub; inputs travel with each call, so they need no
    access to the hub. The workers belong to the cluster, not to this process: leaving the
    ``with`` block on an exception cancels the calls in flight; when this process is killed,
    the scheduler drops its calls once the client's connection is gone.
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
        self._pending: dict[Any, int] = {}

    def map_unordered(
        self, fn: Callable[[T], R], items: Iterable[T]
    ) -> Iterator[tuple[int, R | BaseException]]:
        from distributed import as_completed

        limit = self.workers * self.window
        iterator = iter(enumerate(items))
        pending = self._pending
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
            _stop.raise_if_requested()
            future = next(queue)
            i = pending.pop(future)
            if future.status == "error":
                yield i, future.exception()
            else:
                yield i, future.result()
            future.release()

    def close(self) -> None:
        self._client.close()

    def terminate(self) -> None:
        """Cancel the calls in flight, then disconnect."""
        if self._pending:
            self._client.cancel(list(self._pending))
            self._pending.clear()
        self._client.close()

    def describe(self) -> dict[str, Any]:
        return {"kind": self.name, "workers": self.workers, "address": self.address}

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.terminate()


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
