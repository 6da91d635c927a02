"""Record look-ups shared by the REST routes and the web pages.

Everything here uses only the public :class:`~exprhub.hub.Hub` API. Functions marked
"hub candidate" do several hub calls that one hub method could answer in one query; the lead
may move them down into the hub layer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from exprhub.formats.kinds import KINDS
from exprhub.hub import Hub, RecordNotFound
from exprhub.records import DataSet, Record, RecordType, Sample, Series, Subset

#: URL segment of each record type in the API and on the web pages.
TYPE_SEGMENTS: dict[RecordType, str] = {
    RecordType.SERIES: "series",
    RecordType.SAMPLE: "samples",
    RecordType.PLATFORM: "platforms",
    RecordType.DATASET: "gds",
}
SEGMENT_TYPES = {v: k for k, v in TYPE_SEGMENTS.items()}

#: Web page path prefix of each record type.
PAGE_SEGMENTS: dict[RecordType, str] = {
    RecordType.SERIES: "series",
    RecordType.SAMPLE: "samples",
    RecordType.PLATFORM: "platforms",
    RecordType.DATASET: "datasets",
}

#: Brief info is looked up for at most this many related records of one kind.
RELATED_LIMIT = 500


def guess_type(key: str) -> RecordType | None:
    """The record type an accession's prefix names (``GDS1_2`` is a subset), else None."""
    upper = key.strip().upper()
    if "_" in upper and upper.startswith("GDS"):
        return RecordType.SUBSET
    for record_type in (
        RecordType.SERIES,
        RecordType.SAMPLE,
        RecordType.PLATFORM,
        RecordType.DATASET,
    ):
        if upper.startswith(record_type.value) and upper[3:].isascii() and upper[3:].isdigit():
            return record_type
    return None


def api_url(record_type: str | RecordType, key: str) -> str | None:
    """The API path of a record, or None for types without one (subsets)."""
    segment = TYPE_SEGMENTS.get(RecordType(record_type))
    return f"/api/v1/{segment}/{key}" if segment else None


def page_url(record_type: str | RecordType, key: str) -> str:
    """The web page of a record (subsets link to their DataSet)."""
    kind = RecordType(record_type)
    if kind is RecordType.SUBSET:
        return f"/datasets/{key.rsplit('_', 1)[0]}"
    return f"/{PAGE_SEGMENTS[kind]}/{key}"


def load(hub: Hub, key: str, record_type: RecordType, *, table: bool = False) -> Record:
    """The stored record of this type.

    Raises
    ------
    RecordNotFound
        Naming the wanted type (and not the hub's location, which clients must not see).
    """
    try:
        return hub.record(key, record_type, table=table)
    except RecordNotFound:
        raise RecordNotFound(f"{record_type.label} {key} is not in this hub") from None


def brief(hub: Hub, key: str, record_type: RecordType | None = None) -> dict[str, Any]:
    """Accession, type, title and links of one record; ``in_hub`` is False when the record is
    only referenced."""
    found = hub.briefs([key]).get(key)
    if found is None or (record_type is not None and found["type"] != record_type.value):
        return _missing_brief(key, record_type)
    return _brief_from_hub(found)


_KIND_TYPES = {
    "sample": RecordType.SAMPLE,
    "series": RecordType.SERIES,
    "subseries": RecordType.SERIES,
    "superseries": RecordType.SERIES,
    "platform": RecordType.PLATFORM,
    "dataset": RecordType.DATASET,
    "subset": RecordType.SUBSET,
}


def _brief_from_hub(found: dict[str, Any]) -> dict[str, Any]:
    out = dict(found)
    out.pop("last_update_date", None)
    out.update(
        in_hub=True,
        url=api_url(found["type"], found["key"]),
        page=page_url(found["type"], found["key"]),
    )
    return out


def _missing_brief(key: str, kind: RecordType | None) -> dict[str, Any]:
    kind = kind or guess_type(key)
    return {
        "key": key,
        "accession": key,
        "type": kind.value if kind else None,
        "title": None,
        "in_hub": False,
        "url": None,
        "page": None,
    }


