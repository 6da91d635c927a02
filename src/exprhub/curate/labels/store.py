"""Labels in a hub: labelling samples as they are imported or on demand (relabel), reading
them back, and the label filters of listings.

The labels of the rule labeller are written through :func:`exprhub.hub.labels.write_labels`
with :data:`~exprhub.curate.labels.model.LABELLER_VERSION`; a relabel returns every value it
changed (also recorded in the hub: ``exprhub.hub.labels.label_changes``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from exprhub.curate.labels.extract import label_sample
from exprhub.curate.labels.listed_samples import label_listed_samples
from exprhub.curate.labels.llm import LLMLabeller
from exprhub.curate.labels.model import LABELLER_VERSION, Label
from exprhub.curate.labels.ontology import match_value, term_index
from exprhub.hub import Hub, HubWriter, RecordNotFound
from exprhub.hub.labels import (
    RULE_METHODS,
    LabelChange,
    StoredLabel,
    unrecorded_samples,
    write_labels,
)
from exprhub.hub.listing import list_records
from exprhub.records import RecordType, Sample, Series, normalize_accession

#: Fields whose values are ontology terms, with the ontology (a filter on such a field also
#: finds the term's descendants: ``tissue=kidney`` finds ``renal cortex``).
ONTOLOGY_OF: dict[str, str] = {
    "tissue": "UBERON",
    "cell_type": "CL",
    "disease": "MONDO",
    "cell_line": "CVCL",
    "race": "HANCESTRO",
}
#: Samples labelled per transaction by :func:`relabel`.
RELABEL_BATCH = 500


def to_stored(key: str, label: Label) -> StoredLabel:
    """The hub's row for one label of sample ``key``."""
    return StoredLabel(
        key,
        label.field,
        label.value,
        label.ontology_id,
        label.source,
        label.evidence,
        label.start,
        label.end,
        label.method,
        label.confidence,
    )


def from_stored(stored: StoredLabel) -> Label:
    """The label a stored row holds."""
    return Label(
        stored.field,
        stored.value,
        stored.ontology_id,
        stored.source,
        stored.evidence,
        stored.start,
        stored.end,
        stored.method,
        stored.confidence,
    )


def write_sample_labels(
    writer: HubWriter, samples: Iterable[tuple[Sample, Sequence[Series]]]
) -> list[LabelChange]:
    """Label these samples (each with its series) and store the labels in the writer's
    transaction, replacing the rule labels they had; returns the changed values."""
    labels = {
        sample.key: [to_stored(sample.key, label) for label in label_sample(sample, series)]
        for sample, series in samples
    }
    if not labels:
        return []
    return write_labels(writer, labels, version=LABELLER_VERSION, methods=RULE_METHODS)


