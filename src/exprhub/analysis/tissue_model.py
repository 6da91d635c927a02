"""Tissue (organ) predicted from expression: the model, its version and its held-out
evaluation, on any matrix (the hub side: :mod:`exprhub.analysis.tissue_training`).

The model (docs/label_checks.md has the evidence):

1. Features are **within-sample percentile ranks** (0 lowest, 1 highest; ties share their
   mean rank) of the model's genes: each sample on its own, so microarrays of any scale and
   RNA-seq are comparable without a batch, as in :mod:`exprhub.analysis.sex_check`. A gene
   the sample does not measure gets 0.5, the middle rank.
2. The genes are those measured in at least ``gene_coverage`` of the training samples (by
   default every one of them: the genes common to the training samples).
3. A multinomial logistic regression (scikit-learn, L2, balanced class weights) over the
   UBERON terms of the training labels; the predicted tissue is the most probable term and
   its confidence that probability.

**Held-out metrics are grouped by series**: samples of one series share a lab, a platform
and a batch, so a sample-level split scores how well a series is recognised, not a tissue.
:func:`grouped_evaluation` holds out whole series groups (series linked by shared samples,
as a SuperSeries and its SubSeries, are one group): leave-one-group-out, or GroupKFold with
fewer folds. A tissue seen in one group only is never in the training part when its group is
held out, so it can never be predicted right: such classes are reported as not evaluable,
with the figures over the evaluable ones beside the overall ones.

The version of a model is a content hash of its training samples, their label values and
refined-value checksums, the genes, the parameters and the scikit-learn version: training
again on the same data gives the same version (and the same coefficients).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

#: The label field the model predicts.
FIELD = "tissue"
#: The method of its labels (:data:`exprhub.curate.labels.METHODS`).
METHOD = "expression model"
KIND = "logistic regression on within-sample ranks"
#: Fewest genes a model is trained on.
MIN_GENES = 10
#: Regularization strength (scikit-learn's ``C``: smaller is stronger).
DEFAULT_C = 1.0
MAX_ITER = 5000


def library_version() -> str:
    """The scikit-learn version that fits the models."""
    import sklearn

    return str(sklearn.__version__)


def within_sample_ranks(values: np.ndarray) -> np.ndarray:
    """Percentile ranks of each row (a sample) among its measured values: samples x genes in,
    samples x genes out (ties share their mean rank; rank / number measured, so 1 is the
    highest), 0.5 where a value is missing."""
    from scipy.stats import rankdata

    data = np.asarray(values, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError("values must be samples x genes")
    measured = ~np.isnan(data)
    if data.size == 0:
        return np.full(data.shape, 0.5)
    ranks = rankdata(data, axis=1, nan_policy="omit")
    counts = measured.sum(axis=1, keepdims=True)
    out = np.where(measured, ranks / np.maximum(counts, 1), 0.5)
    return np.asarray(out, dtype=np.float64)


def covered_genes(counts: np.ndarray, n_samples: int, coverage: float) -> np.ndarray:
    """Indices of the genes measured in at least ``coverage`` (0-1] of ``n_samples``
    samples, from the number of samples measuring each gene."""
    if not 0 < coverage <= 1:
        raise ValueError(f"gene coverage must be in (0, 1], got {coverage}")
    if n_samples == 0:
        return np.arange(0)
    return np.flatnonzero(np.asarray(counts) >= coverage * n_samples - 1e-9)


@dataclass(frozen=True)
class TrainingSet:
    """Labelled samples of one organism a model learns from.

    Attributes
    ----------
    tax_id
        The organism.
    samples
        Sample keys.
    terms, names
        Each sample's tissue: ontology id (the class) and its label.
    groups
        Each sample's series group (series linked by shared samples are one group).
    value_digests
        Each sample's refined-values checksum (a re-refined sample makes a new version).
    """

    tax_id: int
    samples: tuple[str, ...]
    terms: tuple[str, ...]
    names: tuple[str, ...]
    groups: tuple[str, ...]
    value_digests: tuple[str, ...] = ()

    def class_names(self) -> dict[str, str]:
        """Ontology id -> label of each class."""
        return dict(zip(self.terms, self.names, strict=True))

    def class_table(self) -> dict[str, dict[str, Any]]:
        """Per class (ontology id): its label, number of samples and of series groups."""
        out: dict[str, dict[str, Any]] = {}
        for term, name, group in zip(self.terms, self.names, self.groups, strict=True):
            entry = out.setdefault(term, {"name": name, "samples": 0, "groups": set()})
            entry["samples"] += 1
            entry["groups"].add(group)
        return {
            t: {"name": e["name"], "samples": e["samples"], "series_groups": len(e["groups"])}
            for t, e in sorted(out.items())
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready description (one row per sample)."""
        digests = self.value_digests or ("",) * len(self.samples)
        return {
            "tax_id": self.tax_id,
            "samples": [
                {"sample": s, "ontology_id": t, "tissue": n, "group": g, "values_sha256": d}
                for s, t, n, g, d in zip(
                    self.samples, self.terms, self.names, self.groups, digests, strict=True
                )
            ],
        }


