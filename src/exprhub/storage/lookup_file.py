"""Read-only string lookup files: named tables of text keys to text values, memory-mapped and
queried in place, so that opening one costs nothing whatever its size.

Large look-up indexes (the ontology term names of :mod:`exprhub.curate.labels`, hundreds of
thousands of names) took 0.8-2 s to unpickle in every process that labels a sample, far more
than the look-ups a file's samples make. A lookup file is written once and opened with
``mmap``: a look-up hashes its key (CRC-32), probes an open-addressing slot array and compares
the key's bytes in the mapped file; only the pages it touches are read.

Layout (all offsets in bytes from the start of the file)::

    magic "EXHLOOK1"  u64 directory length  directory (JSON)
    per table: entries "key\\0value\\0" ... in the order given, then slots (uint32, native
               byte order, a power of two >= 2 x entries; 0 = empty, else 1 + the entry's
               offset from the table's first entry)

The directory names each table with its ``entries``, ``slots``, ``end`` offsets, ``count`` and
``mask``, and records the byte order. Keys and values are UTF-8 text without NUL characters.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import sys
from array import array
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from zlib import crc32

from exprhub.storage.errors import HubError

_MAGIC = b"EXHLOOK1"
_HEADER = struct.Struct("<8sQ")


class LookupFileError(HubError):
    """A lookup file is missing, truncated or not a lookup file."""


class LookupTable(Mapping[str, str]):
    """One table of a :class:`LookupFile`: a read-only mapping of text keys to text values,
    iterated in the order the entries were written."""

    def __init__(self, data: Any, entries: int, slots: int, end: int, count: int, mask: int):
        self._data = data
        self._base = entries - 1
        self._entries, self._end = entries, end
        self._count = count
        self._mask = mask
        self._slots = memoryview(data)[slots : slots + 4 * (mask + 1)].cast("I")
        self._keys: list[str] | None = None

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        """The value of ``key``, or ``default``."""
        raw = key.encode()
        n = len(raw)
        data, slots, mask, base = self._data, self._slots, self._mask, self._base
        i = crc32(raw) & mask
        while True:
            at = slots[i]
            if not at:
                return default
            start = base + at
            if data[start + n] == 0 and data[start : start + n] == raw:
                value = start + n + 1
                return data[value : data.find(b"\0", value)].decode()
            i = (i + 1) & mask

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return str(value)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def _fields(self) -> list[bytes]:
        return bytes(self._data[self._entries : self._end]).split(b"\0")[:-1]

    def keys(self) -> list[str]:  # type: ignore[override]
        """Every key, in the order written (read once, then kept)."""
        if self._keys is None:
            self._keys = [k.decode() for k in self._fields()[0::2]]
        return self._keys

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        """Every (key, value), in the order written."""
        fields = self._fields()
        return [(k.decode(), v.decode()) for k, v in zip(fields[0::2], fields[1::2], strict=True)]


class LookupFile:
    """An open lookup file (see the module's description); its tables by name."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            with self.path.open("rb") as stream:
                size = os.fstat(stream.fileno()).st_size
                if size < _HEADER.size:
                    raise LookupFileError(f"{self.path}: not a lookup file (too short)")
                self._data = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError as exc:
            raise LookupFileError(f"{self.path}: {exc.strerror or exc}") from None
        magic, length = _HEADER.unpack_from(self._data, 0)
        if magic != _MAGIC or _HEADER.size + length > size:
            raise LookupFileError(f"{self.path}: not a lookup file (bad header)")
        try:
            directory = json.loads(self._data[_HEADER.size : _HEADER.size + length])
        except ValueError:
            raise LookupFileError(f"{self.path}: not a lookup file (bad directory)") from None
        if directory.get("byteorder") != sys.byteorder or directory.get("size") != size:
            raise LookupFileError(f"{self.path}: written on another machine or truncated")
        self._tables: dict[str, dict[str, int]] = directory["tables"]
        self.meta: dict[str, Any] = directory.get("meta", {})

    def names(self) -> list[str]:
        """The names of the tables, in the order written."""
        return list(self._tables)

    def table(self, name: str) -> LookupTable:
        """The table of this name (KeyError if there is none)."""
        t = self._tables[name]
        return LookupTable(self._data, t["entries"], t["slots"], t["end"], t["count"], t["mask"])


def write_lookup_file(
    path: str | Path,
    tables: Mapping[str, Iterable[tuple[str, str]]],
    meta: Mapping[str, Any] | None = None,
) -> None:
    """Write ``tables`` (name -> (key, value) pairs; the first value of a repeated key wins)
    to a new lookup file at ``path``, atomically (a temporary file moved into place).

    Raises
    ------
    ValueError
        If a key or value holds a NUL character.
    """
    target = Path(path)
    bodies: list[tuple[str, bytes, array[int], int]] = []
    for name, pairs in tables.items():
        entries = bytearray()
        offsets: dict[bytes, int] = {}
        for key, value in pairs:
            k, v = key.encode(), value.encode()
            if b"\0" in k or b"\0" in v:
                raise ValueError(f"table {name}: NUL character in {key!r} -> {value!r}")
            if k in offsets:
                continue
            offsets[k] = len(entries)
            entries += k + b"\0" + v + b"\0"
        size = 2
        while size < 2 * len(offsets):
            size *= 2
        slots = array("I", bytes(4 * size))
        mask = size - 1
        for k, offset in offsets.items():
            i = crc32(k) & mask
            while slots[i]:
                i = (i + 1) & mask
            slots[i] = offset + 1
        bodies.append((name, bytes(entries), slots, len(offsets)))

    def layout(start: int) -> tuple[dict[str, dict[str, int]], int]:
        listing: dict[str, dict[str, int]] = {}
        at = start
        for name, entries, slots, count in bodies:
            at_slots = at + len(entries)
            at_slots += -at_slots % 4
            listing[name] = {
                "entries": at,
                "end": at + len(entries),
                "slots": at_slots,
                "count": count,
                "mask": len(slots) - 1,
            }
            at = at_slots + 4 * len(slots)
        return listing, at

    # the directory holds offsets that depend on its own length: leave room for wider numbers
    listing, total = layout(0)
    head = {"byteorder": sys.byteorder, "size": total, "meta": dict(meta or {})}
    length = len(json.dumps({**head, "tables": listing})) + 16 * (5 * len(bodies) + 2)
    listing, total = layout(_HEADER.size + length)
    head["size"] = total
    text = json.dumps({**head, "tables": listing}).encode().ljust(length)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    target.parent.mkdir(parents=True, exist_ok=True)
    with partial.open("wb") as stream:
        stream.write(_HEADER.pack(_MAGIC, length) + text)
        for _, body, table_slots, _ in bodies:
            stream.write(body)
            stream.write(bytes(-stream.tell() % 4))
            stream.write(table_slots.tobytes())
    partial.replace(target)
