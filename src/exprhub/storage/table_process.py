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

The protocol, on two one-way pipes, is length-prefixed messages: a request is a pickled
header, ``(root, suffix, log, names, shared, [(position, length, offset, offsets
bytes, data bytes), ...])`` followed by each column's Arrow offsets and data buffers, written
in one system call where the pipe has room; a reply is a pickled ``(value, error)``. Requests
are answered in order.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from exprhub.storage.blobs import BlobDirectory

#: The child's program: ``python -c _CHILD <exprhub's parent folder> <request fd> <reply fd>``.
_CHILD = """
import sys
try:
    import exprhub
except ImportError:
    sys.path.append(sys.argv[1])
from exprhub.storage.table_process import child_main
child_main(int(sys.argv[2]), int(sys.argv[3]))
"""


class TableProcessFailed(RuntimeError):
    """The child process failed to store a table, or stopped."""


class TableProcess:
    """A child process that stores record tables as Parquet blobs (see the module docstring).

    It starts at the first :meth:`send` and runs until :meth:`close` (or until this process
    ends: the child stops when its request pipe closes).
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._requests: int | None = None
        self._replies: int | None = None
        self._received = bytearray()
        #: requests sent whose replies are not read yet
        self._outstanding = 0

    @property
    def outstanding(self) -> int:
        """Requests sent whose replies are not read yet."""
        return self._outstanding

    def _start(self) -> None:
        to_child, requests = os.pipe()
        replies, from_child = os.pipe()
        _widen(requests)
        # where this exprhub lies, for a child that cannot import it otherwise (this process's
        # sys.path changed at run time); appended, so that it shadows nothing
        source = str(Path(__file__).resolve().parents[2])
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _CHILD, source, str(to_child), str(from_child)],
                pass_fds=(to_child, from_child),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        except BaseException:
            for fd in (to_child, requests, replies, from_child):
                os.close(fd)
            raise
        os.close(to_child)
        os.close(from_child)
        self._requests, self._replies = requests, replies
        self._received.clear()

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
        creates in the blob ``log`` first. Its :meth:`receive` is ``(digest, created)``.
        Blocks while the pipe is full."""
        import pyarrow as pa

        parts, buffers = [], []
        for position, array in sorted(arrays.items()):
            if array.type != pa.large_string():
                array = array.cast(pa.large_string())
            if array.null_count:
                raise ValueError("table columns hold no nulls")
            _, offsets, data = array.buffers()
            data = data if data is not None else b""
            parts.append((position, len(array), array.offset, len(offsets), len(data)))
            buffers += [offsets, data]
        header = (str(directory.root), directory.suffix, str(log), names, dict(shared), parts)
        pickled = pickle.dumps(header, protocol=pickle.HIGHEST_PROTOCOL)
        if self._process is None:
            self._start()
        assert self._requests is not None
        size = _HEADER.size + len(pickled) + sum(len(b) for b in buffers)
        pieces = [_FRAME.pack(size), _HEADER.pack(len(pickled)), pickled, *buffers]
        try:
            _write_all(self._requests, pieces)
        except OSError:  # the child is gone (BrokenPipeError)
            raise self._stopped() from None
        self._outstanding += 1

    def receive(self) -> Any:
        """The child's answer to the oldest request not yet received (waiting for it)."""
        if not self._outstanding:
            raise TableProcessFailed("no reply is due")
        assert self._replies is not None
        try:
            reply = _next_frame(self._replies, self._received)
        except OSError:
            reply = None
        if reply is None:
            raise self._stopped()
        self._outstanding -= 1
        value, error = pickle.loads(reply)
        if error is not None:
            raise TableProcessFailed(f"the table process failed: {error}")
        return value

    def drain(self) -> None:
        """Wait for every outstanding reply and drop them all, errors included (the write is
        being undone)."""
        while self._outstanding:
            with contextlib.suppress(TableProcessFailed):  # a stopped child leaves none
                self.receive()

    def _stopped(self) -> TableProcessFailed:
        code = self._process.wait() if self._process is not None else None
        self.close()
        return TableProcessFailed(f"the table process stopped (exit status {code})")

    def close(self) -> None:
        """Stop the child (after the requests it has) and wait for it."""
        for fd in (self._requests, self._replies):
            if fd is not None:
                os.close(fd)
        self._requests = self._replies = None
        if self._process is not None:
            try:
                self._process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        self._outstanding = 0


#: A message: its length, then its bytes. A request's bytes: the length of its pickled header,
#: the header, then the offsets and data buffer of each column, in the header's order.
_FRAME = struct.Struct("<Q")
_HEADER = struct.Struct("<I")
_READ_BYTES = 1 << 16