def model_digest(
    training: TrainingSet, genes: Sequence[str], params: Mapping[str, Any], library: str
) -> str:
    """SHA-256 of what a model is made from: training samples, their label values, refined
    checksums and groups, the genes, the parameters and the library version."""
    content = {
        "kind": KIND,
        "field": FIELD,
        "training": training.as_dict(),
        "genes": list(genes),
        "params": dict(sorted(params.items())),
        "library": library,
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def version_of(tax_id: int, digest: str) -> str:
    """A model's version: ``tissue-<tax id>-<12 hex digits of its digest>``."""
    return f"{FIELD}-{tax_id}-{digest[:12]}"


@dataclass(frozen=True)
class TissueModel:
    """A trained tissue model.

    Attributes
    ----------
    version, digest
        Its name and content hash (:func:`model_digest`).
    tax_id
        The organism whose refined values it reads.
    genes
        The gene ids its features are, in order.
    classes, class_names
        The ontology ids it predicts and their labels.
    coef, intercept
        The logistic regression's parameters.
    library_version
        The scikit-learn version that fitted it.
    params
        Training parameters (``C``, ``gene_coverage``).
    """

    version: str
    digest: str
    tax_id: int
    genes: tuple[str, ...]
    classes: tuple[str, ...]
    class_names: tuple[str, ...]
    coef: np.ndarray
    intercept: np.ndarray
    library_version: str
    params: dict[str, Any] = field(default_factory=dict)

    def estimator(self) -> Any:
        """The fitted scikit-learn ``LogisticRegression`` these parameters make."""
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=float(self.params.get("C", DEFAULT_C)))
        model.classes_ = np.asarray(self.classes)
        model.coef_ = np.asarray(self.coef, dtype=np.float64)
        model.intercept_ = np.asarray(self.intercept, dtype=np.float64)
        model.n_features_in_ = len(self.genes)
        model.n_iter_ = np.asarray([0], dtype=np.int32)
        return model

    def probabilities(self, values: np.ndarray) -> np.ndarray:
        """Class probabilities (samples x :attr:`classes`) of samples x :attr:`genes` values
        (NaN where not measured)."""
        return np.asarray(self.estimator().predict_proba(within_sample_ranks(values)))

    def to_payload(self) -> bytes:
        """The parameters as ``.npz`` bytes (no pickled objects)."""
        buffer = io.BytesIO()
        np.savez(
            buffer,
            genes=np.asarray(self.genes, dtype=str),
            classes=np.asarray(self.classes, dtype=str),
            class_names=np.asarray(self.class_names, dtype=str),
            coef=np.asarray(self.coef, dtype=np.float64),
            intercept=np.asarray(self.intercept, dtype=np.float64),
        )
        return buffer.getvalue()

    @classmethod
    def from_payload(
        cls,
        payload: bytes,
        *,
        version: str,
        digest: str,
        tax_id: int,
        library_version: str,
        params: Mapping[str, Any],
    ) -> TissueModel:
        """The model :meth:`to_payload` wrote, with its stored description."""
        with np.load(io.BytesIO(payload), allow_pickle=False) as arrays:
            return cls(
                version,
                digest,
                tax_id,
                tuple(str(g) for g in arrays["genes"]),
                tuple(str(c) for c in arrays["classes"]),
                tuple(str(c) for c in arrays["class_names"]),
                arrays["coef"].copy(),
                arrays["intercept"].copy(),
                library_version,
                dict(params),
            )


