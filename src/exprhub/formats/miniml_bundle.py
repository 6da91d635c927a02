"""Table files of MINiML documents: ``_family.xml.tgz`` bundles and files next to a document.

A MINiML record whose ``<Data-Table>`` names an ``<External-Data>`` file gets its table from
that file: inside the same ``.tgz`` bundle, or next to a plain document (also gzipped). A
bundle is read once as a stream (:func:`bundle_records`); table files are kept (in memory up
to ``_HELD_BYTES`` in all, beyond that in temporary files) only until the record naming them is
next in document order. Archive members, member sizes and table files beyond the reader's
:class:`~exprhub.formats.limits.Limits` are refused with a
:class:`~exprhub.formats.errors.LimitExceeded` naming the file (and member).
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from exprhub.formats.archive import iter_members
from exprhub.formats.errors import FormatError, LimitExceeded
from exprhub.formats.limits import Limits
from exprhub.formats.source import open_binary
from exprhub.records import Record

__all__ = ["PendingTable", "bundle_records", "is_tar", "member_key", "read_sibling_table"]

_CHUNK = 1 << 20
#: Bytes of a bundle's table files held in memory at most while they wait for their record;
#: more go to temporary files.
_HELD_BYTES = 1 << 26


def is_tar(head: bytes) -> bool:
    """Whether ``head`` (at least 262 bytes of decompressed data) starts a tar archive."""
    return len(head) >= 262 and head[257:262] == b"ustar"


def member_key(file: str) -> str:
    """The name a table file named by ``<External-Data>`` has in a bundle (its last part)."""
    return PurePosixPath(file.replace("\\", "/")).name


class PendingTable:
    """A record whose table is in an external file not read yet.

    Attributes
    ----------
    record
        The record the table belongs to.
    file
        The file named by ``<External-Data>`` (empty for ``<Internal-Data>``).
    rows
        The row count the document declares, if any.
    """

    def __init__(self, record: Record, file: str, rows: int | None) -> None:
        self.record = record
        self.file = file
        self.rows = rows


#: Parses one MINiML document (its stream and the name errors give it), handing each record
#: with an external table to the callback, and yields its records in document order.
DocumentParser = Callable[[BinaryIO, str, Callable[[PendingTable], None]], Iterator[Record]]
#: Fills in a record's table from the bytes of its table file (named in errors).
TableAttacher = Callable[[PendingTable, bytes, str], None]


class _Held:
    """A bundle's table file kept until the record naming it is next: its bytes, or a
    temporary file holding them."""

    def __init__(self, handle: BinaryIO, size: int, in_memory: bool) -> None:
        self.size = size
        self.in_memory = in_memory
        self._data: bytes | None = None
        self._file: BinaryIO | None = None
        if in_memory:
            self._data = handle.read()
        else:
            self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
            shutil.copyfileobj(handle, self._file, _CHUNK)

    def read(self) -> bytes:
        if self._data is not None:
            return self._data
        assert self._file is not None
        self._file.seek(0)
        return self._file.read()

    def close(self) -> None:
        self._data = None
        if self._file is not None:
            self._file.close()
            self._file = None


def read_sibling_table(document: Path, file: str, limits: Limits) -> tuple[Path, bytes] | None:
    """The table file ``file`` named by ``document``, found next to it (plain or ``.gz``):
    its path and bytes, or None if there is no such file.

    Raises
    ------
    LimitExceeded
        If the file holds more than ``limits.member_bytes`` bytes (or inflates beyond the
        limits on decompression).
    """
    name = member_key(file)
    limit = limits.member_bytes
    for candidate in (document.parent / name, document.parent / f"{name}.gz"):
        if candidate.is_file():
            with open_binary(candidate, limits=limits) as stream:
                data = stream.read(limit + 1)
            if len(data) > limit:
                raise LimitExceeded(
                    candidate,
                    None,
                    f"table file holds more than {limit} bytes "
                    f"(limit {limits.describe('member_bytes')})",
                )
            return candidate, data
    return None


def bundle_records(
    path: Path,
    limits: Limits,
    *,
    parse_document: DocumentParser,
    attach: TableAttacher,
    warn: Callable[[str], None],
) -> Iterator[Record]:
    """The records of the MINiML documents in the tar bundle ``path``, in document order,
    each with its external tables attached.

    The bundle is streamed once: documents are parsed when reached, table files are kept when
    reached (see :class:`_Held`), and each record is yielded as soon as its tables are in. A
    table file the bundle lacks is warned about through ``warn``.

    Raises
    ------
    FormatError
        If the bundle is not a readable tar archive.
    LimitExceeded
        If it holds more or larger members than ``limits`` allow.
    """
    held: dict[str, _Held] = {}  # table files kept, by name
    named: dict[int, list[PendingTable]] = {}  # id(record) -> its external tables
    wanted: dict[str, int] = {}  # table file -> records naming it not yet given it
    queue: deque[Record] = deque()
    in_memory = 0

    def collect(pending: PendingTable) -> None:
        named.setdefault(id(pending.record), []).append(pending)
        key = member_key(pending.file)
        wanted[key] = wanted.get(key, 0) + 1

    def give(record: Record) -> None:
        nonlocal in_memory
        for pending in named.pop(id(record), []):
            key = member_key(pending.file)
            wanted[key] -= 1
            table = held.get(key)
            if table is None:
                warn(f"{record.id}: table file {key} not found in the bundle")
                continue
            attach(pending, table.read(), f"{path}!{key}")
            if not wanted[key]:
                in_memory -= table.size if table.in_memory else 0
                table.close()
                del held[key]

    def ready() -> Iterator[Record]:
        while queue and all(member_key(p.file) in held for p in named.get(id(queue[0]), ())):
            record = queue.popleft()
            give(record)
            yield record

    with open_binary(path, limits=limits) as raw:
        try:
            for member, handle in iter_members(raw, path, limits, "tar bundle"):
                if handle is None:
                    continue
                key = PurePosixPath(member.name).name
                if key.lower().endswith(".xml"):
                    source = f"{path}!{member.name}"
                    queue.extend(parse_document(handle, source, collect))  # type: ignore[arg-type]
                elif wanted.get(key) or key.lower().endswith(".txt"):
                    fits = in_memory + member.size <= _HELD_BYTES
                    held[key] = _Held(handle, member.size, fits)  # type: ignore[arg-type]
                    in_memory += member.size if fits else 0
                yield from ready()
        except tarfile.TarError as error:
            raise FormatError(path, None, f"unreadable tar bundle ({error})") from None
        finally:
            for table in held.values():
                table.close()
    while queue:
        record = queue.popleft()
        give(record)
        yield record
