"""What gets indexed (SearchDocument), what a search returns, and the SearchIndex protocol."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from exprhub.search.analysis import analyze_all
from exprhub.search.fields import EXTRA, VALUE_SEPARATOR, SearchSchema, index_tokens
from exprhub.search.query import Query


@dataclass
class SearchDocument:
    """One searchable record (a GSE, GSM, GPL or GDS), built by the hub from its records.

    ``description`` holds summary / description / overall design; ``labels`` maps a label
    field (``"sex"``, ``"tissue"``...) to its values; labels not registered in the index's
    schema are searchable through ALL only. ``text`` is extra free text searched by ALL only.
    """

    accession: str
    etype: str
    title: str = ""
    description: str = ""
    organisms: list[str] = field(default_factory=list)
    gtype: list[str] = field(default_factory=list)
    vtype: str | None = None
    ptype: str | None = None
    platforms: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    pdat: dt.date | None = None
    nsam: int | None = None
    labels: dict[str, list[str]] = field(default_factory=dict)
    text: str = ""

    def field_values(self, schema: SearchSchema) -> dict[str, list[str]]:
        """Raw string values per text field key (``FieldSpec.key``), for indexing and facets."""
        out: dict[str, list[str]] = {
            "accn": [self.accession],
            "titl": [self.title] if self.title else [],
            "desc": [self.description] if self.description else [],
            "orgn": list(self.organisms),
            "etyp": [self.etype.upper()] if self.etype else [],
            "gtyp": list(self.gtype),
            "vtyp": [self.vtype] if self.vtype else [],
            "ptyp": [self.ptype] if self.ptype else [],
            "plat": list(self.platforms),
            "auth": list(self.authors),
        }
        extra = [self.text] if self.text else []
        registered = set(schema.labels)
        for name, values in self.labels.items():
            key = name.strip().lower().replace(" ", "_")
            vals = [values] if isinstance(values, str) else list(values)
            if key in registered:
                out.setdefault("l_" + key, []).extend(vals)
            else:
                extra.extend(vals)
        out[EXTRA.key] = extra
        return {k: [v for v in vals if v] for k, vals in out.items()}

    @property
    def pdat_int(self) -> int | None:
        """Publication date as a ``YYYYMMDD`` integer."""
        d = self.pdat
        return None if d is None else d.year * 10000 + d.month * 100 + d.day


def field_text(values: Sequence[str]) -> str:
    """Pre-tokenized text of a field: index terms (:mod:`exprhub.search.analysis`) joined by
    spaces, values split by a separator token."""
    parts = [" ".join(analyze_all(index_tokens(v))) for v in values]
    return f" {VALUE_SEPARATOR} ".join(p for p in parts if p)


_ACC_RE = re.compile(r"^([A-Za-z]{1,4})(\d{1,12})$")


def accession_sort_key(accession: str) -> int:
    """Integer giving natural accession order (GSE2 < GSE10), used to break score ties.

    Accessions not of the letters+digits form get the key of their first letters only;
    ties between them fall back to the accession string.
    """
    m = _ACC_RE.match(accession)
    letters, digits = (m.group(1), m.group(2)) if m else (re.sub("[^A-Za-z]", "", accession), "0")
    code = 0
    for ch in (letters.upper() + "    ")[:4]:
        code = code * 27 + (0 if ch == " " else ord(ch) - 64)
    return code * 10**12 + int(digits)


class OutdatedIndex(ValueError):
    """An index written in another format (by another version of exprhub): rebuild it."""


class IndexBusy(RuntimeError):
    """Another writer (a thread, or another process) holds the index's write lock.

    Not a failure of what was being written: the index is derived from the hub, so the next
    sync by whoever holds the lock next catches up.
    """


@dataclass(frozen=True)
class Hit:
    """One search result."""

    accession: str
    etype: str
    title: str
    score: float


@dataclass(frozen=True)
class FacetCount:
    """How many matching documents carry one value of a facet."""

    value: str
    count: int


@dataclass
class SearchResults:
    """A page of hits, the total number of matches and facet counts over all matches."""

    total: int
    hits: list[Hit]
    facets: dict[str, list[FacetCount]]
    query: Query


@runtime_checkable
class SearchIndex(Protocol):
    """What every backend provides. Changes become visible to searches after :meth:`commit`."""

    schema: SearchSchema

    def add(self, docs: Iterable[SearchDocument]) -> int:
        """Insert or replace (by accession) documents; returns how many were given."""
        ...

    def delete(self, accessions: Iterable[str]) -> None:
        """Remove documents by accession (unknown accessions are ignored)."""
        ...

    def commit(self) -> None:
        """Make pending changes durable and visible."""
        ...

    def writing(self, wait: float = 0.0) -> AbstractContextManager[None]:
        """Hold the index's write lock, shared by every thread and process using the index.

        One writer at a time: whoever syncs the index holds this lock for that sync only
        (never for a process's lifetime), and readers keep reading the last committed state
        meanwhile. On leaving, changes not committed are rolled back and the backend's writer
        is released. Raises :class:`IndexBusy` when the lock is not free within ``wait``
        seconds.
        """
        ...

    def count(self) -> int:
        """Number of committed documents."""
        ...

    def search(
        self,
        query: str | Query,
        *,
        limit: int = 20,
        offset: int = 0,
        facets: Sequence[str] | None = None,
        facet_limit: int = 20,
        filters: Mapping[str, Sequence[str]] | None = None,
    ) -> SearchResults:
        """Ranked hits (score desc, ties in accession order) and facet counts.

        ``facets=None`` counts ``schema.default_facets``; ``()`` counts none; any name in
        ``schema.facet_names`` may be asked for. ``filters`` (facet name -> values) keeps
        documents having one of the values of each facet named, exactly as facets count them.
        """
        ...

    def close(self) -> None:
        """Release files, writers and connections."""
        ...


def dedupe(docs: Iterable[SearchDocument]) -> list[SearchDocument]:
    """Last document per accession wins, in first-seen order."""
    seen: dict[str, SearchDocument] = {}
    for d in docs:
        if not d.accession:
            raise ValueError("a SearchDocument needs an accession")
        seen[d.accession] = d
    return list(seen.values())


def top_facets(counts: dict[str, int], limit: int) -> list[FacetCount]:
    """Facet values ordered by count (desc) then value, cut to ``limit``."""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [FacetCount(v, c) for v, c in ordered[:limit]]
