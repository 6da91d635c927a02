"""An original input file kept in a hub (hashed and copied) on a thread of its own while the
write that imports it goes on (see :meth:`exprhub.hub.writer.HubWriter.keep_file_in_background`)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import wait as futures_wait
from pathlib import Path

from exprhub.hub.background import background_thread


class KeptFile:
    """An original file being hashed and copied into a hub on a thread of its own (see
    :meth:`exprhub.hub.writer.HubWriter.keep_file_in_background`)."""

    def __init__(
        self, path: Path, name: str | None, format: str | None, copy: Callable[[Path], str]
    ) -> None:
        self.path = path
        self.name = name
        self.format = format
        #: IDs of records stored before the digest was known.
        self.waiting: list[int] = []
        self._future: Future[str] = background_thread("exprhub-keep-file").submit(copy, path)

    def digest(self) -> str:
        """The file's SHA-256, once it is kept (raises what keeping it raised)."""
        return self._future.result()

    def digest_if_known(self) -> str | None:
        """The SHA-256 if the file is kept already, None while it is being kept (raises what
        keeping it raised, so that a failed copy stops the write early)."""
        return self._future.result() if self._future.done() else None

    def wait(self) -> None:
        """Wait until the thread has finished, whatever its outcome."""
        futures_wait([self._future])
