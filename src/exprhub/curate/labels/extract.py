"""Labelling a sample: every field rule, in an order where later rules may read earlier
labels (specimen type reads cell line and organ; a part named alone reads the cell type; an
organ falls back on the disease's site;
sex falls back on a sex-specific organ; age group reads age)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from exprhub.curate.labels import fields_body as body
from exprhub.curate.labels import fields_specimen as specimen
from exprhub.curate.labels import fields_subject as subject
from exprhub.curate.labels import fields_treatment as treatment
from exprhub.curate.labels import sites
from exprhub.curate.labels.finding import Finding
from exprhub.curate.labels.model import FIELDS, Label
from exprhub.curate.labels.sources import sample_sources
from exprhub.records import Sample, Series

#: The rules in the order they run.
RULES: tuple[Callable[[Finding], list[Label]], ...] = (
    body.organism,
    body.cell_line,
    body.cell_type,
    body.tissue,
    body.disease,
    sites.tissue_from_disease,
    specimen.specimen_type,
    specimen.whole_embryo,
    specimen.experimental_setting,
    specimen.rna_source,
    subject.age,
    subject.age_group,
    subject.development_stage,
    subject.strain,
    subject.race,
    subject.ethnicity,
    subject.genotype,
    specimen.model_type,
    body.sex,
    treatment.perturbation,
    treatment.timepoint,
    treatment.outcome,
)


def label_sample(sample: Sample, series: Sequence[Series] = ()) -> list[Label]:
    """Standardized labels of ``sample`` with their evidence, read from its own metadata and
    that of its ``series`` (see :mod:`exprhub.curate.labels.sources` for the precedence).

    Pure: reads nothing but its arguments (and the packaged ontologies). Fields without
    evidence get no label; ``unknown`` appears only where the record says so.
    """
    finding = Finding(sample, series, sample_sources(sample, series))
    for rule in RULES:
        for label in rule(finding):
            finding.labels.setdefault(label.field, []).append(label)
    order = {name: i for i, name in enumerate(FIELDS)}
    out = [label for labels in finding.labels.values() for label in labels]
    return sorted(out, key=lambda label: order.get(label.field, len(order)))
