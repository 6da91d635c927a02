"""Rules for who the sample came from: age and age group, strain, race and ethnicity,
genotype (kind and gene)."""

from __future__ import annotations

import re

from exprhub.curate.labels.age import Age, parse_age, unit_from_key
from exprhub.curate.labels.age import age_group as group_of
from exprhub.curate.labels.finding import Finding, derived, make_label
from exprhub.curate.labels.model import Label
from exprhub.curate.labels.ontology import find_terms, match_value
from exprhub.curate.labels.sources import SourceText, value_of

# Free text names an age only with "old" / "aged" / "age" around it, or as an embryonic day.
_AGE_CONTEXT = re.compile(r"\b(?:aged?|old)\b", re.I)
#: Keys of a group's average age: an age, but no age group (a pool's members differ).
MEAN_AGE_KEYS: tuple[str, ...] = ("average age", "mean age", "median age", "age (mean)")
_MEAN = " (mean)"


def _free_age(text: SourceText) -> Age | None:
    found = parse_age(text.text, postnatal=False)
    if found is None:
        return None
    around = text.text[max(0, found.start - 12) : found.end + 8]
    return found if found.unit == "embryonic day" or _AGE_CONTEXT.search(around) else None


def age(finding: Finding) -> list[Label]:
    """Age as value and unit (``12 weeks``, ``12-15 weeks``, ``E12.5``, ``P21``,
    ``45 years``; a keyed average age ``29.7 years (mean)``); in free text of the sample,
    else of its series when the series names one age only."""
    for text in finding.keyed(("age", "developmental_stage"), MEAN_AGE_KEYS):
        value, offset = value_of(text)
        key = (text.key or "").strip().lower()
        unit = unit_from_key(key)
        if unit is None and finding.organism == "Homo sapiens" and "age" in key:
            unit = "years"  # a bare human age is in years
        found = parse_age(value, unit=unit)
        if found:
            shown = found.text + (_MEAN if key in MEAN_AGE_KEYS else "")
            return [make_label("age", shown, text, offset + found.start, offset + found.end)]
    series: list[tuple[SourceText, Age]] = []
    for text in finding.free():
        found = _free_age(text)
        if found is None:
            continue
        if text.source.startswith("series."):
            series.append((text, found))
            continue
        return [
            make_label(
                "age", found.text, text, found.start, found.end, confidence=text.confidence * 0.9
            )
        ]
    if len({found.text for _, found in series}) == 1:
        text, found = series[0]
        return [
            make_label(
                "age", found.text, text, found.start, found.end, confidence=text.confidence * 0.9
            )
        ]
    return []


def age_group(finding: Finding) -> list[Label]:
    """Age group from the age label (human and rodent bands; not of an average age), else
    a keyed age group, else ``embryonic`` (``fetal`` for humans) for an embryo."""
    for basis in finding.labels.get("age", []):
        if basis.value.endswith(_MEAN):
            return []
        parsed = parse_age(basis.value)
        group = group_of(parsed, finding.organism) if parsed else None
        if group:
            return [derived("age_group", group, basis, confidence_factor=1.0)]
    specimen = finding.labels.get("specimen_type", [])
    if specimen and specimen[0].value == "embryo/fetus":
        group = "fetal" if finding.organism == "Homo sapiens" else "embryonic"
        return [derived("age_group", group, specimen[0], confidence_factor=0.9)]
    for text in finding.keyed(("age_group",)):
        value, offset = value_of(text)
        if value.strip():
            return [
                make_label(
                    "age_group", value.strip().lower(), text, offset, offset + len(value.rstrip())
                )
            ]
    return []


def development_stage(finding: Finding) -> list[Label]:
    """Embryonic, fetal, postnatal, juvenile or adult, as the keyed stage or age says."""
    for text in finding.keyed(("developmental_stage",)):
        value, offset = value_of(text)
        if value.strip():
            return [
                make_label(
                    "developmental_stage",
                    value.strip().lower(),
                    text,
                    offset,
                    offset + len(value.rstrip()),
                )
            ]
    for basis in finding.labels.get("age", []):
        parsed = parse_age(basis.value)
        if parsed and parsed.days is not None:
            stage = "embryonic" if parsed.days < 0 else "postnatal"
            if parsed.days >= 0 and finding.organism in ("Mus musculus", "Rattus norvegicus"):
                stage = (
                    "adult"
                    if parsed.days >= 56
                    else "juvenile"
                    if parsed.days >= 21
                    else "postnatal"
                )
            elif parsed.days >= 0 and finding.organism == "Homo sapiens":
                stage = "adult" if parsed.days >= 18 * 365.25 else "child"
            return [derived("developmental_stage", stage, basis)]
    return []


