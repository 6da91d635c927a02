"""Training the tissue model on a hub's labelled samples: the training set, series groups,
the refined values as within-sample ranks, storing and loading versioned models.

The training set of an organism is every refined sample of it (not log ratios) whose rule
labels (methods ``rule`` and ``ontology``; never the model's own labels or an LLM's) give it
exactly one tissue with an UBERON id. The model itself: :mod:`exprhub.analysis.tissue_model`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from exprhub.analysis.tissue_model import (
    DEFAULT_C,
    FIELD,
    KIND,
    MIN_GENES,
    GroupedEvaluation,
    TissueModel,
    TrainingSet,
    covered_genes,
    fit_model,
    grouped_evaluation,
)
from exprhub.hub import Hub
from exprhub.hub.label_models import (
    StoredModel,
    label_model,
    label_models,
    store_label_model,
    update_model_document,
)
from exprhub.hub.labels import RULE_METHODS, sample_labels
from exprhub.records import RecordType, Sample
from exprhub.refine.store import RefineState, refine_states, refined_matrix

#: Samples whose refined columns are read at once.
READ_BATCH = 512

Progress = Callable[[float, str], None]


def series_groups(hub: Hub, samples: Sequence[str]) -> dict[str, str]:
    """Sample -> its series group: series that share a sample are one group (a SuperSeries
    and its SubSeries), named by its lowest accession; a sample of no series is its own
    group."""
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    members: dict[str, list[str]] = {}
    for start in range(0, len(samples), READ_BATCH):
        records = hub.records_by_key(samples[start : start + READ_BATCH], RecordType.SAMPLE)
        for key, record in records.items():
            series = list(record.series_ids) if isinstance(record, Sample) else []
            members[key] = series
            for other in series:
                parent[root(other)] = root(series[0])
    named: dict[str, str] = {}
    for accession in list(parent):
        top = root(accession)
        best = named.get(top)
        if best is None or (len(accession), accession) < (len(best), best):
            named[top] = accession
    return {s: named[root(members[s][0])] if members.get(s) else s for s in samples}


def usable(state: RefineState, tax_id: int | None = None) -> bool:
    """Whether a refined sample's values can be ranked (delivered, not log ratios)."""
    return (
        state.status == "done"
        and (tax_id is None or state.tax_id == tax_id)
        and not (state.value_kind and "ratio" in state.value_kind)
    )


