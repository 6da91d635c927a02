"""Tissue predicted from expression by the hub's current tissue models, stored as labels
(method ``expression model``) beside the rule labels, and the check of a sample's labelled
tissue against the prediction.

A prediction is a label of field ``tissue``: the UBERON term the model finds most probable,
confidence = that probability, source ``refined expression``, evidence = the model version.
Storing replaces only the tissue labels of the expression model (never a rule label, never
another model's field). A sample measuring fewer than half of the model's genes, not
refined, of log ratios or of an organism without a model is ``uncertain`` with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from exprhub.analysis.tissue_model import FIELD, METHOD, TissueModel
from exprhub.analysis.tissue_training import (
    current_model,
    model_of_version,
    rule_tissues,
    sample_values,
    usable,
)
from exprhub.hub import Hub
from exprhub.hub.labels import LabelChange, StoredLabel, write_labels
from exprhub.records import RecordType
from exprhub.refine.store import refine_states

if TYPE_CHECKING:
    import pandas as pd

#: Least share of the model's genes a sample must measure to be predicted.
MIN_MEASURED = 0.5
SOURCE = "refined expression"
UNCERTAIN = "uncertain"


@dataclass(frozen=True)
class TissuePrediction:
    """The tissue predicted for one sample.

    Attributes
    ----------
    sample, tax_id
        The sample and its organism as refined.
    tissue, ontology_id
        The predicted term's label and id (``uncertain`` and "" when there is no call).
    confidence
        The predicted probability (0 when uncertain).
    model_version
        The model that predicted it ("" when none).
    genes_measured
        Of the model's genes, how many the sample measures.
    reason
        Why, one line.
    """

    sample: str
    tax_id: int | None
    tissue: str
    ontology_id: str
    confidence: float
    model_version: str
    genes_measured: int
    reason: str


def _uncertain(sample: str, tax_id: int | None, reason: str, version: str = "") -> TissuePrediction:
    return TissuePrediction(sample, tax_id, UNCERTAIN, "", 0.0, version, 0, reason)


def _predict_with(model: TissueModel, samples: Sequence[str], hub: Hub) -> list[TissuePrediction]:
    values = sample_values(hub, samples, model.genes)
    measured = (~np.isnan(values)).sum(axis=1)
    proba = model.probabilities(values) if len(samples) else np.zeros((0, len(model.classes)))
    out = []
    for i, sample in enumerate(samples):
        n = int(measured[i])
        if n < MIN_MEASURED * len(model.genes):
            reason = f"{n} of the model's {len(model.genes)} genes measured"
            out.append(_uncertain(sample, model.tax_id, reason, model.version))
            continue
        best = int(proba[i].argmax())
        runner = np.sort(proba[i])[-2] if len(model.classes) > 1 else 0.0
        out.append(
            TissuePrediction(
                sample,
                model.tax_id,
                model.class_names[best],
                model.classes[best],
                float(proba[i, best]),
                model.version,
                n,
                f"p={proba[i, best]:.2f} (next {runner:.2f}) over {n} of {len(model.genes)} genes",
            )
        )
    return out


def predict_tissue(
    hub: Hub, samples: Sequence[str], *, version: str | None = None
) -> list[TissuePrediction]:
    """Predict the tissue of ``samples`` (one :class:`TissuePrediction` each, in order) with
    the current model of each one's organism, or the stored model ``version`` (samples of
    other organisms are then uncertain).

    Raises
    ------
    KeyError
        If ``version`` names no stored model.
    """
    states = refine_states(hub, samples)
    chosen: TissueModel | None = None
    if version is not None:
        chosen = model_of_version(hub, version)
        if chosen is None:
            raise KeyError(f"no tissue model {version}")
    by_tax: dict[int, list[str]] = {}
    found: dict[str, TissuePrediction] = {}
    for sample in samples:
        state = states.get(sample)
        if state is None:
            found[sample] = _uncertain(sample, None, "not refined (run exprhub refine)")
        elif state.status != "done":
            why = f"refinement {state.status}" + (f": {state.message}" if state.message else "")
            found[sample] = _uncertain(sample, state.tax_id, why)
        elif not usable(state) or state.tax_id is None:
            found[sample] = _uncertain(sample, state.tax_id, "log ratios: not ranked")
        else:
            by_tax.setdefault(state.tax_id, []).append(sample)
    for tax, group in sorted(by_tax.items()):
        model = chosen if chosen is not None else current_model(hub, tax)
        if model is None or model.tax_id != tax:
            for sample in group:
                reason = f"no tissue model for tax id {tax} (exprhub labels tissue-model train)"
                found[sample] = _uncertain(sample, tax, reason)
            continue
        for prediction in _predict_with(model, group, hub):
            found[prediction.sample] = prediction
    return [found[s] for s in samples]


def _frame(rows: Sequence[Any], kind: Any) -> pd.DataFrame:
    import pandas as pd

    columns = list(kind.__dataclass_fields__)
    return pd.DataFrame([asdict(r) for r in rows], columns=columns).set_index("sample")


def predictions_frame(predictions: Sequence[TissuePrediction]) -> pd.DataFrame:
    """Predictions as a DataFrame, one row per sample (index: ``sample``)."""
    return _frame(predictions, TissuePrediction)


def as_label(prediction: TissuePrediction) -> StoredLabel:
    """The stored label of a prediction (evidence: the model version)."""
    return StoredLabel(
        prediction.sample,
        FIELD,
        prediction.tissue,
        prediction.ontology_id or None,
        SOURCE,
        prediction.model_version,
        0,
        len(prediction.model_version),
        METHOD,
        round(prediction.confidence, 4),
    )


@dataclass(frozen=True)
class StoredPredictions:
    """What storing predictions did: samples given a model label, samples whose old model
    label was removed (now uncertain), samples left alone (a rule tissue label, when only
    unlabelled samples are stored; or no sample record), the values changed, and the
    predictions themselves."""

    stored: int
    cleared: int
    skipped: int
    changes: list[LabelChange]
    predictions: list[TissuePrediction]

    def frame(self) -> pd.DataFrame:
        """The predictions as :func:`predictions_frame` gives them."""
        return predictions_frame(self.predictions)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {
            "stored": self.stored,
            "cleared": self.cleared,
            "skipped": self.skipped,
            "changes": [c.as_dict() for c in self.changes],
        }


def store_predictions(
    hub: Hub, predictions: Sequence[TissuePrediction], *, all_samples: bool = False
) -> StoredPredictions:
    """Store predictions as ``tissue`` labels of the expression model, replacing its earlier
    ones (an uncertain sample loses its old model label); only samples without a rule tissue
    label unless ``all_samples``. Rule labels are never touched."""
    keys = [p.sample for p in predictions]
    records = set(hub.records_by_key(keys, RecordType.SAMPLE)) if keys else set()
    labelled = set() if all_samples else set(rule_tissues(hub, keys))
    # by model version, the labeller version stored with them ("" : no model predicts them)
    by_version: dict[str, dict[str, list[StoredLabel]]] = {}
    skipped = stored = cleared = 0
    for prediction in predictions:
        if prediction.sample not in records or prediction.sample in labelled:
            skipped += 1
            continue
        called = prediction.tissue != UNCERTAIN
        if called:
            stored += 1
        else:
            cleared += 1
        group = by_version.setdefault(prediction.model_version, {})
        group[prediction.sample] = [as_label(prediction)] if called else []
    changes: list[LabelChange] = []
    if by_version:
        with hub.writer() as writer:
            for version, labels in sorted(by_version.items()):
                changes += write_labels(
                    writer,
                    labels,
                    version=version or f"{FIELD} model: none",
                    methods=(METHOD,),
                    fields=(FIELD,),
                )
    return StoredPredictions(stored, cleared, skipped, changes, list(predictions))


@dataclass(frozen=True)
class TissueCheck:
    """A sample's labelled tissue against the tissue predicted from its expression.

    Attributes
    ----------
    sample, annotated, annotated_id
        The sample and its rule tissue label (``unknown`` / "" when none).
    predicted, predicted_id, confidence, model_version
        The prediction.
    in_training
        Whether the model was trained on this sample (its prediction is then not held out).
    flag
        True when the annotation and the prediction disagree.
    status
        ``disagree``, ``agree`` (the same term, or one a part or kind of the other),
        ``not a model tissue`` (the labelled term is none the model knows), ``uncertain``
        (no prediction), ``not annotated``.
    reason
        The prediction's reason.
    """

    sample: str
    annotated: str
    annotated_id: str
    predicted: str
    predicted_id: str
    confidence: float
    model_version: str
    in_training: bool
    flag: bool
    status: str
    reason: str


def _related(a: str, b: str, ancestors: Mapping[str, Sequence[str]]) -> bool:
    return a == b or b in ancestors.get(a, ()) or a in ancestors.get(b, ())


def tissue_disagreements(
    hub: Hub, predictions: Sequence[TissuePrediction], trained: Mapping[str, set[str]]
) -> list[TissueCheck]:
    """Compare each sample's rule tissue label with its prediction (``trained``: model
    version -> the samples it was trained on)."""
    from exprhub.curate.labels.ontology import term_index

    annotated = rule_tissues(hub, [p.sample for p in predictions])
    classes: dict[str, set[str]] = {}
    ancestors: Mapping[str, Sequence[str]] = {}
    if any(p.sample in annotated and p.tissue != UNCERTAIN for p in predictions):
        ancestors = term_index().ancestors  # loaded only when a label is to be compared
    checks = []
    for p in predictions:
        given = annotated.get(p.sample, [])
        ids = [i for i, _ in given if i]
        name = "; ".join(v for _, v in given) or "unknown"
        if p.model_version and p.model_version not in classes:
            model = model_of_version(hub, p.model_version)
            classes[p.model_version] = set(model.classes) if model else set()
        known = classes.get(p.model_version, set())
        if not ids:
            status = "not annotated"
        elif p.tissue == UNCERTAIN:
            status = UNCERTAIN
        elif any(_related(i, p.ontology_id, ancestors) for i in ids):
            status = "agree"
        elif not any(_related(i, k, ancestors) for i in ids for k in known):
            status = "not a model tissue"
        else:
            status = "disagree"
        checks.append(
            TissueCheck(
                p.sample,
                name,
                "; ".join(ids),
                p.tissue,
                p.ontology_id,
                p.confidence,
                p.model_version,
                p.sample in trained.get(p.model_version, set()),
                status == "disagree",
                status,
                p.reason,
            )
        )
    return checks


def checks_frame(checks: Sequence[TissueCheck]) -> pd.DataFrame:
    """Tissue checks as a DataFrame, one row per sample (index: ``sample``)."""
    return _frame(checks, TissueCheck)
