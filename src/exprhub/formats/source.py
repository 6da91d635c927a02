"""Opening and decoding GEO text files.

GEO files come gzip-compressed or plain, with LF or CRLF line endings, and mostly in UTF-8;
older records and submission files hold Windows-1252 (or Latin-1) bytes. This module hides all
of that:

- :func:`open_binary` opens a file as a binary stream, decompressing it when its first bytes are
  the gzip magic number (whatever the file is called). A 0-byte, truncated or corrupt gzip file
  raises :class:`~exprhub.formats.errors.FormatError` naming the file, at open or at read time.
- :func:`decode_bytes` turns bytes into text: UTF-8 when the bytes are valid UTF-8, otherwise
  line by line, each invalid line read as Windows-1252 with Latin-1 for the five bytes
  Windows-1252 leaves undefined. Decoding never fails.
- :func:`iter_lines` yields ``(line_number, text)`` pairs, 1-based, without line endings.
"""

from __future__ import annotations

import codecs
import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from exprhub.formats.errors import FormatError

__all__ = ["BLOCK_SIZE", "decode_bytes", "iter_lines", "open_binary", "source_name"]

#: Bytes read at a time by the line iterator and the block readers.
BLOCK_SIZE = 1 << 20

_GZIP_MAGIC = b"\x1f\x8b"
_ERROR_HANDLER = "exprhub-cp1252-latin1"


def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    """Decode the bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) as
    Latin-1."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    chunk = error.object[error.start : error.end]
    return (bytes(chunk).decode("latin-1"), error.end)


codecs.register_error(_ERROR_HANDLER, _latin1_fallback)


def _decode_legacy(data: bytes) -> str:
    return data.decode("cp1252", errors=_ERROR_HANDLER)


def decode_bytes(data: bytes | bytearray | memoryview) -> str:
    """Decode GEO text: UTF-8 if valid, else each non-UTF-8 line as Windows-1252/Latin-1.

    Parameters
    ----------
    data
        Raw bytes, possibly spanning many lines.

    Returns
    -------
    str
        The decoded text; line endings are left as they are.
    """
    raw = bytes(data)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    parts: list[str] = []
    for line in raw.split(b"\n"):
        try:
            parts.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            parts.append(_decode_legacy(line))
    return "\n".join(parts)


def source_name(source: str | Path | BinaryIO) -> str | None:
    """The file name to show in messages for ``source`` (None for an anonymous stream)."""
    if isinstance(source, str | Path):
        return str(source)
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else None


class _CheckedGzip(io.BufferedIOBase):
    """A gzip stream that reports truncation and corruption as FormatError."""

    def __init__(self, raw: BinaryIO, path: str) -> None:
        super().__init__()
        self._raw = raw
        self._path = path
        self._gz = gzip.GzipFile(fileobj=raw, mode="rb")
        self.name = path

    def _fail(self, error: Exception) -> FormatError:
        if isinstance(error, EOFError):
            message = "truncated gzip file: the compressed data ends before its end marker"
        else:
            message = f"corrupt gzip file ({error})"
        return FormatError(self._path, None, message)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        try:
            return self._gz.read(-1 if size is None else size)
        except (EOFError, OSError, zlib.error) as error:
            raise self._fail(error) from error

    def read1(self, size: int = -1) -> bytes:
        try:
            return self._gz.read1(size)
        except (EOFError, OSError, zlib.error) as error:
            raise self._fail(error) from error

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        try:
            return self._gz.readline(-1 if size is None else size)
        except (EOFError, OSError, zlib.error) as error:
            raise self._fail(error) from error

    def close(self) -> None:
        try:
            self._gz.close()
        finally:
            self._raw.close()
            super().close()


def open_binary(path: str | Path) -> BinaryIO:
    """Open a GEO file for reading bytes, decompressing gzip data (detected by its magic bytes).

    Parameters
    ----------
    path
        The file to open.

    Returns
    -------
    BinaryIO
        A readable binary stream; close it when done (it is a context manager).

    Raises
    ------
    FormatError
        If the file does not exist, is a 0-byte file named ``.gz``, or is not valid gzip data
        although it starts with the gzip magic number (corruption found later in the stream
        is raised as FormatError when reading).
    """
    name = str(path)
    try:
        raw = open(path, "rb")  # noqa: SIM115 - returned to the caller
    except FileNotFoundError:
        raise FormatError(name, None, "no such file") from None
    except IsADirectoryError:
        raise FormatError(name, None, "is a directory, expected a file") from None
    head = raw.read(2)
    raw.seek(0)
    if not head and name.lower().endswith((".gz", ".gzip")):
        raw.close()
        raise FormatError(name, None, "empty gzip file (0 bytes); expected gzip-compressed data")
    if head != _GZIP_MAGIC:
        return raw
    stream = _CheckedGzip(raw, name)
    try:
        stream.read(0)
        stream._gz.peek(1)
    except FormatError:
        stream.close()
        raise
    except (EOFError, OSError, zlib.error) as error:
        stream.close()
        raise stream._fail(error) from error
    return stream  # type: ignore[return-value]


def iter_lines(source: str | Path | BinaryIO) -> Iterator[tuple[int, str]]:
    """Yield the lines of a GEO text file as ``(line_number, text)``.

    Parameters
    ----------
    source
        A path (opened with :func:`open_binary`) or an open binary stream (not closed here).

    Yields
    ------
    tuple[int, str]
        1-based line number and the decoded line without its ``\\n``/``\\r\\n`` ending. Files
        that use a bare ``\\r`` as line separator (old Mac text) are split on it.
    """
    if isinstance(source, str | Path):
        with open_binary(source) as stream:
            yield from _iter_stream_lines(stream)
    else:
        yield from _iter_stream_lines(source)


def _iter_stream_lines(stream: BinaryIO) -> Iterator[tuple[int, str]]:
    number = 0
    pending = b""
    separator: bytes | None = None
    while True:
        block = stream.read(BLOCK_SIZE)
        if not block:
            break
        data = pending + block if pending else block
        if separator is None:
            if b"\n" in data:
                separator = b"\n"
            elif b"\r" in data.rstrip(b"\r"):
                separator = b"\r"
            else:
                pending = data
                continue
        cut = data.rfind(separator)
        if cut < 0:
            pending = data
            continue
        pending = data[cut + 1 :]
        text = decode_bytes(data[: cut + 1])
        lines = text.split(separator.decode())
        lines.pop()  # empty tail after the last separator
        for line in lines:
            number += 1
            yield (number, line[:-1] if line.endswith("\r") else line)
    if pending:
        text = decode_bytes(pending)
        if separator is None and text.endswith("\r"):
            text = text[:-1]
        number += 1
        yield (number, text[:-1] if text.endswith("\r") else text)
