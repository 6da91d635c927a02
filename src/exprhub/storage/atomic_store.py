"""Files of a matrix store written so that every write atomically replaces its target file
(see :class:`AtomicFiles`; used by :mod:`exprhub.storage.arrays`,
:mod:`exprhub.storage.chunk_writer` and, for writes through zarr,
:mod:`exprhub.storage.zarr_store`). Imports no zarr: importing zarr costs an importing
process 0.2-0.5 s, and appends write their chunk files and metadata without it."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import itertools
import os
import threading
import uuid
from pathlib import Path
from typing import Any

from exprhub.storage.errors import HubError

#: Suffix of temporary files (``.<name>.<token>.partial``); leftovers are removed on rollback.
TMP_SUFFIX = ".partial"


class StoreFenced(HubError):
    """A write reached a store that was closed for writing after a failed operation."""


class StoreReadOnly(HubError):
    """A write reached a store opened read-only."""


class AtomicFiles:
    """Writer of the files under one directory whose every write atomically replaces the
    target file.

    Each value is written to a temporary file in the target's directory and moved over the
    target with ``os.replace``, so readers and crashes only ever see the old or the new file.
    ``fence()`` closes the writer and waits for writes in flight to finish; it is used after a
    failed operation so stray writes cannot land later.

    Parameters
    ----------
    root
        Directory of the store.
    read_only
        Whether the writer refuses writes.
    fsync
        Whether to fsync each file and its directory before and after the move.
    """

    def __init__(self, root: Path | str, *, read_only: bool = False, fsync: bool = False) -> None:
        self.root = Path(root)
        self.read_only = read_only
        self.fsync = fsync
        self._fenced = False
        self._in_flight = 0
        self._cond = threading.Condition()

    def fence(self) -> None:
        """Refuse further writes and wait until writes in flight have finished."""
        with self._cond:
            self._fenced = True
            while self._in_flight:
                self._cond.wait()

    def write_file(self, path: Path, data: Any, *, exclusive: bool = False) -> None:
        """Atomically replace the file at ``path`` (inside the store) with ``data`` (a bytes-like
        object); with ``exclusive``, create it only if it does not exist (FileExistsError)."""
        self._check_writable()
        self._begin(path)
        try:
            self._write_file(path, data, exclusive)
        finally:
            self._end()

    def write_new_file(self, path: Path, data: bytes) -> None:
        """Write ``data`` to the file at ``path`` in place, not atomically.

        Only for files no reader opens and no recovery reads until the write that creates
        them commits (chunks wholly beyond a matrix's committed extent, which undoing the
        write deletes unread): this saves the temporary name and the rename.
        """
        self._check_writable()
        self._begin(path)
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
            try:
                fd = os.open(path, flags, 0o644)
            except FileNotFoundError:  # the first file of its directory
                os.makedirs(path.parent, exist_ok=True)
                fd = os.open(path, flags, 0o644)
            _write_all(fd, data, self.fsync)
            if self.fsync:
                _fsync_dir(path.parent)
        finally:
            self._end()

    def remove_file(self, path: Path) -> None:
        """Delete the file at ``path`` (inside the store) if it exists."""
        self._check_writable()
        self._begin(path)
        try:
            path.unlink(missing_ok=True)
        finally:
            self._end()

    def _check_writable(self) -> None:
        if self.read_only:
            raise StoreReadOnly(f"{self.root}: the store is open read-only")

    def _begin(self, path: Path) -> None:
        """Count a write in flight, refusing it once the store is fenced."""
        with self._cond:
            if self._fenced:
                raise StoreFenced(f"{path}: write refused, the operation that issued it failed")
            self._in_flight += 1

    def _end(self) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()

    def _write_file(self, path: Path, data: Any, exclusive: bool) -> None:
        target = os.fspath(path)
        fd, tmp = _open_temporary(target)
        try:
            _write_all(fd, data, self.fsync)
            if exclusive:
                os.link(tmp, target)
                os.unlink(tmp)
            else:
                self._replace(tmp, path)
            if self.fsync:
                _fsync_dir(path.parent)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    @staticmethod
    def _replace(src: str | Path, dst: Path) -> None:
        """Move ``src`` over ``dst`` atomically (a seam for failure-injection tests)."""
        os.replace(src, dst)


# Temporary names: .<target name>.<process token><counter>.partial, created exclusively.
_TEMPORARY_TOKEN = f"{uuid.uuid4().hex[:12]}-"
_temporary_ids = itertools.count()


def _open_temporary(target: str) -> tuple[int, str]:
    """A new file, open for writing, in the directory of ``target`` (created if missing)."""
    directory, name = os.path.split(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    while True:
        tmp = f"{directory}/.{name}.{_TEMPORARY_TOKEN}{next(_temporary_ids)}{TMP_SUFFIX}"
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:  # left by a process that had the same token: next name
            continue
        except FileNotFoundError:  # the first file of its directory
            os.makedirs(directory, exist_ok=True)
            return os.open(tmp, flags, 0o600), tmp


def _write_all(fd: int, data: Any, fsync: bool) -> None:
    """Write every byte of ``data`` to ``fd`` (fsynced if asked), then close it."""
    try:
        view = memoryview(data).cast("B")
        while view:
            view = view[os.write(fd, view) :]
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _load_syncfs() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.syncfs
    except (OSError, AttributeError):
        return None


_syncfs = _load_syncfs()


def sync_filesystem(path: Path) -> None:
    """Flush every written file of the file system holding ``path`` to disk (``syncfs``
    where available, else ``sync``): one call makes a batch of chunk files durable."""
    if _syncfs is None:
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        if _syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(path))
    finally:
        os.close(fd)
