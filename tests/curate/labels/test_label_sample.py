"""label_sample on real GEO records: exact values, ontology terms and evidence."""

from __future__ import annotations

from exprhub.curate.labels import FIELDS, Label, label_sample
from exprhub.records import Sample


def by_field(labels: list[Label]) -> dict[str, list[Label]]:
    out: dict[str, list[Label]] = {}
    for label in labels:
        out.setdefault(label.field, []).append(label)
    return out


def one(labels: list[Label], field: str) -> Label:
    found = by_field(labels)[field]
    assert len(found) == 1, found
    return found[0]


def test_gsm11805_description_pairs_give_sex_and_age(geo_samples):
    """GSE781's GSM11805 says "Age = 70; Gender = Female" in its description."""
    samples, _ = geo_samples("geoquery/GSM11805.txt.gz")
    sample = samples["GSM11805"]
    labels = label_sample(sample)
    sex = one(labels, "sex")
    assert (sex.value, sex.source, sex.evidence, sex.method) == (
        "female",
        "description:gender",
        "Female",
        "rule",
    )
    line = sample.get_all("description")[0]
    assert line[sex.start : sex.end] == "Female"
    age = one(labels, "age")
    assert (age.value, age.evidence, line[age.start : age.end]) == ("70 years", "70", "70")
    assert one(labels, "age_group").value == "elderly 65-74"
    tissue = one(labels, "tissue")
    assert (tissue.value, tissue.ontology_id, tissue.source) == (
        "kidney",
        "UBERON:0002113",
        "title",
    )
    assert tissue.method == "ontology"
    # "normal tissue adjacent to Renal Cell Carcinoma": normal, not the carcinoma
    disease = one(labels, "disease")
    assert (disease.value, disease.ontology_id, disease.evidence) == (
        "normal",
        "PATO:0000461",
        "normal tissue",
    )
    organism = one(labels, "organism")
    assert (organism.value, organism.ontology_id) == ("Homo sapiens", "NCBITaxon:9606")
    assert one(labels, "specimen_type").value == "primary tissue"
    assert one(labels, "experimental_setting").value == "in vivo"


def test_gse2870_rat_brain_regions_and_stress(geo_samples):
    samples, series = geo_samples("gemma/GSE2870_family.soft.gz")
    assert len(samples) == 18
    for sample in samples.values():
        labels = label_sample(sample, series)
        organism = one(labels, "organism")
        assert (organism.value, organism.ontology_id) == ("Rattus norvegicus", "NCBITaxon:10116")
        tissue = one(labels, "tissue")
        # every source name says "brain, amygdala"; where the title and the description
        # both name another region, they win ("Cortex" of a brain: cerebral cortex)
        region = sample.title.split("-")[1].split("_")[0]
        expected = {
            "Amygdala": ("amygdala", "UBERON:0001876", "source_name_ch1"),
            "Hippocampus": ("hippocampal formation", "UBERON:0002421", "title"),
            "Cortex": ("cerebral cortex", "UBERON:0000956", "title"),
        }[region]
        assert (tissue.value, tissue.ontology_id, tissue.source) == expected
        assert one(labels, "rna_source").value == "total RNA"
        kind = one(labels, "perturbation_type").value
        assert kind in {"stress", "control"}
    stressed = label_sample(samples["GSM53299"], series)
    assert one(stressed, "perturbation").value == "Chronic Immobilization Stress"
    assert one(stressed, "perturbation_type").value == "stress"
    control = label_sample(samples["GSM53305"], series)
    assert one(control, "perturbation_type").value == "control"
    # a source name contradicted by one text keeps its value with less confidence
    amygdala = one(label_sample(samples["GSM53299"], series), "tissue")
    assert amygdala.confidence == 0.85


def test_gse1623_mouse_pancreas_strain_and_age(geo_samples):
    samples, series = geo_samples("gemma/GSE1623_family.soft.txt.gz")
    labels = label_sample(samples["GSM27452"], series)
    assert one(labels, "tissue").ontology_id == "UBERON:0001264"
    strain = one(labels, "strain")
    assert (strain.value, strain.source, strain.evidence) == ("NOD.scid", "title", "NOD.scid")
    age = one(labels, "age")
    assert (age.value, age.source, age.evidence) == ("3 weeks", "description", "3 week old")
    assert one(labels, "age_group").value == "3-8 weeks"


def test_gse3791_human_and_mouse_sex_and_strain(geo_samples):
    samples, series = geo_samples("gemma/GSE3791_family.soft.gz")
    human = label_sample(samples["GSM87191"], series)
    sex = one(human, "sex")
    assert (sex.value, sex.source, sex.evidence, sex.confidence) == (
        "male",
        "characteristics_ch1:gender",
        "Male",
        0.95,
    )
    assert one(human, "organism").ontology_id == "NCBITaxon:9606"
    assert "strain" not in by_field(human)  # strains are for mice and rats
    # "Stembase Experiment ID: E189" is no embryonic day
    assert "age" not in by_field(human)
    mouse = label_sample(samples["GSM87197"], series)
    assert one(mouse, "organism").ontology_id == "NCBITaxon:10090"
    assert one(mouse, "strain").value == "CD-1"


