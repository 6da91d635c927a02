"""Files under a hub's ``tables/`` and ``files/`` that no committed row refers to.

A write puts its record tables and kept original files in place before SQL commits, and notes
each one so that a failed or crashed write removes them again (``Hub._recover_interrupted_write``,
at the next write). A process killed between a file's rename and its note, or mid-copy (a
``.tmp-*`` file), leaves a file nothing refers to and nothing will remove; so does an
annotation table replaced by a newer annotation. They lose nothing, but take space for good.
:func:`check_files` lists them (and referenced files that are missing) and, asked to, removes
them.

It holds the hub's write lock throughout: no write can be between putting a file in place
and committing the row that refers to it, so every file not referred to is debris.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from exprhub.hub import schema as s
from exprhub.storage.blobs import BlobDirectory, table_blob_header
from exprhub.storage.staging import read_staging

if TYPE_CHECKING:
    from exprhub.hub.hub import Hub

#: Why a file is an orphan.
NOT_REFERENCED = "not referenced"
PARTIAL_WRITE = "partial write"


@dataclass(frozen=True)
class OrphanFile:
    """A file under ``tables/`` or ``files/`` that nothing committed refers to."""

    #: Path relative to the hub directory (``tables/ab/<sha256>.parquet``).
    path: str
    size: int
    #: :data:`NOT_REFERENCED` or :data:`PARTIAL_WRITE` (a ``.tmp-*`` file of a killed write).
    reason: str


@dataclass(frozen=True)
class FileCheck:
    """What :func:`check_files` found (and removed) under a hub's ``tables/`` and ``files/``."""

    orphans: tuple[OrphanFile, ...]
    #: Blobs committed rows refer to that are absent (``tables/...`` / ``files/...`` paths).
    missing: tuple[str, ...]
    #: Whether the orphans were removed.
    removed: bool
    #: Whether a crashed write's note was found (its matrices are cut back when repairing).
    interrupted_write: bool

    @property
    def orphan_bytes(self) -> int:
        """Total size of the orphans."""
        return sum(f.size for f in self.orphans)

    @property
    def ok(self) -> bool:
        """Whether nothing is missing and (after a repair: was) left over."""
        return not self.missing and (self.removed or not self.orphans)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "orphans": [{"path": f.path, "size": f.size, "reason": f.reason} for f in self.orphans],
            "orphan_files": len(self.orphans),
            "orphan_bytes": self.orphan_bytes,
            "removed": self.removed,
            "missing": list(self.missing),
            "interrupted_write": self.interrupted_write,
        }


def check_files(hub: Hub, *, repair: bool = False) -> FileCheck:
    """List the files under the hub's ``tables/`` and ``files/`` that no committed row refers
    to, and the referenced ones that are missing; with ``repair``, remove the former.

    A table blob that other tables refer to for their shared first column (``exprhub.shared``
    in its Parquet metadata, docs/store.md) is referenced. Waits for a running write to end,
    and holds the write lock until done. ``repair`` first recovers a crashed write (its
    matrices cut back to the committed extent, as the next write would), then deletes the
    orphans and the ``ab/`` folders they leave empty. Missing files are reported, never
    repaired.
    """
    with hub._write_lock():
        interrupted = read_staging(hub.home) is not None
        with hub.engine.connect() as connection:
            table_refs = _referenced_tables(connection)
            kept_files = set(connection.execute(select(s.files.c.sha256)).scalars())
            file_refs = kept_files | _source_files(connection)
        orphans, missing = _unreferenced(hub.home, hub.files, file_refs, kept_files)
        table_orphans, table_missing = _unreferenced(hub.home, hub.tables, table_refs, table_refs)
        table_orphans = _without_shared_columns(hub.tables, table_orphans, table_refs)
        orphans = sorted(orphans + table_orphans, key=lambda f: f.path)
        if repair:
            if interrupted:
                hub._recover_interrupted_write()
            for orphan in orphans:
                _remove(hub.home / orphan.path)
        return FileCheck(
            orphans=tuple(orphans),
            missing=tuple(sorted(missing + table_missing)),
            removed=repair,
            interrupted_write=interrupted,
        )


