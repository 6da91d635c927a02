"""Simulated GEO series records: series attributes, SuperSeries, series matrix, DataSet and
RNA-seq counts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from exprhub.ingest.simulate_genes import Gene, gene_catalogue, organism_info
from exprhub.ingest.simulate_manifest import SimulatedDataSet, SimulatedSeries
from exprhub.ingest.simulate_platform import CONTROL, PlatformSpec
from exprhub.ingest.simulate_series import (
    FTP,
    SeriesPlan,
    rows_text,
    sample_attributes,
    sample_columns,
    series_values,
    value_format,
)
from exprhub.ingest.simulate_vocab import geo_date
from exprhub.records import Sample, Series, Table

__all__ = [
    "DataSetPlan",
    "dataset_text",
    "matrix_records",
    "plan_dataset",
    "rnaseq_counts_text",
    "series_record",
    "superseries_record",
]


def series_record(plan: SeriesPlan, superseries: str | None) -> list[tuple[str, str]]:
    """SOFT attributes of a (sub)series."""
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
    attrs.append(
        (
            "Series_relation",
            f"BioProject: https://www.ncbi.nlm.nih.gov/bioproject/PRJNA9{plan.accession[3:]}",
        )
    )
    if plan.rnaseq:
        attrs.append(
            (
                "Series_relation",
                f"SRA: https://www.ncbi.nlm.nih.gov/sra?term=SRP9{plan.accession[3:]}",
            )
        )
    return attrs


def superseries_record(
    accession: str, subs: list[SeriesPlan], seed: int
) -> tuple[list[tuple[str, str]], SimulatedSeries]:
    """SOFT attributes and manifest entry of a SuperSeries made of ``subs``."""
    first = subs[0]
    submitted = max(s.submitted for s in subs)
    released = max(s.released for s in subs)
    platforms = list(dict.fromkeys(s.platform.accession for s in subs))
    organisms = list(dict.fromkeys(s.organism for s in subs))
    samples = [g for s in subs for g in s.sample_ids]
    title = f"{first.title} (SuperSeries)"
    attrs = [
        ("Series_title", title),
        ("Series_geo_accession", accession),
        ("Series_status", f"Public on {geo_date(released)}"),
        ("Series_submission_date", geo_date(submitted)),
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
        (
            "Series_relation",
            f"BioProject: https://www.ncbi.nlm.nih.gov/bioproject/PRJNA9{accession[3:]}",
        ),
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
    return attrs, info


def matrix_records(plan: SeriesPlan, superseries: str | None) -> tuple[Series, list[Sample]]:
    """The Series and Samples of a series matrix file (one ``ID_REF``/``VALUE`` table each)."""
    attrs: list[tuple[str, str]] = []
    for key, value in series_record(plan, superseries):
        if key == "Series_sample_id":
            if not any(k == key for k, _ in attrs):
                attrs.append((key, " ".join(plan.sample_ids) + " "))
            continue
        attrs.append((key, value))
    series = Series(plan.accession, attrs)
    samples: list[Sample] = []
    spec = plan.platform
    log2 = None if plan.rnaseq else series_values(plan)
    for j, sample in enumerate(plan.samples):
        rows = spec.n_probes - len(sample.missing_rows)
        record = Sample(sample.gsm, sample_attributes(plan, sample, superseries, rows))
        if log2 is not None:
            numbers = sample_columns(plan, log2[:, j], j)["VALUE"]
            keep = np.ones(spec.n_probes, dtype=bool)
            keep[sample.missing_rows] = False
            ids = (
                spec.ids
                if not sample.missing_rows
                else [i for i, k in zip(spec.ids, keep.tolist(), strict=True) if k]
            )
            text = ((value_format(plan) + "\n") * len(ids)) % tuple(numbers[keep].tolist())
            cells = text.replace("nan", "null").split("\n")[:-1]
            record.table = Table(["ID_REF", "VALUE"], [ids, cells])
        samples.append(record)
    return series, samples


@dataclass
class DataSetPlan:
    """A curated DataSet built from one microarray series."""

    accession: str
    plan: SeriesPlan
    order: list[int]
    info: SimulatedDataSet


def plan_dataset(accession: str, plan: SeriesPlan, seed: int) -> DataSetPlan:
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


def dataset_text(gds: DataSetPlan) -> Iterator[str]:
    """The GDS SOFT file in chunks: header, subsets, then the value table."""
    plan, spec, info = gds.plan, gds.plan.platform, gds.info
    head = [
        "^DATABASE = Geo",
        "!Database_name = Gene Expression Omnibus (GEO)",
        "!Database_institute = NCBI NLM NIH",
        "!Database_web_link = http://www.ncbi.nlm.nih.gov/geo",
        "!Database_email = geo@ncbi.nlm.nih.gov",
        f"^DATASET = {gds.accession}",
        f"!dataset_title = {plan.title}",
        f"!dataset_description = {plan.summary[0]}",
        "!dataset_type = Expression profiling by array",
        *[f"!dataset_pubmed_id = {p}" for p in plan.pubmed_ids],
        f"!dataset_platform = {spec.accession}",
        f"!dataset_platform_organism = {plan.organism}",
        "!dataset_platform_technology_type = in situ oligonucleotide",
        f"!dataset_feature_count = {spec.n_probes}",
        f"!dataset_sample_organism = {plan.organism}",
        "!dataset_sample_type = RNA",
        "!dataset_channel_count = 1",
        f"!dataset_sample_count = {len(plan.samples)}",
        f"!dataset_value_type = {info.value_type}",
        f"!dataset_reference_series = {plan.accession}",
        "!dataset_order = none",
        f"!dataset_update_date = {geo_date(plan.updated)}",
    ]
    for subset in info.subsets:
        head += [
            f"^SUBSET = {subset['accession']}",
            f"!subset_dataset_id = {gds.accession}",
            f"!subset_description = {subset['description']}",
            f"!subset_sample_id = {','.join(subset['samples'])}",
            f"!subset_type = {subset['type']}",
        ]
    head.append(f"^DATASET = {gds.accession}")
    head += ["#ID_REF = Platform reference identifier", "#IDENTIFIER = identifier"]
    for j in gds.order:
        s = plan.samples[j]
        head.append(f"#{s.gsm} = Value for {s.gsm}: {s.title}; src: {s.source}")
    head.append("!dataset_table_begin")
    head.append("\t".join(["ID_REF", "IDENTIFIER", *(plan.samples[j].gsm for j in gds.order)]))
    yield "\n".join(head) + "\n"
    log2 = series_values(plan)
    columns = []
    for j in gds.order:
        value = sample_columns(plan, log2[:, j], j)["VALUE"]
        if plan.samples[j].missing_rows:
            value[plan.samples[j].missing_rows] = np.nan
        columns.append(value)
    labels = [f"{probe}\t{_identifier(spec, r)}" for r, probe in enumerate(spec.ids)]
    matrix = np.column_stack(columns)
    formats = [value_format(plan)] * len(columns)
    step = 2000
    for start in range(0, spec.n_probes, step):
        stop = min(start + step, spec.n_probes)
        block = [matrix[start:stop, k] for k in range(matrix.shape[1])]
        yield rows_text(labels[start:stop], block, formats)
    yield "!dataset_table_end\n"


def rnaseq_counts_text(plan: SeriesPlan) -> Iterator[str]:
    """An NCBI-style raw count matrix (``GeneID`` x GSM) of an RNA-seq series, in chunks."""
    genes: list[Gene] = gene_catalogue(plan.organism, plan.n_genes)
    rng = np.random.default_rng([plan.seed, 5, int(plan.accession[3:])])
    n = len(plan.samples)
    log_mu = rng.normal(5.0, 2.2, plan.n_genes).clip(-2.0, 15.0)
    effect = np.zeros(plan.n_genes)
    for g, lfc in plan.de.items():
        effect[g] = lfc
    case = np.array([s.group == 1 for s in plan.samples])
    library = rng.uniform(0.7, 1.3, n)
    mu = np.exp2(log_mu[:, None] + np.where(case[None, :], effect[:, None], 0.0)) * library
    dispersion = 10.0
    counts = rng.negative_binomial(dispersion, dispersion / (dispersion + mu))
    yield "GeneID\t" + "\t".join(plan.sample_ids) + "\n"
    ids = [str(g.entrez_id) for g in genes]
    step = 5000
    for start in range(0, plan.n_genes, step):
        stop = min(start + step, plan.n_genes)
        yield rows_text(ids[start:stop], [counts[start:stop, k] for k in range(n)], ["%d"] * n)
