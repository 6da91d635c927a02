"""The label model: one standardized fact about a sample with the evidence it rests on.

A :class:`Label` says what a field's value is (``sex = female``), which ontology term it is
(where one exists), where it was read (the source field and the exact span of text), how it
was found (the method) and how sure the labeller is. A field with no label is unknown; an
explicit ``unknown`` label is kept only where the record itself says so ("sex: unknown").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from exprhub.curate.harmonize import STANDARD_FIELDS

#: Version of the rules, tables and ontology releases that make labels. Stored with every
#: label; a relabel by another version reports each value it changes.
LABELLER_VERSION = "3"

#: The standardized fields, in display and export order (GEOmeta's fields; the names are
#: part of the one label vocabulary, :data:`exprhub.curate.harmonize.LABELS`).
FIELDS: tuple[str, ...] = STANDARD_FIELDS

#: How a label was found.
METHODS: tuple[str, ...] = ("rule", "ontology", "curated subset", "expression model", "llm")

#: The value of a field the record leaves open.
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Label:
    """One standardized field value of a sample, with its evidence.

    Attributes
    ----------
    field
        One of :data:`FIELDS` (or a field added by another labeller, e.g. expression models).
    value
        The standardized value (an ontology term's label where there is one).
    ontology_id
        The term (``UBERON:0002113``, ``NCBITaxon:9606``, ``CVCL_0030``) or None.
    source
        Where the evidence was read: ``characteristics_ch1:gender``, ``source_name_ch1``,
        ``title``, ``description``, ``series.summary`` ...; for a label derived from another
        label, that label's source.
    evidence
        The exact text the value rests on: ``source_text[start:end]`` of the source field.
    start, end
        Character offsets of ``evidence`` in the source field's text (as stored, one value
        of the field: one characteristic, one description line).
    method
        One of :data:`METHODS`.
    confidence
        Between 0 and 1: keyed characteristics score highest, free text of the series lowest.
    """

    field: str
    value: str
    ontology_id: str | None
    source: str
    evidence: str
    start: int
    end: int
    method: str
    confidence: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Label:
        """The label :meth:`as_dict` described."""
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})
