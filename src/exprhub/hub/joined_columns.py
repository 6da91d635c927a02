"""Columns of many samples from every matrix of a kind, joined on the feature (gene) id.

Refined values, gene-level values and imported read counts are stored in one matrix per
organism and value kind (or per series), so the values of a selection of samples are spread
over several matrices with different rows. :func:`joined_columns` finds the matrices of a kind
holding the samples' current columns and the union of their features; :meth:`JoinedColumns.read`
reads any of the samples at any of those features as one features x samples array (NaN where a
sample's matrix has no such row), reading only the columns asked for.

The refinery's :func:`~exprhub.refine.store.refined.refined_matrix`, the API's read counts
(``exprhub.api.Hub.expression(kind="counts")``) and the compendia
(:mod:`exprhub.bundles.compendium_source`, block by block on Dask workers through
:meth:`JoinedColumns.plan` and :func:`read_plan`) all read this way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from exprhub.hub.hub import Hub

__all__ = ["ColumnPlan", "JoinedColumns", "JoinedPart", "joined_columns", "read_plan"]

#: Where a run of samples' columns are: per matrix holding any of them, ``(part index, matrix
#: name, its number of rows, positions of its samples in the run, their columns)``.
ColumnPlan = list[tuple[int, str, int, list[int], list[int]]]


@dataclass(frozen=True)
class JoinedPart:
    """One matrix's share of a join.

    Attributes
    ----------
    name
        The matrix.
    n_rows
        Its number of rows.
    rows
        For each of its rows, the position of its feature in :attr:`JoinedColumns.features`.
    columns
        Sample -> its current column in this matrix (only the samples asked for).
    """

    name: str
    n_rows: int
    rows: np.ndarray
    columns: dict[str, int]


@dataclass(frozen=True)
class JoinedColumns:
    """The matrices of one kind holding a selection of samples, joined on the feature id.

    Attributes
    ----------
    kind
        The matrix kind (``refined``, ``genes``, ``counts`` ...).
    features
        The union of the matrices' features: the first matrix's (by name) in row order, then
        each further matrix's new ones in row order.
    parts
        The matrices, by name.
    samples
        The samples asked for that have a current column in one of them, in the order asked.
    """

    kind: str
    features: tuple[str, ...]
    parts: tuple[JoinedPart, ...]
    samples: tuple[str, ...]

    @property
    def matrices(self) -> list[str]:
        """Names of the matrices joined."""
        return [part.name for part in self.parts]

    def reordered(self, features: Sequence[str]) -> JoinedColumns:
        """The same join with :attr:`features` in the order given (the same features)."""
        position = {f: i for i, f in enumerate(features)}
        if len(position) != len(self.features) or not all(f in position for f in self.features):
            raise ValueError("reordered() takes the join's own features, each once")
        moved = np.array([position[f] for f in self.features], dtype=np.int64)
        parts = tuple(JoinedPart(p.name, p.n_rows, moved[p.rows], p.columns) for p in self.parts)
        return JoinedColumns(self.kind, tuple(features), parts, self.samples)

    def plan(self, samples: Sequence[str]) -> ColumnPlan:
        """Where the columns of ``samples`` (of :attr:`samples`) are, for :func:`read_plan`."""
        plan: ColumnPlan = []
        for p, part in enumerate(self.parts):
            picked = [(j, part.columns[k]) for j, k in enumerate(samples) if k in part.columns]
            if picked:
                plan.append(
                    (p, part.name, part.n_rows, [j for j, _ in picked], [c for _, c in picked])
                )
        return plan

    def row_targets(self, rows: np.ndarray | None = None) -> tuple[int, tuple[np.ndarray, ...]]:
        """``(number of output rows, per matrix the output row of each of its rows or -1)``
        for the feature positions ``rows`` (default: all :attr:`features`), for
        :func:`read_plan`."""
        n = len(self.features)
        selected = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
        local = np.full(n, -1, dtype=np.int64)
        local[selected] = np.arange(selected.size)
        return int(selected.size), tuple(local[part.rows] for part in self.parts)

    def read(
        self,
        hub: Hub,
        samples: Sequence[str] | None = None,
        *,
        rows: np.ndarray | None = None,
        dtype: type = np.float32,
    ) -> np.ndarray:
        """Values of ``samples`` (default: all of :attr:`samples`) at the feature positions
        ``rows`` (default: all of :attr:`features`): features x samples, NaN where a
        sample's matrix lacks the feature. Only these samples' columns are read."""
        keys = list(self.samples if samples is None else samples)
        return read_plan(hub, self.plan(keys), len(keys), self.row_targets(rows), dtype=dtype)

    def frame(
        self, hub: Hub, samples: Sequence[str] | None = None, *, index_name: str = "gene_id"
    ) -> pd.DataFrame:
        """:meth:`read` as a float32 DataFrame (index: the features, named ``index_name``;
        columns: the samples), without the features no sample has a value for."""
        import pandas as pd

        keys = list(self.samples if samples is None else samples)
        index = pd.Index(self.features, name=index_name)
        frame = pd.DataFrame(self.read(hub, keys), index=index, columns=keys)
        return frame.dropna(how="all")


def joined_columns(
    hub: Hub, samples: Sequence[str], kind: str, *, prefix: str = ""
) -> JoinedColumns:
    """The matrices of ``kind`` holding a current column of any of ``samples``, joined on the
    feature id (:class:`JoinedColumns`; nothing is read from the array store yet).

    Parameters
    ----------
    samples
        Sample keys; those without a current column of this kind are left out.
    kind
        The matrix kind.
    prefix
        Only matrices whose name starts with this (``refined/9606/``: one organism).
    """
    keys = list(dict.fromkeys(samples))
    found = hub.sample_matrices(keys, kind)
    position: dict[str, int] = {}
    parts: list[JoinedPart] = []
    placed: set[str] = set()
    for name in sorted(n for n in found if n.startswith(prefix)):
        wanted = set(found[name])
        columns = {k: c for k, c in hub.matrix_samples(name) if k in wanted}
        features = hub.matrix_features(name)
        rows = np.empty(len(features), dtype=np.int64)
        for i, feature in enumerate(features):
            rows[i] = position.setdefault(feature, len(position))
        parts.append(JoinedPart(name, len(features), rows, columns))
        placed.update(columns)
    return JoinedColumns(
        kind=kind,
        features=tuple(position),
        parts=tuple(parts),
        samples=tuple(k for k in keys if k in placed),
    )


def read_plan(
    hub: Hub,
    plan: ColumnPlan,
    n_samples: int,
    targets: tuple[int, tuple[np.ndarray, ...]],
    *,
    dtype: type = np.float64,
) -> np.ndarray:
    """Read the columns of a :meth:`JoinedColumns.plan` into a features x samples array of
    ``dtype`` (NaN where a sample has no value), rows placed by
    :meth:`JoinedColumns.row_targets`."""
    n_out, by_part = targets
    # filled sample by sample (rows of ``out``) and returned transposed: each sample's values
    # stay contiguous, which column-wise work after (sorting, QN) reads fastest
    if len(plan) == 1:
        p, name, n_rows, positions, columns = plan[0]
        if (
            np.dtype(dtype) == hub.store.open(name).dtype
            and np.array_equal(by_part[p], np.arange(n_out))
            and np.array_equal(positions, np.arange(n_samples))
        ):
            # one matrix holding every sample and feature in order: as read, no copy
            return hub.store.open(name).columns_by_sample(columns, n_rows).T
    out: np.ndarray = np.full((n_samples, n_out), np.nan, dtype=dtype)
    for p, name, n_rows, positions, columns in plan:
        values = hub.store.open(name).columns_by_sample(columns, n_rows)
        target = by_part[p]
        keep = np.flatnonzero(target >= 0)
        rows = target[keep]
        at = np.asarray(positions, dtype=np.intp)
        # a band of samples at a time: no second matrix-sized array besides ``values``
        for start in range(0, at.size, _PLACE_BAND):
            band = values[start : start + _PLACE_BAND, keep]
            out[at[start : start + _PLACE_BAND, None], rows] = band
        del values
    return out.T


#: Samples placed at a time by :func:`read_plan`.
_PLACE_BAND = 256
