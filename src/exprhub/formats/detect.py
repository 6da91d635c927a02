"""Tell GEO file formats apart by content and open the matching reader.

The kind of a file is decided from its first bytes after gunzip (and, for tar bundles, from the
members), never from its name:

``"soft"``
    SOFT text: ``^SERIES = ...``, ``^SAMPLE=GSM1``, ``^DATASET``, ``^database`` ... lines (family,
    GDS, GPL, GSM files and submission examples).
``"annot"``
    A GEO platform annotation (``^Annotation`` header; read by the SOFT reader).
``"series-matrix"``
    ``!Series_*`` / ``!Sample_*`` rows with tab-separated quoted cells.
``"miniml"``
    An XML document with a ``<MINiML>`` root.
``"miniml-bundle"``
    A tar archive (usually ``.tgz``) holding a MINiML document and its table files.

Anything else (including Entrez eSummary XML, which describes search hits rather than records)
raises :class:`~exprhub.formats.errors.FormatError`. Detection and the readers work within the
:class:`~exprhub.formats.limits.Limits` given (by default from the environment).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from exprhub.formats.archive import iter_members
from exprhub.formats.errors import FormatError, ParseWarning
from exprhub.formats.limits import Limits
from exprhub.formats.source import open_binary
from exprhub.records import Record

__all__ = ["FORMATS", "RecordReader", "detect_format", "open_reader", "read_records"]

#: The kinds :func:`detect_format` returns.
FORMATS = ("soft", "annot", "series-matrix", "miniml", "miniml-bundle")

_EXPECTED = (
    "expected a GEO SOFT file (^SERIES/^PLATFORM/^SAMPLE/^DATASET lines), a GEO .annot file "
    "(^Annotation), a series matrix (!Series_ rows with tab-separated quoted values), a MINiML "
    "XML document or a MINiML .tgz bundle"
)
_HEAD = 64 * 1024
_SOFT_ENTITY = re.compile(r"^\^\s*(database|series|platform|sample|dataset|subset)\b", re.I)
_SOFT_ATTRIBUTE = re.compile(r"^!\s*\w+\s*=")
_MATRIX_ROW = re.compile(r"^!(series|sample)_\w*\t", re.I)
_XML_ROOT = re.compile(r"<([A-Za-z_][\w.:-]*)")


class RecordReader(Protocol):
    """What every format reader offers."""

    warnings: list[ParseWarning]

    def records(self) -> Iterator[Record]:
        """Yield the records of the file."""
        ...


def detect_format(path: str | Path, limits: Limits | None = None) -> str:
    """The kind of GEO file at ``path``, told by content: one of :data:`FORMATS`.

    Parameters
    ----------
    path
        The file.
    limits
        Decompression and archive limits (default: :meth:`Limits.from_env`).

    Raises
    ------
    FormatError
        If the file is empty, unreadable, or none of the known formats, or (as
        :class:`~exprhub.formats.errors.LimitExceeded`) a tar archive exceeds ``limits``.
    """
    limits = limits or Limits.from_env()
    with open_binary(path, limits=limits) as stream:
        head = stream.read(_HEAD)
    if not head.strip():
        raise FormatError(path, None, f"empty file; {_EXPECTED}")
    if len(head) >= 262 and head[257:262] == b"ustar":
        return _bundle_kind(Path(path), limits)
    return _text_kind(path, head)


def _text_kind(path: str | Path, head: bytes) -> str:
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    stripped = text.lstrip()
    if stripped.startswith("<"):
        return _xml_kind(path, stripped)
    for line in text.splitlines():
        line = line.strip("\r")
        if not line.strip() or line.startswith("#"):
            continue
        if line.lower().startswith("^annotation"):
            return "annot"
        if _SOFT_ENTITY.match(line):
            return "soft"
        if _MATRIX_ROW.match(line):
            return "series-matrix"
        if _SOFT_ATTRIBUTE.match(line):
            return "soft"
        break
    first = next((ln for ln in text.splitlines() if ln.strip()), "")[:60]
    raise FormatError(path, None, f"unrecognised content starting {first!r}; {_EXPECTED}")


def _xml_kind(path: str | Path, text: str) -> str:
    body = re.sub(r"<\?.*?\?>|<!--.*?-->", "", text, flags=re.S)
    body = re.sub(r"<!DOCTYPE[^>\[]*(\[.*?\])?\s*>", "", body, flags=re.S | re.I)
    match = _XML_ROOT.search(body)
    root = match.group(1).rsplit(":", 1)[-1] if match else ""
    if root == "MINiML":
        return "miniml"
    if root == "eSummaryResult":
        raise FormatError(
            path,
            None,
            "this is an Entrez eSummary result (search hits), not a GEO record file; "
            "download the record itself as SOFT, MINiML or series matrix",
        )
    raise FormatError(path, None, f"XML document with root <{root or '?'}>; {_EXPECTED}")


def _bundle_kind(path: Path, limits: Limits) -> str:
    with open_binary(path, limits=limits) as raw:
        for member, handle in iter_members(raw, path, limits):
            if handle is None or not member.name.lower().endswith(".xml"):
                continue
            try:
                kind = _text_kind(f"{path}!{member.name}", handle.read(_HEAD))
            except FormatError:
                continue
            if kind == "miniml":
                return "miniml-bundle"
    raise FormatError(path, None, f"tar archive without a MINiML document; {_EXPECTED}")


def open_reader(
    path: str | Path, kind: str | None = None, limits: Limits | None = None
) -> RecordReader:
    """The reader for ``path`` (format detected by content unless ``kind`` is given).

    Parameters
    ----------
    path
        The file.
    kind
        One of :data:`FORMATS`, if known.
    limits
        What the file may hold (default: :meth:`Limits.from_env`); the reader raises
        :class:`~exprhub.formats.errors.LimitExceeded` for more.

    Raises
    ------
    FormatError
        If the format is not recognised.
    """
    limits = limits or Limits.from_env()
    kind = kind or detect_format(path, limits)
    if kind in ("soft", "annot"):
        from exprhub.formats.soft import SoftReader

        return SoftReader(path, limits)  # type: ignore[no-any-return]
    if kind == "series-matrix":
        from exprhub.formats.matrix import SeriesMatrixReader

        return SeriesMatrixReader(path, limits)
    if kind in ("miniml", "miniml-bundle"):
        from exprhub.formats.miniml import MinimlReader

        return MinimlReader(path, limits)
    raise FormatError(path, None, f"unknown format {kind!r}; expected one of {', '.join(FORMATS)}")


def read_records(
    path: str | Path, limits: Limits | None = None
) -> tuple[Iterator[Record], list[ParseWarning]]:
    """Read any GEO record file: the records (lazily) and the list its warnings go to.

    The warning list fills while the records are iterated (``limits``: see
    :func:`open_reader`).
    """
    reader = open_reader(path, limits=limits)
    return reader.records(), reader.warnings
