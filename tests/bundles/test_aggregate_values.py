"""An aggregate's values, read through the hub's join on gene id, are the genes every sample
measured, read per matrix (real GSE3791: four platforms, two organisms); the per-gene scaling
gives the same bits whatever the matrix's memory layout."""

from __future__ import annotations

import numpy as np
import pytest

from exprhub.bundles.aggregate import build_aggregate, deliverable, groups, scale_genes
from exprhub.bundles.selection import BundleOptions, select
from exprhub.refine import store


@pytest.mark.parametrize("qn", [True, False])
def test_aggregate_is_what_each_matrix_holds_for_every_sample(hub, qn):
    options = BundleOptions(aggregate="experiment", quantile_normalize=qn)
    delivered, _ = deliverable(hub, select(hub, series=["GSE3791", "GSE1623"]), options)
    kind = store.REFINED_KIND if qn else store.GENE_LEVEL_KIND
    built = {}
    for key, members in groups(delivered, "experiment").items():
        aggregate = build_aggregate(hub, key, members, options)
        built[key] = aggregate
        # per matrix, as read directly: each sample's value of each gene
        expected: dict[tuple[str, str], float] = {}
        for name, found in hub.sample_matrices(aggregate.samples, kind).items():
            features, got, values = hub.read_columns(name, sorted(found))
            for j, sample in enumerate(got):
                for i, gene in enumerate(features):
                    if np.isfinite(values[i, j]):
                        expected[(gene, sample)] = values[i, j]
        everywhere = {g for g, _ in expected if all((g, s) in expected for s in aggregate.samples)}
        assert set(aggregate.genes) == everywhere
        measured_anywhere = {g for g, _ in expected}
        assert aggregate.genes_dropped == len(measured_anywhere) - len(everywhere)
        for i, gene in enumerate(aggregate.genes):
            for j, sample in enumerate(aggregate.samples):
                assert aggregate.values[i, j] == np.float32(expected[(gene, sample)])
    assert sorted(built) == ["GSE1623", "GSE3791_HOMO_SAPIENS", "GSE3791_MUS_MUSCULUS"]
    assert all(a.genes_by_platform for a in built.values())


@pytest.mark.parametrize("scale", ["minmax", "standard", "robust"])
def test_scaling_does_not_depend_on_memory_layout(scale):
    rng = np.random.default_rng(5)
    values = rng.normal(7, 2, (3000, 57)).astype(np.float32)
    by_rows = np.ascontiguousarray(values)
    by_columns = np.asfortranarray(values)
    scale_genes(by_rows, scale)
    scale_genes(by_columns, scale)
    assert by_rows.tobytes() == np.ascontiguousarray(by_columns).tobytes()
