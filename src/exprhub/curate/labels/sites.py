"""The organ a disease is in, read from MONDO itself: the UBERON terms that the names of a
disease and its MONDO ancestors contain ("clear cell renal carcinoma" is a "kidney cancer":
kidney; "colorectal cancer" is a "large intestine disorder": large intestine), the most
specific of them. A sample whose texts name no organ takes the site of its disease, or of
the one disease its study (the series, or the DataSet) is about: a study of renal cell
carcinoma took kidney tissue, its normal samples included.
"""

from __future__ import annotations

import functools
import re

from exprhub.curate.labels.finding import Finding, derived, make_label
from exprhub.curate.labels.model import Label
from exprhub.curate.labels.ontology import Term, find_terms, most_specific, term_index

#: Texts that negate a disease named after them ("non-tumor", "normal adjacent to").
_NEGATED = re.compile(
    r"\b(?:non|not|no|without|free of|absence of|adjacent|normal|healthy|uninvolved)"
    r"[\s\-][\w\s\-]{0,25}$",
    re.IGNORECASE,
)


def negated(text: str, start: int) -> bool:
    """Whether the words just before ``start`` negate what follows (``non-tumor``)."""
    return bool(_NEGATED.search(text[max(0, start - 30) : start]))


@functools.lru_cache(maxsize=4096)
def disease_site(term_id: str) -> Term | None:
    """The organ (UBERON term) of a MONDO disease, or None when its names give none or
    several unrelated ones."""
    index = term_index()
    disease = index.term(term_id)
    if disease is None:
        return None
    found = []
    for name_id in {disease.id, *disease.ancestors}:
        named = index.term(name_id)
        if named is not None and name_id.startswith("MONDO:"):
            found += find_terms(named.label, "UBERON")
    sites = {m.term.id: m.term for m in most_specific(found)}
    return next(iter(sites.values())) if len(sites) == 1 else None


def tissue_from_disease(finding: Finding) -> list[Label]:
    """Organ/tissue from a disease when no text names one: the site of the sample's disease,
    else of the one disease the sample's or its study's free text names."""
    if finding.labels.get("tissue"):
        return []
    for disease in finding.labels.get("disease", []):
        site = disease_site(disease.ontology_id or "")
        if site is not None:
            return [
                derived("tissue", site.label, disease, ontology_id=site.id, confidence_factor=0.7)
            ]
    for text in finding.free():
        if text.source.endswith("_ch2"):
            continue
        named = [m for m in find_terms(text.text, "MONDO") if not negated(text.text, m.start)]
        terms = {m.term.id: m for m in most_specific(named)}
        if len(terms) != 1:
            continue
        match = next(iter(terms.values()))
        site = disease_site(match.term.id)
        if site is not None:
            return [
                make_label(
                    "tissue",
                    site.label,
                    text,
                    match.start,
                    match.end,
                    ontology_id=site.id,
                    confidence=text.confidence * 0.6,
                )
            ]
    return []
