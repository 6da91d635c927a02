"""The rules from the gold set's error analysis, each on the real records that showed the
need (docs/labels.md): experimental setting, organs from adjectives, parts and diseases,
sex counts, disease-named keys, ages after birth and from the series, embryos and whole
animals."""

from __future__ import annotations

from dataclasses import replace

import pytest

from exprhub.curate.labels import label_sample
from exprhub.curate.labels.ontology import find_terms
from exprhub.curate.labels.sites import disease_site


def _value(labels, field):
    found = [label for label in labels if label.field == field]
    return found[0].value if found else None


def _labelled(geo_samples, name, accession):
    samples, series = geo_samples(name)
    return label_sample(samples[accession], series)


@pytest.mark.parametrize(
    ("accession", "sex", "disease"),
    [
        ("GSM718707", "female", "normal"),  # "gender: 3 Female"; title "Healthy non-smoker"
        ("GSM718708", "mixed", "normal"),  # "gender: 1 Male, 2 Female"
        ("GSM718709", "mixed", "normal"),  # "lung cancer: 3 No"
        ("GSM718710", "mixed", "lung cancer"),  # "lung cancer: 3 Yes"
    ],
)
def test_bronchial_brushings_pools(geo_samples, accession, sex, disease):
    labels = _labelled(geo_samples, "gemma/GSE29006_family.soft.gz", accession)
    assert (_value(labels, "sex"), _value(labels, "disease")) == (sex, disease)
    # "bronchial ... brushings" in the series summary; "lung" only inside "lung cancer"
    tissue = next(label for label in labels if label.field == "tissue")
    assert (tissue.value, tissue.source, tissue.evidence) == (
        "bronchus",
        "series.summary",
        "bronchial",
    )
    # brushed cells, never cultured: primary cells, in vivo; a pool's mean age has no group
    assert _value(labels, "specimen_type") == "primary cells"
    assert _value(labels, "experimental_setting") == "in vivo"
    assert _value(labels, "age").endswith("years (mean)")
    assert _value(labels, "age_group") is None


def test_cultured_primary_cells_are_in_vitro(geo_samples):
    # "Retinal sphere cells"; growth protocol "Culture conditions: 37 C, 5% CO2"
    labels = _labelled(geo_samples, "gemma/GSE3791_family.soft.gz", "GSM87191")
    assert _value(labels, "specimen_type") == "primary cells"
    setting = next(label for label in labels if label.field == "experimental_setting")
    # "RNA isolated from first passage retinal sphere cells"
    assert (setting.value, setting.evidence) == ("in vitro", "passage")
    # an adjective ("Retinal") gives way to an organ the series names
    assert _value(labels, "tissue") == "ciliary epithelium"
    # "cell type: Primary Cortical Oligodendrocyte Progenitor (OLP) cells", plated in Sato
    # media (growth protocol): cells named with their organ, in vitro
    olp = _labelled(geo_samples, "phantasus/GSE99709_series_matrix.txt.gz", "GSM2650749")
    assert (_value(olp, "specimen_type"), _value(olp, "tissue")) == (
        "primary cells",
        "cerebral cortex",
    )
    setting = next(label for label in olp if label.field == "experimental_setting")
    assert (setting.value, setting.source, setting.evidence) == (
        "in vitro",
        "growth_protocol_ch1",
        "plated",
    )


def test_keyed_site_and_disease_of_a_tumour(geo_samples):
    labels = _labelled(geo_samples, "gemma/GSM5230452.xml", "GSM5230452")
    assert _value(labels, "tissue") == "large intestine"  # "cancer site: Large intestine"
    assert _value(labels, "disease") == "colorectal cancer"  # "tissue: colorectal cancer"
    assert _value(labels, "specimen_type") == "primary tissue"
    assert (_value(labels, "age"), _value(labels, "age_group")) == ("75 years", "elderly 75-84")


def test_ages_after_birth_and_from_the_series(geo_samples):
    ovary = _labelled(geo_samples, "gemma/GSE11897_family.soft.gz", "GSM177882")
    assert (_value(ovary, "age"), _value(ovary, "age_group")) == ("P0.5", "0-3 weeks")
    # the series says "Forty male C57BL6 mice 12-15 weeks old", the samples nothing
    muscle = _labelled(geo_samples, "gemma/GSE2122.soft.gz", "GSM38112")
    age = next(label for label in muscle if label.field == "age")
    assert (age.value, age.source) == ("12-15 weeks", "series.summary")
    assert _value(muscle, "age_group") == "12-26 weeks"


def test_embryos_and_whole_animals(geo_samples):
    embryo = _labelled(geo_samples, "biopython/soft_ex_affy.txt", "Drosophila_T0-1")
    assert _value(embryo, "specimen_type") == "embryo/fetus"
    assert (_value(embryo, "tissue"), _value(embryo, "age_group")) == ("embryo", "embryonic")
    worms = _labelled(geo_samples, "gemma/GSE730_family.xml", "GSM11095")
    tissue = next(label for label in worms if label.field == "tissue")
    assert (tissue.ontology_id, tissue.evidence) == ("UBERON:0000468", "hermaphrodites")
    assert _value(worms, "specimen_type") is None  # a whole animal has no specimen type
    assert _value(worms, "experimental_setting") == "in vivo"


def test_organs_of_diseases_and_adjectives():
    site = disease_site("MONDO:0005575")  # colorectal cancer: a large intestine disorder
    assert site is not None and site.label == "large intestine"
    assert disease_site("MONDO:0005005").label == "kidney"  # clear cell renal carcinoma
    assert disease_site("MONDO:0004992") is None  # "cancer" has no site
    found = find_terms("renal cortex and hepatic tissue", "UBERON")
    assert [(m.term.id, m.exact) for m in found] == [
        ("UBERON:0001225", True),  # the kidney's cortex, by name
        ("UBERON:0002107", False),  # the liver, by its adjective
    ]


def test_bare_cortex_of_neural_cells_is_the_cerebral_cortex(geo_samples):
    # "cell type: Primary Cortical Oligodendrocyte Progenitor (OLP) cells": no organ named;
    # the cell type (oligodendrocyte) is a neural cell by CL's is_a ancestry
    samples, series = geo_samples("phantasus/GSE99709_series_matrix.txt.gz")
    olp = samples["GSM2650749"]
    labels = label_sample(olp, series)
    tissue = next(label for label in labels if label.field == "tissue")
    assert (tissue.value, tissue.ontology_id, tissue.evidence) == (
        "cerebral cortex",
        "UBERON:0000956",
        "Cortical",
    )
    assert next(label for label in labels if label.field == "cell_type").ontology_id == (
        "CL:0000128"
    )
    # the same record without its neural cell type: the cortex of no organ stays generic
    attributes = [
        (key, "cell type: Primary Cortical cells" if value.startswith("cell type:") else value)
        for key, value in olp.attributes
    ]
    plain = label_sample(replace(olp, attributes=attributes), series)
    assert (_value(plain, "tissue"), _value(plain, "cell_type")) == ("cortex", None)
