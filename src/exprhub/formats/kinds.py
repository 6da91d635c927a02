"""The registry of file kinds: every kind of file exprhub reads or writes, in one place.

Each :class:`FileKind` says how a file of that kind is recognised (its detector), read (its
reader) and written (its writer), what it holds (:class:`Contents` and record types), how it
is served (media type) and named (``GSE1_family.soft``, ``GSM1.xml``,
``GSE1-GPL96_series_matrix.txt``). :data:`KINDS` holds them all; format detection
(:mod:`exprhub.formats.detect`), ``exprhub export`` (:mod:`exprhub.bundles.export`) and the
record downloads of the HTTP API (:mod:`exprhub.web.downloads`) look kinds up there, so
adding a kind is one entry in :data:`KINDS`.

Kinds, in registry order (the order downloads are offered in), with their ``option``:

- ``soft`` (soft): SOFT family, DataSet, platform or sample files; detected, read, written.
- ``miniml`` (miniml): MINiML XML documents; detected, read, written (no DataSets).
- ``series-matrix`` (matrix): one platform's series matrix; detected, read, written.
- ``tsv`` (tsv): one record's data table; written.
- ``refined`` (refined): refined values, genes x samples; written by the refinery.
- ``json`` (json): a record's JSON document; written by the web API.
- ``annot``: GEO platform annotations; detected and read.
- ``miniml-bundle``: MINiML ``.tgz`` family bundles; detected and read.

A kind's ``option`` is its name in ``exprhub export --format`` and in the API's ``?format=``;
kinds without one are only read. Writers take the records a kind's :class:`Contents` names and
a path, and compress when the path ends in ``.gz``. Detectors are exclusive: at most one
matches any file head.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from exprhub.formats.errors import ParseWarning
from exprhub.formats.file_head import FileHead
from exprhub.formats.limits import Limits
from exprhub.records import Record, RecordType, Sample, Series

__all__ = [
    "GZIP_MEDIA_TYPE",
    "KINDS",
    "Contents",
    "FileKind",
    "FileKinds",
    "RecordReader",
    "RecordWriter",
    "UnknownFileKind",
]

#: Media type of a gzip-compressed file of any kind.
GZIP_MEDIA_TYPE = "application/gzip"


class RecordReader(Protocol):
    """What every format reader offers."""

    warnings: list[ParseWarning]

    def records(self) -> Iterator[Record]:
        """Yield the records of the file."""
        ...


#: Opens a file of a kind for reading, within the limits given.
ReaderFactory = Callable[[str | Path, Limits], RecordReader]
#: Writes records (as a kind's :class:`Contents` names them) to a path (``.gz``: compressed).
RecordWriter = Callable[[Iterable[Record], Path], None]
#: Whether a file head is of a kind.
Detector = Callable[[FileHead], bool]


class Contents(StrEnum):
    """What a file of a kind holds, and so which records its writer takes."""

    RECORDS = "records"
    """A record with what GEO ships with it: a series with its platforms and samples (a
    family file), a DataSet with its subsets, a platform or a sample alone."""
    PLATFORM_SAMPLES = "platform-samples"
    """A series followed by its samples on one platform."""
    TABLE = "table"
    """One record's data table (the writer takes that one record)."""
    REFINED = "refined"
    """A record's refined gene-level values; written by the refinery, not a formats writer."""
    DOCUMENT = "document"
    """The hub's JSON description of a record; written by the web API, not a formats writer."""


class UnknownFileKind(ValueError):
    """A kind or format name that is not in the registry (the message lists the known ones)."""


