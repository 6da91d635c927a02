"""The README and licence text of a bundle, written from its aggregated metadata."""

from __future__ import annotations

from typing import Any

LICENSE = """\
The sample metadata and the values this bundle was computed from come from NCBI GEO
(https://www.ncbi.nlm.nih.gov/geo/). NCBI places no restrictions on the use or distribution
of GEO data; submitters may claim rights to some of it (see
https://www.ncbi.nlm.nih.gov/home/about/policies/). Cite the original series when you use
their data.

The refined values (gene-level, quantile-normalized, scaled) were computed by exprhub
(BSD 3-Clause licence) and carry no further restriction.
"""


def license_text() -> str:
    """LICENSE.TXT of a bundle."""
    return LICENSE


def readme_text(metadata: dict[str, Any]) -> str:
    """README.md of a bundle: what it holds, how it was made, how to read it."""
    options = metadata["options"]
    lines = [
        "# exprhub dataset bundle",
        "",
        f"Made by exprhub {metadata['exprhub_version']} (bundle layout "
        f"{metadata['layout_version']}).",
        "",
        "## Options",
        "",
        f"- aggregate: {options['aggregate']}",
        f"- quantile normalization: {'yes' if options['quantile_normalize'] else 'no (--no-qn)'}",
        f"- scale: {options['scale']} (per gene, across the samples of an aggregate)",
        f"- format: {options['format']}",
        "",
        "## Aggregates",
        "",
        "| aggregate | samples | genes | genes dropped |",
        "|---|---|---|---|",
    ]
    for key, summary in metadata["aggregates"].items():
        lines.append(
            f"| {key} | {summary['n_samples']} | {summary['n_genes']} | "
            f"{summary['genes_dropped']['count']} |"
        )
    lines += [
        "",
        "A gene is kept in an aggregate only when every sample of the aggregate has a value for",
        "it; the others are counted as dropped.",
        "",
        f"Samples delivered: {metadata['n_samples_delivered']}. Samples left out: "
        f"{metadata['n_samples_filtered']} (listed with the reason in "
        "filtered_samples_metadata.tsv).",
    ]
    several = metadata["samples_in_several_series"]
    if several:
        lines += [
            "",
            f"{len(several)} samples belong to several selected series: "
            f"{metadata['samples_in_several_series_rule']}.",
        ]
    lines += [
        "",
        "## Files",
        "",
        "- `aggregated_metadata.json`: every option and version that shaped the numbers (QN",
        "  target versions and digests, processors and tool versions, gene reference digests,",
        "  each sample's refinement).",
        "- `filtered_samples_metadata.tsv`: samples selected but not delivered, with the reason.",
    ]
    if options["format"] == "tsv":
        lines += [
            "- `<KEY>/<KEY>.tsv`: genes (NCBI Gene ids) x samples; each value is the shortest text",
            "  that reads back as the stored float32.",
            "- `<KEY>/genes_<KEY>.tsv`: gene id, symbol, samples with a value.",
            "- `<KEY>/metadata_<KEY>.tsv` and `.json`: one row per sample: original attributes",
            "  (`attr.*`), characteristics (`ch1.*`), harmonized fields, GDS subsets",
            "  (`subset.*`), refinement (`refined.*`).",
            "",
            "Read a matrix with pandas: `pandas.read_csv(path, sep='\\t', index_col=0)`.",
        ]
    elif options["format"] == "h5ad":
        lines += [
            "- `<KEY>.h5ad`: one AnnData per aggregate (X samples x genes float32, obs sample",
            "  metadata, var gene id / symbol / samples measured, uns the aggregated metadata).",
            "",
            "Read with `anndata.read_h5ad(path)`.",
        ]
    else:
        lines += [
            "- `values.parquet`: aggregate, gene_id, sample, value (tidy, one row per value).",
            "- `samples.parquet`: aggregate, sample, then one column per metadata field.",
            "- `genes.parquet`: aggregate, gene_id, symbol, n_samples.",
            "- `filtered_samples.parquet`: sample, reason.",
            "",
            "Read with `pandas.read_parquet(path)`.",
        ]
    return "\n".join(lines) + "\n"
