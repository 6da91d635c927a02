"""Rules for what a sample is: organism, organ/tissue, cell type, cell line, disease and sex.

Each rule reads the keyed characteristics that name its field first, then free text by
precedence (see :mod:`exprhub.curate.labels.sources`), and stops at the first text that gives
a label. Ontology matches come from :mod:`exprhub.curate.labels.ontology`.
"""

from __future__ import annotations

import re
from dataclasses import replace

from exprhub.curate.labels.fields_specimen import WHOLE_ORGANISM_ID
from exprhub.curate.labels.finding import Finding, derived, make_label
from exprhub.curate.labels.model import UNKNOWN, Label
from exprhub.curate.labels.ontology import (
    Term,
    TermMatch,
    find_terms,
    match_value,
    most_specific,
    organ_part,
    term_index,
)
from exprhub.curate.labels.sites import negated
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
    by_adjective: list[Label] = []  # "bronchial": used when no text names an organ
    for i, text in enumerate(free):
        series = text.source.startswith("series.")
        if series and not series_text:
            break
        matches = _outside_diseases(text.text, find_terms(text.text, ontology), ontology)
        if any(m.exact for m in matches):  # names first; adjectives only without them
            matches = [m for m in matches if m.exact]
        if _ambiguous(text, matches):
            continue
        labels = _labels(field_name, text, matches, 0, False)
        if labels and all(not m.exact for m in matches):
            by_adjective = by_adjective or labels
        elif labels:
            return _weigh_disagreement(labels, free[i + 1 :], ontology)
    return by_adjective


def _outside_diseases(text: str, matches: list[TermMatch], ontology: str) -> list[TermMatch]:
    """Organs named in free text, less those inside a disease's name: "smokers without lung
    cancer" names no tissue of the sample (a tumour's organ comes from its disease label,
    :mod:`exprhub.curate.labels.sites`)."""
    if ontology != "UBERON" or not matches:
        return matches
    diseases = [(d.start, d.end) for d in find_terms(text, "MONDO")]
    return [m for m in matches if not any(s <= m.start and m.end <= e for s, e in diseases)]


def _ambiguous(text: SourceText, matches: list[TermMatch]) -> bool:
    """Whether a free text names too many terms to say which is the sample's: a series text
    naming more than one, a description more than two."""
    most = 1 if text.source.startswith("series.") else 2 if text.source == "description" else 0
    return bool(most) and len({m.term.id for m in most_specific(matches)}) > most


#: Free texts that can contradict a label (descriptions mention many structures, so a
#: description only joins a title or a source name of channel 2 that says the same).
_CONTRADICTING = ("source_name_ch1", "source_name_ch2", "title", "description")


def _weigh_disagreement(labels: list[Label], later: list[SourceText], ontology: str) -> list[Label]:
    """Labels checked against the sample's later free texts: where two of them (title and
    description, say) agree on another term (neither an ancestor nor a descendant of the
    label's), that term wins; where one of them names another term, the labels stay with
    less confidence."""
    index = term_index()
    chosen = [index.term(label.ontology_id or "") for label in labels]
    against: dict[str, list[tuple[SourceText, TermMatch]]] = {}
    for text in later:
        if text.source not in _CONTRADICTING or text.source == labels[0].source:
            continue
        for m in most_specific(find_terms(text.text, ontology)):
            related = any(
                t is not None
                and (m.term.id == t.id or m.term.id in t.ancestors or t.id in m.term.ancestors)
                for t in chosen
            )
            if not related:
                against.setdefault(m.term.id, []).append((text, m))
    if not against:
        return labels
    agreed = [found for found in against.values() if len({t.source for t, _ in found}) >= 2]
    if len(agreed) == 1:
        text, m = agreed[0][0]
        return _labels(labels[0].field, text, [m], 0, False)
    if any(t.source != "description" for found in against.values() for t, _ in found):
        return [replace(label, confidence=round(label.confidence * 0.6, 3)) for label in labels]
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


#: Keys naming where a sample was taken that the harmonized tissue keys lack.
SITE_KEYS: tuple[str, ...] = (
    "cancer site",
    "tumor site",
    "tumour site",
    "primary site",
    "anatomic site",
    "anatomical site",
    "body site",
    "sampling site",
    "biopsy site",
)
#: Words for a whole animal (UBERON's "multicellular organism"): worms, larvae, flies.
_WHOLE_ORGANISM = re.compile(
    r"\b(?:whole[\s\-](?:animals?|bod(?:y|ies)|organisms?|worms?|fl(?:y|ies)|larvae?|fish)|"
    r"hermaphrodites?|larvae|adult (?:worms|flies))\b",
    re.IGNORECASE,
)


#: CL's "neural cell", UBERON's "nervous system" and "brain": a part named alone ("cortical")
#: of a sample of neural cells or of nervous tissue is the brain's part (cerebral cortex).
NEURAL_CELL_ID = "CL:0002319"
NERVOUS_SYSTEM_ID = "UBERON:0001016"
BRAIN_ID = "UBERON:0000955"


