"""The Parquet layout of a bundle: tidy tables in a zip.

``values.parquet`` (aggregate, gene_id, sample, value float32; one row per value, genes in
order, then samples), ``samples.parquet`` (aggregate, sample, then every metadata column as
text, null where a sample lacks it), ``genes.parquet`` (aggregate, gene_id, symbol,
n_samples), ``filtered_samples.parquet`` (sample, reason), with ``aggregated_metadata.json``,
``README.md``, ``LICENSE.TXT`` and ``filtered_samples_metadata.tsv``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from exprhub.bundles.archive import FixedZip
from exprhub.bundles.bundle import BundleContent
from exprhub.bundles.layout_tsv import write_bundle_files

#: Genes per written batch of ``values.parquet`` (bounds the memory of the tidy rows).
GENES_PER_BATCH = 1024


def _write(table: Any, path: Path) -> None:
    import pyarrow.parquet as pq

    pq.write_table(table, path, compression="zstd", compression_level=3)


def write_parquet_bundle(content: BundleContent, path: Path) -> None:
    """Write the bundle in the Parquet layout to the zip ``path``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    text = pa.dictionary(pa.int32(), pa.string())
    values_schema = pa.schema(
        [("aggregate", text), ("gene_id", text), ("sample", text), ("value", pa.float32())]
    )
    sample_rows: list[dict[str, Any]] = []
    gene_columns: dict[str, list[Any]] = {
        "aggregate": [],
        "gene_id": [],
        "symbol": [],
        "n_samples": [],
    }
    with tempfile.TemporaryDirectory(dir=path.parent) as work:
        values_path = Path(work) / "values.parquet"
        with pq.ParquetWriter(
            values_path,
            values_schema,
            compression="zstd",
            compression_level=3,
            # min / max of the values only: those of the text columns (strings, per page) were
            # 3/5 of the writing's CPU time
            write_statistics=["value"],
        ) as writer:
            for aggregate in content.aggregates():
                n_samples = len(aggregate.samples)
                samples = pa.array(aggregate.samples, pa.string())
                key_dictionary = pa.array([aggregate.key], pa.string())
                genes = pa.array(aggregate.genes, pa.string())
                for start in range(0, len(aggregate.genes), GENES_PER_BATCH):
                    block = aggregate.values[start : start + GENES_PER_BATCH]
                    n_genes = block.shape[0]
                    gene_index = np.repeat(
                        np.arange(start, start + n_genes, dtype=np.int32), n_samples
                    )
                    sample_index = np.tile(np.arange(n_samples, dtype=np.int32), n_genes)
                    batch = pa.table(
                        {
                            "aggregate": pa.DictionaryArray.from_arrays(
                                np.zeros(n_genes * n_samples, dtype=np.int32), key_dictionary
                            ),
                            "gene_id": pa.DictionaryArray.from_arrays(gene_index, genes),
                            "sample": pa.DictionaryArray.from_arrays(sample_index, samples),
                            "value": pa.array(block.ravel(), pa.float32()),
                        },
                        schema=values_schema,
                    )
                    writer.write_table(batch)
                for sample in aggregate.samples:
                    row = {"aggregate": aggregate.key, "sample": sample}
                    row.update(
                        {
                            k: v
                            for k, v in content.metadata_rows.get(sample, {}).items()
                            if k != "accession"
                        }
                    )
                    sample_rows.append(row)
                gene_columns["aggregate"] += [aggregate.key] * len(aggregate.genes)
                gene_columns["gene_id"] += aggregate.genes
                gene_columns["symbol"] += [content.symbols.get(g, "") for g in aggregate.genes]
                gene_columns["n_samples"] += [n_samples] * len(aggregate.genes)
        columns = ["aggregate", "sample"] + [
            c for c in content.metadata_columns[1:] if any(c in r for r in sample_rows)
        ]
        tables = {
            "samples.parquet": pa.table(
                {c: pa.array([r.get(c) for r in sample_rows], pa.string()) for c in columns}
            ),
            "genes.parquet": pa.table(
                {
                    "aggregate": pa.array(gene_columns["aggregate"], pa.string()),
                    "gene_id": pa.array(gene_columns["gene_id"], pa.string()),
                    "symbol": pa.array(gene_columns["symbol"], pa.string()),
                    "n_samples": pa.array(gene_columns["n_samples"], pa.int64()),
                }
            ),
            "filtered_samples.parquet": pa.table(
                {
                    "sample": pa.array(sorted(content.filtered), pa.string()),
                    "reason": pa.array(
                        [content.filtered[k] for k in sorted(content.filtered)], pa.string()
                    ),
                }
            ),
        }
        for name, table in tables.items():
            _write(table, Path(work) / name)
        with FixedZip(path) as archive:
            for name in (
                "filtered_samples.parquet",
                "genes.parquet",
                "samples.parquet",
                "values.parquet",
            ):
                archive.write_file(name, Path(work) / name, stored=True)  # zstd already
            write_bundle_files(archive, content)
