"""The search interface the API and pages use, and a naive fallback that scans titles.

The real engine (``exprhub.search``) plugs in through :class:`SearchService`: anything with a
``search(query, limit, offset, facets)`` method returning an object (or mapping) with
``total``, ``hits`` and ``facets`` works; :func:`results_to_dict` reads either shape.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from exprhub.hub import Hub, RecordNotFound, RecordSummary
from exprhub.records import RecordType

#: Facets the API and pages know how to show, in display order: name -> (name of the facet
#: in exprhub.search, label).
FACET_INFO: dict[str, tuple[str, str]] = {
    "type": ("etype", "Record type"),
    "organism": ("organism", "Organism"),
    "platform": ("platform", "Platform"),
    "technology": ("ptype", "Platform technology"),
    "series_type": ("gtype", "Experiment or sample type"),
    "value_type": ("vtype", "Value type"),
    "sex": ("sex", "Sex"),
    "tissue": ("tissue", "Tissue"),
    "disease": ("disease", "Disease"),
}
FACETS = tuple(FACET_INFO)
#: The facets the naive engine counts.
NAIVE_FACETS = ("type", "organism", "platform")


@dataclass
class SearchHit:
    """One search result."""

    type: str
    key: str
    accession: str | None
    title: str | None
    organisms: list[str] = field(default_factory=list)
    platforms: list[str] = field(default_factory=list)
    last_update_date: str | None = None
    score: float = 0.0


@dataclass
class SearchResults:
    """A page of hits, the total number of hits and facet counts (facet -> value -> count)."""

    total: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]]


@runtime_checkable
class SearchService(Protocol):
    """What the API needs from a search engine."""

    def search(
        self,
        query: str,
        limit: int = 25,
        offset: int = 0,
        facets: Mapping[str, Sequence[str]] | None = None,
        expand: bool = True,
    ) -> Any:
        """Hits for ``query`` restricted to the selected ``facets`` values (facet name ->
        accepted values), with paging; ``expand``: ontology expansion where the engine has it
        (:mod:`exprhub.search.expansion`)."""
        ...


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _hit_dict(hit: Any) -> dict[str, Any]:
    from exprhub.web.service import api_url, page_url

    record_type = str(_get(hit, "type") or _get(hit, "etype") or "").upper()
    key = str(_get(hit, "key") or _get(hit, "accession") or "")
    organisms = _get(hit, "organisms") or []
    if isinstance(organisms, str):
        organisms = organisms.split("; ")
    out = {
        "type": record_type,
        "key": key,
        "accession": _get(hit, "accession", key),
        "title": _get(hit, "title"),
        "organisms": list(organisms),
        "platforms": list(_get(hit, "platforms") or []),
        "last_update_date": _get(hit, "last_update_date"),
        "score": float(_get(hit, "score", 0.0) or 0.0),
        "url": None,
        "page": None,
    }
    try:
        out["url"] = api_url(record_type, key)
        out["page"] = page_url(record_type, key)
    except (ValueError, KeyError):
        pass
    return out


def _facet_dict(facets: Any) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for name, values in (facets or {}).items():
        pairs: list[tuple[Any, Any]]
        if isinstance(values, Mapping):
            pairs = list(values.items())
        else:  # a list of (value, count) pairs or of {"value", "count"} items
            pairs = [
                (_get(v, "value"), _get(v, "count"))
                if not isinstance(v, tuple | list)
                else (v[0], v[1])
                for v in values
            ]
        out[str(name)] = {str(v): int(c) for v, c in pairs}
    return out


def results_to_dict(results: Any) -> dict[str, Any]:
    """JSON-ready ``{"total", "hits", "facets"}`` from any search engine's results."""
    return {
        "total": int(_get(results, "total", 0) or 0),
        "hits": [_hit_dict(h) for h in _get(results, "hits", []) or []],
        "facets": _facet_dict(_get(results, "facets", {})),
    }


_TERM = re.compile(r'"([^"]*)"(?:\[(\w+)\])?|(\S+?)(?:\[(\w+)\])?(?=\s|$)')
_TYPE_WORDS = {"gse": "GSE", "gsm": "GSM", "gpl": "GPL", "gds": "GDS"}


