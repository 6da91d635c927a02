"""Tissue predicted from expression in the Python API: training versioned models on the
hub's labelled samples, their held-out evaluation grouped by series, predictions stored as
labels (method ``expression model``) and the check of labelled against predicted tissue.

:class:`TissueModels` is a mixin of :class:`exprhub.api.Hub`; the functions take the hub as
their first argument for callers that hold a plain catalogue. docs/label_checks.md says how
the model works and what its figures can show.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from exprhub.analysis import tissue_predictions as predictions
from exprhub.analysis import tissue_training as training
from exprhub.analysis.tissue_model import DEFAULT_C, FIELD, GroupedEvaluation
from exprhub.api.label_checks import resolve_samples
from exprhub.hub.label_models import label_model, label_models
from exprhub.refine.store import refine_states

if TYPE_CHECKING:
    import pandas as pd

    from exprhub.hub import Hub


def json_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a frame indexed by sample (:meth:`TissueModels.predict_tissue`,
    :meth:`TissueModels.tissue_qc`) as JSON-ready dicts: ``sample`` first, NaN as None,
    numpy numbers as Python numbers."""
    import math

    def plain(value: Any) -> Any:
        if hasattr(value, "item"):
            value = value.item()
        return None if isinstance(value, float) and math.isnan(value) else value

    return [
        {"sample": str(key), **{c: plain(v) for c, v in row.items()}}
        for key, row in frame.to_dict(orient="index").items()
    ]


def organisms_to_model(hub: Hub, organism: str | int | None) -> list[int]:
    """Tax ids: the one ``organism`` names (a name or an NCBI tax id), else every organism
    with refined samples.

    Raises
    ------
    exprhub.HubError
        If the organism is not one the refinery knows.
    """
    if organism is not None:
        from exprhub.bundles.compendium_source import resolve_organism

        return [resolve_organism(organism)[0]]
    states = refine_states(hub).values()
    return sorted({s.tax_id for s in states if s.tax_id is not None and training.usable(s)})


@dataclass
class TissueTraining:
    """Models trained, one per organism, and the organisms skipped with the reason."""

    models: list[training.TrainingReport] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {
            "models": [m.as_dict() for m in self.models],
            "skipped": {str(k): v for k, v in self.skipped.items()},
        }


def train_tissue_models(
    hub: Hub,
    organism: str | int | None = None,
    *,
    evaluate: bool = True,
    folds: int | None = None,
    c: float = DEFAULT_C,
    gene_coverage: float = 1.0,
    progress: Callable[[float, str], None] | None = None,
) -> TissueTraining:
    """See :meth:`TissueModels.train_tissue_model`."""
    result = TissueTraining()
    taxa = organisms_to_model(hub, organism)
    for i, tax in enumerate(taxa):

        def step(fraction: float, message: str, i: int = i) -> None:
            if progress is not None:
                progress((i + fraction) / len(taxa), message)

        try:
            result.models.append(
                training.train_tissue_model(
                    hub,
                    tax,
                    c=c,
                    gene_coverage=gene_coverage,
                    evaluate=evaluate,
                    folds=folds,
                    progress=step,
                )
            )
        except ValueError as exc:
            if organism is not None:
                raise
            result.skipped[tax] = str(exc)
    return result


def evaluate_tissue_models(
    hub: Hub,
    organism: str | int | None = None,
    *,
    folds: int | None = None,
    c: float = DEFAULT_C,
    gene_coverage: float = 1.0,
) -> dict[int, GroupedEvaluation | str]:
    """See :meth:`TissueModels.evaluate_tissue_model`."""
    out: dict[int, GroupedEvaluation | str] = {}
    for tax in organisms_to_model(hub, organism):
        try:
            out[tax] = training.evaluate_tissue_model(
                hub, tax, folds=folds, c=c, gene_coverage=gene_coverage
            )
        except ValueError as exc:
            if organism is not None:
                raise
            out[tax] = str(exc)
    return out


def predict_tissue(
    hub: Hub, accessions: str | Sequence[str] = (), *, version: str | None = None
) -> pd.DataFrame:
    """See :meth:`TissueModels.predict_tissue`."""
    found = predictions.predict_tissue(hub, resolve_samples(hub, accessions), version=version)
    return predictions.predictions_frame(found)


def store_tissue_predictions(
    hub: Hub,
    accessions: str | Sequence[str] = (),
    *,
    all_samples: bool = False,
    version: str | None = None,
) -> predictions.StoredPredictions:
    """See :meth:`TissueModels.store_tissue_predictions`."""
    found = predictions.predict_tissue(hub, resolve_samples(hub, accessions), version=version)
    return predictions.store_predictions(hub, found, all_samples=all_samples)


def tissue_qc(
    hub: Hub, accessions: str | Sequence[str] = (), *, flagged_only: bool = False
) -> pd.DataFrame:
    """See :meth:`TissueModels.tissue_qc`."""
    found = predictions.predict_tissue(hub, resolve_samples(hub, accessions))
    trained = {
        m.version: training.trained_samples(m)
        for m in label_models(hub, FIELD)
        if m.version in {p.model_version for p in found}
    }
    frame = predictions.checks_frame(predictions.tissue_disagreements(hub, found, trained))
    return frame[frame["flag"]] if flagged_only else frame


