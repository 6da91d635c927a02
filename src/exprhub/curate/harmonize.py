"""Harmonized sample metadata keys, after refine.bio's mapping.

Submitters name the same thing many ways (``sex``, ``gender``, ``Sex``, ``subject gender``);
:func:`harmonize` maps characteristic keys onto one vocabulary of fields (sex, age,
age_group, specimen_part, genetic_information, disease, disease_stage, cell_line, treatment,
race, subject, developmental_stage, compound, time, specimen_type) and normalizes the values:
lower-cased and stripped, several values sorted and joined with ``;``, sex spelled ``female`` /
``male``.

A key matches in the plain form and as ``characteristic[s] [key]``, ``comment[s] [key]`` or
``factor value [key]``, with spaces, underscores, hyphens or nothing between words.

:data:`LABELS` is the one vocabulary of label names users give (the fields plus
the :data:`LABEL_ALIASES` such as ``tissue``, ``organ``, ``cell_type``, ``strain``, plus the
standardized fields of :mod:`exprhub.curate.labels`, :data:`STANDARD_FIELDS`), in search and
listings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SOURCE_KEYS: dict[str, tuple[str, ...]] = {
    "sex": ("sex", "gender", "subject gender", "subject sex"),
    "age": (
        "age",
        "patient age",
        "age of patient",
        "age (years)",
        "age (yrs)",
        "age (months)",
        "age (days)",
        "age (hours)",
        "age at diagnosis",
        "age at diagnosis years",
        "age at diagnosis (years)",
    ),
    "age_group": (
        "age group",
        "age category",
        "age class",
        "age range",
        "age bracket",
        "age cohort",
    ),
    "specimen_part": (
        "organism part",
        "cell type",
        "tissue",
        "tissue type",
        "tissue source",
        "tissue origin",
        "source tissue",
        "tissue subtype",
        "tissue/cell type",
        "tissue region",
        "tissue compartment",
        "tissues",
        "tissue of origin",
        "tissue-type",
        "tissue harvested",
        "cell/tissue type",
        "tissue subregion",
        "organ",
        "isolation source",
        "tissue sampled",
        "cell description",
    ),
    "genetic_information": (
        "strain/background",
        "strain",
        "strain or line",
        "background strain",
        "genotype",
        "genetic background",
        "genetic information",
        "genotype/variation",
        "ecotype",
        "cultivar",
        "strain/genotype",
    ),
    "disease": (
        "disease",
        "disease state",
        "disease status",
        "diagnosis",
        "infection with",
        "sample type",
    ),
    "disease_stage": (
        "disease state",
        "disease staging",
        "disease stage",
        "grade",
        "tumor grade",
        "who grade",
        "histological grade",
        "tumor grading",
        "disease outcome",
        "subject status",
    ),
    "cell_line": ("cell line",),
    "treatment": (
        "treatment",
        "treatment group",
        "treatment protocol",
        "drug treatment",
        "clinical treatment",
    ),
    "race": ("race", "ethnicity", "race/ethnicity"),
    "subject": (
        "subject",
        "subject id",
        "subject/sample source id",
        "subject identifier",
        "human subject anonymized id",
        "individual",
        "individual identifier",
        "individual id",
        "patient",
        "patient id",
        "patient identifier",
        "patient number",
        "patient no",
        "donor id",
        "donor",
        "source name",
    ),
    "developmental_stage": (
        "developmental stage",
        "development stage",
        "development stages",
        "dev stage",
    ),
    "compound": (
        "compound",
        "compound1",
        "compound2",
        "compound name",
        "drug",
        "drugs",
        "immunosuppressive drugs",
    ),
    "time": (
        "time",
        "initial time point",
        "start time",
        "stop time",
        "time point",
        "sampling time point",
        "sampling time",
        "time post infection",
    ),
    # what the sample is (primary tissue, cell line, organoid, xenograft...), as GEOmeta's
    # specimen type; "sample type" also feeds disease, as submitters use it for both
    "specimen_type": (
        "specimen type",
        "specimen",
        "sample type",
        "biomaterial type",
        "material type",
        "biospecimen type",
    ),
}

#: Harmonized field names, in a stable order.
FIELDS: tuple[str, ...] = tuple(SOURCE_KEYS)

_WRAPPERS = re.compile(r"^(?:characteristics?|comments?|factor value)\s*\[(.*)\]$")
_SEPARATORS = re.compile(r"[\s_\-]+")
_SEX = {
    "f": "female",
    "female": "female",
    "woman": "female",
    "m": "male",
    "male": "male",
    "man": "male",
}


def _squash(key: str) -> str:
    return _SEPARATORS.sub("", key.strip().lower())


def _build_index() -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for field, keys in SOURCE_KEYS.items():
        for key in keys:
            fields = index.setdefault(_squash(key), [])
            if field not in fields:
                fields.append(field)
    return index


_INDEX = _build_index()


def harmonized_fields(key: str) -> list[str]:
    """Harmonized fields a submitter's characteristic key maps to (often none, sometimes two:
    ``disease state`` is both disease and disease_stage)."""
    text = key.strip().lower()
    match = _WRAPPERS.match(text)
    if match:
        text = match.group(1)
    return list(_INDEX.get(_squash(text), []))


def normalize_value(field: str, value: str) -> str:
    """The value as refine.bio delivers it: lower-cased, stripped; sex as female/male."""
    text = value.strip().lower()
    if field == "sex":
        return _SEX.get(text, text)
    return text


def harmonize(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Harmonized fields from ``(key, value)`` characteristics; several values of one field
    are sorted and joined with ``;``."""
    collected: dict[str, set[str]] = {}
    for key, value in pairs:
        if not value or not value.strip():
            continue
        for field in harmonized_fields(key):
            collected.setdefault(field, set()).add(normalize_value(field, value))
    return {f: ";".join(sorted(collected[f])) for f in FIELDS if f in collected}


