"""Intake of the Python API's hub: importing files, fetching from NCBI GEO, and keeping the
search index up to date after either (``IntakeHub``, which ``exprhub.api.Hub``
extends)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Self

from exprhub.hub import Hub as CatalogueHub

if TYPE_CHECKING:
    from exprhub.ingest.importer import ImportFailed, ImportResult

#: Seconds an import or fetch waits for another process's index sync before leaving the
#: indexing of its records to the next sync.
INDEX_SYNC_WAIT = 10.0

#: Called with one line for the user (an index that will catch up later, a platform file
#: GEO does not have).
NoticeCallback = Callable[[str], None]


class HubNotice(UserWarning):
    """Something the user should know that did not fail the operation (the search index
    will catch up later; GEO has no annotation file for a platform)."""


@dataclass(frozen=True)
class IndexSummary:
    """What bringing the search index up to date did.

    Attributes
    ----------
    indexed
        Documents (re)written.
    documents
        Documents in the index now.
    location
        Where the index is (a directory or a PostgreSQL URL).
    rebuilt
        Why every record was re-indexed (an index written by another version of exprhub),
        or None.
    """

    indexed: int
    documents: int
    location: str
    rebuilt: str | None = None


def _notify(on_notice: NoticeCallback | None, message: str, stacklevel: int) -> None:
    """``message`` to ``on_notice``, else as a warning pointing ``stacklevel`` frames up."""
    if on_notice is not None:
        on_notice(message)
    else:
        warnings.warn(HubNotice(message), stacklevel=stacklevel + 1)


class IntakeHub(CatalogueHub):
    """The record catalogue plus importing and fetching (with the search index kept up to
    date); see ``exprhub.api.Hub``."""

    @classmethod
    def init(cls, path: str | Path | None = None, *, database_url: str | None = None) -> Self:
        """Create (or open) a hub at ``path``."""
        return cls(path, database_url=database_url, create=True)

    def __enter__(self) -> Self:
        return self

    # ------------------------------------------------------------------ intake
    def import_files(
        self,
        paths: str | Path | Iterable[str | Path],
        *,
        on_record: Callable[[Path, int], None] | None = None,
        on_error: Callable[[Path, ImportFailed], None] | None = None,
        on_notice: NoticeCallback | None = None,
        series: str | None = None,
        quantity: str | None = None,
    ) -> list[ImportResult]:
        """Import GEO files (SOFT, MINiML, MINiML bundles, series matrix, ``.annot``), or the
        files directly inside folders, then bring the search index up to date; with
        ``series``, attach genes x samples counts / TPM tables to that series' samples.

        Each file is one transaction: all of its records land, or none do. Importing a file
        again changes nothing; a record with a newer ``last_update_date`` replaces the stored
        one (the older goes to its history).

        Parameters
        ----------
        paths
            A file or folder, or several.
        on_record
            Called with ``(file, records stored so far)`` after each record.
        on_error
            Called with ``(file, error)`` for a file that cannot be imported; the other files
            are still imported. Without it the first failure raises.
        on_notice
            Called with a line for the user when the search index could not be updated now
            (another process writes it; it catches up at the next sync). Without it, a
            ``HubNotice`` warning.
        series
            The files are genes x samples tables of RNA-seq counts or TPM (TSV/CSV, gzip or
            not; NCBI's ``GSE..._raw_counts_GRCh38.p13_NCBI.tsv.gz`` or a submitter's file)
            belonging to this series, already in the hub: each column is matched to a sample
            by GSM accession, else title, else alias (``ImportResult.matches`` says how), and
            stored as the sample's counts (see ``exprhub.ingest.counts_import``).
        quantity
            With ``series``: ``"counts"`` or ``"tpm"``; by default the NCBI file name says,
            else whole numbers are counts.

        Returns
        -------
        list of ImportResult
            Per file: format, checksum, records added / updated / unchanged, warnings.

        Raises
        ------
        exprhub.ImportFailed
            For a missing, unreadable or malformed file (without ``on_error``); the message
            names the file, the line and what was expected.
        """
        from exprhub.ingest.importer import import_files

        given = [paths] if isinstance(paths, str | Path) else list(paths)
        if series is not None:
            return self._import_counts(given, series, quantity, on_error)
        if quantity is not None:
            raise ValueError("quantity applies to counts tables: give series too")
        results = import_files(self, given, on_record=on_record, on_error=on_error)
        if results:
            self._index_imported(on_notice)
        return results

    def _import_counts(
        self,
        paths: list[str | Path],
        series: str,
        quantity: str | None,
        on_error: Callable[[Path, ImportFailed], None] | None,
    ) -> list[ImportResult]:
        from exprhub.ingest.counts_import import import_counts_table
        from exprhub.ingest.importer import ImportFailed, files_in

        results = []
        for given in paths:
            try:
                for path in files_in(Path(given)):
                    results.append(import_counts_table(self, path, series, quantity=quantity))
            except ImportFailed as exc:
                if on_error is None:
                    raise
                on_error(Path(given), exc)
        return results

    def fetch(
        self,
        accessions: str | Sequence[str],
        *,
        format: str = "soft",
        annotations: bool = True,
        base_url: str | None = None,
        progress: Callable[[str, int, int | None], None] | None = None,
        on_record: Callable[[Path, int], None] | None = None,
        on_notice: NoticeCallback | None = None,
        keep_downloads: bool = False,
    ) -> list[ImportResult]:
        """Download records from NCBI GEO and import them, then bring the search index up to
        date.

        Downloads are retried, resumed after a broken connection and checked (size, gzip)
        before anything is imported; each file is imported in its own transaction.

        Parameters
        ----------
        accessions
            GEO accessions: series (GSE), DataSets (GDS), platforms (GPL), samples (GSM).
        format
            ``"soft"``, ``"matrix"`` (series matrix), ``"miniml"``, or ``"annot"`` (only the
            GEO annotation files of the platforms of the records).
        annotations
            Also fetch each record's platforms' GEO annotation file (probe -> gene), and a
            DataSet's or sample's platform record, when the hub lacks them.
        base_url
            An NCBI GEO mirror (default: NCBI's HTTPS site,
            ``exprhub.ingest.fetch.DEFAULT_BASE_URL``).
        progress
            Called with ``(url, bytes so far, bytes in all or None)`` while downloading.
        on_record
            Called with ``(file, records stored so far)`` after each record.
        on_notice
            Called with a line for the user (GEO has no annotation file for a platform; the
            search index will catch up later). Without it, a ``HubNotice`` warning.
        keep_downloads
            Keep the downloaded files under ``<hub>/downloads``.

        Returns
        -------
        list of ImportResult
            Per imported file, as ``import_files``.

        Raises
        ------
        exprhub.FetchError
            If an accession cannot be downloaded; accessions before it stay imported.
        ValueError
            For a malformed accession or a format the record type has no download in.
        """
        from exprhub.ingest import fetch as fetching

        notices: list[str] = []
        results = fetching.fetch(
            self,
            [accessions] if isinstance(accessions, str) else list(accessions),
            base_url=base_url or fetching.DEFAULT_BASE_URL,
            format=format,
            progress=progress,
            on_record=on_record,
            keep_downloads=keep_downloads,
            annotations=annotations,
            on_notice=notices.append if on_notice is None else on_notice,
        )
        for message in notices:
            _notify(None, message, stacklevel=2)
        if results:
            self._index_imported(on_notice)
        return results

    def _index_imported(self, on_notice: NoticeCallback | None) -> None:
        """Bring the search index up to date after an import; never fails the import.

        The records are committed by now and the index is derived from them: when another
        process is writing the index, or indexing fails, the next sync (the server's next
        search, the next import, ``exprhub index``) indexes them, and this says so.
        """
        from exprhub.search.document import IndexBusy
        from exprhub.search.hub_index import HubSearch

        try:
            with HubSearch(self) as search:
                search.sync(wait=INDEX_SYNC_WAIT)
            if search.rebuilt:
                _notify(on_notice, search.rebuilt, stacklevel=3)
            return
        except IndexBusy as exc:  # names the index and who writes it
            reason = str(exc)
        except Exception as exc:  # the import is committed: report, do not fail it
            reason = " ".join(str(exc).splitlines()) or type(exc).__name__
        _notify(
            on_notice,
            f"records imported; search index not updated yet ({reason}); the server's next "
            "search or `exprhub index` will index them",
            stacklevel=3,
        )

    # ------------------------------------------------------------------ refinery
    def update_index(self, *, full: bool = False) -> IndexSummary:
        """Bring the search index up to date with the hub (every record with ``full``).

        Raises
        ------
        exprhub.search.IndexBusy
            When another process held the index's write lock for two minutes.
        """
        from exprhub.search.hub_index import HubSearch

        with HubSearch(self) as engine:
            written = engine.sync(full=full)
            return IndexSummary(written, engine.index.count(), engine.location, engine.rebuilt)

    # ------------------------------------------------------------------ listings
