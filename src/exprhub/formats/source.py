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

Gzip data is inflated with ISA-L's inflate (the ``isal`` package, about 3-4 times faster than
zlib on GEO files) where it is installed, else with zlib; both check each member's CRC-32 and
length. It is inflated within the decompression limits of :class:`~exprhub.formats.limits.Limits`
(total size, and compression ratio over each window of inflated bytes), so a small file that
inflates to an unreasonable amount of text is refused early with a
:class:`~exprhub.formats.errors.LimitExceeded`.
"""

from __future__ import annotations

import codecs
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import BinaryIO

from exprhub.formats.errors import FormatError, LimitExceeded
from exprhub.formats.limits import Limits

inflate_module: ModuleType
try:  # ISA-L: the same gzip checks, several times faster (tests also run without it)
    from isal import isal_zlib as inflate_module
except ImportError:  # pragma: no cover - a dependency; zlib does the same work
    inflate_module = zlib
#: What a corrupt gzip stream raises, whichever module inflates it.
_INFLATE_ERRORS: tuple[type[Exception], ...] = (zlib.error, inflate_module.error)

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


#: Compressed bytes read from the file at a time.
_COMPRESSED_READ = 1 << 16


class _GzipInflater(io.RawIOBase):
    """Gzip data inflated directly (:data:`inflate_module`: ISA-L's, else zlib's), its errors
    raised as FormatError.

    Each read is one inflate call (both release the GIL while they work), so a thread reading
    ahead holds the GIL only briefly, unlike :class:`gzip.GzipFile`'s layered reads. Members
    are read one after the other (zero padding between them skipped, as gzip does), and the
    inflater checks each member's CRC-32 and length. The inflated size and the compression ratio of
    each window of ``limits.ratio_window_bytes`` inflated bytes are checked against
    ``limits``.
    """

    def __init__(self, raw: BinaryIO, path: str, limits: Limits) -> None:
        super().__init__()
        self._raw = raw
        self._path = path
        self._limits = limits
        self._inflate = inflate_module.decompressobj(wbits=31)
        self._input = b""
        self._pending = b""  # inflated by check_header, not yet read
        self._read_in = 0  # compressed bytes read from the file
        self._out = 0  # inflated bytes produced
        self._window_in = self._window_out = 0  # where the current ratio window started
        self._next_check = self._check_at()
        self.name = path

    def readable(self) -> bool:
        return True

    def check_header(self) -> None:
        """Raise FormatError now if the data does not start with a valid gzip header."""
        self._input = self._raw.read(_COMPRESSED_READ)
        self._read_in += len(self._input)
        try:
            self._pending = self._inflate.decompress(self._input, 1)
        except _INFLATE_ERRORS as error:
            raise self._fail(error) from error
        self._input = self._inflate.unconsumed_tail
        self._out += len(self._pending)

    def _fail(self, error: Exception) -> FormatError:
        if isinstance(error, EOFError):
            message = "truncated gzip file: the compressed data ends before its end marker"
        else:
            message = f"corrupt gzip file ({error})"
        return FormatError(self._path, None, message)

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` inflated bytes (all that is left if ``size`` is negative or None);
        b"" only at the end of the data."""
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(BLOCK_SIZE), b""))
        if self._pending and size:
            out, self._pending = self._pending, b""
            return out
        while size:
            if self._inflate.eof and not self._next_member():
                return b""
            if not self._input:
                self._input = self._raw.read(_COMPRESSED_READ)
                if not self._input:
                    raise self._fail(EOFError())
                self._read_in += len(self._input)
            try:
                out = self._inflate.decompress(self._input, size)
            except _INFLATE_ERRORS as error:
                raise self._fail(error) from error
            self._input = self._inflate.unconsumed_tail
            if out:
                self._out += len(out)
                if self._out >= self._next_check:
                    self._check_limits()
                return out
        return b""

    def _check_at(self) -> int:
        """The inflated size at which the limits are next checked."""
        limits = self._limits
        return min(self._window_out + limits.ratio_window_bytes, limits.decompressed_bytes + 1)

    def _check_limits(self) -> None:
        limits = self._limits
        if self._out > limits.decompressed_bytes:
            raise LimitExceeded(
                self._path,
                None,
                f"gzip data inflates to more than {limits.decompressed_bytes} bytes "
                f"(limit {limits.describe('decompressed_bytes')})",
            )
        window = self._out - self._window_out
        if window >= limits.ratio_window_bytes:
            consumed = self._read_in - len(self._input)
            packed = max(consumed - self._window_in, 1)
            if window > limits.compression_ratio * packed:
                raise LimitExceeded(
                    self._path,
                    None,
                    f"gzip data inflates {window // packed}-fold ({packed} compressed bytes "
                    f"to {window}), more than the limit "
                    f"{limits.describe('compression_ratio')} (measured over "
                    f"{limits.describe('ratio_window_bytes')})",
                )
            self._window_in, self._window_out = consumed, self._out
        self._next_check = self._check_at()

    def _next_member(self) -> bool:
        """Start on the next gzip member, if the file holds one after the current."""
        # at the end of a member, the input left over is in unused_data (unconsumed_tail may
        # still hold a stale copy of it)
        rest = self._inflate.unused_data
        while True:
            rest = rest.lstrip(b"\0")
            if rest:
                break
            rest = self._raw.read(_COMPRESSED_READ)
            if not rest:
                return False
            self._read_in += len(rest)
        self._inflate = inflate_module.decompressobj(wbits=31)
        self._input = rest
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def open_binary(
    path: str | Path, *, buffered: bool = True, limits: Limits | None = None
) -> BinaryIO:
    """Open a GEO file for reading bytes, decompressing gzip data (detected by its magic bytes).

    Parameters
    ----------
    path
        The file to open.
    buffered
        Whether the stream is buffered. An unbuffered stream's ``read(size)`` may return fewer
        bytes than asked for (b"" only at the end), with one copy less.
    limits
        Decompression limits (default: :meth:`Limits.from_env`); reading past them raises
        :class:`~exprhub.formats.errors.LimitExceeded`.

    Returns
    -------
    BinaryIO
        A readable binary stream; close it when done (it is a context manager).

    Raises
    ------
    FormatError
        If the file does not exist, is a 0-byte file named ``.gz``, or is not valid gzip data
        although it starts with the gzip magic number (corruption found later in the stream,
        and data beyond the decompression limits, are raised as FormatError when reading).
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
    inflater = _GzipInflater(raw, name, limits or Limits.from_env())
    try:
        inflater.check_header()
    except FormatError:
        inflater.close()
        raise
    return io.BufferedReader(inflater, BLOCK_SIZE) if buffered else inflater  # type: ignore[return-value]


def iter_lines(
    source: str | Path | BinaryIO, limits: Limits | None = None
) -> Iterator[tuple[int, str]]:
    """Yield the lines of a GEO text file as ``(line_number, text)``.

    Parameters
    ----------
    source
        A path (opened with :func:`open_binary`) or an open binary stream (not closed here).
    limits
        Line length and decompression limits (default: :meth:`Limits.from_env`); a longer
        line raises :class:`~exprhub.formats.errors.LimitExceeded`.

    Yields
    ------
    tuple[int, str]
        1-based line number and the decoded line without its ``\\n``/``\\r\\n`` ending. Files
        that use a bare ``\\r`` as line separator (old Mac text) are split on it.
    """
    limits = limits or Limits.from_env()
    if isinstance(source, str | Path):
        with open_binary(source, limits=limits) as stream:
            yield from _iter_stream_lines(stream, limits, str(source))
    else:
        yield from _iter_stream_lines(source, limits, source_name(source))


def _iter_stream_lines(
    stream: BinaryIO, limits: Limits, name: str | None
) -> Iterator[tuple[int, str]]:
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
        cut = -1 if separator is None else data.rfind(separator)
        if cut < 0:
            if len(data) > limits.line_bytes:
                raise LimitExceeded(
                    name,
                    number + 1,
                    f"line longer than {limits.line_bytes} bytes "
                    f"(limit {limits.describe('line_bytes')})",
                )
            pending = data
            continue
        assert separator is not None  # a cut was found
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