def test_gse11897_knockout_ovary_gives_genotype_and_sex(geo_samples):
    samples, series = geo_samples("gemma/GSE11897_family.soft.gz")
    labels = label_sample(samples["GSM177882"], series)
    assert one(labels, "genotype").value == "knockout"
    assert one(labels, "genotype_gene").value == "Nobox"
    assert one(labels, "tissue").ontology_id == "UBERON:0000992"
    assert one(labels, "sex").value == "female"
    assert one(labels, "model_type").value == "genetically modified"


def test_gse432_two_channel_reference_is_not_the_sample(geo_samples):
    samples, series = geo_samples("gemma/GSE432_family.soft.gz")
    labels = label_sample(samples["GSM6595"], series)
    assert one(labels, "tissue").value == "liver"
    assert one(labels, "strain").value == "C57BL/6"
    # channel 2 is "Control RNA obtained from Stratagene": no disease from it
    assert "disease" not in by_field(labels)


def test_biopython_organoids_are_a_specimen_type_not_a_tissue(geo_samples):
    samples, _ = geo_samples("biopython/GSM691.txt")
    labels = label_sample(samples["GSM691"])
    assert one(labels, "specimen_type").value == "organoid"
    assert one(labels, "experimental_setting").value == "in vitro"
    assert one(labels, "tissue").value == "breast"
    assert all("organoid" not in label.value for label in by_field(labels)["tissue"])


def test_keyed_cell_type_and_cell_line(geo_samples):
    samples, series = geo_samples("gemma/GSE29006_family.soft.gz")
    sample = next(iter(samples.values()))
    labels = label_sample(sample, series)
    cell = one(labels, "cell_type")
    assert (cell.ontology_id, cell.source) == ("CL:0002368", "characteristics_ch1:cell type")
    assert one(labels, "specimen_type").value == "primary cells"


def _sample(**attributes: str | list[str]) -> Sample:
    sample = Sample("GSM1")
    for key, values in attributes.items():
        for value in [values] if isinstance(values, str) else values:
            sample.add(key, value)
    return sample


def test_cell_line_treatment_dose_and_ancestry():
    sample = _sample(
        organism_ch1="Homo sapiens",
        source_name_ch1="MCF-7 cells treated with 10 nM estradiol for 24 h",
        characteristics_ch1=["cell line: MCF7", "race: African American"],
    )
    labels = label_sample(sample)
    line = one(labels, "cell_line")
    assert (line.value, line.ontology_id, line.evidence) == ("MCF-7", "CVCL_0031", "MCF7")
    assert one(labels, "specimen_type").value == "cell line"
    assert one(labels, "race").ontology_id == "HANCESTRO:0568"
    assert one(labels, "perturbation").value == "estradiol"
    assert one(labels, "dose").value == "10 nM"
    assert one(labels, "duration").value == "24 h"


def test_negation_and_unknown():
    normal = label_sample(
        _sample(organism_ch1="Homo sapiens", characteristics_ch1="disease state: non-tumor")
    )
    assert one(normal, "disease").value == "normal"
    unknown = label_sample(_sample(organism_ch1="Homo sapiens", characteristics_ch1="sex: N/A"))
    assert one(unknown, "sex").value == "unknown"
    # nothing said: no label (not a guess)
    bare = label_sample(_sample(organism_ch1="Homo sapiens", title="sample 1"))
    assert {label.field for label in bare} == {"organism"}


def test_sex_from_sex_specific_organ_and_mixed():
    prostate = label_sample(_sample(organism_ch1="Homo sapiens", source_name_ch1="prostate"))
    sex = one(prostate, "sex")
    assert (sex.value, sex.evidence, sex.method) == ("male", "prostate", "rule")
    assert sex.confidence < one(prostate, "tissue").confidence
    pooled = label_sample(_sample(organism_ch1="Mus musculus", title="pooled males and females"))
    assert one(pooled, "sex").value == "mixed"


def test_labels_are_in_field_order_and_spans_point_at_evidence(geo_samples):
    samples, series = geo_samples("gemma/GSE11897_family.soft.gz")
    for sample in samples.values():
        labels = label_sample(sample, series)
        order = [FIELDS.index(label.field) for label in labels]
        assert order == sorted(order)
        for label in labels:
            assert label.end - label.start == len(label.evidence)
            assert 0 < label.confidence <= 1
            assert label.method in {"rule", "ontology"}
