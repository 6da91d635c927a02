"""Record tables encoded to Parquet and stored as blobs by a child process.

An import of many files spends a few milliseconds a sample table on Parquet encoding. On a
thread of the importing process that work competes with the importing thread for the GIL:
each time the importing thread releases it (in the C splitter, SQLite, a file write), it may
wait for the table thread to hand it back. :class:`TableProcess` moves the encoding, and the
writing of the blob, to a child Python process, fed over a pipe with the columns as the Arrow
buffers the importing thread has already built (no pickling of strings).

What stays the same as on a thread: the bytes of every blob (both ends call
:func:`~exprhub.storage.blobs.arrays_to_parquet`), the order of the results, and what a crash
leaves behind. The child appends ``tables <digest>`` to the write's blob log before it creates
a blob, as the importing process does for what it creates itself, so that an interrupted or
undone write removes the child's blobs too (see :mod:`~exprhub.storage.staging`).

The protocol, on two one-way pipes: a request is one pickled header ``(root, suffix, log,
names, shared, [(position, length, offset), ...])`` followed by two messages per column (the Arrow
offsets and data buffers); a reply is one pickled ``(digest, created, error)``. Requests are
answered in order.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Mapping
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from exprhub.storage.blobs import BlobDirectory

_CHILD_MODULE = "exprhub.storage.table_process"


class TableProcessFailed(RuntimeError):
    """The child process failed to store a table, or stopped."""


class TableProcess:
    """A child process that stores record tables as Parquet blobs (see the module docstring).

    It starts at the first :meth:`send` and runs until :meth:`close` (or until this process
    ends: the child stops when its request pipe closes).
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._requests: Connection | None = None
        self._replies: Connection | None = None
        #: requests sent and not yet answered
        self.outstanding = 0

    def _start(self) -> None:
        to_child, requests = os.pipe()
        replies, from_child = os.pipe()
        env = dict(os.environ)
        # the child imports the same exprhub as this process, whatever the parent's sys.path
        source = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (source, env.get("PYTHONPATH")) if p)
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", _CHILD_MODULE, str(to_child), str(from_child)],
                pass_fds=(to_child, from_child),
                stdin=subprocess.DEVNULL,
                env=env,
            )
        except BaseException:
            for fd in (to_child, requests, replies, from_child):
                os.close(fd)
            raise
        os.close(to_child)
        os.close(from_child)
        self._requests = Connection(requests, readable=False)
        self._replies = Connection(replies, writable=False)

    def send(
        self,
        directory: BlobDirectory,
        log: Path,
        names: list[str],
        arrays: Mapping[int, pa.Array],
        shared: Mapping[int, str],
    ) -> None:
        """Ask the child to store the table with column ``names``: the ``arrays`` (Arrow
        string arrays by position) and the ``shared`` columns (blob digests by position) of
        :func:`~exprhub.storage.blobs.arrays_to_parquet`, in ``directory``, noting a blob it
        creates in the blob ``log`` first. Blocks while the pipe is full."""
        if self._process is None:
            self._start()
        assert self._requests is not None
        import pyarrow as pa

        parts = [
            (position, array if array.type == pa.large_string() else array.cast(pa.large_string()))
            for position, array in sorted(arrays.items())
        ]
        header = (
            str(directory.root),
            directory.suffix,
            str(log),
            names,
            dict(shared),
            [(position, len(array), array.offset) for position, array in parts],
        )
        try:
            self._requests.send_bytes(pickle.dumps(header, protocol=pickle.HIGHEST_PROTOCOL))
            for _, array in parts:
                buffers = array.buffers()  # validity (none: no nulls), offsets, data
                if buffers[0] is not None and array.null_count:
                    raise ValueError("table columns hold no nulls")
                self._requests.send_bytes(buffers[1])
                self._requests.send_bytes(buffers[2] if buffers[2] is not None else b"")
        except (BrokenPipeError, ConnectionError):
            raise self._stopped() from None
        self.outstanding += 1

    def receive(self) -> tuple[str, bool]:
        """``(digest, created)`` of the oldest table sent and not yet received."""
        assert self._replies is not None and self.outstanding > 0
        try:
            digest, created, error = pickle.loads(self._replies.recv_bytes())
        except (EOFError, ConnectionError):
            raise self._stopped() from None
        self.outstanding -= 1
        if error is not None:
            raise TableProcessFailed(f"storing a record table failed: {error}")
        return digest, created

    def drain(self) -> None:
        """Wait for every outstanding reply, ignoring errors (the write is being undone)."""
        while self.outstanding:
            with contextlib.suppress(TableProcessFailed):  # a stopped child leaves none
                self.receive()

    def _stopped(self) -> TableProcessFailed:
        code = self._process.wait() if self._process is not None else None
        self.close()
        return TableProcessFailed(f"the table process stopped (exit status {code})")

    def close(self) -> None:
        """Stop the child (after the requests it has) and wait for it."""
        for connection in (self._requests, self._replies):
            if connection is not None:
                connection.close()
        self._requests = self._replies = None
        if self._process is not None:
            try:
                self._process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        self.outstanding = 0


# --- the child --------------------------------------------------------------------------------


def _store(header: tuple[Any, ...], buffers: list[bytes]) -> tuple[str, bool]:
    import pyarrow as pa

    from exprhub.storage.blobs import BlobDirectory, arrays_to_parquet

    root, suffix, log, names, shared, parts = header
    arrays = {
        position: pa.LargeStringArray.from_buffers(
            length, pa.py_buffer(buffers[2 * k]), pa.py_buffer(buffers[2 * k + 1]), offset=offset
        )
        for k, (position, length, offset) in enumerate(parts)
    }
    data = arrays_to_parquet(names, arrays, shared)

    def note(digest: str) -> None:
        with open(log, "a", encoding="utf-8") as handle:  # O_APPEND: one line, one write
            handle.write(f"tables {digest}\n")

    return BlobDirectory(Path(root), suffix).put_bytes(data, before_create=note)


def _serve(requests: Connection, replies: Connection) -> None:
    """Answer requests until the request pipe closes. A reader thread keeps the pipe drained
    so that the parent never waits on a full pipe while a table is being encoded."""
    inbox: queue.Queue[tuple[tuple[Any, ...], list[bytes]] | None] = queue.Queue()

    def read() -> None:
        try:
            while True:
                header = pickle.loads(requests.recv_bytes())
                buffers = [requests.recv_bytes() for _ in range(2 * len(header[5]))]
                inbox.put((header, buffers))
        except (EOFError, OSError):
            inbox.put(None)

    threading.Thread(target=read, daemon=True).start()
    import pyarrow.parquet  # noqa: F401  (imported before the first request arrives)

    while (request := inbox.get()) is not None:
        try:
            digest, created = _store(*request)
            reply: tuple[Any, ...] = (digest, created, None)
        except Exception as exc:  # reported to the parent, which undoes its write
            reply = (None, False, f"{type(exc).__name__}: {exc}")
        try:
            replies.send_bytes(pickle.dumps(reply))
        except OSError:  # the parent is gone
            return


if __name__ == "__main__":
    _serve(
        Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False)
    )
