"""The h5ad layout of a bundle: one AnnData per aggregate (X samples x genes float32; obs the
sample metadata; var gene id, symbol and samples measured; uns the aggregated metadata as
JSON text under ``aggregated_metadata`` and the aggregate's key under ``aggregate``).

One aggregate is written as a ``.h5ad`` file; several as ``<KEY>.h5ad`` entries of a zip with
``aggregated_metadata.json``, ``README.md``, ``LICENSE.TXT`` and
``filtered_samples_metadata.tsv``. anndata's writer (h5py, without object timestamps) gives
the same bytes for the same AnnData; the tests check that a rebuild is byte-identical.

Needs the ``h5ad`` extra (anndata).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exprhub.bundles.aggregate import Aggregate
from exprhub.bundles.archive import FixedZip
from exprhub.bundles.bundle import BundleContent
from exprhub.bundles.selection import BundleError

if TYPE_CHECKING:
    import anndata


def require_anndata() -> Any:
    """The anndata module, or a one-line error naming the extra that installs it."""
    try:
        import anndata
    except ImportError:
        raise BundleError("h5ad bundles need anndata: pip install 'exprhub[h5ad]'") from None
    return anndata


def obs_column(name: str) -> str:
    """A metadata column name as an HDF5 key allows (no ``/``)."""
    return name.replace("/", "_")


def aggregate_anndata(
    content: BundleContent, aggregate: Aggregate, metadata: dict[str, Any]
) -> anndata.AnnData:
    """The AnnData of one aggregate (``metadata``: what goes to ``uns``)."""
    import numpy as np
    import pandas as pd

    ad = require_anndata()
    rows = [content.metadata_rows.get(s, {}) for s in aggregate.samples]
    present = {c for row in rows for c in row}
    columns = [c for c in content.metadata_columns if c in present and c != "accession"]
    obs = pd.DataFrame(
        {obs_column(c): [row.get(c, "") for row in rows] for c in columns},
        index=pd.Index(aggregate.samples, name="sample"),
        dtype=object,
    )
    var = pd.DataFrame(
        {
            "symbol": [content.symbols.get(g, "") for g in aggregate.genes],
            "n_samples": np.full(len(aggregate.genes), len(aggregate.samples), dtype=np.int64),
        },
        index=pd.Index(aggregate.genes, name="gene_id"),
    )
    uns = {
        "aggregate": aggregate.key,
        "aggregated_metadata": json.dumps(metadata, indent=2, sort_keys=True, ensure_ascii=False),
    }
    values = np.ascontiguousarray(aggregate.values.T)
    return ad.AnnData(X=values, obs=obs, var=var, uns=uns)


def write_anndata(adata: anndata.AnnData, path: Path) -> None:
    """Write an AnnData as h5ad (uncompressed, as anndata writes it by default)."""
    adata.write_h5ad(path)


def write_h5ad_bundle(content: BundleContent, path: Path) -> None:
    """Write the bundle in the h5ad layout to ``path`` (a .h5ad, or a zip of them)."""
    require_anndata()
    if len(content.groups) == 1:
        [aggregate] = content.aggregates()
        adata = aggregate_anndata(content, aggregate, content.metadata)
        aggregate.values = aggregate.values[:0]  # X holds the values now: free the copy
        write_anndata(adata, path)
        return
    from exprhub.bundles.layout_tsv import write_bundle_files

    with FixedZip(path) as archive, tempfile.TemporaryDirectory(dir=path.parent) as work:
        for aggregate in content.aggregates():
            own = content.metadata | {"aggregates": {aggregate.key: aggregate.summary()}}
            part = Path(work) / f"{aggregate.key}.h5ad"
            adata = aggregate_anndata(content, aggregate, own)
            aggregate.values = aggregate.values[:0]
            write_anndata(adata, part)
            del adata, aggregate
            archive.write_file(part.name, part)
            part.unlink()
        write_bundle_files(archive, content)