def tissue_models(hub: Hub, organism: str | int | None = None) -> list[dict[str, Any]]:
    """See :meth:`TissueModels.tissue_models`."""
    tax = organisms_to_model(hub, organism)[0] if organism is not None else None
    stored = label_models(hub, FIELD, tax)
    newest: set[int] = set()
    out = []
    for model in stored:
        summary = model.summary()
        summary["current"] = model.tax_id not in newest
        newest.add(model.tax_id)
        out.append(summary)
    return out


def tissue_model(hub: Hub, version: str) -> dict[str, Any]:
    """See :meth:`TissueModels.tissue_model`."""
    stored = label_model(hub, version)
    if stored is None or stored.field != FIELD:
        raise KeyError(f"no tissue model {version}")
    return {**stored.summary(), "training": stored.document.get("training", {})}


class TissueModels:
    """Tissue models of :class:`exprhub.api.Hub` (mixin)."""

    def train_tissue_model(
        self,
        organism: str | int | None = None,
        *,
        evaluate: bool = True,
        folds: int | None = None,
        c: float = DEFAULT_C,
        gene_coverage: float = 1.0,
        progress: Callable[[float, str], None] | None = None,
    ) -> TissueTraining:
        """Train a tissue model on the refined samples that carry a rule tissue label with
        an UBERON id, store it as a new version (the current one of its organism) and
        evaluate it held out by series groups.

        Parameters
        ----------
        organism
            A name or NCBI tax id (default: every organism with refined samples; one that
            cannot be trained is skipped with the reason).
        evaluate
            Run the grouped held-out evaluation and store it with the model.
        folds
            GroupKFold folds (default: leave one series group out).
        c
            Inverse regularization strength of the logistic regression.
        gene_coverage
            Share of the training samples a gene must be measured in (default: all).
        progress
            Called with (fraction done, message).

        Returns
        -------
        TissueTraining
            ``models`` (each with ``model``: the stored model's summary, ``new`` and
            ``evaluation``) and ``skipped`` organisms with the reason.

        Raises
        ------
        ValueError
            If the organism given has fewer than two tissues or too few common genes.
        """
        return train_tissue_models(
            cast("Hub", self),
            organism,
            evaluate=evaluate,
            folds=folds,
            c=c,
            gene_coverage=gene_coverage,
            progress=progress,
        )

    def evaluate_tissue_model(
        self,
        organism: str | int | None = None,
        *,
        folds: int | None = None,
        c: float = DEFAULT_C,
        gene_coverage: float = 1.0,
    ) -> dict[int, GroupedEvaluation | str]:
        """Held-out evaluation, grouped by series (never a sample-level split), of the model
        training would make now; nothing is stored.

        Returns
        -------
        dict
            Tax id -> :class:`~exprhub.analysis.tissue_model.GroupedEvaluation` (accuracy,
            macro-F1, the same over evaluable tissues, per-class series counts, confusion),
            or the reason it cannot be evaluated.
        """
        return evaluate_tissue_models(
            cast("Hub", self), organism, folds=folds, c=c, gene_coverage=gene_coverage
        )

    def predict_tissue(
        self, accessions: str | Sequence[str] = (), *, version: str | None = None
    ) -> pd.DataFrame:
        """Tissue predicted from refined expression by the current model of each sample's
        organism (or the model ``version``); nothing is stored.

        Returns
        -------
        pandas.DataFrame
            One row per sample (index ``sample``): ``tax_id``, ``tissue`` (``uncertain``
            when there is no call), ``ontology_id``, ``confidence``, ``model_version``,
            ``genes_measured`` and ``reason``.
        """
        return predict_tissue(cast("Hub", self), accessions, version=version)

    def store_tissue_predictions(
        self,
        accessions: str | Sequence[str] = (),
        *,
        all_samples: bool = False,
        version: str | None = None,
    ) -> predictions.StoredPredictions:
        """Predict and store the tissue of samples as labels (field ``tissue``, method
        ``expression model``, confidence = probability, evidence = model version): by
        default only of samples without a rule tissue label; ``all_samples`` also of the
        labelled ones, beside their rule label. Rule labels are never changed.

        Returns
        -------
        StoredPredictions
            Samples stored, cleared (now uncertain), skipped, and the values changed.
        """
        return store_tissue_predictions(
            cast("Hub", self), accessions, all_samples=all_samples, version=version
        )

    def tissue_qc(
        self, accessions: str | Sequence[str] = (), *, flagged_only: bool = False
    ) -> pd.DataFrame:
        """Labelled tissue (rule labels) against the tissue predicted from expression.

        Returns
        -------
        pandas.DataFrame
            One row per sample (index ``sample``): ``annotated``, ``annotated_id``,
            ``predicted``, ``predicted_id``, ``confidence``, ``model_version``,
            ``in_training``, ``flag``, ``status`` (disagree, agree, not a model tissue,
            uncertain, not annotated) and ``reason``.
        """
        return tissue_qc(cast("Hub", self), accessions, flagged_only=flagged_only)

    def tissue_models(self, organism: str | int | None = None) -> list[dict[str, Any]]:
        """Stored tissue models, newest first, each a summary (version, organism, classes
        with their sample and series-group counts, genes, parameters, evaluation) with
        ``current`` True for the newest of its organism."""
        return tissue_models(cast("Hub", self), organism)

    def tissue_model(self, version: str) -> dict[str, Any]:
        """One stored tissue model: its summary and training set (sample, tissue, ontology
        id, series group, refined-values checksum).

        Raises
        ------
        KeyError
            If no tissue model has that version.
        """
        return tissue_model(cast("Hub", self), version)