def _fit(features: np.ndarray, labels: Sequence[str], c: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, class_weight="balanced", max_iter=MAX_ITER)
    return model.fit(features, np.asarray(labels))


def fit_model(
    training: TrainingSet,
    values: np.ndarray,
    genes: Sequence[str],
    *,
    c: float = DEFAULT_C,
    gene_coverage: float = 1.0,
) -> TissueModel:
    """Fit a model on the training samples' values (samples x ``genes``, in the order of
    ``training.samples``; NaN where not measured).

    Raises
    ------
    ValueError
        If the training set has fewer than two classes or the values do not fit it.
    """
    data = np.asarray(values, dtype=np.float64)
    if data.shape != (len(training.samples), len(genes)):
        raise ValueError(
            f"values are {data.shape}, expected {len(training.samples)} samples x "
            f"{len(genes)} genes"
        )
    classes = sorted(set(training.terms))
    if len(classes) < 2:
        raise ValueError(f"tissue model needs two tissues or more, got {len(classes)}")
    fitted = _fit(within_sample_ranks(data), training.terms, c)
    params = {"C": c, "gene_coverage": gene_coverage}
    library = library_version()
    digest = model_digest(training, genes, params, library)
    names = training.class_names()
    return TissueModel(
        version_of(training.tax_id, digest),
        digest,
        training.tax_id,
        tuple(genes),
        tuple(str(c) for c in fitted.classes_),
        tuple(names[str(c)] for c in fitted.classes_),
        fitted.coef_.copy(),
        fitted.intercept_.copy(),
        library,
        params,
    )


@dataclass
class GroupedEvaluation:
    """Held-out figures of a model trained on all but some series groups and scored on them.

    Attributes
    ----------
    scheme
        ``leave-one-group-out`` or ``GroupKFold(k)``.
    folds, groups, samples
        Number of folds, series groups and samples.
    accuracy, macro_f1
        Over every held-out sample (macro-F1: mean F1 over the true classes).
    accuracy_evaluable, macro_f1_evaluable, evaluable_samples
        Over the samples whose tissue spans two series groups or more (None when none does).
    classes
        Per class (ontology id): label, samples, series groups, evaluable, precision, recall,
        F1.
    confusion
        True class -> predicted class -> count.
    fold_results
        Per fold: held-out groups, samples, correct.
    predictions
        Per sample: true and held-out predicted class, and the probability of the prediction.
    note
        What the figures can and cannot show, one sentence.
    """

    scheme: str
    folds: int
    groups: int
    samples: int
    accuracy: float
    macro_f1: float
    accuracy_evaluable: float | None
    macro_f1_evaluable: float | None
    evaluable_samples: int
    classes: dict[str, dict[str, Any]]
    confusion: dict[str, dict[str, int]]
    fold_results: list[dict[str, Any]]
    predictions: list[dict[str, Any]]
    note: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return asdict(self)


def _note(evaluable: int, n_classes: int, groups: int) -> str:
    if evaluable == 0:
        return (
            f"no tissue spans two series groups ({groups} groups, {n_classes} tissues): every "
            "held-out tissue is absent from its training part, so these figures cannot "
            "measure the model; they show only that it does not recognise unseen tissues"
        )
    return (
        f"{evaluable} of {n_classes} tissues span two series groups or more and can be "
        "scored held out; the *_evaluable figures count only those, the others cannot be "
        "predicted when their only group is held out"
    )


