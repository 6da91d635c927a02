"""Simulated GEO series-level records: series and SuperSeries, series matrix contents and the
curated DataSet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from exprhub.records import Database, DataSet, Record, Sample, Series, Subset, Table
from exprhub.simulate.genes import organism_info
from exprhub.simulate.manifest import SimulatedDataSet, SimulatedSeries
from exprhub.simulate.platform import CONTROL, PlatformSpec
from exprhub.simulate.samples import sample_attributes
from exprhub.simulate.series import (
    FTP,
    SeriesPlan,
    sample_columns,
    series_values,
    value_cells,
    value_format,
)
from exprhub.simulate.vocab import geo_date

__all__ = [
    "DataSetPlan",
    "dataset_records",
    "family_database",
    "matrix_records",
    "plan_dataset",
    "series_record",
    "superseries_record",
]

_GEO = (
    ("Database_name", "Gene Expression Omnibus (GEO)"),
    ("Database_institute", "NCBI NLM NIH"),
    ("Database_web_link", "http://www.ncbi.nlm.nih.gov/geo"),
    ("Database_email", "geo@ncbi.nlm.nih.gov"),
)


def family_database() -> Database:
    """The ``^DATABASE = GeoMiame`` record that opens a family file."""
    return Database("GeoMiame", list(_GEO))


def _series_attributes(plan: SeriesPlan, superseries: str | None) -> list[tuple[str, str]]:
    info = organism_info(plan.organism)
    attrs = [
        ("Series_title", plan.title),
        ("Series_geo_accession", plan.accession),
        ("Series_status", f"Public on {geo_date(plan.released)}"),
        ("Series_submission_date", geo_date(plan.submitted)),
        ("Series_last_update_date", geo_date(plan.updated)),
        *[("Series_pubmed_id", p) for p in plan.pubmed_ids],
        *[("Series_summary", s) for s in plan.summary],
        ("Series_overall_design", plan.overall_design),
        ("Series_type", plan.series_type),
        *[("Series_contributor", c) for c in plan.contributors],
        *[("Series_sample_id", g) for g in plan.sample_ids],
        *plan.contact,
    ]
    folder = f"{FTP}/series/{plan.accession[:-3]}nnn/{plan.accession}/suppl"
    attrs.append(("Series_supplementary_file", f"{folder}/{plan.accession}_RAW.tar"))
    if plan.rnaseq:
        attrs.append(("Series_supplementary_file", f"{folder}/{plan.accession}_gene_counts.txt.gz"))
    attrs += [
        ("Series_platform_id", plan.platform.accession),
        ("Series_platform_taxid", str(info.taxid)),
        ("Series_sample_taxid", str(info.taxid)),
    ]
    if superseries:
        attrs.append(("Series_relation", f"SubSeries of: {superseries}"))
    bioproject = f"https://www.ncbi.nlm.nih.gov/bioproject/PRJNA9{plan.accession[3:]}"
    attrs.append(("Series_relation", f"BioProject: {bioproject}"))
    if plan.rnaseq:
        sra = f"https://www.ncbi.nlm.nih.gov/sra?term=SRP9{plan.accession[3:]}"
        attrs.append(("Series_relation", f"SRA: {sra}"))
    return attrs


def series_record(plan: SeriesPlan, superseries: str | None) -> Series:
    """The record of a (sub)series; ``superseries`` is the SuperSeries it belongs to, if any."""
    return Series(plan.accession, _series_attributes(plan, superseries))


def superseries_record(accession: str, subs: list[SeriesPlan]) -> tuple[Series, SimulatedSeries]:
    """The record and manifest entry of a SuperSeries made of ``subs``."""
    first = subs[0]
    released = max(s.released for s in subs)
    platforms = list(dict.fromkeys(s.platform.accession for s in subs))
    organisms = list(dict.fromkeys(s.organism for s in subs))
    samples = [g for s in subs for g in s.sample_ids]
    title = f"{first.title} (SuperSeries)"
    bioproject = f"https://www.ncbi.nlm.nih.gov/bioproject/PRJNA9{accession[3:]}"
    attrs = [
        ("Series_title", title),
        ("Series_geo_accession", accession),
        ("Series_status", f"Public on {geo_date(released)}"),
        ("Series_submission_date", geo_date(max(s.submitted for s in subs))),
        ("Series_last_update_date", geo_date(max(s.updated for s in subs))),
        *[("Series_pubmed_id", p) for p in first.pubmed_ids],
        ("Series_summary", "This SuperSeries is composed of the SubSeries listed below."),
        ("Series_overall_design", "Refer to individual Series"),
        *[("Series_type", t) for t in dict.fromkeys(s.series_type for s in subs)],
        *[("Series_contributor", c) for c in first.contributors],
        *[("Series_sample_id", g) for g in samples],
        *first.contact,
        *[("Series_platform_id", p) for p in platforms],
        *[("Series_platform_taxid", str(organism_info(o).taxid)) for o in organisms],
        *[("Series_sample_taxid", str(organism_info(o).taxid)) for o in organisms],
        *[("Series_relation", f"SuperSeries of: {s.accession}") for s in subs],
        ("Series_relation", f"BioProject: {bioproject}"),
    ]
    info = SimulatedSeries(
        accession=accession,
        kind="superseries",
        title=title,
        organism=first.organism,
        platforms=platforms,
        samples=samples,
        subseries=[s.accession for s in subs],
    )
    return Series(accession, attrs), info


def matrix_records(plan: SeriesPlan, superseries: str | None) -> tuple[Series, list[Sample]]:
    """The Series and Samples of a series matrix file (one ``ID_REF``/``VALUE`` table each).

    The matrix lists the series' samples in one ``Series_sample_id`` line, as GEO's do.
    """
    attrs: list[tuple[str, str]] = []
    for key, value in _series_attributes(plan, superseries):
        if key == "Series_sample_id":
            if not any(k == key for k, _ in attrs):
                attrs.append((key, " ".join(plan.sample_ids) + " "))
            continue
        attrs.append((key, value))
    spec = plan.platform
    log2 = None if plan.rnaseq else series_values(plan)
    samples: list[Sample] = []
    for j, sample in enumerate(plan.samples):
        rows = spec.n_probes - len(sample.missing_rows)
        record = Sample(sample.gsm, sample_attributes(plan, sample, superseries, rows))
        if log2 is not None:
            keep = np.ones(spec.n_probes, dtype=bool)
            keep[sample.missing_rows] = False
            values = sample_columns(plan, log2[:, j], j)["VALUE"][keep]
            ids = spec.id_column()[keep]
            record.table = Table(
                ["ID_REF", "VALUE"], [ids, value_cells(values, value_format(plan))]
            )
        samples.append(record)
    return Series(plan.accession, attrs), samples


@dataclass
class DataSetPlan:
    """A curated DataSet built from one microarray series."""

    accession: str
    plan: SeriesPlan
    order: list[int]
    info: SimulatedDataSet


def plan_dataset(accession: str, plan: SeriesPlan) -> DataSetPlan:
    """Plan a GDS of ``plan``: subsets by the design factor and by sex."""
    info = plan.info
    order = [j for j, s in enumerate(plan.samples) if s.group == 0]
    order += [j for j, s in enumerate(plan.samples) if s.group == 1]
    subsets: list[dict[str, Any]] = []
    for label in (info.control_group, info.case_group):
        assert label is not None
        subsets.append(
            {"type": info.factor_type, "description": label, "samples": list(info.groups[label])}
        )
    for sex in ("female", "male"):
        members = [plan.samples[j].gsm for j in order if plan.samples[j].sex == sex]
        if members:
            subsets.append({"type": "gender", "description": sex, "samples": members})
    for k, subset in enumerate(subsets, start=1):
        subset["accession"] = f"{accession}_{k}"
    value_type = "count" if plan.scale == "raw" else "transformed count"
    gds = SimulatedDataSet(
        accession=accession,
        series=plan.accession,
        platform=plan.platform.accession,
        value_type=value_type,
        samples=[plan.samples[j].gsm for j in order],
        subsets=subsets,
    )
    return DataSetPlan(accession, plan, order, gds)


def _identifier(spec: PlatformSpec, row: int) -> str:
    kind = int(spec.kinds[row])
    if kind == CONTROL:
        return "--Control"
    genes = spec.probe_genes(row)
    return genes[0].symbol if genes else spec.ids[row]


def _dataset_attributes(gds: DataSetPlan) -> list[tuple[str, str]]:
    plan, spec = gds.plan, gds.plan.platform
    return [
        ("dataset_title", plan.title),
        ("dataset_description", plan.summary[0]),
        ("dataset_type", "Expression profiling by array"),
        *[("dataset_pubmed_id", p) for p in plan.pubmed_ids],
        ("dataset_platform", spec.accession),
        ("dataset_platform_organism", plan.organism),
        ("dataset_platform_technology_type", "in situ oligonucleotide"),
        ("dataset_feature_count", str(spec.n_probes)),
        ("dataset_sample_organism", plan.organism),
        ("dataset_sample_type", "RNA"),
        ("dataset_channel_count", "1"),
        ("dataset_sample_count", str(len(plan.samples))),
        ("dataset_value_type", gds.info.value_type),
        ("dataset_reference_series", plan.accession),
        ("dataset_order", "none"),
        ("dataset_update_date", geo_date(plan.updated)),
    ]


def _dataset_table(gds: DataSetPlan) -> tuple[list[tuple[str, str]], Table]:
    """The DataSet's column descriptions and value table (probes x samples, group order)."""
    plan, spec = gds.plan, gds.plan.platform
    log2 = series_values(plan)
    columns = [("ID_REF", "Platform reference identifier"), ("IDENTIFIER", "identifier")]
    identifiers = [_identifier(spec, r) for r in range(spec.n_probes)]
    cells: list[np.ndarray | list[str]] = [spec.id_column(), identifiers]
    for j in gds.order:
        sample = plan.samples[j]
        columns.append(
            (sample.gsm, f"Value for {sample.gsm}: {sample.title}; src: {sample.source}")
        )
        value = sample_columns(plan, log2[:, j], j)["VALUE"]
        value[sample.missing_rows] = np.nan
        cells.append(value_cells(value, value_format(plan)))
    return columns, Table([name for name, _ in columns], cells)


def dataset_records(gds: DataSetPlan) -> list[Record]:
    """The records of the GDS SOFT file: ``^DATABASE = Geo``, the DataSet and its Subsets."""
    columns, table = _dataset_table(gds)
    records: list[Record] = [
        Database("Geo", list(_GEO)),
        DataSet(gds.accession, _dataset_attributes(gds), columns, table),
    ]
    for subset in gds.info.subsets:
        attrs = [
            ("subset_dataset_id", gds.accession),
            ("subset_description", subset["description"]),
            ("subset_sample_id", ",".join(subset["samples"])),
            ("subset_type", subset["type"]),
        ]
        records.append(Subset(subset["accession"], attrs))
    return records
