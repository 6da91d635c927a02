"""GEO records: Platform, Sample, Series, DataSet, Subset (plus the file-level Database and
Annotation headers).

Every record keeps every attribute exactly as GEO wrote it, in order, repeats included
(``Sample_characteristics_ch1`` appears many times; two-channel samples carry ``_ch1`` and
``_ch2`` attributes). Typed properties (title, dates, relations, characteristics) are views
computed from those attributes, so nothing is lost and nothing is stored twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import ClassVar

from exprhub.records.accession import RecordType, is_accession, normalize_accession
from exprhub.records.table import Table

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
        start=1,
    )
}
_DATE_PATTERNS = (
    re.compile(r"(?P<mon>[A-Za-z]{3})[a-z]*\.?\s+(?P<day>\d{1,2}),?\s+(?P<year>\d{4})"),
    re.compile(r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"),
    re.compile(r"(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4})"),
)
_ACCESSION_IN_TEXT = re.compile(r"\b(GSE[1-9][0-9]*)\b")


def parse_geo_date(text: str | None) -> date | None:
    """Parse the date forms GEO uses (``Jul 29 2004``, ``Public on Jan 26 2005``,
    ``04/06/2003``, ``2004-07-29``); return None when there is no date in ``text``."""
    if not text:
        return None
    for pattern in _DATE_PATTERNS:
        match = pattern.search(text)
        if not match:
            continue
        parts = match.groupdict()
        try:
            if "mon" in parts and parts.get("mon"):
                month = _MONTHS.get(parts["mon"][:3].lower())
                if month is None:
                    continue
            else:
                month = int(parts["month"])
            return date(int(parts["year"]), month, int(parts["day"]))
        except ValueError:
            continue
    return None


def split_characteristic(text: str) -> tuple[str, str]:
    """Split ``"tissue: liver"`` into ``("tissue", "liver")``; text without a ``key:`` part
    gives ``("", text)``."""
    key, sep, value = text.partition(":")
    if not sep or not key.strip() or len(key) > 120:
        return ("", text.strip())
    return (key.strip(), value.strip())


@dataclass(eq=False)
class Record:
    """One GEO entity block (``^SAMPLE = GSM1`` and what follows it).

    Parameters
    ----------
    id
        The value after ``^ENTITY =``: an accession or a submission-style name.
    attributes
        ``(key, value)`` pairs in file order, keys without the leading ``!``.
    columns
        ``(name, description)`` pairs from ``#NAME = description`` lines, in order.
    table
        The data table, if the record carries one.
    """

    type: ClassVar[RecordType | None] = None
    #: prefix of this record's attribute keys (``Sample`` in ``Sample_title``).
    prefix: ClassVar[str] = ""

    id: str
    attributes: list[tuple[str, str]] = field(default_factory=list)
    columns: list[tuple[str, str]] = field(default_factory=list)
    table: Table | None = None

    # --- generic attribute access -------------------------------------------------------
    @staticmethod
    def field_name(key: str) -> str:
        """The attribute name without its entity prefix, lower-cased
        (``Sample_characteristics_ch1`` -> ``characteristics_ch1``)."""
        _, sep, rest = key.partition("_")
        return (rest if sep else key).lower()

    def get_all(self, name: str) -> list[str]:
        """All values of attribute ``name`` (given without prefix, any case), in order."""
        wanted = name.lower()
        out = []
        for k, v in self.attributes:  # field_name, inlined: called for every attribute
            _, sep, rest = k.partition("_")
            if (rest if sep else k).lower() == wanted:
                out.append(v)
        return out

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of attribute ``name``, or ``default``."""
        values = self.get_all(name)
        return values[0] if values else default

    def add(self, name: str, value: str) -> None:
        """Append an attribute, prefixing ``name`` with this record's entity prefix."""
        key = (
            name
            if "_" in name and name.split("_", 1)[0].lower() == self.prefix.lower()
            else (f"{self.prefix}_{name}" if self.prefix else name)
        )
        self.attributes.append((key, value))

    # --- common properties ----------------------------------------------------------------
    @property
    def accession(self) -> str | None:
        """The GEO accession, or None for a submission-style record."""
        if is_accession(self.id):
            return normalize_accession(self.id)
        geo = self.get("geo_accession")
        return normalize_accession(geo) if geo and is_accession(geo) else None

    @property
    def key(self) -> str:
        """The identifier the hub files this record under: its accession, else its name."""
        return self.accession or self.id

    @property
    def title(self) -> str | None:
        """The record's title."""
        return self.get("title")

    @property
    def status(self) -> str | None:
        """GEO status text, e.g. ``Public on Jan 26 2005``."""
        return self.get("status")

    @property
    def submission_date(self) -> date | None:
        """Date of submission."""
        return parse_geo_date(self.get("submission_date"))

    @property
    def release_date(self) -> date | None:
        """Date the record became public (from ``status``)."""
        status = self.status
        return parse_geo_date(status) if status and "public" in status.lower() else None

    @property
    def last_update_date(self) -> date | None:
        """Date of the last update (``last_update_date`` or a DataSet's ``update_date``)."""
        return parse_geo_date(self.get("last_update_date") or self.get("update_date"))

    @property
    def data_row_count(self) -> int | None:
        """The declared number of table rows, if given."""
        value = self.get("data_row_count")
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    def summary(self) -> dict[str, object]:
        """Key facts of the record as plain JSON-ready values."""
        return {
            "accession": self.accession,
            "id": self.id,
            "type": self.type.value if self.type else None,
            "title": self.title,
            "status": self.status,
            "submission_date": _iso(self.submission_date),
            "last_update_date": _iso(self.last_update_date),
            "release_date": _iso(self.release_date),
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return (
            type(self) is type(other)
            and self.id == other.id
            and self.attributes == other.attributes
            and self.columns == other.columns
            and self.table == other.table
        )

    __hash__ = None  # type: ignore[assignment]


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _split_list(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        for part in re.split(r"[,\s]+", value):
            if part and part not in out:
                out.append(part)
    return out


@dataclass(eq=False)
class Database(Record):
    """The ``^DATABASE`` header block of GEO files (who wrote the file)."""

    prefix: ClassVar[str] = "Database"


@dataclass(eq=False)
class Annotation(Record):
    """A GEO-generated platform annotation (``^Annotation``, the ``GPLxxx.annot`` files)."""

    prefix: ClassVar[str] = "Annotation"

    @property
    def platform_id(self) -> str | None:
        """The annotated platform."""
        value = self.get("platform")
        return normalize_accession(value) if value else None


@dataclass(eq=False)
class Platform(Record):
    """A GEO Platform (GPL): an array design or sequencer, with its probe table."""

    type: ClassVar[RecordType | None] = RecordType.PLATFORM
    prefix: ClassVar[str] = "Platform"

    @property
    def organisms(self) -> list[str]:
        """Organisms of the platform."""
        return self.get_all("organism")

    @property
    def technology(self) -> str | None:
        """Technology, e.g. ``in situ oligonucleotide`` or ``high-throughput sequencing``."""
        return self.get("technology")

    @property
    def series_ids(self) -> list[str]:
        """Series that use the platform, as listed in the record."""
        return [normalize_accession(s) for s in _split_list(self.get_all("series_id"))]

    @property
    def sample_ids(self) -> list[str]:
        """Samples on the platform, as listed in the record."""
        return [normalize_accession(s) for s in _split_list(self.get_all("sample_id"))]


@dataclass(eq=False)
class Sample(Record):
    """A GEO Sample (GSM): one hybridization or sequencing library."""

    type: ClassVar[RecordType | None] = RecordType.SAMPLE
    prefix: ClassVar[str] = "Sample"

    @property
    def platform_id(self) -> str | None:
        """The platform the sample was measured on."""
        value = self.get("platform_id")
        return normalize_accession(value) if value else None

    @property
    def series_ids(self) -> list[str]:
        """Series the sample belongs to."""
        return [normalize_accession(s) for s in _split_list(self.get_all("series_id"))]

    @property
    def channel_count(self) -> int:
        """Number of channels (1, or 2 for two-colour arrays)."""
        value = (self.get("channel_count") or "").strip()
        # ASCII digits only: str.isdigit() also accepts '²', which int() rejects
        if value.isascii() and value.isdigit() and len(value) <= 2:
            return int(value)
        return 2 if any(self.field_name(k).endswith("_ch2") for k, _ in self.attributes) else 1

    def channel_values(self, name: str, channel: int = 1) -> list[str]:
        """Values of a per-channel attribute (``organism`` -> ``organism_ch1``)."""
        values = self.get_all(f"{name}_ch{channel}")
        if not values and channel == 1:
            values = self.get_all(name)
        return values

    @property
    def organisms(self) -> list[str]:
        """Organisms across channels, without repeats."""
        out: list[str] = []
        for ch in range(1, self.channel_count + 1):
            for organism in self.channel_values("organism", ch):
                if organism not in out:
                    out.append(organism)
        return out

    def characteristics(self, channel: int = 1) -> list[tuple[str, str]]:
        """Characteristics of one channel as ``(key, value)`` pairs, in order."""
        return [split_characteristic(v) for v in self.channel_values("characteristics", channel)]

    @property
    def sample_type(self) -> str | None:
        """GEO sample type: RNA, genomic, SRA, SAGE ..."""
        return self.get("type")


@dataclass(eq=False)
class Series(Record):
    """A GEO Series (GSE): an experiment grouping samples; may be a SuperSeries."""

    type: ClassVar[RecordType | None] = RecordType.SERIES
    prefix: ClassVar[str] = "Series"

    @property
    def sample_ids(self) -> list[str]:
        """Samples of the series."""
        return [normalize_accession(s) for s in _split_list(self.get_all("sample_id"))]

    @property
    def platform_ids(self) -> list[str]:
        """Platforms used by the series."""
        return [normalize_accession(s) for s in _split_list(self.get_all("platform_id"))]

    def _relations(self, kind: str) -> list[str]:
        out: list[str] = []
        for value in self.get_all("relation"):
            label, sep, target = value.partition(":")
            if sep and label.strip().lower() == kind:
                for acc in _ACCESSION_IN_TEXT.findall(target):
                    if acc not in out:
                        out.append(acc)
        return out

    @property
    def subseries_ids(self) -> list[str]:
        """SubSeries named by ``SuperSeries of:`` relations, or, for old records that lack
        them, the series accessions named in the summary of a SuperSeries."""
        found = self._relations("superseries of")
        if found:
            return found
        summary = " ".join(self.get_all("summary"))
        if "superseries" in summary.lower():
            own = self.accession
            return [a for a in dict.fromkeys(_ACCESSION_IN_TEXT.findall(summary)) if a != own]
        return []

    @property
    def superseries_ids(self) -> list[str]:
        """SuperSeries this series belongs to (``SubSeries of:`` relations)."""
        return self._relations("subseries of")

    @property
    def series_types(self) -> list[str]:
        """Experiment types, e.g. ``Expression profiling by array``."""
        return self.get_all("type")

    @property
    def pubmed_ids(self) -> list[str]:
        """PubMed identifiers."""
        return self.get_all("pubmed_id")


@dataclass(eq=False)
class DataSet(Record):
    """A curated GEO DataSet (GDS): one platform, values of one type, samples in subsets."""

    type: ClassVar[RecordType | None] = RecordType.DATASET
    prefix: ClassVar[str] = "dataset"

    @property
    def platform_id(self) -> str | None:
        """The DataSet's platform."""
        value = self.get("platform")
        return normalize_accession(value) if value else None

    @property
    def reference_series(self) -> list[str]:
        """The series the DataSet was curated from."""
        return [normalize_accession(s) for s in _split_list(self.get_all("reference_series"))]

    @property
    def value_type(self) -> str | None:
        """GDS value type: count, log ratio, log2 ratio, log10 ratio, transformed count ..."""
        return self.get("value_type")

    @property
    def organisms(self) -> list[str]:
        """Organisms (``platform_organism``, ``sample_organism`` or old ``organism``)."""
        values = self.get_all("sample_organism") or self.get_all("platform_organism")
        return values or self.get_all("organism")

    @property
    def column_samples(self) -> list[str]:
        """The GSM columns of the DataSet's table, in order."""
        if self.table is None:
            return [n for n, _ in self.columns if is_accession(n) and n.upper().startswith("GSM")]
        return [n for n in self.table.names if is_accession(n) and n.upper().startswith("GSM")]


@dataclass(eq=False)
class Subset(Record):
    """A DataSet subset: samples sharing one value of one experimental variable."""

    type: ClassVar[RecordType | None] = RecordType.SUBSET
    prefix: ClassVar[str] = "subset"

    @property
    def dataset_id(self) -> str | None:
        """The DataSet the subset belongs to."""
        value = self.get("dataset_id")
        if value:
            return normalize_accession(value)
        head, sep, _ = self.id.rpartition("_")
        return normalize_accession(head) if sep else None

    @property
    def sample_ids(self) -> list[str]:
        """Samples in the subset."""
        return [normalize_accession(s) for s in _split_list(self.get_all("sample_id"))]

    @property
    def subset_type(self) -> str | None:
        """The experimental variable (``disease state``, ``agent``, ``time`` ...)."""
        return self.get("type")

    @property
    def description(self) -> str | None:
        """The variable's value for these samples (``RCC``, ``20 minute`` ...)."""
        return self.get("description")


#: Record class for each SOFT entity keyword (lower-cased).
ENTITY_CLASSES: dict[str, type[Record]] = {
    "database": Database,
    "annotation": Annotation,
    "platform": Platform,
    "sample": Sample,
    "series": Series,
    "dataset": DataSet,
    "subset": Subset,
}

#: Record class for each stored record type.
TYPE_CLASSES: dict[RecordType, type[Record]] = {
    RecordType.PLATFORM: Platform,
    RecordType.SAMPLE: Sample,
    RecordType.SERIES: Series,
    RecordType.DATASET: DataSet,
    RecordType.SUBSET: Subset,
}


def record_class(entity: str) -> type[Record]:
    """The record class for a SOFT entity keyword (``SAMPLE``, ``^platform`` ...).

    Raises
    ------
    ValueError
        For an unknown entity keyword.
    """
    key = entity.strip().lstrip("^").lower()
    try:
        return ENTITY_CLASSES[key]
    except KeyError:
        raise ValueError(
            f"unknown entity {entity!r}; expected one of {', '.join(ENTITY_CLASSES)}"
        ) from None
