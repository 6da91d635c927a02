"""Profile neighbours: the rows (probes or genes) of a DataSet or series whose values across
its samples correlate best with one row's (Pearson).

Each row is z-scored over its observed values once (a matrix of rows x samples); the
correlation of every row with the chosen one is then one matrix-vector product. A missing
value counts as the row's mean (zero after z-scoring), so for rows without missing values
the result is exactly Pearson's r; rows with fewer than three observed values, or constant
ones, have none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["NeighbourOptions", "ZScored", "zscore_rows"]


@dataclass(frozen=True)
class NeighbourOptions:
    """Neighbours with r >= ``min_r`` (default 0.7), the ``count`` best (default 20);
    ``negative`` also takes rows correlating as strongly the other way (r <= -min_r)."""

    min_r: float = 0.7
    count: int = 20
    negative: bool = False

    def __post_init__(self) -> None:
        if not -1 <= self.min_r <= 1:
            raise ValueError(f"min_r must be in [-1, 1], got {self.min_r}")
        if self.count < 1:
            raise ValueError(f"count must be >= 1, got {self.count}")


@dataclass
class ZScored:
    """Rows z-scored over their observed values (missing -> 0), float32, and which rows
    can be correlated at all."""

    features: list[str]
    z: np.ndarray
    usable: np.ndarray

    def correlations(self, row: int) -> np.ndarray:
        """Pearson's r of every row with ``row`` (NaN for unusable rows)."""
        n = self.z.shape[1]
        r = (self.z @ self.z[row]) / np.float32(n)
        r = r.astype(np.float64)
        r[~self.usable] = np.nan
        return np.clip(r, -1.0, 1.0)

    def neighbours(
        self, row: int, options: NeighbourOptions | None = None
    ) -> list[tuple[int, float]]:
        """``(row, r)`` of the best-correlated other rows, best first."""
        options = options or NeighbourOptions()
        r = self.correlations(row)
        r[row] = np.nan
        score = np.abs(r) if options.negative else r
        score = np.where(np.isfinite(score), score, -np.inf)
        keep = np.flatnonzero(score >= options.min_r)
        if keep.size > options.count:
            keep = keep[np.argpartition(-score[keep], options.count - 1)[: options.count]]
        keep = keep[np.argsort(-score[keep], kind="stable")]
        return [(int(i), float(r[i])) for i in keep]


def zscore_rows(features: Sequence[str], values: np.ndarray) -> ZScored:
    """Z-score each row of ``values`` (rows x samples) over its observed values."""
    x = np.asarray(values, dtype=np.float64)
    observed = np.isfinite(x)
    n = observed.sum(axis=1)
    filled = np.where(observed, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=1) / n
        centred = np.where(observed, x - mean[:, None], 0.0)
        # population SD over the observed values, scaled to the full sample count so that
        # the mean of products over all columns is r for complete rows
        sd = np.sqrt((centred * centred).sum(axis=1) / x.shape[1])
        z = centred / sd[:, None]
    usable = (n >= 3) & np.isfinite(sd) & (sd > 0)
    z[~usable] = 0.0
    return ZScored(list(features), z.astype(np.float32), usable)
