"""The first bytes of a GEO file, as format detection looks at them.

A :class:`FileHead` holds up to :data:`HEAD_BYTES` bytes from the start of a file (after
gunzip) and answers what the detectors of :mod:`exprhub.formats.kinds` ask: is it a tar
archive, the root element of an XML document, the first line that is neither blank nor a
``#`` comment, and the heads of a tar archive's ``.xml`` members.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from exprhub.formats.archive import iter_members
from exprhub.formats.limits import Limits
from exprhub.formats.source import open_binary

__all__ = ["HEAD_BYTES", "FileHead", "read_head"]

#: Bytes of a file (after gunzip) that detection looks at.
HEAD_BYTES = 64 * 1024

_XML_ROOT = re.compile(r"<([A-Za-z_][\w.:-]*)")
_XML_PROLOG = re.compile(r"<\?.*?\?>|<!--.*?-->", re.S)
_XML_DOCTYPE = re.compile(r"<!DOCTYPE[^>\[]*(\[.*?\])?\s*>", re.S | re.I)


@dataclass(frozen=True)
class FileHead:
    """The start of a file (after gunzip).

    Attributes
    ----------
    name
        The file as named in messages (``archive.tgz!member.xml`` for an archive member).
    data
        Up to :data:`HEAD_BYTES` bytes from the start of the file.
    path
        The file itself, for reading a tar archive's members (None for a member's head).
    limits
        Archive limits for reading members (None: :meth:`Limits.from_env`).
    """

    name: str
    data: bytes
    path: Path | None = None
    limits: Limits | None = None

    @cached_property
    def is_tar(self) -> bool:
        """The bytes start a tar archive (``ustar`` magic in the first header)."""
        return len(self.data) >= 262 and self.data[257:262] == b"ustar"

    @cached_property
    def text(self) -> str:
        """The bytes decoded as UTF-8 (invalid bytes replaced), without a byte order mark."""
        return self.data.decode("utf-8", errors="replace").lstrip("\ufeff")

    @cached_property
    def is_xml(self) -> bool:
        """The text (not a tar archive) starts with ``<`` after white space."""
        return not self.is_tar and self.text.lstrip().startswith("<")

    @cached_property
    def xml_root(self) -> str | None:
        """Local name of the root element of an XML document ("" when none is found), None
        when the text is not XML."""
        if not self.is_xml:
            return None
        body = _XML_DOCTYPE.sub("", _XML_PROLOG.sub("", self.text.lstrip()))
        match = _XML_ROOT.search(body)
        return match.group(1).rsplit(":", 1)[-1] if match else ""

    @cached_property
    def first_line(self) -> str | None:
        """The first line that is neither blank nor a ``#`` comment (without its line ending),
        None for a tar archive, an XML document or text of blank lines and comments."""
        if self.is_tar or self.is_xml:
            return None
        for line in self.text.splitlines():
            line = line.strip("\r")
            if line.strip() and not line.startswith("#"):
                return line
        return None

    def xml_members(self) -> Iterator[FileHead]:
        """The heads of the ``.xml`` files in a tar archive, in archive order (nothing for
        other files).

        Raises
        ------
        FormatError
            If the archive cannot be read, or (as
            :class:`~exprhub.formats.errors.LimitExceeded`) exceeds the limits.
        """
        if not self.is_tar or self.path is None:
            return
        limits = self.limits or Limits.from_env()
        with open_binary(self.path, limits=limits) as raw:
            for member, handle in iter_members(raw, self.path, limits):
                if handle is None or not member.name.lower().endswith(".xml"):
                    continue
                yield FileHead(f"{self.path}!{member.name}", handle.read(HEAD_BYTES))


def read_head(path: str | Path, limits: Limits | None = None) -> FileHead:
    """The head of the file at ``path`` (gzip data inflated within ``limits``).

    Raises
    ------
    FormatError
        If the file is missing, unreadable or corrupt gzip data.
    """
    with open_binary(path, limits=limits) as stream:
        data = stream.read(HEAD_BYTES)
    return FileHead(str(path), data, Path(path), limits)
