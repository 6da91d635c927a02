"""The exploratory analyses of :class:`exprhub.api.Hub`: compare two sets of samples, cluster,
value distributions and PCA (the work is done in ``exprhub.api.explore``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    import pandas as pd

    from exprhub.analysis.clustering import ClusterResult
    from exprhub.analysis.distributions import PcaResult
    from exprhub.api.explore import Distributions
    from exprhub.hub import Hub


class ExploreMethods:
    """``compare``, ``cluster``, ``distributions`` and ``pca`` of :class:`exprhub.api.Hub`."""

    def compare(
        self,
        accession: str | Sequence[str],
        a: str | Sequence[str],
        b: str | Sequence[str] = "rest",
        *,
        values: str = "submitted",
        platform: str | None = None,
        method: str = "t-test",
        log: str | bool = "auto",
        adjust: str = "BH",
        p_value: float | None = None,
        adj_p_value: float | None = None,
        fold: float | None = None,
    ) -> pd.DataFrame:
        """Compare two sets of samples row by row, as GEO's "compare 2 sets of samples"
        (docs/analysis.md).

        Parameters
        ----------
        accession
            A DataSet (its own table and subsets), a series, several accessions, or samples.
        a, b
            The sets: a subset (``"GDS507_1"``), ``"field=value"`` (subset type, harmonized
            field or characteristic, e.g. ``"disease state=RCC"``), samples (a list or
            ``"GSM1,GSM2"``); ``b`` may be ``"rest"`` (every other sample, the default).
        values, platform
            As in :meth:`expression`.
        method
            ``"t-test"`` (Student), ``"welch"``, ``"limma"`` (GEO2R's moderated t-test,
            empirical Bayes), ``"fold"`` (mean fold difference of values) or ``"rank-fold"``
            (of rank percentiles).
        log
            ``"auto"`` (GEO2R's rule), ``"yes"``, ``"no"``: log2 the values first.
        adjust
            ``"BH"``, ``"BY"``, ``"holm"``, ``"bonferroni"`` or ``"none"``.
        p_value, adj_p_value, fold
            Keep only rows with a p-value / adjusted p-value at most this, or a fold at
            least this far from 1 either way (default: all rows).

        Returns
        -------
        pandas.DataFrame
            One row per probe or gene (index ``ID_REF`` / ``gene_id``), sorted by p-value:
            ``identifier`` (gene symbol, where known), ``mean_a``, ``mean_b``, ``n_a``,
            ``n_b``, ``fold`` (A / B), ``log2_fold``, ``statistic``, ``df``, ``p_value``,
            ``adj_p_value``; ``attrs`` say what was compared and how.

        Raises
        ------
        ValueError
            For a set that names no sample, overlapping sets, or bad options.
        """
        from exprhub.api import explore

        return explore.compare(
            cast("Hub", self), accession, a, b, values=values, platform=platform,
            method=method, log=log, adjust=adjust, p_value=p_value, adj_p_value=adj_p_value,
            fold=fold,
        )  # fmt: skip

    def cluster(
        self,
        accession: str | Sequence[str],
        *,
        values: str = "submitted",
        platform: str | None = None,
        method: str = "hierarchical",
        linkage: str = "average",
        distance: str = "pearson",
        k: int | None = None,
        axis: str = "genes",
        top: int | None = 1000,
        log: str | bool = "auto",
        seed: int = 0,
    ) -> ClusterResult:
        """Cluster the most variable rows of an accession's values (docs/analysis.md).

        Parameters
        ----------
        accession
            A DataSet, a series, several accessions, or samples.
        values, platform
            As in :meth:`expression`.
        method
            ``"hierarchical"`` (genes and samples), ``"kmeans"`` or ``"kmedians"``.
        linkage
            ``"single"``, ``"complete"`` or ``"average"`` (hierarchical).
        distance
            ``"euclidean"``, ``"pearson"`` or ``"uncentered"`` (hierarchical).
        k
            Clusters, 2 to 15: required by k-means / k-medians; cuts the trees otherwise.
        axis
            What k-means / k-medians cluster: ``"genes"`` or ``"samples"``.
        top
            The most variable rows to use (default 1,000; ``None``: all complete rows).
        log
            ``"auto"`` (GEO2R's rule), ``"yes"``, ``"no"``.
        seed
            Seed of k-means / k-medians.

        Returns
        -------
        exprhub.analysis.clustering.ClusterResult
            Ordered values, trees, assignments (``assignments()``), ``to_dict()``; draw it
            with ``exprhub.analysis.images.heatmap_image`` or ``charts.heatmap_figure``.
        """
        from exprhub.api import explore

        return explore.cluster(
            cast("Hub", self), accession, values=values, platform=platform, method=method,
            linkage=linkage, distance=distance, k=k, axis=axis, top=top, log=log, seed=seed,
        )  # fmt: skip

    def distributions(
        self,
        accession: str | Sequence[str],
        *,
        values: str = "submitted",
        platform: str | None = None,
        by: str | None = None,
        log: str | bool = "auto",
    ) -> Distributions:
        """Box plot statistics of each sample's values, grouped by a field (``by``: a subset
        type, ``series``, ``platform``, a harmonized field or characteristic).

        Returns
        -------
        exprhub.api.explore.Distributions
            ``stats`` (samples x n, missing, min, whiskers, quartiles, max, mean,
            outliers), ``groups``; ``frame()`` and ``to_dict()``.
        """
        from exprhub.api import explore

        return explore.distributions(
            cast("Hub", self), accession, values=values, platform=platform, by=by, log=log
        )

    def pca(
        self,
        accession: str | Sequence[str],
        *,
        values: str = "submitted",
        platform: str | None = None,
        color: str | None = None,
        components: int = 2,
        top: int | None = None,
        log: str | bool = "auto",
        scale: bool = False,
    ) -> PcaResult:
        """Principal components of the samples of one or more accessions, coloured by a field
        (default: series, else platform, when they differ): the batch check to make before
        combining refined values of several series.

        Parameters
        ----------
        accession
            A DataSet, series, several accessions (``["GSE1623", "GSE2870"]``) or samples.
        values, platform
            As in :meth:`expression` (``"refined"`` joins series on genes).
        color
            The field to colour by (subset type, series, platform, harmonized field ...).
        components
            Components to compute.
        top
            Use the most variable rows only (default: all rows with a value in every sample).
        log
            ``"auto"``, ``"yes"``, ``"no"``.
        scale
            Scale each row to unit variance first.

        Returns
        -------
        exprhub.analysis.distributions.PcaResult
            ``coordinates``, ``explained_variance_ratio``, ``annotations``; ``frame()``,
            ``to_dict()``.
        """
        from exprhub.api import explore

        return explore.pca(
            cast("Hub", self), accession, values=values, platform=platform, color=color,
            components=components, top=top, log=log, scale=scale,
        )  # fmt: skip