#: Other names of harmonized fields, accepted wherever a label is (they mean the field:
#: ``cell_type=hepatocyte`` matches a sample's ``specimen_part``, whatever key it came from).
LABEL_ALIASES: dict[str, str] = {
    "tissue": "specimen_part",
    "cell_type": "specimen_part",
    "strain": "genetic_information",
    "genotype": "genetic_information",
    "organ": "specimen_part",
}

#: The standardized label fields (GEOmeta's), which :mod:`exprhub.curate.labels` stores with
#: evidence. Where a name is also a harmonized field or alias (``sex``, ``tissue``), a
#: listing matches either the stored label or the harmonized characteristic.
STANDARD_FIELDS: tuple[str, ...] = (
    "organism",
    "strain",
    "race",
    "ethnicity",
    "genotype",
    "genotype_gene",
    "experimental_setting",
    "model_type",
    "specimen_type",
    "rna_source",
    "tissue",
    "cell_type",
    "cell_line",
    "disease",
    "age",
    "age_group",
    "developmental_stage",
    "sex",
    "perturbation",
    "perturbation_type",
    "dose",
    "frequency",
    "duration",
    "route",
    "timepoint",
    "outcome",
)
#: Other names of standardized fields.
STANDARD_ALIASES: dict[str, str] = {"organ": "tissue", "gender": "sex", "species": "organism"}

#: The one vocabulary of label names: every harmonized field and alias, every standardized
#: field and alias. Search's label
#: fields (``female[sex]``), ``exprhub ls --label``, ``Hub.samples(labels=...)`` and the
#: listings API all take exactly these. The order is the search index's: an index stores its
#: label list, and one built with another list is rebuilt.
LABELS: tuple[str, ...] = (
    "sex",
    "age",
    "age_group",
    "tissue",
    "specimen_part",
    "cell_type",
    "cell_line",
    "disease",
    "disease_stage",
    "treatment",
    "compound",
    "genetic_information",
    "strain",
    "genotype",
    "developmental_stage",
    "race",
    "time",
    "subject",
    # standardized fields not named above (appended: an index built before is rebuilt);
    # "organism" is not among them: search and listings have it as a field of their own
    "ethnicity",
    "genotype_gene",
    "experimental_setting",
    "model_type",
    "specimen_type",
    "rna_source",
    "perturbation",
    "perturbation_type",
    "dose",
    "frequency",
    "duration",
    "route",
    "timepoint",
    "outcome",
    "organ",
    "gender",
)
#: Standardized fields that search and listings have as fields of their own.
OWN_FIELDS: tuple[str, ...] = ("organism", "species")
if set(LABELS) != {*FIELDS, *LABEL_ALIASES, *STANDARD_FIELDS, *STANDARD_ALIASES} - set(
    OWN_FIELDS
) or len(set(LABELS)) != len(LABELS):
    raise RuntimeError("LABELS must list every harmonized and standardized field and alias once")


def sample_labels(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Every label (:data:`LABELS`, aliases included) of a sample's ``(key, value)``
    characteristics, each with its normalized values; labels without a value are left out.

    An alias carries its field's values (``strain: C57BL/6`` gives ``genetic_information``,
    ``strain`` and ``genotype`` the value ``c57bl/6``), so that a label name finds the same
    samples in search as in listings.
    """
    fields = harmonize(pairs)
    out: dict[str, list[str]] = {}
    for name in LABELS:
        value = fields.get(LABEL_ALIASES.get(name, name))
        if value:
            out[name] = value.split(";")
    return out


def _label_key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def standard_field(name: str) -> str | None:
    """The standardized field a label name means (``"organ"`` -> ``"tissue"``), or None."""
    key = _label_key(name)
    key = STANDARD_ALIASES.get(key, key)
    return key if key in STANDARD_FIELDS else None


def harmonized_field(name: str) -> str | None:
    """The harmonized field a label name means (``"tissue"`` -> ``"specimen_part"``), or
    None."""
    key = _label_key(name)
    key = LABEL_ALIASES.get(key, key)
    return key if key in FIELDS else None


def label_field(name: str) -> str:
    """The harmonized field a label name means (``"tissue"`` -> ``"specimen_part"``).

    Raises
    ------
    ValueError
        If ``name`` is not a harmonized field; the message lists the fields.
    """
    key = harmonized_field(name)
    if key is None:
        raise ValueError(f"unknown label {name!r}; labels are: {', '.join(sorted(LABELS))}")
    return key


def label_spellings(field: str, value: str) -> set[str]:
    """The lower-cased submitter values that :func:`normalize_value` turns into ``value``'s
    normalized form (``female`` for sex: ``female``, ``f``, ``woman``)."""
    wanted = normalize_value(field, value)
    if field == "sex":
        return {raw for raw, norm in _SEX.items() if norm == wanted} | {wanted}
    return {wanted}


def label_source_keys(field: str, keys: Iterable[str]) -> set[str]:
    """Those of ``keys`` (characteristic keys as submitted) that harmonize to ``field``."""
    return {k for k in keys if field in harmonized_fields(k)}
