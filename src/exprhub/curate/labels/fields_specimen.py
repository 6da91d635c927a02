"""Rules for what kind of specimen a sample is: specimen type, experimental setting, RNA
source and (for mice) model type.

Specimen type is read from words that name it (organoid, xenograft/PDX, embryo/fetal,
primary culture, cultured tissue) and from the labels found before it (a cell line label
makes a cell line, an organ label a primary tissue); the experimental setting follows from
the specimen type unless the text says ``in vivo`` / ``ex vivo`` / ``in vitro`` itself:

- in vivo: what was taken from the organism and not grown outside it: primary tissue,
  embryos, xenografts, and primary cells isolated, sorted or brushed without culture;
- ex vivo: tissue kept alive outside the organism (explants, slices: tissue culture);
- in vitro: grown in culture: cell lines, organoids, and primary cells that the sample's
  texts or its growth and treatment protocols say were cultured, passaged or plated.

A sample with an organ but no specimen type (a whole animal) is in vivo.
"""

from __future__ import annotations

import re

from exprhub.curate.labels.finding import Finding, derived, make_label
from exprhub.curate.labels.model import Label
from exprhub.curate.labels.sources import SourceText

#: Specimen types, the words that name them, in the order they are tried.
SPECIMEN_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "organoid",
        re.compile(r"\b(?:organoids?|enteroids?|colonoids?|tumou?roids?|spheroids?)\b", re.I),
    ),
    ("PDX", re.compile(r"\b(?:PDX|patient[\s\-]derived xenografts?|xenografts?)\b", re.I)),
    (
        "primary cells",
        re.compile(
            r"\b(?:primary (?:cells?|cultures?|culture cells)|freshly isolated|"
            r"(?:FACS[\s\-]?|flow[\s\-])?sorted|isolated \w+ cells|PBMCs?|"
            r"peripheral blood mononuclear cells)\b",
            re.I,
        ),
    ),
    ("cell line", re.compile(r"\bcell[\s\-]lines?\b", re.I)),
    (
        "tissue culture",
        re.compile(
            r"\b(?:explants?|tissue (?:culture|slices?)|organotypic|slice cultures?)\b", re.I
        ),
    ),
    (
        "embryo/fetus",
        re.compile(r"\b(?:embryos?|embryonic|fetal|fetus|foetal|foetus|E\d{1,2}\.5)\b"),
    ),
)
#: UBERON's embryo and whole organism ("multicellular organism").
EMBRYO_ID, WHOLE_ORGANISM_ID = "UBERON:0000922", "UBERON:0000468"
SETTING_WORDS = re.compile(r"\b(in[\s\-]vivo|ex[\s\-]vivo|in[\s\-]vitro)\b", re.I)
#: The setting each specimen type implies (primary cells: when nothing says they were
#: cultured, see :func:`experimental_setting`).
SETTING_OF: dict[str, str] = {
    "primary tissue": "in vivo",
    "embryo/fetus": "in vivo",
    "PDX": "in vivo",
    "primary cells": "in vivo",
    "tissue culture": "ex vivo",
    "cell line": "in vitro",
    "organoid": "in vitro",
}
_CULTURED = re.compile(
    r"\b(?:cultured|cultures?|cultivated|passages?|passaged|plated|subcultured|in culture|"
    r"spheres?|neurospheres?|culture medium|growth medium|media)\b",
    re.I,
)
#: Protocol fields of a sample that say how its cells were kept before extraction.
PROTOCOLS: tuple[str, ...] = ("growth_protocol", "treatment_protocol")


def _protocol_texts(finding: Finding) -> list[SourceText]:
    out = []
    sample = finding.sample
    for channel in range(1, max(sample.channel_count, 1) + 1):
        for name in PROTOCOLS:
            for raw in sample.channel_values(name, channel):
                out.append(SourceText(f"{name}_ch{channel}", raw, 0.6))
    return out


def _culture_evidence(finding: Finding) -> tuple[SourceText, re.Match[str]] | None:
    """Where the sample's own texts or protocols say its cells were grown in culture."""
    own = [t for t in finding.texts if not t.source.startswith("series.")]
    for text in own + _protocol_texts(finding):
        match = _CULTURED.search(text.text, text.offset)
        if match:
            return text, match
    return None


