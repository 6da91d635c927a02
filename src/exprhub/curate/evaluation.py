"""Scoring predicted sample labels against a hand-labelled gold set.

The gold set is a table with one row per sample (``accession``) and one column per label
field (``organism``, ``sex``, ``organ_tissue`` ...; ``tests/data/labels_gold.csv``), where
``unknown`` means the metadata does not say. Predictions are any table of the same shape
(:func:`predictions_frame` also takes the long form, one row per sample and field).

How ``unknown`` counts (docs/label_checks.md):

- ``unknown`` is a class like any other: predicting a value where the gold says ``unknown`` is
  an error (a guess without evidence), and so is predicting ``unknown`` where the gold has a
  value (a miss). A sample missing from the predictions, or an empty cell, is ``unknown``.
- ``accuracy`` and ``macro_f1`` count every gold sample and every class, ``unknown``
  included; ``accuracy_known`` counts only the samples whose gold value is known, and
  ``macro_f1_known`` averages F1 over the known classes only (errors into or out of
  ``unknown`` still lower those classes' recall and precision).
- Values compare case-insensitively after trimming; several values (``a; b``) compare as
  sets. Where both tables have an ontology id (``<field>_id``), the ids are compared instead
  of the labels, so that synonyms of one term agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

UNKNOWN = "unknown"

#: The label fields the gold set holds and :func:`evaluate` scores by default.
GOLD_FIELDS: tuple[str, ...] = (
    "organism",
    "sex",
    "specimen_type",
    "experimental_setting",
    "organ_tissue",
    "cell_type",
    "cell_line",
    "disease",
    "age",
    "age_group",
    "genotype",
    "genotype_gene",
)

#: Targets of issue 18 on the gold set (accuracy), reported next to the figures.
TARGETS: dict[str, float] = {
    "organism": 0.97,
    "sex": 0.97,
    "specimen_type": 0.9,
    "experimental_setting": 0.9,
    "organ_tissue": 0.85,
    "disease": 0.85,
    "age_group": 0.85,
}

_MISSING_TEXT = {"", "nan", "none", "null", "na", "n/a"}


def normalize_label(value: object) -> str:
    """A label value as compared: trimmed and lower-cased, several values (``;``-separated)
    sorted and joined by ``"; "``, empty or missing as ``unknown``."""
    if value is None:
        return UNKNOWN
    try:
        if value != value:  # NaN
            return UNKNOWN
    except (TypeError, ValueError):
        pass
    text = str(value).strip().lower()
    if text in _MISSING_TEXT:
        return UNKNOWN
    parts = sorted({p.strip() for p in text.split(";") if p.strip()})
    return "; ".join(parts) if parts else UNKNOWN


@dataclass
class FieldScore:
    """The score of one label field.

    Attributes
    ----------
    field
        The field's name.
    n
        Gold samples scored.
    n_known
        Of those, samples whose gold value is known.
    correct, correct_known
        Samples predicted right, over all and over the known ones.
    predicted_unknown
        Samples predicted ``unknown`` (abstentions).
    accuracy, accuracy_known, macro_f1, macro_f1_known
        See the module docstring; ``None`` when nothing was counted.
    per_class
        Class -> ``{"precision", "recall", "f1", "support"}`` (support: gold samples).
    confusion
        Gold value -> predicted value -> samples.
    target
        Issue 18's accuracy target for the field, if it has one.
    """

    field: str
    n: int
    n_known: int
    correct: int
    correct_known: int
    predicted_unknown: int
    accuracy: float | None
    accuracy_known: float | None
    macro_f1: float | None
    macro_f1_known: float | None
    per_class: dict[str, dict[str, float]]
    confusion: dict[str, dict[str, int]]
    target: float | None = None

    @property
    def meets_target(self) -> bool | None:
        """Whether ``accuracy`` reaches the target (``None`` without a target)."""
        if self.target is None or self.accuracy is None:
            return None
        return self.accuracy >= self.target

    def to_dict(self) -> dict[str, Any]:
        """The score as plain JSON-ready data."""
        return {
            "field": self.field,
            "n": self.n,
            "n_known": self.n_known,
            "correct": self.correct,
            "correct_known": self.correct_known,
            "predicted_unknown": self.predicted_unknown,
            "accuracy": self.accuracy,
            "accuracy_known": self.accuracy_known,
            "macro_f1": self.macro_f1,
            "macro_f1_known": self.macro_f1_known,
            "target": self.target,
            "meets_target": self.meets_target,
            "per_class": self.per_class,
            "confusion": self.confusion,
        }

    def confusion_frame(self) -> pd.DataFrame:
        """The confusion table as a DataFrame: gold values (rows) x predicted values."""
        import pandas as pd

        classes = sorted({*self.confusion, *(p for row in self.confusion.values() for p in row)})
        return pd.DataFrame(
            [[self.confusion.get(g, {}).get(p, 0) for p in classes] for g in classes],
            index=pd.Index(classes, name="gold"),
            columns=pd.Index(classes, name="predicted"),
        )


@dataclass
class Evaluation:
    """Scores of predicted labels against a gold set, one :class:`FieldScore` per field.

    Attributes
    ----------
    fields
        Field name -> score, in the order scored.
    samples
        Gold samples scored.
    missing
        Gold samples with no row in the predictions (scored as all ``unknown``).
    """

    fields: dict[str, FieldScore]
    samples: int
    missing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The evaluation as plain JSON-ready data."""
        return {
            "samples": self.samples,
            "missing": list(self.missing),
            "fields": {name: score.to_dict() for name, score in self.fields.items()},
        }

    def summary(self) -> pd.DataFrame:
        """One row per field: n, n_known, accuracy, accuracy_known, macro-F1 (both), target."""
        import pandas as pd

        rows = [
            {
                "field": s.field,
                "n": s.n,
                "n_known": s.n_known,
                "accuracy": s.accuracy,
                "accuracy_known": s.accuracy_known,
                "macro_f1": s.macro_f1,
                "macro_f1_known": s.macro_f1_known,
                "target": s.target,
                "meets_target": s.meets_target,
            }
            for s in self.fields.values()
        ]
        return pd.DataFrame(rows).set_index("field")


