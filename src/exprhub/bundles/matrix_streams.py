"""Streaming writers of a genes x samples matrix that arrives a block of samples at a time:
TSV (genes x samples, as refine.bio's compendia), h5ad (AnnData: samples x genes) and Parquet
(a tidy table: sample, gene, value). None holds more than a bounded part of the matrix.

Values are float32 written so that they read back exactly (TSV: the shortest text that reads
back as the same float32, :mod:`exprhub.bundles.value_text`; empty when missing); the same
blocks give byte-identical files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from exprhub.bundles.value_text import genes_per_block, tsv_lines

__all__ = [
    "FORMATS",
    "H5adMatrixStream",
    "MatrixStream",
    "ParquetMatrixStream",
    "TsvMatrixStream",
    "open_matrix_stream",
]

#: Output formats and their file suffixes.
FORMATS: dict[str, str] = {"tsv": ".tsv", "h5ad": ".h5ad", "parquet": ".parquet"}

#: Bytes of values the TSV writer turns into text at once.
_TSV_BUFFER = 256 * 2**20


class MatrixStream(Protocol):
    """A matrix file written block by block."""

    path: Path

    def write(self, samples: Sequence[str], block: np.ndarray) -> None:
        """Append the columns of ``samples`` (``block``: genes x samples)."""

    def close(self) -> None:
        """Finish the file."""


class TsvMatrixStream:
    """``gene_id``, ``symbol``, then one column per sample; one line per gene; each value as
    the bundles' TSV writes it (:mod:`exprhub.bundles.value_text`), empty cells for missing
    values. Blocks go to a sample-major scratch file beside the output, read back a
    band of genes at a time to write the lines (a TSV is written a gene at a time, the blocks
    come a sample at a time)."""

    def __init__(
        self, path: Path, genes: Sequence[str], symbols: Mapping[str, str], n_samples: int
    ) -> None:
        self.path = path
        self.genes = list(genes)
        self.symbols = symbols
        self.n_samples = n_samples
        self.samples: list[str] = []
        self.scratch = path.with_name(path.name + ".part")
        self._handle = self.scratch.open("wb")

    def write(self, samples: Sequence[str], block: np.ndarray) -> None:
        self.samples.extend(samples)
        self._handle.write(np.ascontiguousarray(block.T, dtype="<f4").tobytes())

    def close(self) -> None:
        self._handle.close()
        n_genes, n_samples = len(self.genes), len(self.samples)
        values = (
            np.memmap(self.scratch, dtype="<f4", mode="r", shape=(n_samples, n_genes))
            if n_samples and n_genes
            else np.zeros((n_samples, n_genes), dtype="<f4")
        )
        band = max(1, _TSV_BUFFER // max(1, 4 * n_samples))
        with self.path.open("wb") as out:
            out.write(("\t".join(["gene_id", "symbol", *self.samples]) + "\n").encode())
            labels = [f"{gene}\t{self.symbols.get(gene, '')}" for gene in self.genes]
            step = genes_per_block(n_samples)
            for start in range(0, n_genes, band):
                rows = np.ascontiguousarray(values[:, start : start + band].T)
                for first in range(0, rows.shape[0], step):
                    part = rows[first : first + step]
                    at = start + first
                    out.write(tsv_lines(labels[at : at + part.shape[0]], part, missing=""))
        del values
        self.scratch.unlink()


class H5adMatrixStream:
    """An AnnData file: ``X`` samples x genes float32 (written a block of rows at a time),
    ``obs`` the sample metadata, ``var`` gene id and symbol, ``uns`` the aggregated
    metadata (as JSON text under ``uns["aggregated_metadata"]``)."""

    def __init__(
        self,
        path: Path,
        genes: Sequence[str],
        symbols: Mapping[str, str],
        n_samples: int,
        obs: Any,
        uns: Mapping[str, Any],
    ) -> None:
        try:
            import anndata.io  # noqa: F401
            import h5py
        except ImportError:
            raise RuntimeError("h5ad output needs anndata: pip install 'exprhub[h5ad]'") from None
        import pandas as pd

        self.path = path
        self.row = 0
        self._file = h5py.File(path, "w", track_order=False)
        self._file.attrs["encoding-type"] = "anndata"
        self._file.attrs["encoding-version"] = "0.1.0"
        self._x = self._file.create_dataset(
            "X", shape=(n_samples, len(genes)), dtype="<f4", track_times=False
        )
        self._x.attrs["encoding-type"] = "array"
        self._x.attrs["encoding-version"] = "0.2.0"
        var = pd.DataFrame(
            {"symbol": [symbols.get(g, "") for g in genes]},
            index=pd.Index(list(genes), name="gene_id"),
        )
        # h5ad string columns hold no nulls: a missing field is an empty string
        obs = obs.fillna("").astype(str) if obs is not None else pd.DataFrame(index=[])
        self._elements = {
            "obs": obs,
            "var": var,
            "uns": {"aggregated_metadata": json.dumps(uns, sort_keys=True, ensure_ascii=False)},
        }

    def write(self, samples: Sequence[str], block: np.ndarray) -> None:
        n = len(samples)
        self._x[self.row : self.row + n, :] = np.asarray(block.T, dtype="<f4")
        self.row += n

    def close(self) -> None:
        from anndata.io import write_elem

        for key in ("obs", "var", "uns"):
            write_elem(self._file, key, self._elements[key])
        for key in ("obsm", "varm", "obsp", "varp", "layers"):
            write_elem(self._file, key, {})
        self._file.close()


class ParquetMatrixStream:
    """A tidy Parquet table ``sample_id``, ``gene_id``, ``value`` (float32, null when
    missing), sample by sample; one row group per block."""

    def __init__(self, path: Path, genes: Sequence[str]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.path = path
        self._pa = pa
        self.genes = pa.array(list(genes), type=pa.string())
        self.schema = pa.schema(
            [
                ("sample_id", pa.dictionary(pa.int32(), pa.string())),
                ("gene_id", pa.dictionary(pa.int32(), pa.string())),
                ("value", pa.float32()),
            ]
        )
        self._writer = pq.ParquetWriter(path, self.schema, compression="zstd")

    def write(self, samples: Sequence[str], block: np.ndarray) -> None:
        pa = self._pa
        n_genes = len(self.genes)
        values = np.ascontiguousarray(block.T, dtype=np.float32).ravel()
        sample_codes = np.repeat(np.arange(len(samples), dtype=np.int32), n_genes)
        gene_codes = np.tile(np.arange(n_genes, dtype=np.int32), len(samples))
        table = pa.table(
            {
                "sample_id": pa.DictionaryArray.from_arrays(
                    sample_codes, pa.array(list(samples), type=pa.string())
                ),
                "gene_id": pa.DictionaryArray.from_arrays(gene_codes, self.genes),
                "value": pa.array(values, mask=np.isnan(values)),
            },
            schema=self.schema,
        )
        self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()


def open_matrix_stream(
    fmt: str,
    path: Path,
    genes: Sequence[str],
    symbols: Mapping[str, str],
    n_samples: int,
    *,
    obs: Any = None,
    uns: Mapping[str, Any] | None = None,
) -> MatrixStream:
    """A writer of ``fmt`` (``tsv``, ``h5ad`` or ``parquet``) at ``path``."""
    if fmt == "tsv":
        return TsvMatrixStream(path, genes, symbols, n_samples)
    if fmt == "h5ad":
        return H5adMatrixStream(path, genes, symbols, n_samples, obs, uns or {})
    if fmt == "parquet":
        return ParquetMatrixStream(path, genes)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
