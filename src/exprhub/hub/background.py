"""The threads a write hands work to (kept files, matrix columns): one per name and process,
started on first use and kept."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

_threads: dict[str, ThreadPoolExecutor] = {}
_threads_lock = threading.Lock()


def _forget_threads() -> None:
    """In a forked child: it has none of its parent's threads, and starts its own."""
    global _threads_lock
    _threads.clear()
    _threads_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_threads)


def background_thread(name: str) -> ThreadPoolExecutor:
    """The process's one thread called ``name`` for work a write hands off (kept files,
    matrix columns), started on first use and kept: starting a thread per file cost the
    importing thread ~1 ms each time on a busy 2-core machine, waiting for the new thread to
    be scheduled."""
    with _threads_lock:
        executor = _threads.get(name)
        if executor is None:
            executor = _threads[name] = ThreadPoolExecutor(1, thread_name_prefix=name)
        return executor
