"""Labels as a table: one row per sample, one column per field (several values joined by
``"; "``; ``unknown`` where nothing gives the field a value), and the evidence of each field
in columns named ``field.ontology_id``, ``field.source``, ``field.evidence``, ``field.method``
and ``field.confidence``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from exprhub.curate.labels.model import FIELDS, UNKNOWN, Label

#: Evidence columns of each field, in order.
EVIDENCE_COLUMNS: tuple[str, ...] = ("ontology_id", "source", "evidence", "method", "confidence")


def _joined(values: Iterable[object]) -> str:
    return "; ".join(dict.fromkeys(str(v) for v in values))


def table_columns(fields: Sequence[str] = FIELDS, *, evidence: bool = True) -> list[str]:
    """Column names: ``sample``, then each field (and its evidence columns)."""
    out = ["sample"]
    for name in fields:
        out.append(name)
        if evidence:
            out += [f"{name}.{column}" for column in EVIDENCE_COLUMNS]
    return out


def label_rows(
    labels: Mapping[str, Sequence[Label]],
    *,
    fields: Sequence[str] = FIELDS,
    evidence: bool = True,
) -> list[dict[str, object]]:
    """One row per sample of ``labels`` (sample key -> its labels), in the given order."""
    rows = []
    for key, given in labels.items():
        by_field: dict[str, list[Label]] = {}
        for label in given:
            by_field.setdefault(label.field, []).append(label)
        row: dict[str, object] = {"sample": key}
        for name in fields:
            found = by_field.get(name, [])
            row[name] = _joined(lab.value for lab in found) if found else UNKNOWN
            if not evidence:
                continue
            row[f"{name}.ontology_id"] = _joined(
                lab.ontology_id for lab in found if lab.ontology_id
            )
            row[f"{name}.source"] = _joined(lab.source for lab in found)
            row[f"{name}.evidence"] = _joined(lab.evidence for lab in found)
            row[f"{name}.method"] = _joined(lab.method for lab in found)
            row[f"{name}.confidence"] = min((lab.confidence for lab in found), default=None)
        rows.append(row)
    return rows


def in_field_order(labels: Iterable[Label]) -> list[Label]:
    """Labels sorted by field (in :data:`FIELDS` order), stable within a field."""
    order = {name: i for i, name in enumerate(FIELDS)}
    return sorted(labels, key=lambda label: order.get(label.field, len(order)))