def _referenced_tables(connection: Connection) -> set[str]:
    refs: set[str] = set()
    for column in (
        s.records.c.table_ref,
        s.record_history.c.table_ref,
        s.platform_annotations.c.table_ref,
    ):
        refs.update(
            connection.execute(select(column).where(column.is_not(None)).distinct()).scalars()
        )
    return refs


def _source_files(connection: Connection) -> set[str]:
    """Original files records name as their source (each also has a ``files`` row)."""
    refs: set[str] = set()
    for column in (s.records.c.source_sha256, s.record_conflicts.c.source_sha256):
        refs.update(
            connection.execute(select(column).where(column.is_not(None)).distinct()).scalars()
        )
    return refs


def _stored(blobs: BlobDirectory) -> Iterable[tuple[Path, str | None]]:
    """Every file of a blob directory with its digest (None for a ``.tmp-*`` partial write);
    names of any other shape are not the hub's and are left alone."""
    if not blobs.root.is_dir():
        return
    for folder in sorted(blobs.root.iterdir()):
        if not folder.is_dir() or len(folder.name) != 2:
            continue
        for path in sorted(folder.iterdir()):
            if not path.is_file():
                continue
            if path.name.startswith(".tmp-"):
                yield path, None
                continue
            digest = path.name.removesuffix(blobs.suffix) if blobs.suffix else path.name
            if (
                path.name.endswith(blobs.suffix)
                and _is_digest(digest)
                and digest[:2] == folder.name
            ):
                yield path, digest


def _is_digest(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def _unreferenced(
    home: Path, blobs: BlobDirectory, refs: set[str], expected: set[str]
) -> tuple[list[OrphanFile], list[str]]:
    """The files of one blob directory not in ``refs``, and the blobs of ``expected`` missing
    from it."""
    orphans: list[OrphanFile] = []
    present: set[str] = set()
    for path, digest in _stored(blobs):
        if digest is not None:
            present.add(digest)
            if digest in refs:
                continue
        reason = NOT_REFERENCED if digest is not None else PARTIAL_WRITE
        with contextlib.suppress(FileNotFoundError):
            orphans.append(OrphanFile(_relative(home, path), path.stat().st_size, reason))
    missing = [_relative(home, blobs.path(d)) for d in sorted(expected - present)]
    return orphans, missing


def _without_shared_columns(
    tables: BlobDirectory, orphans: list[OrphanFile], refs: set[str]
) -> list[OrphanFile]:
    """``orphans`` less the one-column blobs that referenced tables use as their first
    column. Only the footers of referenced tables are read, and only until every candidate
    is accounted for; a referenced table that cannot be read keeps every candidate."""
    candidates: dict[str, OrphanFile] = {}
    for orphan in orphans:
        digest = Path(orphan.path).name.removesuffix(tables.suffix)
        if orphan.reason == NOT_REFERENCED and _is_column_blob(tables.path(digest)):
            candidates[digest] = orphan
    if not candidates:
        return orphans
    used: set[str] = set()
    for digest in sorted(refs):
        path = tables.path(digest)
        try:
            _, shared = table_blob_header(path)
        except FileNotFoundError:
            continue  # reported as missing
        except (OSError, ValueError):  # unreadable (ArrowInvalid is a ValueError, bad JSON
            # too): such a table might refer to any of them, so keep them all
            used = set(candidates)
            break
        used.update(d for d in shared if d in candidates)
        if len(used) == len(candidates):
            break
    return [o for o in orphans if Path(o.path).name.removesuffix(tables.suffix) not in used]


def _is_column_blob(path: Path) -> bool:
    """Whether a table blob has the shape of a shared first column (one unnamed column)."""
    try:
        names, _ = table_blob_header(path)
    except (OSError, ValueError):  # unreadable: whether a table refers to it is checked all
        # the same
        return True
    return names == [""]


def _relative(home: Path, path: Path) -> str:
    return path.relative_to(home).as_posix()


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # other blobs in the folder
        path.parent.rmdir()
