"""Zip files that are byte-identical for the same contents: entries in the order written
(the layouts write them sorted), a fixed timestamp and permissions, one compression level
(files compressed already, such as Parquet tables, are stored as they are)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

#: Timestamp of every entry (the earliest a zip can hold).
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
#: Deflate level of every entry: 1, since float text compresses little better at 6 and takes
#: 5 x longer.
LEVEL = 1


class FixedZip:
    """A zip being written with fixed entry metadata; use as a context manager."""

    def __init__(self, path: Path) -> None:
        self._zip = zipfile.ZipFile(
            path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=LEVEL
        )
        self.names: list[str] = []

    def __enter__(self) -> FixedZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self._zip.close()

    def _info(self, name: str, stored: bool = False) -> zipfile.ZipInfo:
        if name in self.names:
            raise ValueError(f"{name} is already in the zip")
        self.names.append(name)
        info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
        info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        # zipfile gives its own level only to the entries it names itself: without this the
        # entries were deflated at zlib's default level (6), not LEVEL
        info._compresslevel = LEVEL  # type: ignore[attr-defined]
        info.external_attr = 0o644 << 16
        info.create_system = 3  # Unix, whatever system writes it
        return info

    def write_bytes(self, name: str, data: bytes) -> None:
        """Add an entry holding ``data``."""
        with self._zip.open(self._info(name), "w", force_zip64=True) as handle:
            handle.write(data)

    def write_file(self, name: str, path: Path, *, stored: bool = False) -> None:
        """Add an entry holding the bytes of the file at ``path`` (``stored``: as they are,
        not deflated, for files compressed already)."""
        with (
            self._zip.open(self._info(name, stored), "w", force_zip64=True) as handle,
            path.open("rb") as src,
        ):
            for block in iter(lambda: src.read(1 << 20), b""):
                handle.write(block)

    def write_deflated(
        self, name: str, parts: Iterable[tuple[bytes | memoryview, bytes]], end: bytes
    ) -> None:
        """Add an entry from parts deflated elsewhere (for instance on other threads): pairs
        of a piece of the entry's bytes and its raw deflate data, which joined in order and
        followed by ``end`` form the entry's one deflate stream (see
        :func:`exprhub.bundles.value_text.deflate_part`). zipfile still computes the CRC and
        sizes from the pieces."""
        with self._zip.open(self._info(name), "w", force_zip64=True) as handle:
            feed = _DeflatedFeed(end)
            # zipfile deflates what is written through the entry's compressor; this one hands
            # back the part deflated beforehand (zipfile has no public way to add
            # precompressed data)
            if not hasattr(handle, "_compressor"):
                raise RuntimeError("this Python's zipfile cannot take deflated parts")
            handle._compressor = feed
            for piece, deflated in parts:
                feed.pending = deflated
                handle.write(piece)

    @contextmanager
    def text(self, name: str) -> Iterator[IO[str]]:
        """An entry written as UTF-8 text with ``\\n`` line ends."""
        with (
            self._zip.open(self._info(name), "w", force_zip64=True) as raw,
            io.TextIOWrapper(raw, encoding="utf-8", newline="\n") as handle,
        ):
            yield handle


class _DeflatedFeed:
    """The compressor zipfile sees in :meth:`FixedZip.write_deflated`."""

    def __init__(self, end: bytes) -> None:
        self.pending: bytes | None = None
        self.end = end

    def compress(self, data: object) -> bytes:
        if self.pending is None:
            raise RuntimeError("a piece was written without its deflated part")
        deflated, self.pending = self.pending, None
        return deflated

    def flush(self) -> bytes:
        return self.end