def _of_organ(label: Label, finding: Finding) -> Label:
    """A part named alone ("Cortex") made the part of the organ the sample's other texts
    name ("brain, amygdala": cerebral cortex), where UBERON has that term; where they name
    no such organ, the brain's part when the sample is neural: its cell type is a neural cell
    (CL is_a ancestry: oligodendrocyte, neuron, astrocyte) or its own texts name a part of
    the nervous system ("Primary Cortical Oligodendrocyte Progenitor (OLP) cells": cerebral
    cortex)."""
    index = term_index()
    part = index.term(label.ontology_id or "")
    if part is None:
        return label
    organs = [
        m.term
        for text in finding.texts
        if not text.source.startswith("series.") and text.source != label.source
        for m in find_terms(text.text, "UBERON")
        if m.term.id != part.id
    ]
    whole = organ_part(part, organs)
    if whole is not None and any(o.id in whole.ancestors for o in organs):
        return replace(label, value=whole.label, ontology_id=whole.id)
    brain = index.term(BRAIN_ID)
    if brain is None or not _neural(finding, organs):
        return label
    whole = organ_part(part, [brain])
    if whole is None:
        return label
    return replace(
        label,
        value=whole.label,
        ontology_id=whole.id,
        confidence=round(label.confidence * 0.9, 3),
    )


def _neural(finding: Finding, organs: list[Term]) -> bool:
    """Whether the sample's cell type is a neural cell or its texts name nervous tissue."""
    index = term_index()
    for cell in finding.labels.get("cell_type", []):
        term = index.term(cell.ontology_id or "")
        if term is not None and NEURAL_CELL_ID in {term.id, *term.ancestors}:
            return True
    return any(NERVOUS_SYSTEM_ID in {o.id, *o.ancestors} for o in organs)


def tissue(finding: Finding) -> list[Label]:
    """Organ or tissue (UBERON), the most specific named; a whole animal (worms, larvae,
    hermaphrodites) is the "multicellular organism"."""
    found = _ontology_rule(
        finding, "tissue", "UBERON", ("specimen_part",), SITE_KEYS, series_text=True
    )
    if found:
        return [_of_organ(label, finding) for label in found]
    for text in finding.texts:
        match = _WHOLE_ORGANISM.search(text.text, text.offset)
        if match:
            term = term_index().term(WHOLE_ORGANISM_ID)
            label = term.label if term is not None else "multicellular organism"
            return [
                make_label(
                    "tissue",
                    label,
                    text,
                    match.start(),
                    match.end(),
                    ontology_id=WHOLE_ORGANISM_ID,
                    confidence=text.confidence * 0.8,
                )
            ]
    return []


def cell_type(finding: Finding) -> list[Label]:
    """Cell type (CL)."""
    return _ontology_rule(finding, "cell_type", "CL", ("specimen_part", "cell_line"))


def cell_line(finding: Finding) -> list[Label]:
    """Cell line (Cellosaurus)."""
    return _ontology_rule(finding, "cell_line", "CVCL", ("cell_line",), ("cell name",))


_NO = re.compile(r"^\s*(?:\d+\s+)?(?:no|none|negative|absent|false|0)\s*$", re.IGNORECASE)
_YES = re.compile(r"^\s*(?:\d+\s+)?(?:yes|positive|present|true|1)\s*$", re.IGNORECASE)


def _disease_keyed_otherwise(finding: Finding) -> list[Label]:
    """A disease in a keyed value of another key (``tissue: colorectal cancer``), or a key
    naming a disease with a yes/no value (``lung cancer: 3 No`` is normal, ``: Yes`` that
    disease)."""
    keyed = [
        t for t in finding.texts if t.key and not t.source.startswith(("characteristics_ch2",))
    ]
    # what a tissue or cell key holds first ("tissue: colorectal cancer"), then other keys
    keyed.sort(key=lambda t: not {"specimen_part", "cell_line"} & set(t.fields))
    for text in keyed:
        value, offset = value_of(text)
        by_key = match_value(text.key or "", "MONDO")
        if by_key is not None and by_key.exact and (_NO.match(value) or _YES.match(value)):
            end = offset + len(value.rstrip())
            if _NO.match(value):
                return [make_label("disease", "normal", text, offset, end, ontology_id=NORMAL_ID)]
            return [
                make_label(
                    "disease",
                    by_key.term.label,
                    text,
                    0,
                    end,
                    ontology_id=by_key.term.id,
                    method="ontology",
                )
            ]
        matches = [m for m in find_terms(value, "MONDO") if not negated(value, m.start)]
        if len({m.term.id for m in most_specific(matches)}) == 1:
            return _labels("disease", text, matches, offset, False)
    return []


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
    ) or _disease_keyed_otherwise(finding)
    if found:
        return found
    for text in finding.free():
        if text.source.startswith("series.") or text.source.endswith("_ch2"):
            continue
        matches = [m for m in find_terms(text.text, "MONDO") if not negated(text.text, m.start)]
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
        words = list(_SEX_FREE.finditer(value))  # counts: "3 Female", "1 Male, 2 Female"
        if words:
            found = {_sex_word(w.group(0)) for w in words}
            kind = found.pop() if len(found) == 1 else "mixed"
            end = offset + words[-1].end()
            return [make_label("sex", kind, text, offset + words[0].start(), end)]
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