def rule_tissues(hub: Hub, samples: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """Sample -> its rule tissue labels as ``(ontology id or "", value)``, distinct, for the
    samples that have any."""
    out: dict[str, list[tuple[str, str]]] = {}
    for key, labels in sample_labels(hub, samples, methods=RULE_METHODS).items():
        found = {(lab.ontology_id or "", lab.value) for lab in labels if lab.field == FIELD}
        if found:
            out[key] = sorted(found)
    return out


def training_set(hub: Hub, tax_id: int) -> TrainingSet:
    """The labelled refined samples of organism ``tax_id`` (sorted by key)."""
    states = {k: v for k, v in refine_states(hub).items() if usable(v, tax_id)}
    tissues = rule_tissues(hub, states)
    chosen = sorted(k for k, found in tissues.items() if len(found) == 1 and found[0][0])
    groups = series_groups(hub, chosen)
    return TrainingSet(
        tax_id,
        tuple(chosen),
        tuple(tissues[k][0][0] for k in chosen),
        tuple(tissues[k][0][1] for k in chosen),
        tuple(groups[k] for k in chosen),
        tuple(states[k].values_sha256 or "" for k in chosen),
    )


def _batches(samples: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(samples), READ_BATCH):
        yield samples[start : start + READ_BATCH]


def model_genes(hub: Hub, samples: Sequence[str], coverage: float) -> list[str]:
    """Gene ids measured in at least ``coverage`` of ``samples``' refined values, in gene id
    order (numeric ids as numbers)."""
    counts: Any = None
    for batch in _batches(samples):
        measured = refined_matrix(hub, batch, sort=False).notna().sum(axis=1)
        counts = measured if counts is None else counts.add(measured, fill_value=0)
    if counts is None:
        return []
    chosen = covered_genes(counts.to_numpy(dtype=np.int64), len(samples), coverage)
    genes = [str(g) for g in counts.index[chosen]]
    return sorted(genes, key=lambda g: (0, int(g), "") if g.isdigit() else (1, 0, g))


def sample_values(hub: Hub, samples: Sequence[str], genes: Sequence[str]) -> np.ndarray:
    """Refined values of ``samples`` x ``genes`` (NaN where not measured or not refined)."""
    out = np.full((len(samples), len(genes)), np.nan)
    row_of = {s: i for i, s in enumerate(samples)}
    for batch in _batches(samples):
        frame = refined_matrix(hub, batch, sort=False)
        frame.index = frame.index.astype(str)
        frame = frame.reindex(list(genes))
        for sample in frame.columns:
            out[row_of[sample]] = frame[sample].to_numpy(dtype=np.float64)
    return out


def _prepared(
    hub: Hub, tax_id: int, gene_coverage: float
) -> tuple[TrainingSet, list[str], np.ndarray]:
    training = training_set(hub, tax_id)
    if len(set(training.terms)) < 2:
        raise ValueError(
            f"tax id {tax_id}: {len(training.samples)} refined samples with a tissue label of "
            f"{len(set(training.terms))} tissue(s); a tissue model needs two or more"
        )
    genes = model_genes(hub, training.samples, gene_coverage)
    if len(genes) < MIN_GENES:
        raise ValueError(
            f"tax id {tax_id}: {len(genes)} genes measured in {gene_coverage:.0%} of the "
            f"{len(training.samples)} training samples; at least {MIN_GENES} are needed "
            "(lower the gene coverage)"
        )
    return training, genes, sample_values(hub, training.samples, genes)


def evaluate_tissue_model(
    hub: Hub,
    tax_id: int,
    *,
    folds: int | None = None,
    c: float = DEFAULT_C,
    gene_coverage: float = 1.0,
) -> GroupedEvaluation:
    """Held-out evaluation, grouped by series, of a model trained as :func:`train_tissue_model`
    would on the hub's labelled samples of ``tax_id`` (nothing is stored).

    Raises
    ------
    ValueError
        If there are fewer than two tissues, too few genes or fewer than two series groups.
    """
    training, _, values = _prepared(hub, tax_id, gene_coverage)
    return grouped_evaluation(training, values, folds=folds, c=c)


@dataclass(frozen=True)
class TrainingReport:
    """What training did: the stored model, whether it is new (the same content was trained
    before: the stored one is kept), and its held-out evaluation (None when not asked)."""

    model: StoredModel
    new: bool
    evaluation: GroupedEvaluation | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready description (the evaluation's per-sample predictions left out)."""
        evaluation = None
        if self.evaluation is not None:
            evaluation = {k: v for k, v in self.evaluation.as_dict().items() if k != "predictions"}
        return {"model": self.model.summary(), "new": self.new, "evaluation": evaluation}


def train_tissue_model(
    hub: Hub,
    tax_id: int,
    *,
    c: float = DEFAULT_C,
    gene_coverage: float = 1.0,
    evaluate: bool = True,
    folds: int | None = None,
    progress: Progress | None = None,
) -> TrainingReport:
    """Train the tissue model of organism ``tax_id`` on the hub's labelled refined samples,
    evaluate it held out by series groups (when ``evaluate`` and there are two groups or
    more) and store it as a new version (the newest is the current one).

    Raises
    ------
    ValueError
        If there are fewer than two tissues or too few genes common to the training samples.
    """
    report = progress or (lambda fraction, message: None)
    report(0.0, f"reading the training samples of tax id {tax_id}")
    training, genes, values = _prepared(hub, tax_id, gene_coverage)
    report(0.4, f"fitting on {len(training.samples)} samples x {len(genes)} genes")
    model = fit_model(training, values, genes, c=c, gene_coverage=gene_coverage)
    evaluation = None
    if evaluate and len(set(training.groups)) >= 2:
        report(0.6, "held-out evaluation by series groups")
        evaluation = grouped_evaluation(training, values, folds=folds, c=c)
    document: dict[str, Any] = {
        "classes": training.class_table(),
        "genes": len(genes),
        "series_groups": len(set(training.groups)),
        "params": model.params,
        "training": training.as_dict(),
        "evaluation": (
            {k: v for k, v in evaluation.as_dict().items() if k != "predictions"}
            if evaluation is not None
            else None
        ),
    }
    stored = StoredModel(
        model.version,
        FIELD,
        tax_id,
        KIND,
        model.digest,
        model.library_version,
        len(training.samples),
        len(model.classes),
        document,
        model.to_payload(),
    )
    with hub.writer() as writer:
        new = store_label_model(writer, stored)
        if not new and evaluation is not None:
            update_model_document(writer, stored.version, document)
    report(1.0, f"stored {model.version}")
    kept = label_model(hub, model.version)
    assert kept is not None
    return TrainingReport(kept, new, evaluation)


#: Models read from their payload, by (version, digest): a version's content never changes.
_LOADED: dict[tuple[str, str], TissueModel] = {}
_LOADED_MAX = 8


def load_model(stored: StoredModel) -> TissueModel:
    """The model a stored row holds."""
    key = (stored.version, stored.digest)
    if key not in _LOADED:
        if len(_LOADED) >= _LOADED_MAX:
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[key] = TissueModel.from_payload(
            stored.payload,
            version=stored.version,
            digest=stored.digest,
            tax_id=stored.tax_id,
            library_version=stored.library_version,
            params=stored.document.get("params", {}),
        )
    return _LOADED[key]


def _loaded(hub: Hub, summary: StoredModel | None) -> TissueModel | None:
    """The model of a stored summary, its payload read only when it is not loaded yet."""
    if summary is None or summary.field != FIELD:
        return None
    if (summary.version, summary.digest) in _LOADED:
        return _LOADED[(summary.version, summary.digest)]
    stored = label_model(hub, summary.version)
    return load_model(stored) if stored is not None else None


def model_of_version(hub: Hub, version: str) -> TissueModel | None:
    """The stored tissue model ``version``, or None."""
    return _loaded(hub, label_model(hub, version, payload=False))


def current_model(hub: Hub, tax_id: int) -> TissueModel | None:
    """The newest tissue model of organism ``tax_id``, or None."""
    found = label_models(hub, FIELD, tax_id)
    return _loaded(hub, found[0] if found else None)


def trained_samples(stored: StoredModel) -> set[str]:
    """The samples a stored model was trained on."""
    return {row["sample"] for row in stored.document.get("training", {}).get("samples", [])}