@dataclass(frozen=True)
class FileKind:
    """One kind of file: how it is recognised, read, written, served and named.

    Attributes
    ----------
    name
        The kind's name (what detection returns, stored with imported files).
    title
        How the kind is shown to people (download links).
    description
        What a file of the kind looks like, as detection errors list the expected kinds.
    contents
        What a file of the kind holds.
    record_types
        The record types a file of the kind is written or served for.
    media_type
        The HTTP media type of an uncompressed file.
    name_pattern
        The file name, ``{key}`` standing for the accession (``"{key}.soft"``).
    series_name_pattern
        The file name for a series, when it differs (``"{key}_family.soft"``).
    series_title
        The title for a series, when it differs.
    option
        The kind's name in ``exprhub export --format`` and the API's ``?format=``; None for a
        kind that is only read.
    compressible
        Whether a file of the kind may be gzip-compressed (``.gz``); False for a kind that is
        compressed already.
    detect
        Whether a file head is of this kind; None for a kind never told from content.
    read
        Opens a file of the kind for reading; None when exprhub does not read the kind.
    write
        Writes the records :attr:`contents` names; None when the kind is written above the
        formats layer (refined values, JSON documents) or not at all.
    """

    name: str
    title: str
    description: str
    contents: Contents
    record_types: frozenset[RecordType]
    media_type: str
    name_pattern: str
    series_name_pattern: str | None = None
    series_title: str | None = None
    option: str | None = None
    compressible: bool = True
    detect: Detector | None = field(default=None, compare=False)
    read: ReaderFactory | None = field(default=None, compare=False)
    write: RecordWriter | None = field(default=None, compare=False)

    def file_name(
        self,
        key: str,
        record_type: RecordType | None = None,
        *,
        platform: str | None = None,
        compressed: bool = False,
    ) -> str:
        """The file name GEO (or exprhub) gives a file of this kind.

        Parameters
        ----------
        key
            The record's accession.
        record_type
            The record's type (a series may be named differently: ``GSE1_family.soft``).
        platform
            The platform of a file that holds one platform of several (``GSE1-GPL96_...``).
        compressed
            Add ``.gz``.

        Raises
        ------
        ValueError
            If ``compressed`` is asked for a kind that is not compressible.
        """
        pattern = self.name_pattern
        if record_type is RecordType.SERIES and self.series_name_pattern:
            pattern = self.series_name_pattern
        name = pattern.format(key=f"{key}-{platform}" if platform else key)
        if not compressed:
            return name
        if not self.compressible:
            raise ValueError(f"a {self.title} file is compressed already; no .gz is added")
        return f"{name}.gz"

    def title_for(self, record_type: RecordType) -> str:
        """How a file of this kind of a ``record_type`` record is shown to people."""
        if record_type is RecordType.SERIES and self.series_title:
            return self.series_title
        return self.title


class FileKinds:
    """An ordered registry of :class:`FileKind` entries, looked up by name or option.

    Parameters
    ----------
    kinds
        The entries; names and options must be unique.

    Raises
    ------
    ValueError
        If two entries share a name or an option, or a detected kind has no reader.
    """

    def __init__(self, kinds: Iterable[FileKind]) -> None:
        self._kinds = tuple(kinds)
        for what, values in (
            ("name", [k.name for k in self._kinds]),
            ("option", [k.option for k in self._kinds if k.option is not None]),
        ):
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:
                raise ValueError(f"file kinds share the {what} {', '.join(twice)}")
        for kind in self._kinds:
            if kind.detect is not None and kind.read is None:
                raise ValueError(f"file kind {kind.name!r} is detected but has no reader")
        self._by_name = {k.name: k for k in self._kinds}

    def __iter__(self) -> Iterator[FileKind]:
        return iter(self._kinds)

    def __len__(self) -> int:
        return len(self._kinds)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> FileKind:
        """The kind called ``name``.

        Raises
        ------
        UnknownFileKind
            If there is none (the message lists the known kinds).
        """
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(self._by_name)
            raise UnknownFileKind(f"unknown file kind {name!r}; expected one of {known}") from None

    def get(self, name: str) -> FileKind | None:
        """The kind called ``name``, or None."""
        return self._by_name.get(name)

    def with_kind(self, kind: FileKind) -> FileKinds:
        """A copy of the registry with ``kind`` added (replacing the entry of the same name)."""
        if kind.name in self._by_name:
            return FileKinds(kind if k.name == kind.name else k for k in self._kinds)
        return FileKinds((*self._kinds, kind))

    def detectable(self) -> tuple[FileKind, ...]:
        """The kinds told apart by content."""
        return tuple(k for k in self._kinds if k.detect is not None)

    def readable(self) -> tuple[FileKind, ...]:
        """The kinds exprhub reads."""
        return tuple(k for k in self._kinds if k.read is not None)

    def written(self, contents: Iterable[Contents] | None = None) -> tuple[FileKind, ...]:
        """The kinds with an ``option`` (written by export or downloads), optionally only those
        holding one of ``contents``."""
        wanted = None if contents is None else set(contents)
        return tuple(
            k
            for k in self._kinds
            if k.option is not None and (wanted is None or k.contents in wanted)
        )

    def by_option(
        self,
        option: str,
        contents: Iterable[Contents] | None = None,
        *,
        what: str = "format",
    ) -> FileKind:
        """The written kind whose ``option`` is ``option``, among those holding one of
        ``contents`` (default: all).

        Raises
        ------
        UnknownFileKind
            If there is none; the message (``unknown {what} ...``) lists the options.
        """
        kinds = self.written(contents)
        for kind in kinds:
            if kind.option == option:
                return kind
        options = ", ".join(str(k.option) for k in kinds)
        raise UnknownFileKind(f"unknown {what} {option!r}; expected one of {options}")

    def offered_for(self, record_type: RecordType) -> tuple[FileKind, ...]:
        """The written kinds a ``record_type`` record is offered in, in registry order."""
        return tuple(k for k in self.written() if record_type in k.record_types)

    def detect(self, head: FileHead) -> FileKind | None:
        """The kind whose detector accepts ``head``, or None.

        Raises
        ------
        FormatError
            If a detector cannot read what it needs (a tar archive's members, say).
        """
        for kind in self.detectable():
            assert kind.detect is not None
            if kind.detect(head):
                return kind
        return None

    def expected(self) -> str:
        """The detectable kinds as detection errors list them: ``a GEO SOFT file (...), ...
        or a MINiML .tgz bundle``."""
        described = [k.description for k in self.detectable()]
        if len(described) < 2:
            return "".join(described)
        return f"{', '.join(described[:-1])} or {described[-1]}"