def _indexed(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    """``frame`` indexed by accession (its ``accession`` / ``sample`` column if it has one)."""
    for column in ("accession", "sample", "gsm"):
        if column in frame.columns:
            frame = frame.set_index(column)
            break
    if frame.index.has_duplicates:
        dup = frame.index[frame.index.duplicated()][0]
        raise ValueError(f"{what} lists sample {dup} more than once")
    frame = frame.copy()
    frame.index = frame.index.map(lambda k: str(k).strip())
    return frame


def predictions_frame(predictions: pd.DataFrame) -> pd.DataFrame:
    """Predictions as a wide table, samples (index) x fields.

    Takes the wide form (one row per sample, an ``accession`` column or index, one column per
    field, optionally ``<field>_id`` columns) or the long form of stored labels (columns
    ``accession`` or ``sample``, ``field``, ``value`` and optionally ``ontology_id`` and
    ``confidence``; where a sample has several values of a field, the most confident wins,
    then the first).
    """
    import pandas as pd

    if {"field", "value"} <= set(predictions.columns):
        long = predictions.copy()
        key = next((c for c in ("accession", "sample", "gsm") if c in long.columns), None)
        if key is None:
            long = long.reset_index()
            key = str(long.columns[0])
        if "confidence" in long.columns:
            long = long.assign(_rank=-pd.to_numeric(long["confidence"], errors="coerce"))
            long = long.sort_values("_rank", kind="stable", na_position="last")
        long = long.drop_duplicates(subset=[key, "field"], keep="first")
        wide = long.pivot(index=key, columns="field", values="value")
        if "ontology_id" in long.columns:
            ids = long.pivot(index=key, columns="field", values="ontology_id")
            ids.columns = [f"{c}_id" for c in ids.columns]
            wide = wide.join(ids)
        wide.index.name = "accession"
        wide.columns.name = None
        return _indexed(wide, "the predictions")
    return _indexed(predictions, "the predictions")


def _cell(frame: pd.DataFrame, accession: str, column: str) -> str:
    if column not in frame.columns or accession not in frame.index:
        return UNKNOWN
    return normalize_label(frame.at[accession, column])


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def score_field(
    name: str, gold: Sequence[str], predicted: Sequence[str], same: Sequence[bool] | None = None
) -> FieldScore:
    """Score one field from parallel lists of normalized gold and predicted values.

    ``same`` overrides equality per sample (ontology ids that agree where labels differ).
    """
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted values differ in length")
    hits = (
        list(same) if same is not None else [g == p for g, p in zip(gold, predicted, strict=True)]
    )
    confusion: dict[str, dict[str, int]] = {}
    classes: set[str] = set()
    for g, p, hit in zip(gold, predicted, hits, strict=True):
        shown = g if hit else p  # an id match counts under the gold label
        confusion.setdefault(g, {})
        confusion[g][shown] = confusion[g].get(shown, 0) + 1
        classes.update((g, shown))
    per_class: dict[str, dict[str, float]] = {}
    for c in sorted(classes):
        tp = confusion.get(c, {}).get(c, 0)
        support = sum(confusion.get(c, {}).values())
        predicted_as = sum(row.get(c, 0) for row in confusion.values())
        precision = tp / predicted_as if predicted_as else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[c] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    known = [i for i, g in enumerate(gold) if g != UNKNOWN]
    f1_all = [v["f1"] for v in per_class.values()]
    f1_known = [v["f1"] for c, v in per_class.items() if c != UNKNOWN]
    correct = sum(hits)
    correct_known = sum(hits[i] for i in known)
    return FieldScore(
        field=name,
        n=len(gold),
        n_known=len(known),
        correct=correct,
        correct_known=correct_known,
        predicted_unknown=sum(1 for p in predicted if p == UNKNOWN),
        accuracy=_ratio(correct, len(gold)),
        accuracy_known=_ratio(correct_known, len(known)),
        macro_f1=sum(f1_all) / len(f1_all) if f1_all else None,
        macro_f1_known=sum(f1_known) / len(f1_known) if f1_known else None,
        per_class=per_class,
        confusion=confusion,
        target=TARGETS.get(name),
    )


def evaluate(
    gold: pd.DataFrame, predicted: pd.DataFrame, fields: Iterable[str] | None = None
) -> Evaluation:
    """Score predicted labels against a gold set, field by field.

    Parameters
    ----------
    gold
        One row per sample (``accession`` column or index), one column per field;
        ``unknown`` (or empty) where the metadata does not say.
    predicted
        The predictions, wide or long (:func:`predictions_frame`). Samples it lacks count as
        ``unknown`` in every field; samples the gold set lacks are ignored.
    fields
        Fields to score (default: those of :data:`GOLD_FIELDS` the gold set has).

    Returns
    -------
    Evaluation
        Per-field accuracy and macro-F1 (with and without ``unknown``, see the module
        docstring), per-class precision/recall/F1 and confusion tables.

    Raises
    ------
    ValueError
        If a sample repeats, or a field to score is not a gold column.
    """
    gold = _indexed(gold, "the gold set")
    pred = predictions_frame(predicted)
    names = list(fields) if fields is not None else [f for f in GOLD_FIELDS if f in gold.columns]
    absent = [f for f in names if f not in gold.columns]
    if absent:
        raise ValueError(f"the gold set has no column {', '.join(absent)}")
    accessions = [str(a) for a in gold.index]
    scores: dict[str, FieldScore] = {}
    for name in names:
        g = [_cell(gold, a, name) for a in accessions]
        p = [_cell(pred, a, name) for a in accessions]
        id_column = f"{name}_id"
        same = None
        if id_column in gold.columns and id_column in pred.columns:
            same = []
            for a, gv, pv in zip(accessions, g, p, strict=True):
                gid, pid = _cell(gold, a, id_column), _cell(pred, a, id_column)
                both = gid != UNKNOWN and pid != UNKNOWN
                same.append(gid == pid if both else gv == pv)
        scores[name] = score_field(name, g, p, same)
    missing = [a for a in accessions if a not in pred.index]
    return Evaluation(fields=scores, samples=len(accessions), missing=missing)


def read_gold(path: str | Any) -> pd.DataFrame:
    """A gold set read from CSV: every cell text, empty cells as empty strings.

    Raises
    ------
    ValueError
        If the file has no ``accession`` column.
    """
    import pandas as pd

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "accession" not in frame.columns:
        raise ValueError(f"{path}: a gold set needs an 'accession' column")
    return frame


def read_predictions(path: str | Any) -> pd.DataFrame:
    """Predictions read from CSV, wide or long (see :func:`predictions_frame`)."""
    import pandas as pd

    return predictions_frame(pd.read_csv(path, dtype=str, keep_default_na=False))


def format_evaluation(evaluation: Evaluation, *, confusion: bool = True) -> str:
    """The evaluation as text: a table of fields, then each field's confusion table."""
    lines = [
        f"{evaluation.samples} gold samples"
        + (f", {len(evaluation.missing)} without predictions" if evaluation.missing else ""),
        "",
        f"{'field':<22}{'n':>5}{'known':>7}{'acc':>8}{'acc_kn':>8}{'F1':>8}{'F1_kn':>8}"
        f"{'target':>8}",
    ]

    def fmt(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    for s in evaluation.fields.values():
        mark = "" if s.meets_target is None else (" ok" if s.meets_target else " below")
        lines.append(
            f"{s.field:<22}{s.n:>5}{s.n_known:>7}{fmt(s.accuracy):>8}{fmt(s.accuracy_known):>8}"
            f"{fmt(s.macro_f1):>8}{fmt(s.macro_f1_known):>8}{fmt(s.target):>8}{mark}"
        )
    if confusion:
        for s in evaluation.fields.values():
            lines += ["", f"{s.field}: gold (rows) x predicted (columns)"]
            lines.append(s.confusion_frame().to_string())
    return "\n".join(lines)
