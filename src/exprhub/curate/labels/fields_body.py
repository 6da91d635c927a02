"""Rules for what a sample is: organism, organ/tissue, cell type, cell line, disease and sex.

Each rule reads the keyed characteristics that name its field first, then free text by
precedence (see :mod:`exprhub.curate.labels.sources`), and stops at the first text that gives
a label. Ontology matches come from :mod:`exprhub.curate.labels.ontology`.
"""

from __future__ import annotations

import re
from dataclasses import replace

from exprhub.curate.labels.finding import Finding, derived, make_label
from exprhub.curate.labels.model import UNKNOWN, Label
from exprhub.curate.labels.ontology import (
    TermMatch,
    find_terms,
    match_value,
    most_specific,
    term_index,
)
from exprhub.curate.labels.sources import SourceText, value_of
from exprhub.curate.labels.taxonomy import tax_id


def organism(finding: Finding) -> list[Label]:
    """The organism of each channel, with its NCBI Taxonomy id (the record's tax id, else the
    scientific name looked up in NCBITaxon)."""
    out: list[Label] = []
    sample = finding.sample
    for channel in range(1, max(sample.channel_count, 1) + 1):
        names = sample.channel_values("organism", channel)
        taxids = sample.channel_values("taxid", channel)
        for i, name in enumerate(names):
            if not name.strip() or any(o.value == name.strip() for o in out):
                continue
            given = taxids[i].strip() if i < len(taxids) else ""
            number = int(given) if given.isdigit() else tax_id(name)
            text = SourceText(f"organism_ch{channel}", name, 1.0)
            start = len(name) - len(name.lstrip())
            out.append(
                make_label(
                    "organism",
                    name.strip(),
                    text,
                    start,
                    start + len(name.strip()),
                    ontology_id=f"NCBITaxon:{number}" if number else None,
                    method="rule" if given.isdigit() or not number else "ontology",
                )
            )
    return out


# What free text says instead of an organ or disease: "normal adjacent tissue" is normal, a
# "non-tumor" sample has no tumour.
_NEGATED = re.compile(
    r"\b(?:non|not|no|without|free of|absence of|adjacent|normal|healthy|uninvolved)"
    r"[\s\-][\w\s\-]{0,25}$",
    re.IGNORECASE,
)
#: PATO's "normal": the disease value of samples the record calls healthy or normal.
NORMAL_ID = "PATO:0000461"
_NORMAL = re.compile(
    r"\b(?:healthy|non[\s\-]?(?:tumou?r|cancer|malignant|diseased)|disease[\s\-]free|"
    r"tumou?r[\s\-]free|unaffected|normal[\s\-](?:adjacent|tissues?|donors?|subjects?|"
    r"individuals?|volunteers?|controls?|mucosa|samples?|human|mouse|mice|rats?))\b",
    re.IGNORECASE,
)
_NORMAL_VALUE = re.compile(
    r"^\s*(?:healthy(?: control)?|normal(?: control)?|control|none|no disease|"
    r"non[\s\-]?(?:tumou?r|cancer|diseased|malignant)|unaffected|healthy donor|"
    r"normal tissue|normal adjacent(?: tissue)?|adjacent normal(?: tissue)?)\s*$",
    re.IGNORECASE,
)


def _negated(text: str, start: int) -> bool:
    return bool(_NEGATED.search(text[max(0, start - 30) : start]))


def _ontology_rule(
    finding: Finding,
    field_name: str,
    ontology: str,
    harmonized: tuple[str, ...],
    keys: tuple[str, ...] = (),
    *,
    free_text: bool = True,
    series_text: bool = False,
) -> list[Label]:
    for text in finding.keyed(harmonized, keys):
        value, offset = value_of(text)
        whole = match_value(value, ontology)
        matches = [whole] if whole else find_terms(value, ontology)
        labels = _labels(field_name, text, matches, offset, whole is not None)
        if labels:
            return labels
    if not free_text:
        return []
    free = finding.free()
    for i, text in enumerate(free):
        series = text.source.startswith("series.")
        if series and not series_text:
            break
        matches = find_terms(text.text, ontology)
        if _ambiguous(text, matches):
            continue
        labels = _labels(field_name, text, matches, 0, False)
        if labels:
            return _weigh_disagreement(labels, free[i + 1 :], ontology)
    return []


def _ambiguous(text: SourceText, matches: list[TermMatch]) -> bool:
    """Whether a free text names too many terms to say which is the sample's: a series text
    naming more than one, a description more than two."""
    most = 1 if text.source.startswith("series.") else 2 if text.source == "description" else 0
    return bool(most) and len({m.term.id for m in most_specific(matches)}) > most


#: Free texts that can contradict a label (descriptions mention many structures).
_CONTRADICTING = ("source_name_ch1", "source_name_ch2", "title")


def _weigh_disagreement(labels: list[Label], later: list[SourceText], ontology: str) -> list[Label]:
    """Lower the confidence of labels that the sample's later free texts contradict (they
    name another term, neither an ancestor nor a descendant of the label's)."""
    index = term_index()
    chosen = [index.term(label.ontology_id or "") for label in labels]
    for text in later:
        if text.source not in _CONTRADICTING:
            continue
        for m in find_terms(text.text, ontology):
            related = any(
                t is not None
                and (m.term.id == t.id or m.term.id in t.ancestors or t.id in m.term.ancestors)
                for t in chosen
            )
            if not related:
                return [
                    replace(label, confidence=round(label.confidence * 0.6, 3)) for label in labels
                ]
    return labels