# ------------------------------------------------------------------------------ detectors
_SOFT_ENTITY = re.compile(r"^\^\s*(database|series|platform|sample|dataset|subset)\b", re.I)
_SOFT_ATTRIBUTE = re.compile(r"^!\s*\w+\s*=")
_MATRIX_ROW = re.compile(r"^!(series|sample)_\w*\t", re.I)


def _is_soft(head: FileHead) -> bool:
    line = head.first_line
    if line is None:
        return False
    if _SOFT_ENTITY.match(line):
        return True
    # `!Series_title\t= x` is a series matrix row, not a SOFT attribute
    return bool(_SOFT_ATTRIBUTE.match(line)) and not _MATRIX_ROW.match(line)


def _is_annot(head: FileHead) -> bool:
    line = head.first_line
    return line is not None and line.lower().startswith("^annotation")


def _is_series_matrix(head: FileHead) -> bool:
    line = head.first_line
    return line is not None and bool(_MATRIX_ROW.match(line))


def _is_miniml(head: FileHead) -> bool:
    return head.xml_root == "MINiML"


def _is_miniml_bundle(head: FileHead) -> bool:
    return head.is_tar and any(member.xml_root == "MINiML" for member in head.xml_members())


# ------------------------------------------------------------ readers (imported when used)
def _soft_reader(path: str | Path, limits: Limits) -> RecordReader:
    from exprhub.formats.soft_reader import SoftReader

    return SoftReader(path, limits)


def _series_matrix_reader(path: str | Path, limits: Limits) -> RecordReader:
    from exprhub.formats.matrix import SeriesMatrixReader

    return SeriesMatrixReader(path, limits)


def _miniml_reader(path: str | Path, limits: Limits) -> RecordReader:
    from exprhub.formats.miniml import MinimlReader

    return MinimlReader(path, limits)


# ------------------------------------------------------------ writers (imported when used)
def _write_soft(records: Iterable[Record], path: Path) -> None:
    from exprhub.formats.soft_writer import write_soft

    write_soft(records, path)


def _write_miniml(records: Iterable[Record], path: Path) -> None:
    from exprhub.formats.miniml_writer import write_miniml

    write_miniml(records, path)


def _write_series_matrix(records: Iterable[Record], path: Path) -> None:
    from exprhub.formats.matrix import write_series_matrix

    items = iter(records)
    series = next(items, None)
    if not isinstance(series, Series):
        raise ValueError("a series matrix holds a series and its samples; no series was given")
    samples: list[Sample] = []
    for record in items:
        if not isinstance(record, Sample):
            raise ValueError(
                f"a series matrix holds a series and its samples, not {record.key} "
                f"({type(record).__name__})"
            )
        samples.append(record)
    write_series_matrix(series, samples, path)


