"""Sex predicted from refined expression (Y-linked genes against XIST), and the check of a
sample's annotated sex against it.

The rule (docs/label_checks.md has the evidence):

1. Each sample is read on its own, from the refinery's gene-level values (any platform, any
   technology: microarray intensities, log ratios excluded, RNA-seq). Every gene with a value
   gets its **percentile rank within the sample** (0 = lowest, 1 = highest; ties share their
   mean rank). Ranks make array and RNA-seq values, MAS5, RMA and counts comparable without
   a batch, and work for a series of one sex or a single sample.
2. ``y`` = the mean rank of the sample's Y-linked marker genes measured (human RPS4Y1, DDX3Y,
   KDM5D, EIF1AY, UTY, USP9Y; where the platform has none of these, ZFY, NLGN4Y, TXLNGY,
   PRKY; mouse and rat Ddx3y, Kdm5d, Eif2s3y, Uty). ``x`` = the rank of XIST (Xist).
   In males the Y genes are expressed and XIST is not; in females the reverse.
3. ``score = y - x``. **male** when ``score >= 0.2`` and ``y >= 0.6``; **female** when
   ``score <= -0.2`` and ``x >= 0.7``; otherwise **uncertain** (pools of both sexes, tissues
   with low expression of both, platforms measuring the markers badly). Confidence is
   ``min(1, |score| / 0.6)`` for a call and 0 for uncertain.

A sample whose organism has no markers here, or whose values miss XIST or every Y marker, is
uncertain with the reason said. The check (:func:`sex_disagreements`) flags a sample when its
annotated sex is male or female and the prediction is the other one; ``uncertain`` never
flags.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from exprhub.curate.harmonize import harmonize
from exprhub.records import RecordType, Sample
from exprhub.refine.store import gene_symbols, refine_states, refined_matrix

if TYPE_CHECKING:
    import pandas as pd

    from exprhub.hub import Hub

METHOD = "expression rule: Y-linked genes vs XIST (within-sample ranks)"
#: Version of the rule; raise it when a threshold or marker list changes.
RULE_VERSION = "1"

MALE_SCORE = 0.2
MALE_Y = 0.6
FEMALE_X = 0.7
FULL_CONFIDENCE_SCORE = 0.6
#: Samples whose refined columns are read at once.
READ_BATCH = 512


@dataclass(frozen=True)
class SexMarkers:
    """Marker genes of one organism: Y-linked genes (the robust ones first, then those used
    only where none of the first is measured) and the X-inactivation transcript."""

    y_genes: tuple[str, ...]
    y_fallback: tuple[str, ...]
    x_gene: str


_RODENT = SexMarkers(("Ddx3y", "Kdm5d", "Eif2s3y", "Uty"), (), "Xist")

#: Markers by NCBI Taxonomy id (human, mouse, rat).
MARKERS: dict[int, SexMarkers] = {
    9606: SexMarkers(
        ("RPS4Y1", "DDX3Y", "KDM5D", "EIF1AY", "UTY", "USP9Y"),
        ("ZFY", "NLGN4Y", "TXLNGY", "PRKY"),
        "XIST",
    ),
    10090: _RODENT,
    10116: _RODENT,
}


@dataclass(frozen=True)
class SexCall:
    """The sex predicted for one sample.

    Attributes
    ----------
    sample
        The sample's accession.
    tax_id
        Its organism (NCBI Taxonomy id) as refined, if refined.
    sex
        ``male``, ``female`` or ``uncertain``.
    confidence
        0-1; 0 when uncertain.
    score, y_level, x_level
        ``y - x``, the mean rank of the Y markers measured, the rank of XIST (None when not
        measured).
    y_genes
        The Y markers measured, ``;``-separated.
    reason
        Why the call is what it is, one line.
    """

    sample: str
    tax_id: int | None
    sex: str
    confidence: float
    score: float | None
    y_level: float | None
    x_level: float | None
    y_genes: str
    reason: str


def call_sex(y_level: float | None, x_level: float | None) -> tuple[str, float, float | None]:
    """``(sex, confidence, score)`` from the Y and XIST levels (ranks in 0-1) by the rule of
    this module's docstring."""
    if y_level is None or x_level is None:
        return "uncertain", 0.0, None
    score = y_level - x_level
    confidence = min(1.0, abs(score) / FULL_CONFIDENCE_SCORE)
    if score >= MALE_SCORE and y_level >= MALE_Y:
        return "male", confidence, score
    if score <= -MALE_SCORE and x_level >= FEMALE_X:
        return "female", confidence, score
    return "uncertain", 0.0, score


