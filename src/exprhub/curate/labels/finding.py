"""What every field rule shares: the texts of one sample, labels already found, and how a
label is made from a span of a text."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from exprhub.curate.labels.model import Label
from exprhub.curate.labels.sources import SourceText
from exprhub.records import Sample, Series


@dataclass
class Finding:
    """One sample being labelled: its texts (highest precedence first), its organism, and the
    labels found so far by field (later rules read earlier ones: sex from organ)."""

    sample: Sample
    series: Sequence[Series]
    texts: list[SourceText]
    labels: dict[str, list[Label]] = field(default_factory=dict)

    @property
    def organism(self) -> str | None:
        """The sample's organism label, if found."""
        found = self.labels.get("organism")
        return found[0].value if found else None

    def keyed(self, harmonized: Iterable[str], keys: Iterable[str] = ()) -> list[SourceText]:
        """Keyed texts whose key harmonizes to one of ``harmonized`` or is one of ``keys``."""
        wanted = set(harmonized)
        raw = {k.lower() for k in keys}
        return [
            t
            for t in self.texts
            if t.key and (wanted.intersection(t.fields) or t.key.strip().lower() in raw)
        ]

    def free(self) -> list[SourceText]:
        """Texts without a key (source name, title, description, series), in order."""
        return [t for t in self.texts if not t.key]


def make_label(
    field_name: str,
    value: str,
    text: SourceText,
    start: int,
    end: int,
    *,
    ontology_id: str | None = None,
    method: str = "rule",
    confidence: float | None = None,
) -> Label:
    """A label whose evidence is ``text.text[start:end]``."""
    return Label(
        field=field_name,
        value=value,
        ontology_id=ontology_id,
        source=text.source,
        evidence=text.text[start:end],
        start=start,
        end=end,
        method=method,
        confidence=round(text.confidence if confidence is None else confidence, 3),
    )


def derived(
    field_name: str,
    value: str,
    basis: Label,
    *,
    confidence_factor: float = 0.9,
    ontology_id: str | None = None,
) -> Label:
    """A label inferred from another label (sex from a sex-specific organ), carrying that
    label's evidence."""
    return Label(
        field=field_name,
        value=value,
        ontology_id=ontology_id,
        source=basis.source,
        evidence=basis.evidence,
        start=basis.start,
        end=basis.end,
        method="rule",
        confidence=round(basis.confidence * confidence_factor, 3),
    )