def _write_table_tsv(records: Iterable[Record], path: Path) -> None:
    from exprhub.formats.table_tsv import write_table_tsv

    items = list(records)
    if len(items) != 1:
        raise ValueError(f"a TSV data table holds one record's table, not {len(items)} records")
    write_table_tsv(items[0].table, path)


_TEXT = "text/plain; charset=utf-8"
_TSV = "text/tab-separated-values; charset=utf-8"
_ENTITY_TYPES = frozenset(
    {RecordType.SERIES, RecordType.SAMPLE, RecordType.PLATFORM, RecordType.DATASET}
)

#: Every file kind exprhub knows, in the order downloads are offered.
KINDS = FileKinds(
    [
        FileKind(
            name="soft",
            option="soft",
            title="SOFT",
            series_title="SOFT (family)",
            description="a GEO SOFT file (^SERIES/^PLATFORM/^SAMPLE/^DATASET lines)",
            contents=Contents.RECORDS,
            record_types=_ENTITY_TYPES | {RecordType.SUBSET},
            media_type=_TEXT,
            name_pattern="{key}.soft",
            series_name_pattern="{key}_family.soft",
            detect=_is_soft,
            read=_soft_reader,
            write=_write_soft,
        ),
        FileKind(
            name="miniml",
            option="miniml",
            title="MINiML (XML)",
            description="a MINiML XML document",
            contents=Contents.RECORDS,
            record_types=frozenset({RecordType.SERIES, RecordType.SAMPLE, RecordType.PLATFORM}),
            media_type="application/xml",
            name_pattern="{key}.xml",
            series_name_pattern="{key}_family.xml",
            detect=_is_miniml,
            read=_miniml_reader,
            write=_write_miniml,
        ),
        FileKind(
            name="series-matrix",
            option="matrix",
            title="Series matrix",
            description="a series matrix (!Series_ rows with tab-separated quoted values)",
            contents=Contents.PLATFORM_SAMPLES,
            record_types=frozenset({RecordType.SERIES}),
            media_type=_TEXT,
            name_pattern="{key}_series_matrix.txt",
            detect=_is_series_matrix,
            read=_series_matrix_reader,
            write=_write_series_matrix,
        ),
        FileKind(
            name="tsv",
            option="tsv",
            title="Data table (TSV)",
            description="a record's data table as tab-separated values with a header row",
            contents=Contents.TABLE,
            record_types=frozenset({RecordType.SAMPLE, RecordType.PLATFORM, RecordType.DATASET}),
            media_type=_TSV,
            name_pattern="{key}.tsv",
            write=_write_table_tsv,
        ),
        FileKind(
            name="refined",
            option="refined",
            title="Refined genes x samples (TSV)",
            description="refined gene-level values, genes x samples, as tab-separated values",
            contents=Contents.REFINED,
            record_types=_ENTITY_TYPES,
            media_type=_TSV,
            name_pattern="{key}_refined.tsv",
        ),
        FileKind(
            name="json",
            option="json",
            title="JSON",
            description="the hub's JSON document of a record",
            contents=Contents.DOCUMENT,
            record_types=_ENTITY_TYPES,
            media_type="application/json",
            name_pattern="{key}.json",
        ),
        FileKind(
            name="annot",
            title="GEO platform annotation",
            description="a GEO .annot file (^Annotation)",
            contents=Contents.RECORDS,
            record_types=frozenset({RecordType.PLATFORM}),
            media_type=_TEXT,
            name_pattern="{key}.annot",
            detect=_is_annot,
            read=_soft_reader,
        ),
        FileKind(
            name="miniml-bundle",
            title="MINiML bundle (.tgz)",
            description="a MINiML .tgz bundle",
            contents=Contents.RECORDS,
            record_types=frozenset({RecordType.SERIES, RecordType.PLATFORM}),
            media_type=GZIP_MEDIA_TYPE,
            name_pattern="{key}_family.xml.tgz",
            compressible=False,
            detect=_is_miniml_bundle,
            read=_miniml_reader,
        ),
    ]
)