def specimen_type(finding: Finding) -> list[Label]:
    """Specimen type: primary tissue, primary cells, cell line, organoid, PDX, embryo/fetus or
    tissue culture."""
    if finding.labels.get("cell_line"):
        return [
            derived(
                "specimen_type", "cell line", finding.labels["cell_line"][0], confidence_factor=1.0
            )
        ]
    for text in finding.texts:
        if text.source.startswith("series."):
            break
        for name, pattern in SPECIMEN_WORDS:
            match = pattern.search(text.text)
            if match:
                return [
                    make_label(
                        "specimen_type",
                        name,
                        text,
                        match.start(),
                        match.end(),
                        confidence=text.confidence * 0.9,
                    )
                ]
    cells = finding.labels.get("cell_type")
    organ = finding.labels.get("tissue")
    for basis in (cells or []) + (organ or []):
        sample_text = next((t for t in finding.texts if t.source == basis.source), None)
        if sample_text is not None and _CULTURED.search(sample_text.text, sample_text.offset):
            return [derived("specimen_type", "primary cells", basis, confidence_factor=0.7)]
    # cells named as surely as an organ (keyed "cell type" vs a series' organ; "cortical
    # oligodendrocytes" in one value): cells
    if cells and (not organ or cells[0].confidence >= organ[0].confidence):
        return [derived("specimen_type", "primary cells", cells[0], confidence_factor=0.7)]
    if organ and organ[0].ontology_id != WHOLE_ORGANISM_ID:  # a whole animal has no type
        return [derived("specimen_type", "primary tissue", organ[0], confidence_factor=0.9)]
    return []


def whole_embryo(finding: Finding) -> list[Label]:
    """An embryo whose own texts name no organ is the whole embryo (organ/tissue "embryo"):
    an organ only its series names does not count."""
    specimen = finding.labels.get("specimen_type", [])
    organ = finding.labels.get("tissue", [])
    if not specimen or specimen[0].value != "embryo/fetus":
        return []
    if organ and not all(label.source.startswith("series.") for label in organ):
        return []
    finding.labels.pop("tissue", None)
    return [derived("tissue", "embryo", specimen[0], ontology_id=EMBRYO_ID)]


def experimental_setting(finding: Finding) -> list[Label]:
    """In vivo, ex vivo or in vitro: as written, else from the specimen type."""
    for text in finding.texts:
        if text.source.startswith("series."):
            break
        match = SETTING_WORDS.search(text.text)
        if match:
            value = re.sub(r"[\s\-]+", " ", match.group(1).lower())
            return [make_label("experimental_setting", value, text, match.start(), match.end())]
    specimen = finding.labels.get("specimen_type")
    if specimen and specimen[0].value == "primary cells":
        cultured = _culture_evidence(finding)
        if cultured is not None:
            text, match = cultured
            return [
                make_label(
                    "experimental_setting",
                    "in vitro",
                    text,
                    match.start(),
                    match.end(),
                    confidence=text.confidence * 0.8,
                )
            ]
    if specimen and specimen[0].value in SETTING_OF:
        return [derived("experimental_setting", SETTING_OF[specimen[0].value], specimen[0])]
    organ = finding.labels.get("tissue")
    if not specimen and organ:
        return [derived("experimental_setting", "in vivo", organ[0], confidence_factor=0.7)]
    return []


_RNA_SOURCES = {
    "total rna": "total RNA",
    "polya rna": "polyA RNA",
    "cytoplasmic rna": "cytoplasmic RNA",
    "nuclear rna": "nuclear RNA",
    "genomic dna": "genomic DNA",
    "protein": "protein",
    "other": "other",
}


def rna_source(finding: Finding) -> list[Label]:
    """The extracted molecule of channel 1 (GEO's controlled ``molecule`` field)."""
    for raw in finding.sample.channel_values("molecule", 1):
        value = _RNA_SOURCES.get(" ".join(raw.lower().split()))
        if value:
            start = len(raw) - len(raw.lstrip())
            text = SourceText("molecule_ch1", raw, 1.0)
            return [make_label("rna_source", value, text, start, start + len(raw.strip()))]
    return []


def model_type(finding: Finding) -> list[Label]:
    """For mice and rats: genetically modified, xenograft or wild type (from the genotype and
    specimen labels)."""
    if finding.organism not in ("Mus musculus", "Rattus norvegicus"):
        return []
    specimen = finding.labels.get("specimen_type", [])
    if specimen and specimen[0].value == "PDX":
        return [derived("model_type", "xenograft", specimen[0])]
    genotype = finding.labels.get("genotype", [])
    if genotype:
        kind = genotype[0].value
        value = "wild type" if kind == "wild type" else "genetically modified"
        return [derived("model_type", value, genotype[0])]
    return []
