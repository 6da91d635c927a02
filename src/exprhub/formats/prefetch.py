"""Reading a stream ahead in a background thread, so decompression overlaps parsing."""

from __future__ import annotations

import threading
from collections import deque
from typing import BinaryIO

__all__ = ["Prefetch"]


class Prefetch:
    """Reads a stream ahead in a background thread, holding up to ``ahead`` bytes ready (or
    two chunks, if that is more): the first ``span`` bytes in chunks of ``small`` bytes, the
    rest in chunks of ``chunk`` bytes.

    Decompression releases the GIL, so a gzip file is inflated while the previous piece is
    being parsed. Errors raised while reading (a truncated gzip file) reach the reader.

    Parameters
    ----------
    stream
        The stream read ahead (closed by its owner, after :meth:`close`).
    chunk
        Bytes read at a time after the first ``span`` bytes.
    span
        Bytes read ``small`` at a time first.
    small
        Bytes read at a time within ``span`` (default: ``chunk``).
    ahead
        Bytes held ready at most (at least two chunks).
    """

    def __init__(
        self, stream: BinaryIO, chunk: int, span: int = 0, small: int = 0, ahead: int = 0
    ) -> None:
        self._stream = stream
        self._chunk = chunk
        self._small = small or chunk
        self._span = span
        self._ahead = ahead
        self._ready: deque[bytes | BaseException] = deque()
        self._ready_bytes = 0
        self._changed = threading.Condition()
        self._stop = False
        self._done = False
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        try:
            while not self._stop:
                size = self._small if self._span > 0 else self._chunk
                data = self._stream.read(size)
                self._span -= len(data)
                self._put(data, max(self._ahead, 2 * size))
                if not data:
                    return
        except BaseException as error:  # handed to the reading thread
            self._put(error, 0)

    def _put(self, item: bytes | BaseException, limit: int) -> None:
        size = len(item) if isinstance(item, bytes) else 0
        with self._changed:
            while self._ready and self._ready_bytes + size > limit and not self._stop:
                self._changed.wait()
            self._ready.append(item)
            self._ready_bytes += size
            self._changed.notify_all()

    def start(self) -> None:
        """Start reading ahead now (else the first :meth:`read` starts it)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="exprhub-read-ahead", daemon=True
            )
            self._thread.start()

    def read(self, size: int = -1) -> bytes:
        """The next chunk (of the prefetcher's size, whatever ``size`` asks), b"" at the end."""
        if self._done:
            return b""
        self.start()
        with self._changed:
            while not self._ready:
                self._changed.wait()
            item = self._ready.popleft()
            if isinstance(item, bytes):
                self._ready_bytes -= len(item)
            self._changed.notify_all()
        if isinstance(item, BaseException):
            self._done = True
            raise item
        if not item:
            self._done = True
        return item

    def close(self) -> None:
        """Stop the background thread, if any (before the stream is closed)."""
        with self._changed:
            self._stop = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join()
