"""Compactions run on a kept thread while the next write goes on (see
:meth:`exprhub.hub.Hub.compacting_in_background`)."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future

from exprhub.hub.background import background_thread


class CompactionQueue:
    """The compactions that committed writes made due, run one at a time on the process's
    kept ``exprhub-compaction`` thread.

    ``compact(name)`` compacts matrix ``name`` up to its committed extent *as it stands when
    the compaction starts* and never raises (a failure is the caller's to log). So a matrix
    whose compaction is queued but not started needs no second one: that one will also copy
    the columns committed since; a matrix whose compaction is already running gets one more,
    run after it.
    """

    def __init__(self, compact: Callable[[str], int]) -> None:
        self._compact = compact
        self._latest: dict[str, Future[int]] = {}
        self._pid = os.getpid()

    def submit(self, name: str) -> None:
        """Compact matrix ``name`` soon (see the class)."""
        queued = self._latest.get(name)
        if queued is not None and not queued.running() and not queued.done():
            return
        self._latest[name] = background_thread("exprhub-compaction").submit(self._compact, name)

    def wait(self) -> list[str]:
        """Wait until every compaction submitted so far has ended; return the names of the
        matrices they were for. In a process forked from the one that submitted them (which
        has none of its threads) nothing is waited for."""
        names = list(self._latest)
        if self._pid == os.getpid():
            for future in list(self._latest.values()):
                future.result()
        self._latest.clear()
        return names