def _write_all(fd: int, pieces: list[Any]) -> None:
    """Write the pieces (bytes-like) in as few system calls as the pipe allows."""
    views = [memoryview(p).cast("B") for p in pieces if len(p)]
    while views:
        written = os.writev(fd, views)
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if written:
            views[0] = views[0][written:]


def _next_frame(fd: int, received: bytearray) -> bytes | None:
    """The next message from the pipe (what was read beyond it stays in ``received``), or None
    at its end."""
    while True:
        if len(received) >= _FRAME.size:
            (size,) = _FRAME.unpack_from(received)
            if len(received) >= _FRAME.size + size:
                message = bytes(received[_FRAME.size : _FRAME.size + size])
                del received[: _FRAME.size + size]
                return message
        block = os.read(fd, _READ_BYTES)
        if not block:
            return None
        received += block


def _read_frame(fd: int) -> memoryview | None:
    """The next message from the pipe, read straight into one buffer, or None at its end."""
    head = bytearray(_FRAME.size)
    if not _read_into(fd, memoryview(head)):
        return None
    (size,) = _FRAME.unpack(head)
    body = memoryview(bytearray(size))
    if not _read_into(fd, body):
        raise EOFError("the request pipe closed inside a message")
    return body


def _read_into(fd: int, view: memoryview) -> bool:
    """Fill ``view`` from the pipe; False if it ended before the first byte."""
    filled = 0
    while filled < len(view):
        n = os.readv(fd, [view[filled:]])
        if n == 0:
            if filled:
                raise EOFError("the request pipe closed inside a message")
            return False
        filled += n
    return True


#: Bytes the request pipe is asked to hold: a few tables of ~20,000 rows (Linux's default
#: 64 KiB holds less than one, and the importing thread would wait for the child to read).
PIPE_BYTES = 1 << 20


def _widen(fd: int) -> None:
    """Let the pipe hold :data:`PIPE_BYTES` where the system allows (Linux); else leave it."""
    setting = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setting is None:
        return
    with contextlib.suppress(OSError):  # over /proc/sys/fs/pipe-max-size for this user
        fcntl.fcntl(fd, setting, PIPE_BYTES)


# --- the child --------------------------------------------------------------------------------


def _answer(message: memoryview) -> Any:
    import pyarrow as pa

    from exprhub.storage.blobs import BlobDirectory, arrays_to_parquet

    (length,) = _HEADER.unpack_from(message)
    at = _HEADER.size + length
    root, suffix, log, names, shared, parts = pickle.loads(message[_HEADER.size : at])
    arrays = {}
    for position, rows, offset, offsets_size, data_size in parts:
        offsets = pa.py_buffer(message[at : at + offsets_size])
        data = pa.py_buffer(message[at + offsets_size : at + offsets_size + data_size])
        at += offsets_size + data_size
        arrays[position] = pa.LargeStringArray.from_buffers(rows, offsets, data, offset=offset)
    encoded = arrays_to_parquet(names, arrays, shared)

    def note(digest: str) -> None:
        with open(log, "a", encoding="utf-8") as handle:  # O_APPEND: one line, one write
            handle.write(f"tables {digest}\n")

    return BlobDirectory(Path(root), suffix).put_bytes(encoded, before_create=note)


def _serve(requests: int, replies: int) -> None:
    """Answer requests until the request pipe closes. A reader thread keeps the pipe drained
    so that the parent never waits on a full pipe while a table is being encoded."""
    inbox: queue.Queue[memoryview | None] = queue.Queue()

    def read() -> None:
        try:
            while (message := _read_frame(requests)) is not None:
                inbox.put(message)
        except (EOFError, OSError):
            pass
        inbox.put(None)

    threading.Thread(target=read, daemon=True).start()
    import pyarrow.parquet  # noqa: F401  (imported before the first request arrives)

    while (message := inbox.get()) is not None:
        try:
            reply: tuple[Any, str | None] = (_answer(message), None)
        except Exception as exc:  # reported to the parent, which undoes its write
            reply = (None, f"{type(exc).__name__}: {exc}")
        body = pickle.dumps(reply)
        try:
            _write_all(replies, [_FRAME.pack(len(body)), body])
        except OSError:  # the parent is gone
            return


def child_main(requests: int, replies: int) -> None:
    """The child's main: serve the parent's requests on these pipe ends until it closes them."""
    # Ctrl-C reaches the whole process group: the importing process handles it, and its
    # closed pipe then ends this one (without a traceback of its own)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _serve(requests, replies)