def marker_ids(symbols: Mapping[str, str], markers: SexMarkers) -> dict[str, list[str]]:
    """Marker symbol -> the gene ids of that symbol, from an organism's id -> symbol map."""
    wanted = {*markers.y_genes, *markers.y_fallback, markers.x_gene}
    out: dict[str, list[str]] = {}
    for gene_id, symbol in symbols.items():
        if symbol in wanted:
            out.setdefault(symbol, []).append(str(gene_id))
    return out


def _ranks(values: pd.Series, ids: Iterable[str]) -> dict[str, float]:
    """Percentile ranks within the sample (ties share their mean rank, as
    ``Series.rank(pct=True)``) of those of ``ids`` that have a value."""
    measured = values.dropna()
    ordered = np.sort(measured.to_numpy(dtype=np.float64))
    n = ordered.shape[0]
    out = {}
    for gene_id in ids:
        if gene_id in measured.index:
            v = float(measured[gene_id])
            below = int(np.searchsorted(ordered, v, side="left"))
            equal = int(np.searchsorted(ordered, v, side="right")) - below
            out[gene_id] = (below + (equal + 1) / 2) / n
    return out


def levels_of(
    values: pd.Series, ids: Mapping[str, Sequence[str]], markers: SexMarkers
) -> tuple[float | None, float | None, list[str]]:
    """``(y_level, x_level, y_genes_used)`` of one sample from its values by gene id and the
    marker gene ids (:func:`marker_ids`); a symbol with several ids counts its highest rank."""
    ranks = _ranks(values, [i for group in ids.values() for i in group])

    def levels(genes: Iterable[str]) -> dict[str, float]:
        out = {}
        for gene in genes:
            found = [ranks[i] for i in ids.get(gene, []) if i in ranks]
            if found:
                out[gene] = max(found)
        return out

    y = levels(markers.y_genes) or levels(markers.y_fallback)
    x = levels([markers.x_gene]).get(markers.x_gene)
    y_level = float(np.mean(list(y.values()))) if y else None
    return y_level, x, list(y)


def marker_levels(
    values: pd.Series, symbols: Mapping[str, str], markers: SexMarkers
) -> tuple[float | None, float | None, list[str]]:
    """``(y_level, x_level, y_genes_used)`` of one sample.

    Parameters
    ----------
    values
        The sample's values by gene id (NaN where not measured).
    symbols
        Gene id -> symbol of the organism.
    markers
        The organism's markers.
    """
    return levels_of(values, marker_ids(symbols, markers), markers)


def _uncertain(sample: str, tax_id: int | None, reason: str) -> SexCall:
    return SexCall(sample, tax_id, "uncertain", 0.0, None, None, None, "", reason)


def predict_sex(hub: Hub, samples: Sequence[str]) -> list[SexCall]:
    """Predict the sex of ``samples`` from their refined values (one :class:`SexCall` each,
    in order). Samples not refined, of an organism without markers here, or without XIST or
    any Y marker measured are ``uncertain`` with the reason."""
    states = refine_states(hub, samples)
    ids_of: dict[int, dict[str, list[str]]] = {}
    by_sample: dict[str, SexCall] = {}
    refined = [s for s in samples if s in states]
    for start in range(0, len(refined), READ_BATCH):
        frame = refined_matrix(hub, refined[start : start + READ_BATCH], sort=False)
        for sample in frame.columns:
            state = states[sample]
            tax = state.tax_id
            markers = MARKERS.get(tax) if tax is not None else None
            if markers is None or tax is None:
                by_sample[sample] = _uncertain(sample, tax, f"no sex markers for tax id {tax}")
                continue
            if state.value_kind and "ratio" in state.value_kind:
                reason = "log ratios against a reference: not ranked"
                by_sample[sample] = _uncertain(sample, tax, reason)
                continue
            if tax not in ids_of:
                ids_of[tax] = marker_ids(gene_symbols(hub, tax), markers)
            by_sample[sample] = _call(sample, tax, frame[sample], ids_of[tax], markers)
    missing = "not refined (run exprhub refine)"
    return [by_sample.get(s) or _uncertain(s, None, missing) for s in samples]


