"""Exploratory analyses of hub data: compare two sets of samples, cluster heatmaps, value
distributions and PCA (``exprhub.Hub.compare`` / ``cluster`` / ``distributions`` / ``pca``).

Each reads the values and sample annotations of an accession (``explore_data.load``) and
hands them to ``exprhub.analysis``; the same analyses run on any matrix through
``exprhub.analysis.comparison`` / ``clustering`` / ``distributions`` directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from exprhub.analysis.clustering import DEFAULT_TOP, ClusterResult, cluster_matrix
from exprhub.analysis.comparison import Thresholds, compare_sets
from exprhub.analysis.distributions import PcaResult, box_statistics, principal_components
from exprhub.api.explore_data import (
    AnalysisInput,
    SampleSet,
    describe_spread,
    field_values,
    load,
    resolve_set,
)

if TYPE_CHECKING:
    import pandas as pd

    from exprhub.hub import Hub

#: Fields to colour a PCA by when none is named: the first with several values (then the
#: DataSet subset types).
DEFAULT_COLOR_FIELDS = ("series", "platform")


def _no_complete_rows(data: AnalysisInput, exc: ValueError) -> ValueError:
    spread = describe_spread(data)
    if "too few to analyse" in str(exc) and spread:
        return ValueError(
            f"the {data.values.shape[1]} samples span {spread}: no row has a value in all of "
            "them; analyse the samples of one platform (platform=) or one organism"
        )
    return exc


def compare(
    hub: Hub,
    accession: str | Sequence[str],
    a: SampleSet,
    b: SampleSet = "rest",
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
    """See :meth:`exprhub.api.Hub.compare`."""
    thresholds = Thresholds(p_value=p_value, adj_p_value=adj_p_value, fold=fold)
    data = load(hub, accession, values=values, platform=platform, identifiers=True)
    set_a, label_a = resolve_set(data, a, label="A")
    set_b, label_b = resolve_set(data, b, rest_of=set_a, label="B")
    table = compare_sets(
        data.values, set_a, set_b, method=method, log=log, adjust=adjust, thresholds=thresholds
    )
    attrs = dict(table.attrs)
    if data.identifiers:
        table.insert(0, "identifier", [data.identifiers.get(str(k)) for k in table.index])
    table.attrs = {**data.source, **attrs, "a_label": label_a, "b_label": label_b}
    return table


def comparison_dict(table: pd.DataFrame, limit: int | None = None) -> dict[str, Any]:
    """A comparison table as JSON-ready data: its ``attrs`` and ``rows`` (the first
    ``limit``), each with ``id`` and the table's columns (NaN as None)."""
    import math

    index_name = table.index.name or "id"
    rows = []
    shown = table if limit is None else table.head(limit)
    for key, row in zip(shown.index, shown.itertuples(index=False), strict=False):
        item: dict[str, Any] = {"id": str(key)}
        for name, value in zip(shown.columns, row, strict=False):
            if isinstance(value, float) and math.isnan(value):
                item[name] = None
            elif hasattr(value, "item"):
                item[name] = value.item()
            else:
                item[name] = value
        rows.append(item)
    return {**table.attrs, "id_column": index_name, "rows_shown": len(rows), "rows": rows}


def cluster(
    hub: Hub,
    accession: str | Sequence[str],
    *,
    values: str = "submitted",
    platform: str | None = None,
    method: str = "hierarchical",
    linkage: str = "average",
    distance: str = "pearson",
    k: int | None = None,
    axis: str = "genes",
    top: int | None = DEFAULT_TOP,
    log: str | bool = "auto",
    seed: int = 0,
) -> ClusterResult:
    """See :meth:`exprhub.api.Hub.cluster`."""
    data = load(hub, accession, values=values, platform=platform)
    try:
        result = cluster_matrix(
            data.values,
            method=method,
            linkage=linkage,
            distance=distance,
            k=k,
            axis=axis,
            top=top,
            log=log,
            seed=seed,
        )
    except ValueError as exc:
        raise _no_complete_rows(data, exc) from None
    result.annotations = data.annotations.loc[[str(c) for c in result.values.columns]]
    result.source = {key: data.source[key] for key in ("request", "values", "platform", "missing")}
    return result


@dataclass
class Distributions:
    """Box plot statistics per sample with the group each sample belongs to.

    Attributes
    ----------
    stats
        Samples x :data:`exprhub.analysis.distributions.BOX_COLUMNS`.
    groups
        Sample -> group (the ``by`` field's value), or None.
    by
        The field the samples are grouped by.
    """

    stats: pd.DataFrame
    groups: pd.Series | None
    by: str | None
    log2_applied: bool
    source: dict[str, Any] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        """The statistics with a ``group`` column (when grouped) first."""
        table = self.stats.copy()
        if self.groups is not None:
            table.insert(0, "group", [self.groups.get(k) for k in table.index])
        return table

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: parameters and one record per sample."""
        samples = []
        for key, row in self.frame().iterrows():
            item: dict[str, Any] = {"sample": str(key)}
            for name, value in row.items():
                item[str(name)] = None if value is None or value != value else _plain(value)
            samples.append(item)
        return {
            **self.source,
            "by": self.by,
            "log2_applied": self.log2_applied,
            "samples": samples,
        }


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def distributions(
    hub: Hub,
    accession: str | Sequence[str],
    *,
    values: str = "submitted",
    platform: str | None = None,
    by: str | None = None,
    log: str | bool = "auto",
) -> Distributions:
    """See :meth:`exprhub.api.Hub.distributions`."""
    data = load(hub, accession, values=values, platform=platform)
    stats = box_statistics(data.values, log=log)
    groups = None
    if by is not None:
        groups = field_values(data.annotations, by)
        by = str(groups.name)
    source = {key: data.source[key] for key in ("request", "values", "platform", "missing")}
    return Distributions(stats, groups, by, bool(stats.attrs["log2_applied"]), source)


def pca(
    hub: Hub,
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
    """See :meth:`exprhub.api.Hub.pca`."""
    data = load(hub, accession, values=values, platform=platform)
    try:
        result = principal_components(
            data.values, components=components, top=top, log=log, scale=scale
        )
    except ValueError as exc:
        raise _no_complete_rows(data, exc) from None
    result.annotations = data.annotations
    if color is not None:
        result.color = str(field_values(data.annotations, color).name)
    else:
        subset_types = [kind for kind, _, _ in data.subsets.values()]
        candidates = [*DEFAULT_COLOR_FIELDS, *dict.fromkeys(subset_types)]
        result.color = next(
            (
                name
                for name in candidates
                if name in data.annotations and len({v for v in data.annotations[name] if v}) > 1
            ),
            None,
        )
    result.source = {key: data.source[key] for key in ("request", "values", "platform", "missing")}
    return result
