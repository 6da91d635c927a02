"""Zarr's view of a matrix store, for the reads and writes that go through zarr: reading
blocks and many rows or columns at once, compaction's reads, and chunks of arrays this package
does not encode itself. Imported on demand only (zarr costs an importing process 0.2-0.5 s);
appends, metadata and rollback are written without it (:mod:`exprhub.storage.array_meta`,
:mod:`exprhub.storage.chunk_writer`)."""

from __future__ import annotations

import asyncio

import zarr
from zarr.core.buffer import Buffer
from zarr.storage import LocalStore

from exprhub.storage.atomic_store import AtomicFiles

__all__ = ["AtomicZarrStore", "open_array"]


class AtomicZarrStore(LocalStore):
    """Zarr local store whose every write goes through an :class:`AtomicFiles` writer (so it
    atomically replaces its target file, and stops once the writer is fenced).

    Parameters
    ----------
    files
        The writer of the store's directory; its root, read-only flag and fsync setting are
        the store's.
    """

    def __init__(self, files: AtomicFiles) -> None:
        super().__init__(files.root, read_only=files.read_only)
        self.files = files

    def with_read_only(self, read_only: bool = False) -> AtomicZarrStore:
        """Return a store on the same root with the given read-only flag."""
        return type(self)(AtomicFiles(self.root, read_only=read_only, fsync=self.files.fsync))

    def set_sync(self, key: str, value: Buffer) -> None:
        """Write ``value`` at ``key`` atomically (synchronous)."""
        self._ensure_open_sync()
        self._check_writable()
        self.files.write_file(self.root / key, value.as_buffer_like())

    async def _set(self, key: str, value: Buffer, exclusive: bool = False) -> None:
        if not self._is_open:
            await self._open()
        self._check_writable()
        if not isinstance(value, Buffer):
            raise TypeError(f"store value for {key!r} must be a zarr Buffer, got {type(value)}")
        try:
            await asyncio.to_thread(
                self.files.write_file, self.root / key, value.as_buffer_like(), exclusive=exclusive
            )
        except FileExistsError:
            if not exclusive:
                raise


def open_array(files: AtomicFiles, path: str) -> zarr.Array:
    """The zarr array at ``path`` (relative to the writer's root), writable through ``files``
    unless that is read-only."""
    mode = "r" if files.read_only else "r+"
    return zarr.open_array(store=AtomicZarrStore(files), path=path, mode=mode)