def _call(
    sample: str, tax: int, values: pd.Series, ids: Mapping[str, Sequence[str]], markers: SexMarkers
) -> SexCall:
    y, x, used = levels_of(values, ids, markers)
    if x is None or y is None:
        missing = [] if y is not None else ["every Y marker"]
        missing += [] if x is not None else [markers.x_gene]
        return _uncertain(sample, tax, f"{' and '.join(missing)} not measured")
    sex, confidence, score = call_sex(y, x)
    reason = f"Y markers at rank {y:.2f}, {markers.x_gene} at {x:.2f}" + (
        "" if sex != "uncertain" else ": neither pattern is clear"
    )
    return SexCall(sample, tax, sex, confidence, score, y, x, ";".join(used), reason)


def calls_frame(calls: Sequence[SexCall]) -> pd.DataFrame:
    """Sex calls as a DataFrame, one row per sample (index: ``sample``)."""
    import pandas as pd

    columns = list(SexCall.__dataclass_fields__)
    frame = pd.DataFrame([asdict(c) for c in calls], columns=columns)
    return frame.set_index("sample")


_STATED = re.compile(r"\b(?:sex|gender)\s*[:=]\s*(female|male|f|m)\b", re.IGNORECASE)


def stated_sex(record: Sample) -> tuple[str, str] | None:
    """``(sex, where)`` the sample's record states: a harmonized ``sex`` characteristic, else
    ``Gender = ...`` / ``Sex: ...`` in its description; None when it says nothing or says
    more than one sex (a pool)."""
    pairs = [
        pair for ch in range(1, record.channel_count + 1) for pair in record.characteristics(ch)
    ]
    sex = harmonize(pairs).get("sex")
    if sex in ("male", "female"):
        return sex, "characteristics"
    if sex:
        return None
    found = {
        "male" if m.group(1).lower().startswith("m") else "female"
        for line in record.get_all("description")
        for m in _STATED.finditer(line)
    }
    if len(found) == 1:
        return found.pop(), "description"
    return None


def annotated_sex(hub: Hub, samples: Sequence[str]) -> dict[str, tuple[str, str]]:
    """The sex each sample's record states, ``sample -> (sex, where)``; samples that state
    none (and DataSet columns without a sample record) are absent."""
    out: dict[str, tuple[str, str]] = {}
    for sample in samples:
        if not hub.has(sample, RecordType.SAMPLE):
            continue
        record = hub.record(sample, RecordType.SAMPLE, table=False)
        if isinstance(record, Sample):
            stated = stated_sex(record)
            if stated is not None:
                out[sample] = stated
    return out


@dataclass(frozen=True)
class SexCheck:
    """The annotated sex of a sample against the predicted one.

    Attributes
    ----------
    sample, annotated, annotated_from, predicted, confidence
        The sample; its annotated sex (``unknown`` when none) and where it was read; the
        prediction and its confidence.
    flag
        True when the annotation and a confident prediction disagree.
    status
        ``disagree``, ``agree``, ``uncertain`` (no call from expression), ``not annotated``.
    reason
        The prediction's reason.
    """

    sample: str
    annotated: str
    annotated_from: str
    predicted: str
    confidence: float
    flag: bool
    status: str
    reason: str


def sex_disagreements(
    annotated: Mapping[str, tuple[str, str] | str], calls: Sequence[SexCall]
) -> list[SexCheck]:
    """Compare annotated with predicted sex, one :class:`SexCheck` per call.

    ``annotated`` maps a sample to its sex (``male``/``female``; anything else counts as not
    annotated), or to ``(sex, where it was read)``.
    """
    checks = []
    for call in calls:
        given = annotated.get(call.sample)
        sex, where = (given, "given") if isinstance(given, str) else (given or ("unknown", ""))
        sex = (sex or "unknown").strip().lower()
        if sex not in ("male", "female"):
            status, flag = "not annotated", False
        elif call.sex == "uncertain":
            status, flag = "uncertain", False
        else:
            flag = call.sex != sex
            status = "disagree" if flag else "agree"
        checks.append(
            SexCheck(
                call.sample,
                sex if sex in ("male", "female") else "unknown",
                where if sex in ("male", "female") else "",
                call.sex,
                call.confidence,
                flag,
                status,
                call.reason,
            )
        )
    return checks


def checks_frame(checks: Sequence[SexCheck]) -> pd.DataFrame:
    """Sex checks as a DataFrame, one row per sample (index: ``sample``)."""
    import pandas as pd

    columns = list(SexCheck.__dataclass_fields__)
    return pd.DataFrame([asdict(c) for c in checks], columns=columns).set_index("sample")
