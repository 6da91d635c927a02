"""The TSV layout of a bundle (refine.bio's, extended), in a zip:

``README.md``, ``LICENSE.TXT``, ``aggregated_metadata.json``,
``filtered_samples_metadata.tsv`` and, per aggregate ``<KEY>``: ``<KEY>/<KEY>.tsv`` (genes x
samples), ``<KEY>/genes_<KEY>.tsv`` (gene id, symbol, samples measured),
``<KEY>/metadata_<KEY>.tsv`` and ``<KEY>/metadata_<KEY>.json`` (one row / object per sample).

Values are float32 written as the shortest decimal text that reads back as the same float32
(``float32(float(text)) == value``), so the TSV holds exactly the numbers of the h5ad; the
matrix is formatted and deflated in blocks on two threads (:mod:`exprhub.bundles.value_text`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from exprhub.bundles.aggregate import Aggregate
from exprhub.bundles.archive import LEVEL, FixedZip
from exprhub.bundles.bundle import BundleContent, metadata_json
from exprhub.bundles.bundle_text import license_text, readme_text
from exprhub.bundles.value_text import DEFLATE_END, matrix_parts


def clean_cell(value: str) -> str:
    """A metadata value as one TSV cell (tabs and line breaks become spaces)."""
    return " ".join(value.replace("\t", " ").splitlines())


def write_table(handle: IO[str], columns: Sequence[str], rows: Sequence[dict[str, str]]) -> None:
    """Rows as TSV with a header; empty cells where a row lacks a column."""
    handle.write("\t".join(clean_cell(c) for c in columns) + "\n")
    for row in rows:
        handle.write("\t".join(clean_cell(row.get(c, "")) for c in columns) + "\n")


def write_values(archive: FixedZip, name: str, aggregate: Aggregate) -> None:
    """The genes x samples matrix as the entry ``name``: ``gene_id`` then one column per
    sample (text of the values: :mod:`exprhub.bundles.value_text`)."""
    header = "\t".join(clean_cell(c) for c in ["gene_id", *aggregate.samples]) + "\n"
    genes = [clean_cell(g) for g in aggregate.genes]
    parts = matrix_parts(header, genes, aggregate.values, LEVEL)
    archive.write_deflated(name, parts, DEFLATE_END)


def gene_rows(content: BundleContent, aggregate: Aggregate) -> list[dict[str, str]]:
    """One row per gene of the aggregate: id, symbol, samples measured."""
    n = str(len(aggregate.samples))
    return [
        {"gene_id": g, "symbol": content.symbols.get(g, ""), "n_samples": n}
        for g in aggregate.genes
    ]


def sample_documents(content: BundleContent, samples: Sequence[str]) -> dict[str, Any]:
    """Per sample: its metadata columns and its refinement record."""
    refined = content.metadata["samples"]
    return {
        s: {
            "metadata": content.metadata_rows.get(s, {"accession": s}),
            "refinement": refined.get(s),
        }
        for s in samples
    }


def write_tsv_bundle(content: BundleContent, path: Path) -> None:
    """Write the bundle in the TSV layout to the zip ``path``."""
    with FixedZip(path) as archive:
        for aggregate in content.aggregates():
            key = aggregate.key
            write_values(archive, f"{key}/{key}.tsv", aggregate)
            with archive.text(f"{key}/genes_{key}.tsv") as handle:
                write_table(
                    handle, ["gene_id", "symbol", "n_samples"], gene_rows(content, aggregate)
                )
            document = {
                "aggregate": key,
                "options": content.options.as_dict(),
                "samples": sample_documents(content, aggregate.samples),
            }
            archive.write_bytes(
                f"{key}/metadata_{key}.json",
                (
                    json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
                ).encode(),
            )
            with archive.text(f"{key}/metadata_{key}.tsv") as handle:
                rows = [content.metadata_rows[s] for s in aggregate.samples]
                write_table(handle, used_columns(content.metadata_columns, rows), rows)
            del aggregate
        write_bundle_files(archive, content)


def write_bundle_files(archive: FixedZip, content: BundleContent) -> None:
    """The files every zipped bundle ends with: ``LICENSE.TXT``, ``README.md``,
    ``aggregated_metadata.json`` and ``filtered_samples_metadata.tsv`` (written after the
    aggregates, whose summaries the metadata holds)."""
    archive.write_bytes("LICENSE.TXT", license_text().encode())
    archive.write_bytes("README.md", readme_text(content.metadata).encode())
    archive.write_bytes("aggregated_metadata.json", metadata_json(content.metadata))
    with archive.text("filtered_samples_metadata.tsv") as handle:
        rows = content.filtered_rows()
        columns = ["accession", "reason", *content.metadata_columns[1:]]
        write_table(handle, used_columns(columns, rows, keep=2), rows)


def used_columns(
    columns: Sequence[str], rows: Sequence[dict[str, str]], keep: int = 1
) -> list[str]:
    """The columns some row has a value in (the first ``keep`` always)."""
    present = {c for row in rows for c in row}
    return [c for i, c in enumerate(columns) if i < keep or c in present]


def read_values(text: str) -> tuple[list[str], list[str], np.ndarray]:
    """A ``<KEY>.tsv`` read back: genes, samples, float32 values (genes x samples)."""
    lines = text.splitlines()
    samples = lines[0].split("\t")[1:]
    genes = []
    values = np.empty((len(lines) - 1, len(samples)), dtype=np.float32)
    for i, line in enumerate(lines[1:]):
        cells = line.split("\t")
        genes.append(cells[0])
        values[i] = np.array(cells[1:], dtype=np.float64)
    return genes, samples, values
