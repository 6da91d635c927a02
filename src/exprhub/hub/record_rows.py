"""What a record contributes to SQL besides its own row: the relations and organisms derived
from its attributes, and the JSON document its history keeps."""

from __future__ import annotations

import json

from exprhub.records import DataSet, Record, Sample, Series, Subset


def record_relations(record: Record) -> list[tuple[str, str]]:
    """Outgoing ``(kind, target)`` relations of a record, derived from its attributes."""
    out: list[tuple[str, str]] = []
    if isinstance(record, Sample):
        if record.platform_id:
            out.append(("platform", record.platform_id))
        out += [("series", x) for x in record.series_ids]
    elif isinstance(record, Series):
        out += [("sample", x) for x in record.sample_ids]
        out += [("platform", x) for x in record.platform_ids]
        out += [("subseries", x) for x in record.subseries_ids]
        out += [("superseries", x) for x in record.superseries_ids]
    elif isinstance(record, DataSet):
        out += [("series", x) for x in record.reference_series]
        if record.platform_id:
            out.append(("platform", record.platform_id))
    elif isinstance(record, Subset):
        if record.dataset_id:
            out.append(("dataset", record.dataset_id))
        out += [("sample", x) for x in record.sample_ids]
    seen: set[tuple[str, str]] = set()
    unique = []
    for pair in out:
        if pair not in seen:
            seen.add(pair)
            unique.append(pair)
    return unique


def record_organisms(record: Record) -> list[str]:
    """Organisms named by a record, if its type carries any."""
    organisms = getattr(record, "organisms", None)
    if organisms is None:
        return record.get_all("organism") or record.get_all("sample_organism")
    return list(organisms)


def record_document(record: Record) -> str:
    """JSON of a record's attributes and column descriptions (kept in history)."""
    return json.dumps(
        {"id": record.id, "attributes": record.attributes, "columns": record.columns},
        ensure_ascii=False,
    )