def grouped_evaluation(
    training: TrainingSet,
    values: np.ndarray,
    *,
    folds: int | None = None,
    c: float = DEFAULT_C,
) -> GroupedEvaluation:
    """Score the model by holding out whole series groups (``folds``: GroupKFold with that
    many folds; default, and whenever it is not smaller than the number of groups:
    leave-one-group-out). Never a sample-level split.

    Raises
    ------
    ValueError
        If the samples form fewer than two series groups.
    """
    from sklearn.metrics import f1_score, precision_recall_fscore_support
    from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

    ranks = within_sample_ranks(values)
    truth = np.asarray(training.terms)
    groups = np.asarray(training.groups)
    n_groups = len(set(training.groups))
    if n_groups < 2:
        raise ValueError(f"held-out evaluation needs two series groups or more, got {n_groups}")
    if folds is None or folds >= n_groups:
        splitter: Any = LeaveOneGroupOut()
        scheme, n_folds = "leave-one-group-out", n_groups
    else:
        if folds < 2:
            raise ValueError(f"folds must be 2 or more, got {folds}")
        splitter, scheme, n_folds = GroupKFold(n_splits=folds), f"GroupKFold({folds})", folds
    predicted = np.empty(len(truth), dtype=object)
    probability = np.zeros(len(truth))
    fold_results = []
    for train_index, test_index in splitter.split(ranks, truth, groups):
        seen = sorted(set(truth[train_index]))
        if len(seen) == 1:  # one tissue left to learn from: it is the only possible answer
            predicted[test_index] = seen[0]
            probability[test_index] = 1.0
        else:
            fitted = _fit(ranks[train_index], truth[train_index], c)
            proba = fitted.predict_proba(ranks[test_index])
            best = proba.argmax(axis=1)
            predicted[test_index] = fitted.classes_[best]
            probability[test_index] = proba[np.arange(len(best)), best]
        fold_results.append(
            {
                "held_out": sorted(set(groups[test_index])),
                "samples": len(test_index),
                "correct": int((predicted[test_index] == truth[test_index]).sum()),
            }
        )
    table = training.class_table()
    labels = sorted(table)
    precision, recall, f1, _ = precision_recall_fscore_support(
        truth, predicted.astype(str), labels=labels, zero_division=0
    )
    classes = {
        term: {
            **table[term],
            "evaluable": table[term]["series_groups"] >= 2,
            "precision": float(p),
            "recall": float(r),
            "f1": float(f),
        }
        for term, p, r, f in zip(labels, precision, recall, f1, strict=True)
    }
    evaluable = [t for t in labels if classes[t]["evaluable"]]
    chosen = np.isin(truth, evaluable)
    confusion: dict[str, dict[str, int]] = {}
    for t, p in zip(truth, predicted, strict=True):
        confusion.setdefault(str(t), {}).setdefault(str(p), 0)
        confusion[str(t)][str(p)] += 1
    hits = predicted.astype(str) == truth
    return GroupedEvaluation(
        scheme,
        n_folds,
        n_groups,
        len(truth),
        float(hits.mean()),
        float(
            f1_score(truth, predicted.astype(str), labels=labels, average="macro", zero_division=0)
        ),
        float(hits[chosen].mean()) if chosen.any() else None,
        float(np.mean([classes[t]["f1"] for t in evaluable])) if evaluable else None,
        int(chosen.sum()),
        classes,
        confusion,
        fold_results,
        [
            {"sample": s, "true": str(t), "predicted": str(p), "probability": float(q)}
            for s, t, p, q in zip(training.samples, truth, predicted, probability, strict=True)
        ],
        _note(len(evaluable), len(labels), n_groups),
    )
