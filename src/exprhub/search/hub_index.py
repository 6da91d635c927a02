"""The hub's search index: documents built from stored records, kept in step with imports.

The index is brought up to date incrementally (:meth:`HubSearch.sync`): records whose
``updated_at`` is newer than the last sync (the watermark, kept in ``<hub>/search-state.json``)
are (re)indexed. The CLI syncs after every import and fetch, and the web server syncs when it
starts and before answering a search when the hub has changed, so what is in the hub is what
search finds.

Who writes the index: one writer at a time, whoever syncs. A sync holds the index's write lock
(:meth:`exprhub.search.SearchIndex.writing`: a lock file taken with ``flock`` for tantivy, an
advisory lock for PostgreSQL, plus a lock for the threads of a process) from reading the
watermark to saving the new one, and only for that long; no process holds it between syncs,
however long it runs (``exprhub serve`` included). Records are committed to the hub before any
sync starts, and the index is derived data, so a process that finds the lock busy does not
fail: its records are in the hub, the watermark has not passed them, and the next sync by
whoever takes the lock (the server's next search, the next import, ``exprhub index``) indexes
them. Concretely:

- :meth:`HubSearch.sync` (``exprhub index``) waits for the lock up to :data:`SYNC_WAIT` seconds,
  then raises :class:`~exprhub.search.document.IndexBusy`; after ``exprhub import`` / ``fetch``
  the CLI catches that (naming who writes the index) and says the index will catch up;
- :meth:`HubSearch.try_sync` (when the server starts) returns None instead;
- :meth:`HubSearch.search` first calls :meth:`HubSearch.catch_up`: when the hub changed, one
  thread of the process syncs while the others wait for it (single flight), each waiting at
  most :data:`SEARCH_WAIT` seconds, after which they answer from the last committed state. A
  search never fails because the index is being written.

The hub is read through :mod:`exprhub.hub.index_feed` (records changed since the watermark,
platform facts) and :meth:`exprhub.hub.Hub.latest_write`.

Readers always read the last committed index state: tantivy searchers reload when another
process commits, PostgreSQL readers see committed transactions.

Location: a tantivy directory ``<hub>/index`` by default; a hub whose metadata lives in
PostgreSQL indexes into the same database (PostgreSQL full text); ``EXPRHUB_SEARCH_URL``
overrides either.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from exprhub.curate.label_values import label_values, member_label_values
from exprhub.hub import Hub
from exprhub.hub.index_feed import FeedRecord, changed_records, platform_fields
from exprhub.records import Record, split_characteristic
from exprhub.search import SearchDocument, SearchIndex, SearchResults, drop_index, open_index
from exprhub.search.document import IndexBusy, OutdatedIndex
from exprhub.search.expansion import expand as expand_query
from exprhub.search.fields import DEFAULT_SCHEMA
from exprhub.search.paging import check_search_page
from exprhub.search.query import Query, as_query

INDEXED_TYPES = ("GSE", "GSM", "GPL", "GDS")
BATCH = 2000
STATE_FILE = "search-state.json"
#: What a search document holds. A hub indexed when documents held less (before 2: labels
#: filled through their aliases such as cell_type, strain, genotype; before 3: label values
#: from :func:`exprhub.curate.label_values.label_values`, specimen_type and organ; before 4:
#: series and DataSets carrying the labels of the samples they list without records) is
#: re-indexed in full once.
DOCUMENTS_VERSION = 4
_DOCUMENTS_KEY = "documents version: "
#: Seconds :meth:`HubSearch.sync` waits for another writer to finish.
SYNC_WAIT = 120.0
#: Seconds a search waits for a sync in progress before answering from the committed state.
SEARCH_WAIT = 10.0


def default_location(hub: Hub) -> str:
    """Where the hub's index lives (see module docstring)."""
    override = os.environ.get("EXPRHUB_SEARCH_URL")
    if override:
        return override
    if hub.engine.url.get_backend_name() == "postgresql":
        return hub.engine.url.render_as_string(hide_password=False)
    return str(hub.home / "index")


def _authors(values: Iterable[str]) -> list[str]:
    out = []
    for value in values:
        parts = [p.strip() for p in value.split(",") if p.strip()]
        out.append(" ".join(parts) if parts else value)
    return out


def _field(attributes: list[tuple[str, str]], name: str) -> list[str]:
    return [v for k, v in attributes if Record.field_name(k) == name]