@dataclass
class ParsedQuery:
    """A query in the simple Entrez-like form the fallback understands."""

    words: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)


def parse_query(query: str) -> ParsedQuery:
    """Split ``liver AND Homo sapiens[ORGN] AND GSE[ETYP] NOT mouse`` into words, excluded
    words and fielded terms (``AND`` is implied; ``OR`` is read as ``AND``)."""
    parsed = ParsedQuery()
    negate = False
    pending: list[str] = []
    for match in _TERM.finditer(query):
        text = (match.group(1) if match.group(1) is not None else match.group(3)) or ""
        fld = (match.group(2) or match.group(4) or "").upper()
        if not fld and text.upper() in ("AND", "OR"):
            pending.clear()
            continue
        if not fld and text.upper() == "NOT":
            negate = True
            pending.clear()
            continue
        if fld:
            quoted = match.group(1) is not None
            # as in Entrez, unquoted words before a tag (back to an operator) form its phrase
            phrase = text.strip() if quoted else " ".join([*pending, text]).strip()
            if not quoted:
                for word in pending:
                    if word.lower() in parsed.words:
                        parsed.words.remove(word.lower())
            pending.clear()
            if fld == "ALL":
                (parsed.excluded if negate else parsed.words).append(phrase.lower())
            else:
                parsed.fields.setdefault(fld, []).append(phrase)
            negate = False
            continue
        if negate:
            parsed.excluded.append(text.lower())
            negate = False
            continue
        pending.append(text)
        parsed.words.append(text.lower())
    return parsed


class NaiveSearch:
    """A fallback search engine: scans accessions, titles and organisms of every record.

    Fine for small hubs; the real index replaces it. Platforms of records are looked up once
    per record version and remembered.
    """

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._platforms: dict[tuple[str, str, int], list[str]] = {}
        self._series_organisms: tuple[int, dict[str, list[str]]] | None = None
        self._lock = threading.Lock()

    def _platforms_of(self, summary: RecordSummary) -> list[str]:
        if summary.type == RecordType.PLATFORM.value:
            return [summary.key]
        cache_key = (summary.type, summary.key, summary.version)
        with self._lock:
            found = self._platforms.get(cache_key)
        if found is None:
            try:
                found = self.hub.related(summary.key).get("platform", [])
            except RecordNotFound:
                found = []
            with self._lock:
                self._platforms[cache_key] = found
        return found

    @staticmethod
    def _matches(summary: RecordSummary, parsed: ParsedQuery) -> bool:
        text = " ".join(
            filter(None, [summary.key, summary.accession, summary.title, summary.organisms])
        ).lower()
        if any(w not in text for w in parsed.words):
            return False
        if any(w in text for w in parsed.excluded):
            return False
        organisms = (summary.organisms or "").lower()
        for fld, values in parsed.fields.items():
            for value in values:
                low = value.lower()
                if fld == "ETYP" and summary.type != _TYPE_WORDS.get(low, value.upper()):
                    return False
                if fld == "ORGN" and low not in organisms:
                    return False
                if fld in ("ACCN", "GEO") and low not in (summary.accession or "").lower():
                    return False
                if fld == "TITL" and low not in (summary.title or "").lower():
                    return False
        return True

    def search(
        self,
        query: str,
        limit: int = 25,
        offset: int = 0,
        facets: Mapping[str, Sequence[str]] | None = None,
        expand: bool = True,
    ) -> SearchResults:
        """Records whose accession, title or organisms contain every word of ``query``
        (``expand`` is accepted and has no effect: this scan has no ontology)."""
        from exprhub.hub.listing import series_organisms

        parsed = parse_query(query)
        selected = {k: {v.lower() for v in vs} for k, vs in (facets or {}).items() if vs}
        listing = self.hub.records()
        fingerprint = hash(tuple((r.type, r.key, r.version) for r in listing))
        with self._lock:
            cached = self._series_organisms
        if cached is None or cached[0] != fingerprint:
            cached = (fingerprint, series_organisms(self.hub))
            with self._lock:
                self._series_organisms = cached
        derived = cached[1]
        rows: list[tuple[RecordSummary, dict[str, list[str]]]] = []
        for listed in listing:
            summary = listed
            if not listed.organisms and listed.key in derived and listed.type == "GSE":
                summary = replace(listed, organisms="; ".join(derived[listed.key]) or None)
            if summary.type == RecordType.SUBSET.value or not self._matches(summary, parsed):
                continue
            values = {
                "type": [summary.type],
                "organism": summary.organisms.split("; ") if summary.organisms else [],
                "platform": (
                    self._platforms_of(summary)
                    if "platform" in selected or len(rows) < 5000
                    else []
                ),
            }
            rows.append((summary, values))

        def passes(values: dict[str, list[str]], skip: str | None = None) -> bool:
            for name, wanted in selected.items():
                if name == skip or name not in values:
                    continue
                if not wanted & {v.lower() for v in values[name]}:
                    return False
            return True

        counts: dict[str, dict[str, int]] = {}
        for name in NAIVE_FACETS:
            counter: Counter[str] = Counter()
            for _, values in rows:
                if passes(values, skip=name):
                    counter.update(set(values[name]))
            counts[name] = dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))
        kept = [(s, v) for s, v in rows if passes(v)]
        hits = [
            SearchHit(
                type=s.type,
                key=s.key,
                accession=s.accession,
                title=s.title,
                organisms=v["organism"],
                platforms=v["platform"],
                last_update_date=s.last_update_date,
                score=1.0,
            )
            for s, v in kept[offset : offset + limit]
        ]
        return SearchResults(total=len(kept), hits=hits, facets=counts)


