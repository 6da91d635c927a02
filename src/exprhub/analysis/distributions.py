"""Value distributions per sample (box plot statistics) and principal components of samples:
the checks for batches and outliers to make before combining data from several series.

Box plots follow Tukey: the box spans the first to third quartile (linear interpolation
between order statistics, as numpy and R's default ``quantile`` type 7), the whiskers reach
the most extreme values within 1.5 interquartile ranges of the box, values beyond them are
outliers. PCA is scikit-learn's (singular value decomposition of the centred samples x genes
matrix), on the rows with a value in every sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from exprhub.analysis.clustering import most_variable
from exprhub.analysis.value_scale import to_log2

if TYPE_CHECKING:
    import pandas as pd

#: Columns of a box statistics table.
BOX_COLUMNS = (
    "n",
    "missing",
    "min",
    "lower_whisker",
    "q1",
    "median",
    "q3",
    "upper_whisker",
    "max",
    "mean",
    "outliers",
)


def box_statistics(frame: pd.DataFrame, *, log: str | bool = "auto") -> pd.DataFrame:
    """Tukey box plot statistics of each sample (column) of ``frame``.

    Parameters
    ----------
    frame
        Values: rows x samples.
    log
        ``"auto"`` (GEO2R's rule on the whole matrix), ``"yes"`` or ``"no"``.

    Returns
    -------
    pandas.DataFrame
        One row per sample (index: the sample), columns :data:`BOX_COLUMNS`; ``outliers``
        counts values beyond the whiskers. ``attrs["log2_applied"]`` says whether values were
        log2-transformed.
    """
    import pandas as pd

    data, log2_applied = to_log2(frame.to_numpy(), log)
    rows = []
    for j in range(data.shape[1]):
        column = data[:, j]
        present = np.sort(column[np.isfinite(column)])
        if present.size == 0:
            rows.append([0, len(column)] + [np.nan] * 8 + [0])
            continue
        q1, median, q3 = np.quantile(present, [0.25, 0.5, 0.75])
        reach = 1.5 * (q3 - q1)
        inside = present[(present >= q1 - reach) & (present <= q3 + reach)]
        low, high = float(inside[0]), float(inside[-1])
        outliers = int(present.size - inside.size)
        rows.append(
            [
                int(present.size),
                int(len(column) - present.size),
                float(present[0]),
                low,
                float(q1),
                float(median),
                float(q3),
                high,
                float(present[-1]),
                float(present.mean()),
                outliers,
            ]
        )
    table = pd.DataFrame(rows, index=pd.Index(frame.columns, name="sample"), columns=BOX_COLUMNS)
    table.attrs = {"log2_applied": log2_applied}
    return table


@dataclass
class PcaResult:
    """Principal components of samples.

    Attributes
    ----------
    coordinates
        Samples x ``PC1 .. PCn``.
    explained_variance_ratio
        The share of the variance each component explains.
    log2_applied, rows_in, rows_used
        Whether values were log2-transformed; rows given; rows used (complete, most
        variable).
    annotations
        Per-sample fields (series, platform, subsets, harmonized fields) to colour by.
    color
        The field chosen to colour by, if any.
    """

    coordinates: pd.DataFrame
    explained_variance_ratio: list[float]
    log2_applied: bool
    rows_in: int
    rows_used: int
    annotations: pd.DataFrame | None = None
    color: str | None = None
    source: dict[str, Any] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        """Coordinates joined with the annotations (one row per sample)."""
        if self.annotations is None:
            return self.coordinates.copy()
        return self.coordinates.join(self.annotations, how="left")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: parameters, explained variance and one record per sample."""
        table = self.frame()
        samples = []
        for key, row in table.iterrows():
            item: dict[str, Any] = {"sample": str(key)}
            for name, value in row.items():
                item[str(name)] = None if value is None or value != value else _plain(value)
            samples.append(item)
        return {
            **self.source,
            "log2_applied": self.log2_applied,
            "rows_in": self.rows_in,
            "rows_used": self.rows_used,
            "color": self.color,
            "explained_variance_ratio": self.explained_variance_ratio,
            "samples": samples,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def principal_components(
    frame: pd.DataFrame,
    *,
    components: int = 2,
    top: int | None = None,
    log: str | bool = "auto",
    scale: bool = False,
) -> PcaResult:
    """PCA of the samples (columns) of ``frame``.

    Parameters
    ----------
    frame
        Values: rows (genes or probes) x samples.
    components
        Components to keep (at most the number of samples).
    top
        Use only the ``top`` most variable rows (default: every row with a value in every
        sample).
    log
        ``"auto"`` (GEO2R's rule), ``"yes"`` or ``"no"``.
    scale
        Scale each row to unit variance before the PCA (default: centred only).

    Raises
    ------
    ValueError
        For fewer than two samples, fewer than two complete rows, or ``components`` < 1.
    """
    import pandas as pd
    from sklearn.decomposition import PCA

    if frame.shape[1] < 2:
        raise ValueError(f"PCA needs at least 2 samples; got {frame.shape[1]}")
    if components < 1:
        raise ValueError(f"components must be at least 1; got {components}")
    data, log2_applied = to_log2(frame.to_numpy(), log)
    logged = pd.DataFrame(data, index=frame.index, columns=frame.columns)
    chosen = most_variable(logged, top)
    matrix = chosen.to_numpy(dtype=np.float64).T  # samples x genes
    if scale:
        spread = matrix.std(axis=0, ddof=1)
        matrix = (matrix - matrix.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    n = min(components, matrix.shape[0], matrix.shape[1])
    model = PCA(n_components=n, svd_solver="full")
    scores = model.fit_transform(matrix)
    coordinates = pd.DataFrame(
        scores,
        index=pd.Index([str(c) for c in frame.columns], name="sample"),
        columns=[f"PC{i + 1}" for i in range(n)],
    )
    return PcaResult(
        coordinates=coordinates,
        explained_variance_ratio=[float(x) for x in model.explained_variance_ratio_],
        log2_applied=log2_applied,
        rows_in=len(frame),
        rows_used=len(chosen),
    )
