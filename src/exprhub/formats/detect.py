"""Tell GEO file formats apart by content and open the matching reader.

The kind of a file is decided from its first bytes after gunzip (and, for tar bundles, from the
members), never from its name, by the detectors of the file kind registry
(:data:`~exprhub.formats.kinds.KINDS`); each kind's reader there reads it:

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

from collections.abc import Iterator
from pathlib import Path

from exprhub.formats.counts_table import looks_like_counts_header
from exprhub.formats.errors import FormatError, ParseWarning
from exprhub.formats.file_head import FileHead, read_head
from exprhub.formats.kinds import KINDS, RecordReader
from exprhub.formats.limits import Limits
from exprhub.records import Record

__all__ = ["FORMATS", "RecordReader", "detect_format", "open_reader", "read_records"]

#: The kinds :func:`detect_format` returns (the detectable kinds of
#: :data:`~exprhub.formats.kinds.KINDS`).
FORMATS = tuple(kind.name for kind in KINDS.detectable())


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
    head = read_head(path, limits or Limits.from_env())
    if not head.data.strip():
        raise FormatError(path, None, f"empty file; expected {KINDS.expected()}")
    kind = KINDS.detect(head)
    if kind is not None:
        return kind.name
    raise FormatError(path, None, _refusal(head))


def _refusal(head: FileHead) -> str:
    """Why no kind accepts ``head``: what the file seems to be, and what was expected."""
    if head.xml_root == "eSummaryResult":
        return (
            "this is an Entrez eSummary result (search hits), not a GEO record file; "
            "download the record itself as SOFT, MINiML or series matrix"
        )
    if head.is_tar:
        found = "tar archive without a MINiML document"
    elif head.xml_root is not None:
        found = f"XML document with root <{head.xml_root or '?'}>"
    else:
        first = next((line for line in head.text.splitlines() if line.strip()), "")
        if looks_like_counts_header(first):
            return (
                "a genes x samples table, not a GEO record file (attach counts to their "
                f"series with `exprhub import FILE --series GSE...`); expected {KINDS.expected()}"
            )
        found = f"unrecognised content starting {first[:60]!r}"
    return f"{found}; expected {KINDS.expected()}"


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
    name = kind or detect_format(path, limits)
    entry = KINDS.get(name)
    if entry is None or entry.read is None:
        known = ", ".join(k.name for k in KINDS.readable())
        raise FormatError(path, None, f"unknown format {name!r}; expected one of {known}")
    return entry.read(path, limits)


def read_records(
    path: str | Path, limits: Limits | None = None
) -> tuple[Iterator[Record], list[ParseWarning]]:
    """Read any GEO record file: the records (lazily) and the list its warnings go to.

    The warning list fills while the records are iterated (``limits``: see
    :func:`open_reader`).
    """
    reader = open_reader(path, limits=limits)
    return reader.records(), reader.warnings