def _labels(
    field_name: str, text: SourceText, matches: list[TermMatch], offset: int, whole: bool
) -> list[Label]:
    out = []
    for m in most_specific(matches):
        confidence = text.confidence * (1.0 if m.exact else 0.85)
        out.append(
            make_label(
                field_name,
                m.term.label,
                text,
                offset + m.start,
                offset + m.end,
                ontology_id=m.term.id,
                method="ontology",
                confidence=confidence if whole or offset == 0 else confidence * 0.95,
            )
        )
    return out


def tissue(finding: Finding) -> list[Label]:
    """Organ or tissue (UBERON), the most specific named."""
    return _ontology_rule(finding, "tissue", "UBERON", ("specimen_part",), series_text=True)


def cell_type(finding: Finding) -> list[Label]:
    """Cell type (CL)."""
    return _ontology_rule(finding, "cell_type", "CL", ("specimen_part", "cell_line"))


def cell_line(finding: Finding) -> list[Label]:
    """Cell line (Cellosaurus)."""
    return _ontology_rule(finding, "cell_line", "CVCL", ("cell_line",), ("cell name",))


def disease(finding: Finding) -> list[Label]:
    """Disease (MONDO), or ``normal`` where the record says healthy/normal tissue. Free text
    is read in order of precedence, each text for a (not negated) disease, then for normal;
    the series' text is not read (a series about a disease has healthy controls too), nor
    channel 2 (a reference)."""
    for text in finding.keyed(("disease", "disease_stage")):
        value, offset = value_of(text)
        if _NORMAL_VALUE.match(value):
            end = offset + len(value.rstrip())
            return [make_label("disease", "normal", text, offset, end, ontology_id=NORMAL_ID)]
    found = _ontology_rule(
        finding, "disease", "MONDO", ("disease", "disease_stage"), free_text=False
    )
    if found:
        return found
    for text in finding.free():
        if text.source.startswith("series.") or text.source.endswith("_ch2"):
            continue
        matches = [m for m in find_terms(text.text, "MONDO") if not _negated(text.text, m.start)]
        if _ambiguous(text, matches):
            continue
        labels = _labels("disease", text, matches, 0, False)
        if labels:
            return labels
        match = _NORMAL.search(text.text)
        if match:
            return [
                make_label(
                    "disease",
                    "normal",
                    text,
                    match.start(),
                    match.end(),
                    ontology_id=NORMAL_ID,
                    confidence=text.confidence * 0.8,
                )
            ]
    return []


_SEX_WORDS = {
    "female": "female",
    "f": "female",
    "woman": "female",
    "women": "female",
    "girl": "female",
    "male": "male",
    "m": "male",
    "man": "male",
    "men": "male",
    "boy": "male",
    "mixed": "mixed",
    "both": "mixed",
    "pooled": "mixed",
    "male and female": "mixed",
    "female and male": "mixed",
    "males and females": "mixed",
    "m/f": "mixed",
    "f/m": "mixed",
    "unknown": UNKNOWN,
    "not available": UNKNOWN,
    "n/a": UNKNOWN,
    "na": UNKNOWN,
    "not determined": UNKNOWN,
    "unspecified": UNKNOWN,
    "not specified": UNKNOWN,
}
_SEX_FREE = re.compile(r"\b(females?|males?|wom[ae]n|girls?|boys?)\b", re.IGNORECASE)
# Sex-specific organs: UBERON's male and female reproductive systems and organisms.
_MALE_PARTS = frozenset({"UBERON:0000079", "UBERON:0003101"})
_FEMALE_PARTS = frozenset({"UBERON:0000474", "UBERON:0003100"})


def _sex_word(word: str) -> str:
    base = word.lower()
    return "female" if base.startswith(("fem", "wom", "girl")) else "male"


def sex(finding: Finding) -> list[Label]:
    """Sex: keyed values (``gender: F``), then words in free text of the sample (both sexes
    named: mixed), then a sex-specific organ (prostate: male; ovary: female)."""
    for text in finding.keyed(("sex",)):
        value, offset = value_of(text)
        norm = " ".join(value.strip().lower().split())
        if norm in _SEX_WORDS:
            return [make_label("sex", _SEX_WORDS[norm], text, offset, offset + len(value.rstrip()))]
    for text in finding.free():
        if text.source.startswith("series."):
            break
        words = list(_SEX_FREE.finditer(text.text))
        if not words:
            continue
        found = {_sex_word(w.group(0)) for w in words}
        first, last = words[0], words[-1]
        if len(found) > 1:
            return [
                make_label(
                    "sex",
                    "mixed",
                    text,
                    first.start(),
                    last.end(),
                    confidence=text.confidence * 0.9,
                )
            ]
        return [
            make_label(
                "sex",
                found.pop(),
                text,
                first.start(),
                first.end(),
                confidence=text.confidence * 0.9,
            )
        ]
    index = term_index()
    for organ in finding.labels.get("tissue", []):
        term = index.term(organ.ontology_id or "")
        if term is None:
            continue
        lineage = term.ancestors | {term.id}
        if lineage & _MALE_PARTS:
            return [derived("sex", "male", organ)]
        if lineage & _FEMALE_PARTS:
            return [derived("sex", "female", organ)]
    return []