@dataclass
class RelabelReport:
    """What a relabel did: samples labelled, labels written, values changed, and the given
    accessions that are not samples in the hub."""

    samples: int = 0
    labels: int = 0
    changes: list[LabelChange] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready summary."""
        return {
            "samples": self.samples,
            "labels": self.labels,
            "labeller_version": LABELLER_VERSION,
            "changes": [c.as_dict() for c in self.changes],
            "missing": self.missing,
        }


def sample_keys(hub: Hub, accessions: Iterable[str] | None) -> tuple[list[str], list[str]]:
    """Sample keys that ``accessions`` stand for (a series, platform or DataSet: its samples;
    none given: every sample), and the accessions not in the hub. Samples known only as
    DataSet columns or series members, without a sample record, are samples too."""
    if accessions is None:
        _, rows = list_records(hub, RecordType.SAMPLE)
        return [r.key for r in rows] + unrecorded_samples(hub), []
    keys: list[str] = []
    missing: list[str] = []
    for given in accessions:
        if hub.has(given.strip(), RecordType.SAMPLE):  # also a sample named, not numbered
            keys.append(hub.record(given.strip(), RecordType.SAMPLE, table=False).key)
            continue
        try:
            found = hub.samples_of(normalize_accession(given))
        except RecordNotFound:
            missing.append(given)
            continue
        keys += found
    return list(dict.fromkeys(keys)), missing


def sample_key(hub: Hub, accession: str) -> str:
    """The key of one sample: a sample record's, or that of a sample the hub's records list
    without a record of its own (a DataSet column).

    Raises
    ------
    RecordNotFound
        If the accession is neither.
    """
    given = accession.strip()
    if hub.has(given, RecordType.SAMPLE):
        return hub.record(given, RecordType.SAMPLE, table=False).key
    key = normalize_accession(given)
    if not unrecorded_samples(hub, [key]):
        raise RecordNotFound(f"sample {given} is not in the hub")
    return key


def _series_of(hub: Hub, sample: Sample, cache: dict[str, Series | None]) -> list[Series]:
    out = []
    for acc in sample.series_ids:
        if acc not in cache:
            try:
                found = hub.record(acc, RecordType.SERIES, table=False)
            except RecordNotFound:
                found = None
            cache[acc] = found if isinstance(found, Series) else None
        if cache[acc] is not None:
            out.append(cache[acc])
    return [s for s in out if s is not None]


def relabel(
    hub: Hub, accessions: Iterable[str] | None = None, *, llm: LLMLabeller | None = None
) -> RelabelReport:
    """Label the samples ``accessions`` stand for (all samples when None) from their stored
    metadata and store the labels, :data:`RELABEL_BATCH` samples per transaction; with
    ``llm``, ask the model instead and store its labels beside the rule labels. Samples
    without a record of their own are labelled from the DataSets and series that list them
    (:mod:`exprhub.curate.labels.listed_samples`; not by the LLM, which reads records)."""
    keys, missing = sample_keys(hub, accessions)
    report = relabel_samples(hub, keys, llm=llm)
    report.missing = missing
    return report


def relabel_samples(
    hub: Hub, keys: Sequence[str], *, llm: LLMLabeller | None = None
) -> RelabelReport:
    """:func:`relabel` of samples given by their keys (of sample records, or of samples the
    hub's records list without one)."""
    report = RelabelReport()
    cache: dict[str, Series | None] = {}
    for i in range(0, len(keys), RELABEL_BATCH):
        batch = []
        chunk = keys[i : i + RELABEL_BATCH]
        records = hub.records_by_key(chunk, RecordType.SAMPLE)
        for sample in records.values():  # in the order of keys, a few queries a batch
            assert isinstance(sample, Sample)
            batch.append((sample, _series_of(hub, sample, cache)))
        if llm is None:
            found = {sample.key: label_sample(sample, series) for sample, series in batch}
            found.update(label_listed_samples(hub, unrecorded_samples(hub, chunk)))
            version, methods = LABELLER_VERSION, RULE_METHODS
        else:
            found = llm.label(batch)
            version, methods = f"llm:{llm.config.model}"[:32], ("llm",)
        labels = {key: [to_stored(key, lab) for lab in given] for key, given in found.items()}
        with hub.writer() as writer:
            report.changes += write_labels(writer, labels, version=version, methods=methods)
        report.samples += len(labels)
        report.labels += sum(len(v) for v in labels.values())
    return report


@functools.lru_cache(maxsize=256)
def _descendants(term_id: str) -> frozenset[str]:
    index = term_index()
    found = {key for key, ancestors in index.ancestors.items() if term_id in ancestors}
    return frozenset(found | {term_id})


def label_filter_terms(field_name: str, value: str) -> frozenset[str]:
    """The ontology terms a label filter value stands for: the term it names and the term's
    descendants (empty for fields without an ontology or values naming no term)."""
    ontology = ONTOLOGY_OF.get(field_name)
    if ontology is None:
        return frozenset()
    found = match_value(value, ontology)
    if found is None or not found.exact:
        return frozenset()
    if ontology == "CVCL":
        return frozenset({found.term.id})
    return _descendants(found.term.id)