def related_briefs(
    hub: Hub, relations: dict[str, list[str]], limit: int = RELATED_LIMIT
) -> dict[str, dict[str, Any]]:
    """Brief info for related records, by relation kind: ``{"total", "items"}`` (items cut
    at ``limit``), all looked up in one query."""
    wanted = [k for keys in relations.values() for k in keys[:limit]]
    found = hub.briefs(wanted) if wanted else {}
    out: dict[str, dict[str, Any]] = {}
    for kind, keys in relations.items():
        items = [
            _brief_from_hub(found[k]) if k in found else _missing_brief(k, _KIND_TYPES.get(kind))
            for k in keys[:limit]
        ]
        out[kind] = {"total": len(keys), "items": items}
    return out


def record_document(
    hub: Hub,
    key: str,
    record_type: RecordType,
    *,
    record: Record | None = None,
    summary: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The API document of a record: ``Hub.summary`` plus brief info on related records (and,
    for a DataSet, its subsets; for a Series, its type and publications). ``record`` and
    ``summary`` may be passed when the caller has already loaded them."""
    if record is None or summary is None:
        record, summary = hub.record_and_summary(key, record_type)
    data = dict(summary)
    data["related_records"] = related_briefs(hub, data.get("relations", {}))
    data["links"] = {
        "self": api_url(record_type, record.key),
        "page": page_url(record_type, record.key),
        "downloads": {
            fmt: f"{api_url(record_type, record.key)}/download?format={fmt}"
            for fmt in formats_for(record_type)
        },
    }
    if isinstance(record, Series):
        if not data.get("organisms"):  # GEO series name no organisms: use their samples'
            samples = data["related_records"].get("sample", {}).get("items", [])
            found = [o for s in samples for o in s.get("organisms", [])]
            data["organisms"] = list(dict.fromkeys(found))
        data["series_types"] = record.series_types
        data["pubmed_ids"] = record.pubmed_ids
    if isinstance(record, Sample):
        data["platform_id"] = record.platform_id
        data["series_ids"] = record.series_ids
        data["channel_count"] = record.channel_count
    if isinstance(record, DataSet):
        data["value_type"] = record.value_type
        data["platform_id"] = record.platform_id
        data["reference_series"] = record.reference_series
        subsets = data["related_records"].get("subset", {}).get("items", [])
        data["subsets"] = subsets
    return data


def formats_for(record_type: RecordType) -> list[str]:
    """Download formats offered for a record type: the options of the registry's file kinds
    that hold it (:meth:`~exprhub.formats.kinds.FileKinds.offered_for`), in registry order."""
    return [str(kind.option) for kind in KINDS.offered_for(record_type)]


def etag_for(summary: dict[str, Any], *extra: str) -> str:
    """A strong ETag from the record's key, version and last update (plus its relations, so a
    new sample in a series changes the series' tag) and any ``extra`` parts."""
    relations = summary.get("relations") or {}
    parts: Iterable[str] = (
        str(summary.get("type")),
        str(summary.get("key")),
        str(summary.get("version")),
        str(summary.get("last_update_date")),
        repr(sorted((k, tuple(v)) for k, v in relations.items())),
        *extra,
    )
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return f'"{digest}"'


def etag_matches(header: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header matches ``etag`` (weak comparison)."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return etag in tags


@dataclass(frozen=True)
class SubsetView:
    """One DataSet subset for display."""

    key: str
    subset_type: str
    description: str
    sample_ids: list[str]


def dataset_subsets(hub: Hub, dataset_key: str) -> list[SubsetView]:
    """The subsets of a DataSet, ordered by type then as stored."""
    out = []
    for key in hub.related(dataset_key).get("subset", []):
        try:
            subset = hub.record(key, RecordType.SUBSET, table=False)
        except RecordNotFound:
            continue
        assert isinstance(subset, Subset)
        out.append(
            SubsetView(
                subset.key,
                subset.subset_type or "other",
                subset.description or "",
                subset.sample_ids,
            )
        )
    order = {t: i for i, t in enumerate(dict.fromkeys(s.subset_type for s in out))}
    return sorted(out, key=lambda s: order[s.subset_type])