class IndexSearch:
    """Adapts an ``exprhub.search`` index (``search(query, limit=, offset=, facets=,
    filters=)`` with Entrez-style queries) to :class:`SearchService`: selected facet values
    become the index's exact facet filters, facet names are mapped both ways.

    Raises ``ValueError`` (the index's ``QuerySyntaxError``) for a query it cannot parse.
    With ``hub``, the hits of a page get their organisms, platforms and update date from the
    stored records (the index's hits carry accession, type, title and score only).
    """

    def __init__(self, index: Any, hub: Hub | None = None) -> None:
        self.index = index
        self.hub = hub

    def _enrich(self, hits: list[dict[str, Any]]) -> None:
        """Fill organisms, platforms and update dates of a page of hits in one hub query."""
        if self.hub is None or not hits:
            return
        found = self.hub.briefs([h["key"] for h in hits])
        for hit in hits:
            brief = found.get(hit["key"])
            if brief is None:
                continue
            if not hit["organisms"]:
                hit["organisms"] = brief["organisms"]
            if not hit["platforms"]:
                hit["platforms"] = brief["platforms"]
            if not hit["last_update_date"]:
                hit["last_update_date"] = brief["last_update_date"]

    def search(
        self,
        query: str,
        limit: int = 25,
        offset: int = 0,
        facets: Mapping[str, Sequence[str]] | None = None,
        expand: bool = True,
    ) -> dict[str, Any]:
        """Hits and facet counts from the index (``expand`` is passed on when ``True`` is not
        what was asked, for indexes without expansion)."""
        filters: dict[str, list[str]] = {}
        for name, values in (facets or {}).items():
            if name not in FACET_INFO:
                continue
            chosen = [v.upper() if name == "type" else v for v in values if v]
            if chosen:
                filters[FACET_INFO[name][0]] = chosen
        if self.hub is not None:  # ACTB[GENE]: records on the platforms measuring the gene
            from exprhub.api.profiles import resolve_gene_terms

            query = resolve_gene_terms(self.hub, query)  # type: ignore[assignment]
        results = self.index.search(
            query,
            limit=limit,
            offset=offset,
            facets=[index_name for index_name, _ in FACET_INFO.values()],
            filters=filters,
            **({} if expand else {"expand": False}),
        )
        back = {index_name: ours for ours, (index_name, _) in FACET_INFO.items()}
        found = results_to_dict(results)
        found["facets"] = {back.get(k, k): v for k, v in found["facets"].items()}
        self._enrich(found["hits"])
        if "type" in found["facets"]:
            found["facets"]["type"] = {k.upper(): v for k, v in found["facets"]["type"].items()}
        return found
