"""The write lock of a search index: one writer at a time, across threads and processes.

A :class:`WriteLock` is a reentrant lock for the threads of one process plus an outer lock
that other processes see: :class:`FileLock` (``flock`` on a file in the index directory) for
tantivy, a PostgreSQL advisory lock for the PostgreSQL backend. Both outer locks are released
by the operating system or the database server when their process dies, so a crashed writer
never leaves the index locked.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from exprhub.search.document import IndexBusy

#: Seconds between two attempts at an outer lock held by another process.
POLL_SECONDS = 0.05


class FileLock:
    """An exclusive ``flock`` on ``path`` (created when missing), holding the owner's pid.

    Parameters
    ----------
    path
        The lock file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        """Take the lock if no other open file holds it; True when taken."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return True

    def release(self) -> None:
        """Give the lock back."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def holder(self) -> str:
        """Who holds the lock, for messages (``process 1234``), or ``another process``."""
        try:
            pid = self.path.read_text().strip()
        except OSError:
            pid = ""
        return f"process {pid}" if pid.isdigit() else "another process"


class WriteLock:
    """Exclusive for the threads of this process and, through ``try_outer``, for processes.

    Parameters
    ----------
    what
        What is locked, for the :class:`IndexBusy` message.
    try_outer
        Takes the cross-process lock without waiting (True when taken); None for an index only
        this process can see (in memory).
    release_outer
        Gives the cross-process lock back.
    holder
        Names who holds the cross-process lock, for the message.
    """

    def __init__(
        self,
        what: str,
        try_outer: Callable[[], bool] | None = None,
        release_outer: Callable[[], None] | None = None,
        holder: Callable[[], str] | None = None,
    ) -> None:
        self.what = what
        self._threads = threading.RLock()
        self._depth = 0
        self._try_outer = try_outer
        self._release_outer = release_outer
        self._holder = holder

    @property
    def threads(self) -> threading.RLock:
        """The in-process part alone: what methods that touch the writer hold."""
        return self._threads

    @contextmanager
    def hold(self, wait: float = 0.0) -> Iterator[None]:
        """Hold the lock (reentrant within a thread); raise :class:`IndexBusy` when it is not
        free within ``wait`` seconds."""
        deadline = time.monotonic() + max(wait, 0.0)
        if not self._threads.acquire(timeout=max(wait, 0.0)):
            raise IndexBusy(f"{self.what} is being written by another thread of this process")
        try:
            outer = self._depth == 0 and self._try_outer is not None
            if outer:
                self._acquire_outer(deadline)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if outer and self._release_outer is not None:
                    self._release_outer()
        finally:
            self._threads.release()

    def _acquire_outer(self, deadline: float) -> None:
        assert self._try_outer is not None
        while not self._try_outer():
            left = deadline - time.monotonic()
            if left <= 0:
                who = self._holder() if self._holder is not None else "another process"
                raise IndexBusy(f"{self.what} is being written by {who}")
            time.sleep(min(POLL_SECONDS, left))
