"""Import GEO files into a hub.

Formats are detected by content. Each file is one transaction: all of its records land, or
none do (a malformed file leaves the hub exactly as it was, down to its folders). Importing
the same file again changes nothing; a record with a newer ``last_update_date`` replaces the
stored one and the older version goes to the record's history. A newer record whose table is
incomplete (fewer rows than declared) updates the metadata but keeps the stored, more complete
table; the result lists the conflict and the hub records it.

A directory given to :func:`import_files` stands for the files directly inside it (not in
its subfolders, hidden files skipped), imported one after the other in name order, each in
its own transaction - the folder a GEO download leaves.

Value cells that are not numbers are stored as missing (NaN) and reported, one warning per
sample and kind of problem with a few examples: text that is not a number (``abc``,
``1,234``) and numbers beyond the float32 range of the matrices (``1e999``, ``inf``; stored
as NaN, never as infinity). GEO's missing-value tokens (empty, ``null``, ``NA``, ``NaN`` ...,
see :data:`~exprhub.records.MISSING_TOKENS`) are stored as NaN without a warning.
"""

from __future__ import annotations

import contextlib
import functools
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exprhub.formats.detect import detect_format, open_reader
from exprhub.formats.errors import FormatError, ParseWarning
from exprhub.formats.kinds import RecordReader
from exprhub.hub import Hub, HubError
from exprhub.hub.labels import LabelChange
from exprhub.hub.writer import HubWriter, KeptFile
from exprhub.ingest.labelling import ImportLabels
from exprhub.records import Annotation, Record
from exprhub.records.table import ValueTally

#: Files in one :func:`import_files` call from which their tables are stored through a child
#: process by default (its start-up, ~0.5 s on another core, pays off over this many files).
TABLE_PROCESS_MIN_FILES = 8

#: Called after each stored record with (file, records so far).
RecordCallback = Callable[[Path, int], None]


class ImportFailed(HubError):
    """A file could not be imported; the hub is unchanged by it."""


