"""GEO accession rules.

GEO issues accessions of the form ``GSE123`` (series), ``GSM123`` (sample), ``GPL123``
(platform) and ``GDS123`` (curated DataSet); DataSet subsets are named ``GDS123_4``.
Before an accession is issued, a record is known by its submission-style name (any other
identifier, e.g. ``"Control Embryonic Stem Cell Replicate 1"``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum


class RecordType(StrEnum):
    """The kinds of record the hub stores, named by their accession prefix."""

    SERIES = "GSE"
    SAMPLE = "GSM"
    PLATFORM = "GPL"
    DATASET = "GDS"
    SUBSET = "SUBSET"

    @property
    def label(self) -> str:
        """Human-readable name of the record type."""
        return _LABELS[self]

    @classmethod
    def parse(cls, text: str) -> RecordType:
        """Return the type named by ``text`` (``gse``, ``GSM``, ``series``, ``sample`` ...).

        Raises
        ------
        ValueError
            If ``text`` names no record type.
        """
        key = text.strip().lower()
        for member in cls:
            if key in (member.value.lower(), member.label.lower(), member.name.lower()):
                return member
        if key in _ALIASES:
            return _ALIASES[key]
        valid = ", ".join(m.value.lower() for m in cls)
        raise ValueError(f"unknown record type {text!r}; expected one of: {valid}")


_LABELS = {
    RecordType.SERIES: "Series",
    RecordType.SAMPLE: "Sample",
    RecordType.PLATFORM: "Platform",
    RecordType.DATASET: "DataSet",
    RecordType.SUBSET: "Subset",
}

_ALIASES = {
    "dataset": RecordType.DATASET,
    "datasets": RecordType.DATASET,
    "gds": RecordType.DATASET,
}

_ACCESSION_RE = re.compile(r"^(GSE|GSM|GPL|GDS)([1-9][0-9]*)$", re.IGNORECASE)
_SUBSET_RE = re.compile(r"^(GDS[1-9][0-9]*)_([1-9][0-9]*)$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class Accession:
    """A parsed GEO accession such as ``GSE1623`` or the subset name ``GDS507_3``."""

    type: RecordType
    number: int
    subset: int | None = None

    def __str__(self) -> str:
        if self.type is RecordType.SUBSET:
            return f"GDS{self.number}_{self.subset}"
        return f"{self.type.value}{self.number}"

    @property
    def series_folder(self) -> str:
        """NCBI's range folder for this accession (``GSE1623`` -> ``GSE1nnn``)."""
        digits = str(self.number)
        prefix = "GDS" if self.type is RecordType.SUBSET else self.type.value
        stem = digits[:-3] if len(digits) > 3 else ""
        return f"{prefix}{stem}nnn"


@functools.lru_cache(maxsize=65536)  # a record's key is asked for many times per import
def parse_accession(text: str) -> Accession:
    """Parse a GEO accession, case-insensitively, ignoring surrounding white space.

    Raises
    ------
    ValueError
        If ``text`` is not a GEO accession.
    """
    value = text.strip()
    match = _ACCESSION_RE.match(value)
    if match:
        return Accession(RecordType(match.group(1).upper()), int(match.group(2)))
    match = _SUBSET_RE.match(value)
    if match:
        return Accession(RecordType.SUBSET, int(match.group(1)[3:]), int(match.group(2)))
    raise ValueError(
        f"{text!r} is not a GEO accession; expected GSE, GSM, GPL or GDS followed by digits "
        "(e.g. GSE1623), or a DataSet subset such as GDS507_1"
    )


def is_accession(text: str) -> bool:
    """Whether ``text`` is a GEO accession (rather than a submission-style name)."""
    try:
        parse_accession(text)
    except ValueError:
        return False
    return True


def normalize_accession(text: str) -> str:
    """Canonical spelling of an accession (``gse1623`` -> ``GSE1623``); other names unchanged."""
    try:
        return str(parse_accession(text))
    except ValueError:
        return text.strip()