class HubSearch:
    """Search over a hub's records.

    Parameters
    ----------
    hub
        The hub to index and search.
    location
        Index location (default: :func:`default_location`).
    """

    def __init__(self, hub: Hub, location: str | None = None) -> None:
        self.hub = hub
        self.location = location or default_location(hub)
        self._state_path = hub.home / STATE_FILE
        #: Why the next sync re-indexes every record (an index written by another version of
        #: exprhub), or None; cleared by that sync, whose caller says so.
        self.rebuilding: str | None = None
        #: What the last sync rebuilt and why (:attr:`rebuilding` before it), or None.
        self.rebuilt: str | None = None
        self.index: SearchIndex = self._open()

    def _open(self) -> SearchIndex:
        try:
            index = open_index(self.location, DEFAULT_SCHEMA)
        except OutdatedIndex:
            # Written by another version of exprhub (another format or label list): the index
            # is derived data, so it is rebuilt from the hub's records (a full sync).
            drop_index(self.location)
            self._forget_watermark()
            self.rebuilding = (
                f"the search index at {self.location} was written by another version of "
                "exprhub (another format, text analysis or label names); it is rebuilt from "
                "the hub's records"
            )
            return open_index(self.location, DEFAULT_SCHEMA)
        if self._documents_version() != DOCUMENTS_VERSION and self._watermark() is not None:
            self.rebuilding = (
                f"search documents changed (version {DOCUMENTS_VERSION}: label values as "
                "listings give them, specimen_type and organ labels); every record is "
                "re-indexed once"
            )
        return index

    def close(self) -> None:
        """Release the index."""
        self.index.close()

    def __enter__(self) -> HubSearch:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ----------------------------------------------------------------- state
    def _watermark(self) -> str | None:
        try:
            state = json.loads(self._state_path.read_text())
        except (OSError, ValueError):
            return None
        value = state.get(self.location)
        return value if isinstance(value, str) else None

    def _save_watermark(self, value: str) -> None:
        try:
            state = json.loads(self._state_path.read_text())
        except (OSError, ValueError):
            state = {}
        state[self.location] = value
        state[_DOCUMENTS_KEY + self.location] = DOCUMENTS_VERSION
        self._write_state(state)

    def _documents_version(self) -> int | None:
        try:
            state = json.loads(self._state_path.read_text())
        except (OSError, ValueError):
            return None
        value = state.get(_DOCUMENTS_KEY + self.location)
        return value if isinstance(value, int) else None

    def _forget_watermark(self) -> None:
        try:
            state = json.loads(self._state_path.read_text())
        except (OSError, ValueError):
            return
        state.pop(self.location, None)
        self._write_state(state)

    def _write_state(self, state: dict[str, Any]) -> None:
        # a temporary file of this process and thread: readers in other processes see the
        # old state or the new one, never a half-written file
        tmp = self._state_path.with_name(f".{STATE_FILE}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(state, indent=1))
        tmp.replace(self._state_path)

    def is_stale(self) -> bool:
        """Whether records changed since the last sync."""
        latest = self.hub.latest_write()
        if latest is None:
            return False
        mark = self._watermark()
        return mark is None or self.rebuilding is not None or _as_utc(latest).isoformat() > mark

    # ----------------------------------------------------------------- indexing
    def sync(
        self,
        *,
        full: bool = False,
        progress: Callable[[int], None] | None = None,
        wait: float = SYNC_WAIT,
    ) -> int:
        """Index records changed since the last sync (all of them with ``full``); return how
        many documents were written.

        Raises
        ------
        IndexBusy
            When another writer held the index's write lock for ``wait`` seconds.
        """
        with self.index.writing(wait):
            return self._sync_locked(full, progress)

    def try_sync(
        self,
        *,
        full: bool = False,
        progress: Callable[[int], None] | None = None,
        wait: float = 0.0,
    ) -> int | None:
        """Like :meth:`sync`, but None (nothing written) when another writer held the write lock
        for ``wait`` seconds: the hub's records are kept, and the next sync indexes them."""
        try:
            return self.sync(full=full, progress=progress, wait=wait)
        except IndexBusy:
            return None

    def catch_up(self, wait: float | None = None) -> bool:
        """Sync if the hub changed since the last sync; True when the index is then current.

        Single flight: while one thread (or process) syncs, the others wait for it up to
        ``wait`` seconds (default :data:`SEARCH_WAIT`) and then find nothing left to do; past
        that they return False and searches read the last committed state.
        """
        if not self.is_stale():
            return True
        try:
            with self.index.writing(SEARCH_WAIT if wait is None else wait):
                if self.is_stale():  # nobody caught up while this thread waited
                    self._sync_locked(False, None)
        except IndexBusy:
            return False
        return True

    def _sync_locked(self, full: bool, progress: Callable[[int], None] | None) -> int:
        """:meth:`sync` once the write lock is held."""
        full = full or self._documents_version() != DOCUMENTS_VERSION
        mark = None if full else self._watermark()
        latest = self.hub.latest_write()
        since = datetime.fromisoformat(mark) if mark is not None else None
        written = 0
        context: _Context | None = None
        for batch in changed_records(self.hub, INDEXED_TYPES, since, batch=BATCH):
            if context is None:
                context = _Context(self.hub)
            labels = label_values(
                self.hub, {r.key: _characteristics(r) for r in batch if r.type == "GSM"}
            )
            labels.update(member_label_values(self.hub, [r.key for r in batch if r.type != "GSM"]))
            written += self.index.add([context.document(r, labels.get(r.key, {})) for r in batch])
            if progress is not None:
                progress(written)
        self.index.commit()
        if latest is not None:
            self._save_watermark(_as_utc(latest).isoformat())
        self.rebuilt, self.rebuilding = self.rebuilding, None
        return written

    def search(
        self,
        query: str | Query,
        *,
        limit: int = 20,
        offset: int = 0,
        facets: Sequence[str] | None = None,
        filters: Mapping[str, Sequence[str]] | None = None,
        expand: bool = True,
    ) -> SearchResults:
        """Run an Entrez-style query (syncing first if the hub changed); ``facets`` and
        ``filters`` as in :meth:`exprhub.search.SearchIndex.search`; with ``expand``, words
        naming an ontology term also find its descendants (:mod:`exprhub.search.expansion`).

        Raises
        ------
        exprhub.search.QuerySyntaxError
            For a query that cannot be parsed (pointing at the column).
        exprhub.search.paging.PagingError
            For ``limit`` / ``offset`` beyond the bounds of :mod:`exprhub.search.paging`.
        """
        check_search_page(limit, offset)
        parsed = as_query(query, self.index.schema)
        if expand:
            parsed = expand_query(parsed)
        self.catch_up()
        if facets is None:
            return self.index.search(parsed, limit=limit, offset=offset, filters=filters)
        return self.index.search(parsed, limit=limit, offset=offset, facets=facets, filters=filters)


def _characteristics(row: FeedRecord) -> list[tuple[str, str]]:
    """A sample's ``(key, value)`` characteristics, all channels."""
    return [
        split_characteristic(v)
        for k, v in row.attributes
        if Record.field_name(k).startswith("characteristics_ch")
    ]


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class _Context:
    """Look-ups shared by a sync: platform technology and organisms."""

    def __init__(self, hub: Hub) -> None:
        self.platform_tech: dict[str, str] = {}
        self.platform_organisms: dict[str, list[str]] = {}
        for key, fields in platform_fields(hub, ("technology", "organism")).items():
            if fields.get("technology"):
                self.platform_tech[key] = fields["technology"][0]
            if fields.get("organism"):
                self.platform_organisms[key] = fields["organism"]

    def document(self, row: FeedRecord, labels: dict[str, list[str]]) -> SearchDocument:
        """The search document of one record; ``labels``: a sample's label values."""
        attributes = row.attributes
        relations = row.relations
        # a series record rarely names organisms: those of its samples stand in
        organisms = list(row.organisms) if row.organisms else list(row.sample_organisms)
        pdat = row.release_date or row.submission_date or row.last_update_date
        doc = SearchDocument(
            accession=row.key,
            etype=row.type,
            title=row.title or "",
            organisms=organisms,
            pdat=pdat,
        )
        # a series or DataSet: the labels of the samples it lists that have no record
        doc.labels = labels
        if row.type == "GSE":
            doc.description = "\n".join(
                _field(attributes, "summary") + _field(attributes, "overall_design")
            )
            doc.gtype = _field(attributes, "type")
            doc.platforms = relations.get("platform", [])
            doc.authors = _authors(_field(attributes, "contributor"))
            doc.nsam = len(relations.get("sample", []))
            if not doc.organisms:
                for platform in doc.platforms:
                    for organism in self.platform_organisms.get(platform, []):
                        if organism not in doc.organisms:
                            doc.organisms.append(organism)
            doc.ptype = next(
                (self.platform_tech[p] for p in doc.platforms if p in self.platform_tech), None
            )
        elif row.type == "GSM":
            pairs = _characteristics(row)
            sources = _field(attributes, "source_name_ch1") + _field(attributes, "source_name_ch2")
            doc.description = "\n".join(_field(attributes, "description"))
            doc.text = "\n".join(sources + [f"{k} {v}".strip() for k, v in pairs])
            doc.platforms = relations.get("platform", [])
            doc.ptype = next(
                (self.platform_tech[p] for p in doc.platforms if p in self.platform_tech), None
            )
            doc.labels = labels
            doc.gtype = _field(attributes, "type")
        elif row.type == "GPL":
            doc.description = "\n".join(_field(attributes, "description"))
            doc.ptype = self.platform_tech.get(row.key)
            doc.platforms = [row.key]
        elif row.type == "GDS":
            doc.description = "\n".join(_field(attributes, "description"))
            doc.gtype = _field(attributes, "type")
            values = _field(attributes, "value_type")
            doc.vtype = values[0] if values else None
            doc.platforms = relations.get("platform", [])
            doc.ptype = next(
                (self.platform_tech[p] for p in doc.platforms if p in self.platform_tech), None
            ) or next(iter(_field(attributes, "platform_technology_type")), None)
            counts = _field(attributes, "sample_count") or _field(attributes, "total_samples")
            doc.nsam = (
                int(counts[0])
                if counts and counts[0].strip().isascii() and counts[0].strip().isdigit()
                else None
            )
        return doc
