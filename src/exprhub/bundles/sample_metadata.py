"""The metadata delivered beside a bundle's values: one row per sample with every original
attribute and characteristic, the harmonized fields, standardized labels (stored by the curator,
:mod:`exprhub.curate.labels`), the GEO DataSet subsets the sample is in and how it was refined.

Columns, in this order: ``accession``, ``title``, ``series``, ``platform``, ``organism``,
``source_name``; the harmonized fields (:data:`exprhub.curate.harmonize.FIELDS`) present;
``label.<field>`` standardized labels; ``subset.<GDS>.<subset type>``; ``refined.*`` (processor,
value kind, QN target version and digest); ``ch<n>.<key>`` characteristics as submitted; then
``attr.<field>`` for every original attribute. Several values of one cell are joined by
``"; "``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from exprhub.curate.harmonize import FIELDS, harmonize
from exprhub.curate.label_values import standardized_label_values
from exprhub.hub import Hub
from exprhub.records import RecordType, Sample, Subset
from exprhub.refine import store


def standardized_labels(hub: Hub, samples: Sequence[str]) -> dict[str, dict[str, str]]:
    """Standardized labels of ``samples`` stored in the hub (:mod:`exprhub.curate.labels`),
    by sample and field, several values joined by ``"; "``; ``unknown`` left out."""
    return {
        key: {field: "; ".join(values) for field, values in fields.items()}
        for key, fields in standardized_label_values(hub, samples).items()
    }


def subsets_by_sample(hub: Hub, series: Iterable[str]) -> dict[str, dict[str, str]]:
    """``subset.<GDS>.<type>`` -> description for each sample of the DataSets of ``series``."""
    out: dict[str, dict[str, str]] = {}
    for accession in sorted(set(series)):
        if not hub.has(accession, RecordType.SERIES):
            continue
        for dataset in hub.related(accession).get("dataset", []):
            for key in hub.related(dataset).get("subset", []):
                if not hub.has(key, RecordType.SUBSET):
                    continue
                subset = hub.record(key, RecordType.SUBSET, table=False)
                if not isinstance(subset, Subset):
                    continue
                kind = subset.subset_type or "subset"
                column = f"subset.{dataset}.{kind}"
                for sample in subset.sample_ids:
                    cells = out.setdefault(sample, {})
                    before = cells.get(column)
                    text = subset.description or key
                    cells[column] = text if not before else f"{before}; {text}"
    return out


def _join(row: dict[str, str], column: str, value: str) -> None:
    before = row.get(column)
    if not before:
        row[column] = value
    elif value not in before.split("; "):
        row[column] = f"{before}; {value}"


def sample_rows(
    hub: Hub, samples: Sequence[str], *, labels: dict[str, dict[str, str]] | None = None
) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The metadata columns and one row per sample (column -> text; absent when empty).

    ``labels``: standardized labels by sample (default: :func:`standardized_labels`).
    """
    labels = standardized_labels(hub, samples) if labels is None else labels
    states = store.refine_states(hub, samples)
    assignments = store.qn_assignments(hub, samples)
    rows: dict[str, dict[str, str]] = {}
    all_series: set[str] = set()
    records = hub.records_by_key(samples, RecordType.SAMPLE)
    for key in samples:
        row: dict[str, str] = {"accession": key}
        rows[key] = row
        record = records.get(key)
        if record is None:
            continue
        row["title"] = record.title or ""
        pairs: list[tuple[str, str]] = []
        if isinstance(record, Sample):
            row["series"] = "; ".join(record.series_ids)
            all_series.update(record.series_ids)
            row["platform"] = record.platform_id or ""
            row["organism"] = "; ".join(record.organisms)
            row["source_name"] = record.get("source_name_ch1") or ""
            for channel in range(1, record.channel_count + 1):
                for ck, value in record.characteristics(channel):
                    _join(row, f"ch{channel}.{ck or 'characteristics'}", value)
                    pairs.append((ck, value))
        for name, value in record.attributes:
            _join(row, f"attr.{record.field_name(name)}", value)
        row.update(harmonize(pairs))
        for field, value in labels.get(key, {}).items():
            row[f"label.{field}"] = value
        state = states.get(key)
        if state is not None:
            row["refined.processor"] = f"{state.processor} {state.processor_version}"
            row["refined.value_kind"] = state.value_kind or ""
            row["refined.status"] = state.status
        assignment = assignments.get(key)
        if assignment is not None and assignment.target_version is not None:
            row["refined.qn_target_version"] = str(assignment.target_version)
            row["refined.qn_target_sha256"] = assignment.target_sha256 or ""
    for key, cells in subsets_by_sample(hub, all_series).items():
        if key in rows:
            rows[key].update(cells)
    for row in rows.values():
        for column in [c for c, v in row.items() if v == ""]:
            del row[column]
    return _columns(rows.values()), rows


def _columns(rows: Iterable[dict[str, Any]]) -> list[str]:
    seen: set[str] = set()
    for row in rows:
        seen.update(row)
    head = ["accession", "title", "series", "platform", "organism", "source_name"]
    harmonized = [f for f in FIELDS if f in seen]

    def group(prefix: str) -> list[str]:
        return sorted(c for c in seen if c.startswith(prefix))

    characteristics = sorted(c for c in seen if c.startswith("ch") and "." in c[:5])
    return [
        *[c for c in head if c in seen or c == "accession"],
        *harmonized,
        *group("label."),
        *group("subset."),
        *group("refined."),
        *characteristics,
        *group("attr."),
    ]