@dataclass
class ImportResult:
    """What importing one file did."""

    path: Path
    format: str
    sha256: str
    records: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    by_type: dict[str, Counter[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: Records whose newer version came with an incomplete table: the stored, more complete
    #: table was kept (one line each; also recorded with the record, see ``Hub.conflicts``).
    conflicts: list[str] = field(default_factory=list)
    #: A counts table: how each column matched a sample (``GSM1 <- 'NS' (title: NS)``).
    matches: list[str] = field(default_factory=list)
    #: A counts table: series, quantity, gene id type, genes, skipped columns, NCBI build.
    details: dict[str, Any] = field(default_factory=dict)
    #: Samples labelled (standardized labels, see ``exprhub.curate.labels``).
    labelled: int = 0
    #: Label values the import changed on samples labelled before (``GSM1 sex: male ->
    #: female``).
    label_changes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (documented in docs/cli.md)."""
        out = {
            "path": str(self.path),
            "format": self.format,
            "sha256": self.sha256,
            "records": self.records,
            "outcomes": dict(sorted(self.outcomes.items())),
            "by_type": {t: dict(sorted(c.items())) for t, c in sorted(self.by_type.items())},
            "warnings": self.warnings,
            "conflicts": self.conflicts,
            "labelled": self.labelled,
            "label_changes": self.label_changes,
        }
        if self.matches or self.details:
            out["matches"] = self.matches
            out["details"] = self.details
        return out


def import_file(
    hub: Hub, path: str | Path, *, on_record: RecordCallback | None = None
) -> ImportResult:
    """Import one GEO file (SOFT, MINiML, MINiML bundle, series matrix or ``.annot``).

    Raises
    ------
    ImportFailed
        If the file is missing, unreadable or malformed; the message names the file, the line
        and what was expected, and nothing from the file is stored.
    """
    return _import_file(hub, Path(path), on_record=on_record)


def _import_file(
    hub: Hub,
    source: Path,
    *,
    on_record: RecordCallback | None = None,
    ready: tuple[str, RecordReader] | None = None,
    on_read: Callable[[], None] | None = None,
) -> ImportResult:
    """:func:`import_file`, with the file's kind and reader already made (``ready``, see
    :func:`_reader_ahead`), and ``on_read`` called once every record of the file is read,
    before the write commits."""
    if source.is_dir():
        raise ImportFailed(
            f"{source}: is a directory; expected a GEO file (import_files and "
            "'exprhub import' import each file in a directory)"
        )
    if not source.is_file():
        raise ImportFailed(f"{source}: no such file")
    try:
        kind, reader = ready if ready is not None else _reader(source)
        labelling = ImportLabels()
        with hub.writer() as writer:
            kept = writer.keep_file_in_background(source, format=kind)
            result = ImportResult(source, kind, "")
            for record in reader.records():
                outcome = _store(writer, record, kept)
                if outcome is None:
                    continue
                labelling.see(record, outcome)
                result.records += 1
                result.outcomes[outcome] += 1
                result.by_type.setdefault(_type_name(record), Counter())[outcome] += 1
                if on_record is not None:
                    on_record(source, result.records)
            writer.write_matrices_in_background()  # while the samples are labelled
            if on_read is not None:
                on_read()
            result.warnings = [str(w) for w in reader.warnings]
            result.warnings += [str(w) for w in _value_warnings(source, writer.value_tallies)]
            result.conflicts = list(writer.conflicts)
            changes = labelling.write(hub, writer)
            result.sha256 = kept.digest()
        members, member_changes = labelling.relabel_members(hub)
        changes += member_changes
        result.labelled = len(labelling.samples) + members
        result.label_changes = [_change_line(c) for c in changes]
    except FormatError as exc:
        raise ImportFailed(str(exc)) from None
    except (OSError, EOFError) as exc:
        detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise ImportFailed(f"{source}: {detail}") from None
    return result


def _value_warnings(source: Path, tallies: list[tuple[str, str, ValueTally]]) -> list[ParseWarning]:
    """One warning per (record, column) and kind of unreadable value cell, with examples."""
    warnings = []
    for key, column, tally in tallies:
        where = key if column == "VALUE" else f"{key} column {column}"
        for count, kind, what in (
            (tally.unparseable, "unparseable", "not a number"),
            (tally.out_of_range, "out_of_range", "a number beyond the float32 range (3.4e38)"),
        ):
            if not count:
                continue
            examples = ", ".join(repr(e) for e in tally.examples.get(kind, []))
            message = (
                f"{where}: {count} of {tally.cells} value cells: {what} (e.g. {examples}); "
                "stored as missing (NaN)"
            )
            warnings.append(ParseWarning(str(source), None, message))
    return warnings


def _change_line(change: LabelChange) -> str:
    return f"{change.sample_key} {change.field}: {change.old_value} -> {change.new_value}"


def _type_name(record: Record) -> str:
    if isinstance(record, Annotation):
        return "ANNOT"
    return record.type.value if record.type else type(record).__name__


def _store(writer: HubWriter, record: Record, source: KeptFile) -> str | None:
    if isinstance(record, Annotation):
        return str(writer.put_annotation(record).value)
    if record.type is None:  # the ^DATABASE header says who wrote the file, nothing more
        return None
    return str(writer.put(record, source_sha256=source).value)


def import_files(
    hub: Hub,
    paths: Iterable[str | Path],
    *,
    on_record: RecordCallback | None = None,
    on_error: Callable[[Path, ImportFailed], None] | None = None,
    table_process: bool | None = None,
) -> list[ImportResult]:
    """Import several files, each in its own transaction.

    A directory stands for the files directly inside it (see :func:`files_in`). Without
    ``on_error`` the first failure raises; with it, failures are reported to it and the
    remaining files are still imported.

    ``table_process``: store the records' data tables through a child process
    (:meth:`Hub.tables_in_a_child_process`) rather than a thread; by default, when there are
    at least :data:`TABLE_PROCESS_MIN_FILES` files. The hub is the same either way.

    With two files or more, the compaction a file's import makes due runs while the next
    file is imported (:meth:`Hub.compacting_in_background`); when this returns, the matrices
    are compacted as if each file had compacted in turn.
    """
    # each file, or a path that stands for none with why
    queue: list[tuple[Path, ImportFailed | None]] = []
    for given in paths:
        try:
            queue += [(path, None) for path in files_in(Path(given))]
        except ImportFailed as exc:
            queue.append((Path(given), exc))
    if table_process is None:
        table_process = sum(failed is None for _, failed in queue) >= TABLE_PROCESS_MIN_FILES
    # the file imported after each (read ahead while that one is stored)
    following: list[Path | None] = []
    upcoming: Path | None = None
    for path, failed in reversed(queue):
        following.append(upcoming)
        upcoming = path if failed is None else upcoming
    following.reverse()
    results = []
    early: dict[Path, tuple[str, RecordReader] | None] = {}

    def read_ahead(path: Path | None) -> None:
        if path is not None and path not in early:
            early[path] = _reader_ahead(path)

    with contextlib.ExitStack() as stack:
        if table_process:
            stack.enter_context(hub.tables_in_a_child_process())
        if len(queue) >= 2:
            stack.enter_context(hub.compacting_in_background())
        try:
            for i, (path, failed) in enumerate(queue):
                if failed is not None:
                    if on_error is None:
                        raise failed
                    on_error(path, failed)
                    continue
                ready = early.pop(path, None)
                try:
                    results.append(
                        _import_file(
                            hub,
                            path,
                            on_record=on_record,
                            ready=ready,
                            on_read=functools.partial(read_ahead, following[i]),
                        )
                    )
                except ImportFailed as exc:
                    if on_error is None:
                        raise
                    on_error(path, exc)
                finally:
                    _close(ready)
        finally:
            for ready in early.values():
                _close(ready)
    return results


def _reader(source: Path) -> tuple[str, RecordReader]:
    kind = detect_format(source)
    return kind, open_reader(source, kind)


def _reader_ahead(source: Path) -> tuple[str, RecordReader] | None:
    """The kind and reader of the next file of an import, already reading it in the background
    where the reader can (:meth:`SoftReader.read_ahead`), or None if it cannot be made now
    (its own import then meets the error again, and reports it as that file's)."""
    try:
        kind, reader = _reader(source)
        read_ahead = getattr(reader, "read_ahead", None)
        if read_ahead is not None:
            read_ahead()
    except Exception:  # not the current file's failure: see above
        return None
    return kind, reader


def _close(ready: tuple[str, RecordReader] | None) -> None:
    close = getattr(ready[1], "close", None) if ready is not None else None
    if close is not None:
        close()


def files_in(path: Path) -> list[Path]:
    """The files ``path`` stands for in an import: itself, or, for a directory, the files
    directly inside it (hidden ones skipped), sorted by name.

    Raises
    ------
    ImportFailed
        If ``path`` is a directory holding no files, or one that cannot be listed.
    """
    if not path.is_dir():
        return [path]
    try:
        files = sorted(
            (p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")),
            key=lambda p: p.name,
        )
    except OSError as exc:
        raise ImportFailed(f"{path}: cannot list the directory ({exc.strerror or exc})") from None
    if not files:
        raise ImportFailed(f"{path}: directory holds no files to import")
    return files
