"""Simulated GEO samples as records: their attributes and value tables."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from exprhub.records import Sample, Table
from exprhub.simulate.genes import organism_info
from exprhub.simulate.series import (
    FTP,
    PVALUE,
    SamplePlan,
    SeriesPlan,
    sample_columns,
    series_values,
    value_cells,
    value_format,
)
from exprhub.simulate.vocab import DATA_PROCESSING, INSTRUMENTS, VALUE_DESCRIPTION, geo_date

__all__ = ["sample_attributes", "sample_records"]

_EXTRACT_PROTOCOL = "Total RNA was extracted with TRIzol and purified on RNeasy columns (Qiagen)."


def _described_attributes(plan: SeriesPlan, sample: SamplePlan) -> list[tuple[str, str]]:
    info = organism_info(plan.organism)
    attrs = [
        ("Sample_title", sample.title),
        ("Sample_geo_accession", sample.gsm),
        ("Sample_status", f"Public on {geo_date(plan.released)}"),
        ("Sample_submission_date", geo_date(plan.submitted)),
        ("Sample_last_update_date", geo_date(plan.released)),
        ("Sample_type", "SRA" if plan.rnaseq else "RNA"),
        ("Sample_channel_count", "1"),
        ("Sample_source_name_ch1", sample.source),
        ("Sample_organism_ch1", plan.organism),
        ("Sample_taxid_ch1", str(info.taxid)),
    ]
    attrs += [("Sample_characteristics_ch1", f"{k}: {v}") for k, v in sample.characteristics]
    attrs += [
        ("Sample_molecule_ch1", "polyA RNA" if plan.rnaseq else "total RNA"),
        ("Sample_extract_protocol_ch1", _EXTRACT_PROTOCOL),
    ]
    return attrs


def _contact(plan: SeriesPlan) -> list[tuple[str, str]]:
    return [(k.replace("Series_", "Sample_"), v) for k, v in plan.contact]


def _sequencing_attributes(plan: SeriesPlan, sample: SamplePlan) -> list[tuple[str, str]]:
    build = organism_info(plan.organism).genome_build
    folder = f"{FTP}/samples/{sample.gsm[:-3]}nnn/{sample.gsm}/suppl"
    biosample = f"https://www.ncbi.nlm.nih.gov/biosample/SAMN9{sample.gsm[3:]}"
    return [
        (
            "Sample_extract_protocol_ch1",
            "Libraries were prepared with the TruSeq Stranded mRNA kit (Illumina).",
        ),
        ("Sample_description", f"{sample.title}"),
        (
            "Sample_data_processing",
            "Reads were aligned with STAR 2.7 and counted with featureCounts.",
        ),
        ("Sample_data_processing", f"Genome_build: {build}"),
        (
            "Sample_data_processing",
            "Supplementary_files_format_and_content: tab-delimited gene counts",
        ),
        ("Sample_platform_id", plan.platform.accession),
        *_contact(plan),
        ("Sample_instrument_model", INSTRUMENTS[plan.organism]),
        ("Sample_library_selection", "cDNA"),
        ("Sample_library_source", "transcriptomic"),
        ("Sample_library_strategy", "RNA-Seq"),
        ("Sample_relation", f"BioSample: {biosample}"),
        ("Sample_relation", f"SRA: https://www.ncbi.nlm.nih.gov/sra?term=SRX9{sample.gsm[4:]}"),
        ("Sample_supplementary_file_1", f"{folder}/{sample.gsm}_counts.txt.gz"),
    ]


def _array_attributes(plan: SeriesPlan, sample: SamplePlan) -> list[tuple[str, str]]:
    folder = f"{FTP}/samples/{sample.gsm[:-3]}nnn/{sample.gsm}/suppl"
    return [
        ("Sample_label_ch1", "biotin"),
        (
            "Sample_label_protocol_ch1",
            "Biotinylated cRNA was prepared according to the "
            "standard Affymetrix protocol from 5 ug total RNA.",
        ),
        ("Sample_hyb_protocol", "15 ug of fragmented cRNA were hybridized for 16 h at 45C."),
        ("Sample_scan_protocol", "Arrays were scanned with the GeneChip Scanner 3000 7G."),
        ("Sample_description", f"Gene expression data from {sample.source}"),
        ("Sample_data_processing", DATA_PROCESSING[plan.scale]),
        ("Sample_platform_id", plan.platform.accession),
        *_contact(plan),
        ("Sample_supplementary_file", f"{folder}/{sample.gsm}.CEL.gz"),
    ]


def sample_attributes(
    plan: SeriesPlan, sample: SamplePlan, superseries: str | None, rows: int
) -> list[tuple[str, str]]:
    """The SOFT attributes of a simulated sample, as GEO writes them in a family file.

    Parameters
    ----------
    plan, sample
        The series and the sample.
    superseries
        The SuperSeries the series belongs to, if any (a second ``Sample_series_id``).
    rows
        Rows of the sample's table (``Sample_data_row_count``).
    """
    attrs = _described_attributes(plan, sample)
    if plan.rnaseq:
        attrs += _sequencing_attributes(plan, sample)
    else:
        attrs += _array_attributes(plan, sample)
    attrs.append(("Sample_series_id", plan.accession))
    if superseries:
        attrs.append(("Sample_series_id", superseries))
    attrs.append(("Sample_data_row_count", str(rows)))
    return attrs


def _sample_table(plan: SeriesPlan, log2: np.ndarray, j: int) -> Table:
    sample = plan.samples[j]
    numbers = sample_columns(plan, log2[:, j], j)
    names = sample.columns[1:]
    ids = plan.platform.id_column()
    columns = [
        value_cells(numbers[c], value_format(plan) if c == "VALUE" else "%.5f") for c in names
    ]
    if sample.missing_rows:
        keep = np.ones(len(ids), dtype=bool)
        keep[sample.missing_rows] = False
        ids = ids[keep]
        columns = [c[keep] for c in columns]
    return Table(sample.columns, [ids, *columns])


def sample_records(plan: SeriesPlan, superseries: dict[str, str]) -> Iterator[Sample]:
    """The samples of a series, one at a time, with their tables (none for RNA-seq).

    Parameters
    ----------
    plan
        The series.
    superseries
        SuperSeries accession by SubSeries accession.
    """
    sup = superseries.get(plan.accession)
    if plan.rnaseq:
        for sample in plan.samples:
            yield Sample(sample.gsm, sample_attributes(plan, sample, sup, 0))
        return
    log2 = series_values(plan)
    descriptions = {
        "ID_REF": "",
        "VALUE": VALUE_DESCRIPTION[plan.scale],
        PVALUE: "detection p-value",
    }
    for j, sample in enumerate(plan.samples):
        table = _sample_table(plan, log2, j)
        attrs = sample_attributes(plan, sample, sup, table.n_rows)
        columns = [(c, descriptions[c]) for c in sample.columns]
        yield Sample(sample.gsm, attrs, columns, table)
