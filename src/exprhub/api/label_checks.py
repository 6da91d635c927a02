"""Checks of sample labels for the Python API: sex predicted from expression, the QC of
annotated against predicted sex, and scoring labels against a hand-labelled gold set.

:class:`LabelChecks` is a mixin of :class:`exprhub.api.Hub` (``hub.predict_sex``,
``hub.label_qc``, ``hub.evaluate_labels``); the functions take the hub as their first
argument for callers that hold a plain catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

from exprhub.analysis import sex_check
from exprhub.api import refinery
from exprhub.curate import evaluation
from exprhub.curate.harmonize import harmonize
from exprhub.hub.labels import unrecorded_samples
from exprhub.records import RecordType, Sample, normalize_accession

if TYPE_CHECKING:
    import pandas as pd

    from exprhub.hub import Hub

#: The gold fields a record's harmonized metadata can predict, and the harmonized field each
#: comes from (the baseline scored when the hub has no stored labels).
HARMONIZED_AS_GOLD: dict[str, str] = {
    "sex": "sex",
    "organ_tissue": "specimen_part",
    "cell_line": "cell_line",
    "disease": "disease",
    "age": "age",
    "age_group": "age_group",
    "genotype": "genetic_information",
}


#: Standardized label fields (:data:`exprhub.curate.labels.FIELDS`) whose gold-set column has
#: another name.
LABELS_AS_GOLD: dict[str, str] = {"tissue": "organ_tissue", "tissue_id": "organ_tissue_id"}


def resolve_samples(hub: Hub, accessions: str | Sequence[str] = ()) -> list[str]:
    """The samples that accessions stand for (series, platforms, DataSets expand to their
    samples), in order without repeats; none given: every refined sample of the hub.

    Raises
    ------
    exprhub.RecordNotFound
        For an accession the hub does not know.
    """
    given = [accessions] if isinstance(accessions, str) else list(accessions)
    if not given:
        return sorted(refinery.refine_states(hub))
    out: dict[str, None] = {}
    for accession in given:
        for sample in refinery.samples_for_accession(hub, normalize_accession(accession)):
            out.setdefault(sample)
    return list(out)


def predict_sex(hub: Hub, accessions: str | Sequence[str] = ()) -> pd.DataFrame:
    """See :meth:`LabelChecks.predict_sex`."""
    return sex_check.calls_frame(sex_check.predict_sex(hub, resolve_samples(hub, accessions)))


def label_qc(
    hub: Hub,
    accessions: str | Sequence[str] = (),
    *,
    annotated: Mapping[str, str] | None = None,
    flagged_only: bool = False,
) -> pd.DataFrame:
    """See :meth:`LabelChecks.label_qc`."""
    samples = resolve_samples(hub, accessions)
    calls = sex_check.predict_sex(hub, samples)
    stated: Mapping[str, tuple[str, str] | str] = (
        dict(annotated) if annotated is not None else sex_check.annotated_sex(hub, samples)
    )
    frame = sex_check.checks_frame(sex_check.sex_disagreements(stated, calls))
    return frame[frame["flag"]] if flagged_only else frame


def harmonized_predictions(hub: Hub, accessions: Sequence[str]) -> pd.DataFrame:
    """Gold-set fields predicted from each stored sample's organism and harmonized
    characteristics (:data:`HARMONIZED_AS_GOLD`): samples x fields, samples the hub lacks
    left out."""
    import pandas as pd

    rows: dict[str, dict[str, str]] = {}
    for accession in accessions:
        key = normalize_accession(accession)
        if not hub.has(key, RecordType.SAMPLE):
            continue
        record = hub.record(key, RecordType.SAMPLE, table=False)
        if not isinstance(record, Sample):
            continue
        pairs = [p for ch in range(1, record.channel_count + 1) for p in record.characteristics(ch)]
        fields = harmonize(pairs)
        row = {"organism": "; ".join(record.organisms) or evaluation.UNKNOWN}
        row.update(
            {gold: fields.get(h, evaluation.UNKNOWN) for gold, h in HARMONIZED_AS_GOLD.items()}
        )
        rows[accession] = row
    frame = pd.DataFrame.from_dict(rows, orient="index", dtype=object)
    frame.index.name = "accession"
    return frame


def stored_predictions(hub: Hub, accessions: Sequence[str]) -> tuple[pd.DataFrame, str]:
    """The hub's predictions for the gold samples and what they are: the labeller's stored
    labels when the hub has them (a ``labels`` method returning samples x fields, or the long
    form of :func:`exprhub.curate.evaluation.predictions_frame`), else the harmonized
    metadata (:func:`harmonized_predictions`)."""
    labels = getattr(hub, "labels", None)
    if callable(labels):
        # the gold samples the hub knows (with a record or listed by one); others: unknown
        recorded = hub.records_by_key(accessions, RecordType.SAMPLE)
        listed = set(unrecorded_samples(hub, accessions))
        wide = labels([a for a in accessions if a in recorded or a in listed])
        ids = {c: f"{c.removesuffix('.ontology_id')}_id" for c in map(str, wide.columns)}
        wide = wide.rename(columns={c: i for c, i in ids.items() if c.endswith(".ontology_id")})
        predicted = evaluation.predictions_frame(wide)
        return predicted.rename(columns=LABELS_AS_GOLD), "stored labels"
    return harmonized_predictions(hub, accessions), "harmonized metadata"


def evaluate_labels(
    hub: Hub,
    gold: str | Path | pd.DataFrame,
    predictions: str | Path | pd.DataFrame | None = None,
    *,
    fields: Sequence[str] | None = None,
) -> evaluation.Evaluation:
    """See :meth:`LabelChecks.evaluate_labels`."""
    gold_frame = evaluation.read_gold(gold) if isinstance(gold, str | Path) else gold
    if predictions is None:
        column = gold_frame["accession"] if "accession" in gold_frame.columns else gold_frame.index
        accessions = [str(a).strip() for a in column]
        predicted, _ = stored_predictions(hub, accessions)
    elif isinstance(predictions, str | Path):
        predicted = evaluation.read_predictions(predictions)
    else:
        predicted = predictions
    return evaluation.evaluate(gold_frame, predicted, fields)


class LabelChecks:
    """Label checks of :class:`exprhub.api.Hub` (mixin)."""

    def predict_sex(self, accessions: str | Sequence[str] = ()) -> pd.DataFrame:
        """Sex predicted from refined expression: Y-linked genes against XIST, each sample
        on its own (the rule: docs/label_checks.md).

        Parameters
        ----------
        accessions
            Samples, series, platforms or DataSets (default: every refined sample).

        Returns
        -------
        pandas.DataFrame
            One row per sample (index ``sample``): ``tax_id``, ``sex`` (male, female or
            uncertain), ``confidence`` (0-1, 0 when uncertain), ``score``, ``y_level``,
            ``x_level``, ``y_genes`` and ``reason``.
        """
        return predict_sex(cast("Hub", self), accessions)

    def label_qc(
        self,
        accessions: str | Sequence[str] = (),
        *,
        annotated: Mapping[str, str] | None = None,
        flagged_only: bool = False,
    ) -> pd.DataFrame:
        """Annotated sex against sex predicted from expression, flagging disagreements.

        Parameters
        ----------
        accessions
            Samples, series, platforms or DataSets (default: every refined sample).
        annotated
            Sample -> annotated sex to check (default: what each record states: a
            harmonized ``sex`` characteristic, else ``Gender = ...`` in its description).
        flagged_only
            Only the samples flagged.

        Returns
        -------
        pandas.DataFrame
            One row per sample (index ``sample``): ``annotated``, ``annotated_from``,
            ``predicted``, ``confidence``, ``flag`` (True where a confident prediction
            contradicts the annotation), ``status`` (disagree, agree, uncertain,
            not annotated) and ``reason``.
        """
        return label_qc(
            cast("Hub", self), accessions, annotated=annotated, flagged_only=flagged_only
        )

    def evaluate_labels(
        self,
        gold: str | Path | pd.DataFrame,
        predictions: str | Path | pd.DataFrame | None = None,
        *,
        fields: Sequence[str] | None = None,
    ) -> evaluation.Evaluation:
        """Score labels against a hand-labelled gold set (tests/data/labels_gold.csv).

        Parameters
        ----------
        gold
            The gold set: a CSV path or a DataFrame (``accession`` plus one column per field).
        predictions
            Samples x fields (CSV path or DataFrame, wide or long); default: the hub's
            stored labels of the gold samples (:func:`stored_predictions`).
        fields
            Fields to score (default: every gold field the set has).

        Returns
        -------
        exprhub.curate.evaluation.Evaluation
            Per-field accuracy and macro-F1, with and without ``unknown``, and confusion
            tables (``.to_dict()`` for JSON).
        """
        return evaluate_labels(cast("Hub", self), gold, predictions, fields=fields)
