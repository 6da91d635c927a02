"""Size limits on what the file readers accept (documented in docs/limits.md).

A GEO file is refused, with a :class:`~exprhub.formats.errors.LimitExceeded` naming the file,
the line where there is one and the limit, when it holds a longer line, a larger table cell, a
wider table, a longer attribute value, more decompressed data (or data more compressed) or
larger or more archive members than the limits allow. The defaults are far above anything GEO
writes, and keep the memory of an import bounded by the size of the largest table rather than by
what a hostile file claims.

Limits come from :meth:`Limits.from_env` (``EXPRHUB_MAX_*`` environment variables) unless a
:class:`Limits` is passed to a reader.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields

import numpy as np

from exprhub.formats.errors import LimitExceeded

__all__ = ["ENVIRONMENT", "Limits", "check_line_and_cell_bytes", "parse_size"]

_KIB = 1 << 10
_MIB = 1 << 20
_GIB = 1 << 30

#: Field of :class:`Limits` -> environment variable that sets it.
ENVIRONMENT = {
    "line_bytes": "EXPRHUB_MAX_LINE_BYTES",
    "cell_bytes": "EXPRHUB_MAX_CELL_BYTES",
    "columns": "EXPRHUB_MAX_COLUMNS",
    "attribute_bytes": "EXPRHUB_MAX_ATTRIBUTE_BYTES",
    "record_attribute_bytes": "EXPRHUB_MAX_RECORD_ATTRIBUTE_BYTES",
    "decompressed_bytes": "EXPRHUB_MAX_DECOMPRESSED_BYTES",
    "compression_ratio": "EXPRHUB_MAX_COMPRESSION_RATIO",
    "ratio_window_bytes": "EXPRHUB_COMPRESSION_RATIO_WINDOW",
    "archive_members": "EXPRHUB_MAX_ARCHIVE_MEMBERS",
    "member_bytes": "EXPRHUB_MAX_MEMBER_BYTES",
}

_SIZE = re.compile(r"\s*(\d+)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE)
_UNITS = {"": 1, "k": _KIB, "m": _MIB, "g": _GIB, "t": 1 << 40}


def parse_size(text: str) -> int:
    """A count or byte size written as digits with an optional binary unit (``128M``, ``4GiB``).

    Raises
    ------
    ValueError
        If ``text`` is not such a number.
    """
    match = _SIZE.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size; expected digits, optionally with K, M, G or T")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


@dataclass(frozen=True)
class Limits:
    """The most a file may hold before a reader refuses it.

    Attributes
    ----------
    line_bytes
        Bytes in one line (SOFT, series matrix and MINiML text alike).
    cell_bytes
        Bytes in one cell of a data table.
    columns
        Columns of a data table (cells of its header row, samples of a series matrix).
    attribute_bytes
        Bytes of one attribute value or column description (in MINiML, of one element's
        text).
    record_attribute_bytes
        Bytes of all attribute values and column descriptions of one record together.
    decompressed_bytes
        Bytes a gzip file inflates to.
    compression_ratio
        Inflated bytes per compressed byte, checked over each ``ratio_window_bytes`` of
        inflated data: a window that inflates more than this is refused.
    ratio_window_bytes
        Inflated bytes over which the compression ratio is measured; smaller files are never
        refused for their ratio.
    archive_members
        Members of a tar archive (a MINiML family bundle).
    member_bytes
        Bytes of one tar archive member (including extended headers).
    """

    line_bytes: int = 128 * _MIB
    cell_bytes: int = 16 * _MIB
    columns: int = 100_000
    attribute_bytes: int = 8 * _MIB
    record_attribute_bytes: int = 64 * _MIB
    decompressed_bytes: int = 64 * _GIB
    compression_ratio: int = 100
    ratio_window_bytes: int = 256 * _MIB
    archive_members: int = 200_000
    member_bytes: int = 2 * _GIB

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Limits:
        """The default limits, each overridden by its ``EXPRHUB_MAX_*`` variable when set.

        Raises
        ------
        ValueError
            If a variable is set to something other than a positive size.
        """
        env = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for item in fields(cls):
            name = ENVIRONMENT[item.name]
            text = env.get(name)
            if text is None or not text.strip():
                continue
            try:
                value = parse_size(text)
            except ValueError as error:
                raise ValueError(f"{name}: {error}") from None
            if value <= 0:
                raise ValueError(f"{name}: {text!r} must be a positive size")
            values[item.name] = value
        return cls(**values)

    def describe(self, name: str) -> str:
        """How a limit is named in messages: ``EXPRHUB_MAX_LINE_BYTES=134217728``."""
        return f"{ENVIRONMENT[name]}={getattr(self, name)}"


#: (limit, what it bounds, the bytes that end one) of the lengths checked in table text.
_TABLE_RUNS = (
    ("line_bytes", "line", b"\n"),
    ("cell_bytes", "table cell", b"\n\t"),
)


def check_line_and_cell_bytes(data: bytes | bytearray, limits: Limits) -> None:
    """Refuse tab-separated text holding a line or a cell longer than ``limits`` allow.

    Only text longer than a limit is looked at for that limit.

    Raises
    ------
    LimitExceeded
        Without a file name (the caller adds it), with the line of the first longest line or
        cell counted from the first line of ``data``.
    """
    for name, what, separators in _TABLE_RUNS:
        limit = getattr(limits, name)
        if len(data) <= limit:
            continue
        array = np.frombuffer(data, dtype=np.uint8)
        is_end = array == separators[0]
        for extra in separators[1:]:
            is_end |= array == extra
        ends = np.concatenate(([-1], np.flatnonzero(is_end), [len(data)]))
        del is_end
        lengths = np.diff(ends) - 1
        longest = int(np.argmax(lengths))
        if int(lengths[longest]) > limit:
            at = int(ends[longest]) + 1
            raise LimitExceeded(
                None,
                data.count(b"\n", 0, at) + 1,
                f"{what} longer than {limit} bytes (limit {limits.describe(name)})",
            )