#: Mouse and rat strains as written (no shipped ontology has them); longest first.
STRAINS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.I))
    for name, pattern in (
        ("C57BL/6", r"\bC57\s*/?\s*BL\s*/?\s*(?:6|J6)\w*|\bB6\b|\bC57BL6\w*"),
        ("BALB/c", r"\bBALB\s*/?\s*c\w*"),
        ("NOD.scid", r"\bNOD[.\-/ ]?scid\b|\bNSG\b"),
        ("NOD", r"\bNOD\b"),
        ("129", r"\b129(?:/\w+|S\w*|X1|P\d)\b"),
        ("FVB", r"\bFVB(?:/N\w*)?\b"),
        ("DBA/2", r"\bDBA\s*/?\s*2\w*"),
        ("C3H", r"\bC3H(?:/He\w*)?\b"),
        ("CD-1", r"\bCD-?1\b(?![\w-])"),
        ("Swiss Webster", r"\bSwiss[\s\-]Webster\b"),
        ("Sprague-Dawley", r"\bSprague[\s\-]?Dawley\b|\bSD rats?\b"),
        ("Wistar", r"\bWistar(?:[\s\-]Kyoto)?\b"),
        ("Fischer 344", r"\bF(?:ischer)?[\s\-]?344\b"),
        ("Lewis", r"\bLewis rats?\b"),
    )
)


def strain(finding: Finding) -> list[Label]:
    """Mouse or rat strain."""
    if finding.organism not in ("Mus musculus", "Rattus norvegicus"):
        return []
    for text in finding.keyed(("genetic_information",)) + finding.free():
        if text.source.startswith("series.") and not text.key:
            break
        for name, pattern in STRAINS:
            match = pattern.search(text.text, text.offset)
            if match:
                return [make_label("strain", name, text, match.start(), match.end())]
    return []


def _ancestry(finding: Finding, field_name: str, keys: tuple[str, ...]) -> list[Label]:
    if finding.organism != "Homo sapiens":
        return []
    for text in finding.keyed(("race",)):
        if keys and not any(k in (text.key or "").lower() for k in keys):
            continue
        value, offset = value_of(text)
        whole = match_value(value, "HANCESTRO")
        matches = [whole] if whole else find_terms(value, "HANCESTRO")
        for m in matches:
            return [
                make_label(
                    field_name,
                    m.term.label,
                    text,
                    offset + m.start,
                    offset + m.end,
                    ontology_id=m.term.id,
                    method="ontology",
                )
            ]
        if value.strip():
            return [
                make_label(field_name, value.strip(), text, offset, offset + len(value.rstrip()))
            ]
    return []


def race(finding: Finding) -> list[Label]:
    """Race or ancestry of a human donor (HANCESTRO where it names a term)."""
    return _ancestry(finding, "race", ("race", "ancestry"))


def ethnicity(finding: Finding) -> list[Label]:
    """Ethnicity of a human donor, as keyed."""
    return _ancestry(finding, "ethnicity", ("ethnic",))


#: Genotype kinds and the words that name them, most specific first.
GENOTYPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("knock-in", re.compile(r"\bknock[\s\-]?in\b|\bKI\b")),
    ("knockdown", re.compile(r"\bknock[\s\-]?down\b|\b(?:si|sh)RNA\b|\bKD\b", re.I)),
    (
        "knockout",
        re.compile(r"\bknock[\s\-]?out\b|\bKO\b|-/-|\bnull\b|\bdeficient\b|\bdeleted\b", re.I),
    ),
    ("overexpression", re.compile(r"\bover[\s\-]?express\w*|\bOE\b", re.I)),
    ("transgenic", re.compile(r"\btransgenic\b|\bTg\b|\bTg\(", re.I)),
    ("mutant", re.compile(r"\bmutants?\b|\bmutation\b|\bmutated\b", re.I)),
    ("wild type", re.compile(r"\bwild[\s\-]?type\b|\bWT\b|\+/\+", re.I)),
)
_GENE = re.compile(r"\b([A-Za-z][A-Za-z0-9]{1,9})(?:\s*[-\s]?\s*)$")
_GENE_AFTER = re.compile(r"^\s*(?:of|for|against|targeting)?\s*([A-Z][A-Za-z0-9]{1,9})\b")
_NOT_GENES = frozenset(
    {
        "gene",
        "mice",
        "mouse",
        "rat",
        "rats",
        "cells",
        "cell",
        "the",
        "and",
        "with",
        "type",
        "wild",
        "control",
        "sirna",
        "shrna",
        "double",
        "conditional",
        "line",
        "strain",
        "null",
    }
)


def _gene_near(text: str, start: int, end: int) -> tuple[int, int] | None:
    before = _GENE.search(text[max(0, start - 14) : start])
    if before and before.group(1).lower() not in _NOT_GENES:
        offset = max(0, start - 14)
        return offset + before.start(1), offset + before.end(1)
    after = _GENE_AFTER.match(text[end : end + 24])
    if after and after.group(1).lower() not in _NOT_GENES:
        return end + after.start(1), end + after.end(1)
    return None


def genotype(finding: Finding) -> list[Label]:
    """Genotype kind (knockout, knock-in, knockdown, mutant, transgenic, overexpression, wild
    type) and, where named next to it, the gene (``genotype_gene``)."""
    texts = finding.keyed(("genetic_information",), ("genotype",)) + finding.free()
    for text in texts:
        if text.source.startswith("series."):
            break
        for kind, pattern in GENOTYPES:
            match = pattern.search(text.text, text.offset)
            if not match:
                continue
            out = [make_label("genotype", kind, text, match.start(), match.end())]
            if kind != "wild type":
                gene = _gene_near(text.text, match.start(), match.end())
                if gene:
                    symbol = text.text[gene[0] : gene[1]]
                    out.append(
                        make_label(
                            "genotype_gene", symbol, text, *gene, confidence=text.confidence * 0.8
                        )
                    )
            return out
    return []
