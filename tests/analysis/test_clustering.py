"""Clustering: distances as defined, the GDS507 sample tree splitting RCC from normal
kidney, seeded k-means / k-medians, k-medians' fixed point, dendrogram drawing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from exprhub.analysis.charts import dendrogram_segments
from exprhub.analysis.clustering import (
    MAX_TREE_ROWS,
    cluster_matrix,
    distances,
    hierarchical,
    kmeans,
    kmedians,
    most_variable,
)


def test_distances_as_defined():
    from scipy.spatial.distance import squareform

    rng = np.random.default_rng(1)
    data = rng.normal(size=(6, 9))
    pearson = squareform(distances(data, "pearson"))
    np.testing.assert_allclose(pearson, 1 - np.corrcoef(data), atol=1e-12)
    norms = np.linalg.norm(data, axis=1)
    uncentred = squareform(distances(data, "uncentered"))
    np.testing.assert_allclose(uncentred, 1 - (data @ data.T) / np.outer(norms, norms), atol=1e-12)
    euclid = squareform(distances(data, "euclidean"))
    assert euclid[0, 1] == pytest.approx(np.sqrt(((data[0] - data[1]) ** 2).sum()))
    constant = np.vstack([data[:2], np.ones((1, 9))])
    assert np.isfinite(distances(constant, "pearson")).all()


def test_most_variable_keeps_complete_rows_by_variance():
    frame = pd.DataFrame(
        {"a": [1.0, 1.0, 0.0, np.nan], "b": [2.0, 9.0, 0.0, 50.0], "c": [3.0, 1.0, 0.1, 0.0]},
        index=["low", "high", "flat", "holey"],
    )
    assert list(most_variable(frame, 2).index) == ["high", "low"]
    with pytest.raises(ValueError, match="have a value in all"):
        most_variable(frame[["a"]].iloc[2:], None)


def test_gds507_sample_tree_separates_rcc_from_normal(gds507):
    values, rcc, normal = gds507
    for linkage in ("average", "complete"):
        result = cluster_matrix(values, linkage=linkage, distance="pearson", k=2, top=1000)
        assert result.log2_applied and result.values.shape == (1000, 17)
        clusters = dict(zip(result.values.columns, result.column_clusters, strict=True))
        assert len({clusters[s] for s in rcc}) == 1 and len({clusters[s] for s in normal}) == 1
        assert clusters[rcc[0]] != clusters[normal[0]]
    table = result.assignments()
    assert set(table["axis"]) == {"gene", "sample"} and len(table) == 1017
    summary = result.to_dict()
    assert summary["rows_clustered"] == 1000 and len(summary["sample_order"]) == 17


def test_single_linkage_and_every_distance_run(gds507):
    values, _, _ = gds507
    for distance in ("euclidean", "pearson", "uncentered"):
        result = cluster_matrix(values, linkage="single", distance=distance, top=300)
        assert sorted(result.values.columns) == sorted(values.columns)
        assert result.row_linkage is not None and len(result.row_linkage) == 299


def test_kmeans_and_kmedians_are_seeded_and_recover_blobs():
    rng = np.random.default_rng(3)
    centres = np.array([[0.0] * 5, [10.0] * 5, [0.0, 10.0, 0.0, 10.0, 0.0]])
    truth = np.repeat([0, 1, 2], 30)
    data = centres[truth] + rng.normal(scale=0.5, size=(90, 5))
    for run in (kmeans, kmedians):
        labels = run(data, 3, seed=5)
        assert np.array_equal(labels, run(data, 3, seed=5))
        pairs = {(int(t), int(c)) for t, c in zip(truth, labels, strict=True)}
        assert len(pairs) == 3  # one cluster per blob


def test_kmedians_stops_at_a_fixed_point(gds507):
    """At the end, each profile is nearest (L1) to its own cluster's centre, the centre being
    the coordinate-wise median of its members."""
    values, _, _ = gds507
    data = np.log2(most_variable(values, 400).to_numpy(np.float64))
    labels = kmedians(data, 4, seed=0)
    centres = np.array([np.median(data[labels == c], axis=0) for c in range(4)])
    nearest = np.abs(data[:, None, :] - centres[None, :, :]).sum(axis=2).argmin(axis=1)
    assert np.array_equal(nearest, labels)
    assert labels[0] == 0 and set(labels) == {0, 1, 2, 3}


def test_k_range_and_options_refused():
    frame = pd.DataFrame(np.arange(40.0).reshape(10, 4) ** 1.5)
    with pytest.raises(ValueError, match="between 2 and 15"):
        cluster_matrix(frame, method="kmeans", k=16)
    with pytest.raises(ValueError, match="needs K"):
        cluster_matrix(frame, method="kmedians")
    with pytest.raises(ValueError, match="more than the 4"):
        cluster_matrix(frame, method="kmeans", k=5, axis="samples")
    with pytest.raises(ValueError, match="linkage"):
        cluster_matrix(frame, linkage="ward")
    with pytest.raises(ValueError, match="too big"):
        hierarchical(np.zeros((MAX_TREE_ROWS + 1, 2)))


def test_kmeans_on_samples_orders_columns_by_cluster(gds507):
    values, _, _ = gds507
    result = cluster_matrix(values, method="kmeans", k=2, axis="samples", top=500)
    assert result.row_linkage is not None and result.column_linkage is None
    assert list(result.column_clusters) == sorted(result.column_clusters)


def test_dendrogram_segments_match_scipy():
    from scipy.cluster.hierarchy import dendrogram

    rng = np.random.default_rng(2)
    tree = hierarchical(rng.normal(size=(12, 4)), "average", "euclidean")
    drawn = dendrogram(tree, no_plot=True)
    segments = dendrogram_segments(tree, np.array(drawn["leaves"]))
    ours = sorted((round(s[0][0], 9), round(s[1][0], 9), round(s[1][1], 9)) for s in segments[1::3])
    # SciPy puts leaf i at 10 i + 5; its horizontal bars are the second of each U
    theirs = sorted(
        (round((x[1] - 5) / 10, 9), round((x[2] - 5) / 10, 9), round(y[1], 9))
        for x, y in zip(drawn["icoord"], drawn["dcoord"], strict=True)
    )
    assert ours == theirs
