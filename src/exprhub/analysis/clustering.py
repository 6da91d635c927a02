"""Cluster an expression matrix: hierarchical clustering of genes and samples, k-means and
k-medians of genes (or samples), on the most variable rows.

Distances between two profiles x and y (rows of genes, or columns of samples):

``euclidean``
    sqrt(sum((x - y) ** 2)).
``pearson``
    1 - Pearson correlation of x and y (0 for identical shapes, 2 for opposite ones).
``uncentered``
    1 - uncentred correlation, sum(x * y) / sqrt(sum(x ** 2) * sum(y ** 2)) (the cosine).

Hierarchical clustering joins the two closest clusters until one is left (SciPy's
``linkage``) with single (closest members), complete (farthest members) or average (mean of
all member pairs, UPGMA) linkage. k-means is scikit-learn's ``KMeans`` (Lloyd's algorithm,
k-means++ starts, ``n_init`` runs, the best kept). k-medians is written here: Lloyd's
algorithm with the city-block (L1) distance and the coordinate-wise median as the centre,
started as k-means++ is but with L1 distances, ``n_init`` runs from one seeded random
generator, the run with the smallest total L1 distance kept; a cluster left empty is
restarted at the profile farthest from its centre. Both are seeded: the same input and seed
give the same clusters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from exprhub.analysis.value_scale import to_log2

if TYPE_CHECKING:
    import pandas as pd

LINKAGES = ("single", "complete", "average")
DISTANCES = ("euclidean", "pearson", "uncentered")
METHODS = ("hierarchical", "kmeans", "kmedians")
AXES = ("genes", "samples")
#: The K that k-means and k-medians take (as GEO's cluster tool).
K_RANGE = range(2, 16)
#: Rows clustered by default: the most variable.
DEFAULT_TOP = 1000
#: Most profiles a hierarchical tree is built for (its distances take n * (n - 1) / 2 floats:
#: 8,000 rows take 256 MB); k-means and k-medians have no such limit.
MAX_TREE_ROWS = 8000

_SCIPY_METRIC = {"euclidean": "euclidean", "pearson": "correlation", "uncentered": "cosine"}


def most_variable(frame: pd.DataFrame, top: int | None = DEFAULT_TOP) -> pd.DataFrame:
    """The ``top`` rows of ``frame`` with the largest variance across its columns, most
    variable first, among rows with a value in every column (``None``: all such rows).

    Raises
    ------
    ValueError
        When ``top`` is below 2, or fewer than two rows have a value in every column.
    """
    if top is not None and top < 2:
        raise ValueError(f"top must be at least 2 rows; got {top}")
    complete = frame[frame.notna().all(axis=1)]
    if len(complete) < 2:
        raise ValueError(
            f"{len(complete)} of {len(frame)} rows have a value in all {frame.shape[1]} samples: "
            "too few to analyse (samples of different platforms or organisms share no rows)"
        )
    variance = complete.var(axis=1, ddof=1)
    order = np.argsort(-variance.to_numpy(), kind="stable")
    if top is not None:
        order = order[:top]
    return complete.iloc[order]


def distances(data: np.ndarray, distance: str = "euclidean") -> np.ndarray:
    """Condensed distance matrix (SciPy's ``pdist`` layout) between the rows of ``data``.

    A row that is constant has no correlation: its correlation distances are set to 1 (as
    for uncorrelated profiles) rather than NaN.
    """
    from scipy.spatial.distance import pdist

    if distance not in DISTANCES:
        raise ValueError(f"distance must be one of {', '.join(DISTANCES)}; got {distance!r}")
    with np.errstate(invalid="ignore", divide="ignore"):
        condensed = pdist(np.asarray(data, dtype=np.float64), _SCIPY_METRIC[distance])
    return np.where(np.isfinite(condensed), np.clip(condensed, 0.0, None), 1.0)


def hierarchical(data: np.ndarray, linkage: str = "average", distance: str = "pearson") -> Any:
    """The SciPy linkage matrix of the rows of ``data`` (``(n - 1) x 4``).

    Raises
    ------
    ValueError
        For an unknown linkage or distance, or more than :data:`MAX_TREE_ROWS` rows.
    """
    from scipy.cluster.hierarchy import linkage as scipy_linkage

    if linkage not in LINKAGES:
        raise ValueError(f"linkage must be one of {', '.join(LINKAGES)}; got {linkage!r}")
    if len(data) > MAX_TREE_ROWS:
        raise ValueError(
            f"a hierarchical tree of {len(data)} rows is too big (at most {MAX_TREE_ROWS}): "
            "cluster fewer of the most variable rows (top), or use k-means / k-medians"
        )
    if len(data) < 2:
        return np.empty((0, 4))
    return scipy_linkage(distances(data, distance), method=linkage)


def _check_k(k: int, n: int, what: str) -> None:
    if k not in K_RANGE:
        raise ValueError(f"K must be between {K_RANGE.start} and {K_RANGE.stop - 1}; got {k}")
    if k > n:
        raise ValueError(f"K = {k} is more than the {n} {what} to cluster")


def kmeans(data: np.ndarray, k: int, *, seed: int = 0, n_init: int = 10) -> np.ndarray:
    """k-means cluster (0 .. k-1) of each row of ``data`` (scikit-learn ``KMeans``)."""
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    _check_k(k, len(data), "rows")
    model = KMeans(n_clusters=k, n_init=n_init, random_state=seed)
    # one thread: scikit-learn's OpenMP threads spin-wait, and on a shared machine that costs
    # 30 x the CPU time at these sizes (3.6 s instead of 0.1 s for 1,000 x 200, K = 8)
    with threadpool_limits(limits=1):
        labels = model.fit_predict(np.asarray(data, dtype=np.float64))
    return np.asarray(labels, dtype=np.int64)


def _l1_to(data: np.ndarray, centres: np.ndarray) -> np.ndarray:
    from scipy.spatial.distance import cdist

    return np.asarray(cdist(data, centres, "cityblock"))


def _kmedians_start(data: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding with L1 distances: each next centre drawn with probability
    proportional to a profile's distance to its nearest centre so far."""
    chosen = [int(rng.integers(len(data)))]
    nearest = _l1_to(data, data[chosen])[:, 0]
    for _ in range(1, k):
        total = nearest.sum()
        if total > 0:
            pick = int(rng.choice(len(data), p=nearest / total))
        else:  # every profile sits on a centre: any other one will do
            pick = int(rng.choice(np.setdiff1d(np.arange(len(data)), chosen)))
        chosen.append(pick)
        nearest = np.minimum(nearest, _l1_to(data, data[[pick]])[:, 0])
    return data[chosen].copy()


def kmedians(
    data: np.ndarray, k: int, *, seed: int = 0, n_init: int = 10, max_iter: int = 300
) -> np.ndarray:
    """k-medians cluster (0 .. k-1) of each row of ``data`` (see the module docstring).

    Parameters
    ----------
    data
        Profiles to cluster, one per row, no missing values.
    k
        Number of clusters, 2 to 15.
    seed
        Seed of the random starts.
    n_init
        Runs from different starts; the one with the least total L1 distance is kept.
    max_iter
        Most assignment / update rounds of one run (a run stops earlier when no profile
        changes cluster).
    """
    _check_k(k, len(data), "rows")
    values = np.asarray(data, dtype=np.float64)
    by_coordinate = np.ascontiguousarray(values.T)  # medians along contiguous memory: faster
    rng = np.random.default_rng(seed)
    best_labels = np.zeros(len(values), dtype=np.int64)
    best_cost = np.inf
    for _ in range(max(1, n_init)):
        centres = _kmedians_start(values, k, rng)
        labels = np.full(len(values), -1, dtype=np.int64)
        for _ in range(max_iter):
            dist = _l1_to(values, centres)
            new_labels = np.argmin(dist, axis=1)
            if np.array_equal(new_labels, labels):
                break
            labels = new_labels
            own = dist[np.arange(len(values)), labels]
            for cluster in range(k):
                members = labels == cluster
                if members.any():
                    centres[cluster] = np.median(by_coordinate[:, members], axis=1)
                else:  # restart an empty cluster at the worst-served profile
                    worst = int(np.argmax(own))
                    centres[cluster] = values[worst]
                    own[worst] = 0.0
        final = _l1_to(values, centres)
        cost = float(final.min(axis=1).sum())
        if cost < best_cost:
            best_cost, best_labels = cost, np.argmin(final, axis=1)
    return _relabel_by_first(best_labels)


def _relabel_by_first(labels: np.ndarray) -> np.ndarray:
    """Cluster numbers in order of first appearance (0 is the first row's cluster)."""
    mapping: dict[int, int] = {}
    for label in labels:
        mapping.setdefault(int(label), len(mapping))
    return np.array([mapping[int(x)] for x in labels], dtype=np.int64)


@dataclass
class ClusterResult:
    """A clustered matrix.

    Attributes
    ----------
    values
        The clustered values (log2 when applied), rows and columns in display order: genes
        by the row tree's leaves or by cluster, samples by the column tree's leaves.
    method, linkage, distance, k, axis, seed
        How it was clustered (``linkage`` / ``distance`` for hierarchical; ``k`` clusters).
    row_linkage, column_linkage
        SciPy linkage matrices of the original row / column order (hierarchical only; the
        column tree is also built for k-means, to order the samples).
    row_clusters, column_clusters
        Cluster number (1-based) of each row / column, in display order: k-means and
        k-medians of that axis, or the tree cut into ``k`` clusters when ``k`` is given.
    log2_applied, rows_in, rows_complete
        Whether values were log2-transformed; rows given; rows with a value in every sample.
    annotations
        Per-sample fields (subsets, series, platform ...) for the image's colour bars.
    """

    values: pd.DataFrame
    method: str
    linkage: str | None
    distance: str | None
    k: int | None
    axis: str
    seed: int
    row_linkage: np.ndarray | None
    column_linkage: np.ndarray | None
    row_clusters: np.ndarray | None
    column_clusters: np.ndarray | None
    log2_applied: bool
    rows_in: int
    rows_complete: int
    annotations: pd.DataFrame | None = None
    source: dict[str, Any] = field(default_factory=dict)

    def assignments(self) -> pd.DataFrame:
        """One row per gene and per sample: ``axis`` (gene / sample), ``id``, ``order``
        (1-based display position) and ``cluster`` (1-based; empty when not clustered into
        groups)."""
        import pandas as pd

        parts = []
        for axis, ids, clusters in (
            ("gene", self.values.index, self.row_clusters),
            ("sample", self.values.columns, self.column_clusters),
        ):
            parts.append(
                pd.DataFrame(
                    {
                        "axis": axis,
                        "id": [str(x) for x in ids],
                        "order": np.arange(1, len(ids) + 1),
                        "cluster": pd.array(
                            clusters if clusters is not None else [None] * len(ids),
                            dtype="Int64",
                        ),
                    }
                )
            )
        return pd.concat(parts, ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: parameters, sizes and the assignments (not the values)."""
        import pandas as pd

        table = self.assignments()
        genes = table[table["axis"] == "gene"]
        samples = table[table["axis"] == "sample"]

        def listing(part: pd.DataFrame) -> list[dict[str, Any]]:
            return [
                {"id": i, "order": int(o), "cluster": None if pd.isna(c) else int(c)}
                for i, o, c in zip(
                    part["id"], part["order"], part["cluster"].astype(object), strict=False
                )
            ]

        return {
            **self.source,
            "method": self.method,
            "linkage": self.linkage,
            "distance": self.distance,
            "k": self.k,
            "axis": self.axis,
            "seed": self.seed,
            "log2_applied": self.log2_applied,
            "rows_in": self.rows_in,
            "rows_complete": self.rows_complete,
            "rows_clustered": int(self.values.shape[0]),
            "samples": int(self.values.shape[1]),
            "genes": listing(genes),
            "sample_order": listing(samples),
        }


def cluster_matrix(
    frame: pd.DataFrame,
    *,
    method: str = "hierarchical",
    linkage: str = "average",
    distance: str = "pearson",
    k: int | None = None,
    axis: str = "genes",
    top: int | None = DEFAULT_TOP,
    log: str | bool = "auto",
    seed: int = 0,
) -> ClusterResult:
    """Cluster the ``top`` most variable rows of ``frame`` (rows x samples).

    Parameters
    ----------
    frame
        Values: genes or probes x samples.
    method
        ``"hierarchical"`` (genes and samples), ``"kmeans"`` or ``"kmedians"`` (of ``axis``;
        the other axis is ordered by an average-linkage Pearson tree).
    linkage, distance
        Hierarchical: one of :data:`LINKAGES` and :data:`DISTANCES`.
    k
        k-means / k-medians: clusters, 2 to 15 (required). Hierarchical: cut each tree into
        this many clusters (optional).
    axis
        ``"genes"`` or ``"samples"``: what k-means / k-medians cluster.
    top
        Most variable rows to cluster (``None``: every row with a value in every sample).
    log
        ``"auto"`` (GEO2R's rule), ``"yes"`` or ``"no"``: log2 before clustering.
    seed
        Seed of k-means / k-medians.

    Raises
    ------
    ValueError
        For an unknown method, linkage, distance or axis, a K outside 2..15 or above the
        number of profiles, or fewer than two complete rows.
    """
    import pandas as pd

    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if axis not in AXES:
        raise ValueError(f"axis must be one of {', '.join(AXES)}; got {axis!r}")
    if method != "hierarchical" and k is None:
        raise ValueError(f"{method} needs K (2 to 15 clusters)")
    if k is not None and k not in K_RANGE:
        raise ValueError(f"K must be between {K_RANGE.start} and {K_RANGE.stop - 1}; got {k}")
    data, log2_applied = to_log2(frame.to_numpy(), log)
    logged = pd.DataFrame(data, index=frame.index, columns=frame.columns)
    chosen = most_variable(logged, top)
    matrix = chosen.to_numpy(dtype=np.float64)
    row_tree = column_tree = None
    row_clusters = column_clusters = None
    if method == "hierarchical":
        row_tree = hierarchical(matrix, linkage, distance)
        column_tree = hierarchical(matrix.T, linkage, distance)
        if k is not None:
            row_clusters = _cut(row_tree, k, len(matrix))
            column_clusters = _cut(column_tree, k, matrix.shape[1])
        row_order = _leaves(row_tree, len(matrix))
    else:
        run = kmeans if method == "kmeans" else kmedians
        assert k is not None
        profiles = matrix if axis == "genes" else matrix.T
        labels = run(profiles, k, seed=seed) + 1
        if axis == "genes":
            row_clusters = labels
            column_tree = hierarchical(matrix.T, "average", "pearson")
            row_order = np.argsort(labels, kind="stable")
        else:
            column_clusters = labels
            if len(matrix) <= MAX_TREE_ROWS:
                row_tree = hierarchical(matrix, "average", "pearson")
            row_order = _leaves(row_tree, len(matrix))
    if method != "hierarchical" and axis == "samples":
        assert column_clusters is not None
        column_order = np.argsort(column_clusters, kind="stable")
    else:
        column_order = _leaves(column_tree, matrix.shape[1])
    values = chosen.iloc[row_order, column_order]
    return ClusterResult(
        values=values,
        method=method,
        linkage=linkage if method == "hierarchical" else None,
        distance=distance if method == "hierarchical" else None,
        k=k,
        axis=axis,
        seed=seed,
        row_linkage=row_tree,
        column_linkage=column_tree,
        row_clusters=row_clusters[row_order] if row_clusters is not None else None,
        column_clusters=column_clusters[column_order] if column_clusters is not None else None,
        log2_applied=log2_applied,
        rows_in=len(frame),
        rows_complete=int(frame.notna().all(axis=1).sum()),
    )


def _leaves(tree: np.ndarray | None, n: int) -> np.ndarray:
    from scipy.cluster.hierarchy import leaves_list

    if tree is None or n < 2:
        return np.arange(n)
    return np.asarray(leaves_list(tree), dtype=np.int64)


def _cut(tree: np.ndarray, k: int, n: int) -> np.ndarray:
    from scipy.cluster.hierarchy import fcluster

    if n < 2:
        return np.ones(n, dtype=np.int64)
    return np.asarray(fcluster(tree, min(k, n), criterion="maxclust"), dtype=np.int64)
