"""Samples without a record of their own (DataSet columns, samples a series lists) are labelled
from what the hub holds about them, on real GEO files."""

from __future__ import annotations

import exprhub
from exprhub.curate.labels import LABELLER_VERSION
from exprhub.curate.labels.listed_samples import CURATED_SUBSET
from exprhub.hub.labels import sample_labels, unrecorded_samples

GDS507 = "geoquery/GDS507.soft.gz"  # RCC vs normal kidney, no GSM records
GDS1829 = "gemma/GDS1829.soft.gz"  # glioblastoma cell lines, subsets "cell line"
GSE180363 = "gemma/GSE180363.miniml.xml"  # a MINiML series view listing its samples only


def _one(labels, field):
    found = [label for label in labels if label.field == field]
    assert len(found) == 1, (field, found)
    return found[0]


def test_dataset_columns_are_labelled_from_curated_subsets(tmp_path, geo_fixtures):
    hub = exprhub.Hub.init(tmp_path / "hub")
    result = hub.import_files(geo_fixtures / GDS507)[0]
    assert result.labelled == 17  # its columns, none with a sample record
    assert "GSM11810" in unrecorded_samples(hub) and len(unrecorded_samples(hub)) == 17
    normal = hub.sample_labels("GSM11810")  # a DataSet column is a sample of the hub
    disease = _one(normal, "disease")
    assert (disease.value, disease.ontology_id, disease.source, disease.method) == (
        "normal",
        "PATO:0000461",
        "GDS507_2:disease state",
        CURATED_SUBSET,
    )
    assert (disease.evidence, disease.start, disease.end) == ("normal", 0, 6)
    # the DataSet's organism; its description's "renal clear cell tumor tissue": kidney
    assert _one(normal, "organism").value == "Homo sapiens"
    tissue = _one(normal, "tissue")
    assert (tissue.value, tissue.ontology_id, tissue.source, tissue.evidence) == (
        "kidney",
        "UBERON:0002113",
        "GDS507:description",
        "renal",
    )
    assert _one(normal, "specimen_type").value == "primary tissue"
    assert _one(normal, "experimental_setting").value == "in vivo"
    tumour = hub.sample_labels("GSM11815")
    disease = _one(tumour, "disease")
    # the subset says "RCC"; the DataSet's title names the more specific term
    assert (disease.value, disease.ontology_id) == (
        "clear cell renal carcinoma",
        "MONDO:0005005",
    )
    # read, listed and relabelled like any sample, through the public API
    table = hub.labels("GDS507")
    assert len(table) == 17 and table.loc["GSM11810", "disease"] == "normal"
    report = hub.relabel("GDS507")
    assert (report.samples, report.changes) == (17, [])
    stored = sample_labels(hub, ["GSM11810"])["GSM11810"]
    assert {s.labeller_version for s in stored} == {LABELLER_VERSION}
    hub.close()


def test_dataset_text_holds_for_fields_no_subset_splits(tmp_path, geo_fixtures):
    hub = exprhub.Hub.init(tmp_path / "hub")
    hub.import_files(geo_fixtures / GDS1829)
    labels = hub.sample_labels("GSM40629")
    specimen = _one(labels, "specimen_type")
    assert (specimen.value, specimen.source, specimen.method) == (
        "cell line",
        "GDS1829_1:cell line",
        CURATED_SUBSET,
    )
    assert _one(labels, "experimental_setting").value == "in vitro"
    # the subset "disease state: primary tumor" names no disease; the title does
    disease = _one(labels, "disease")
    assert (disease.value, disease.source, disease.evidence) == (
        "glioblastoma",
        "GDS1829:title",
        "glioblastomas",
    )
    # MONDO places glioblastoma in the central nervous system
    assert _one(labels, "tissue").ontology_id == "UBERON:0001017"
    hub.close()


def test_samples_a_series_only_lists_take_its_text(tmp_path, geo_fixtures):
    hub = exprhub.Hub.init(tmp_path / "hub")
    hub.import_files(geo_fixtures / GSE180363)
    keys = unrecorded_samples(hub)
    assert len(keys) == 16 and keys[0] == "GSM5461497"
    labels = hub.labels_of("GSE180363")["GSM5461497"]
    organism = _one(labels, "organism")
    # the series has no organism field: its title names the mice
    assert (organism.value, organism.ontology_id, organism.source, organism.evidence) == (
        "Mus musculus",
        "NCBITaxon:10090",
        "series.title",
        "mice",
    )
    tissue = _one(labels, "tissue")
    assert (tissue.value, tissue.source) == ("islet of Langerhans", "series.title")
    assert _one(labels, "experimental_setting").value == "in vivo"
    assert not [label for label in labels if label.field == "sex"]  # "2 sexes": unknown
    hub.close()


def test_a_sample_record_replaces_the_labels_of_its_dataset(tmp_path, geo_fixtures):
    hub = exprhub.Hub.init(tmp_path / "hub")
    hub.import_files(geo_fixtures / "gemma/GDS1794.soft.gz")
    before = hub.sample_labels("GSM53311")
    tissue = _one(before, "tissue")
    # subset "cortex" of a DataSet titled "... on the amygdala and hippocampus": nervous
    # tissue named, so the bare cortex is the cerebral cortex
    assert (tissue.value, tissue.source, tissue.method) == (
        "cerebral cortex",
        "GDS1794_1:tissue",
        CURATED_SUBSET,
    )
    hub.import_files(geo_fixtures / "gemma/GSE2870_family.soft.gz")
    assert unrecorded_samples(hub) == []
    after = hub.sample_labels("GSM53311")
    assert all(label.method != CURATED_SUBSET for label in after)
    assert _one(after, "tissue").value == "cerebral cortex"
    hub.close()
