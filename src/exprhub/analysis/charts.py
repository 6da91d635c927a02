"""Interactive charts as plotly figures (JSON for plotly.js): cluster heatmaps, box plots,
PCA, and the volcano and mean-difference (MA) plots of a differential expression table.

Every builder returns a ``plotly.graph_objects.Figure``; :func:`figure_json` turns one into
the JSON-ready dict the web pages hand to ``Plotly.newPlot``. ``exprhub.analysis.images``
draws the same charts as PNG / SVG images with matplotlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from exprhub.analysis.clustering import ClusterResult
    from exprhub.analysis.distributions import PcaResult

#: Columns a differential expression table needs for the volcano and MA plots (limma's).
TOP_TABLE_COLUMNS = ("logFC", "AveExpr", "P.Value", "adj.P.Val")
#: Colours of groups (colour-blind safe, Okabe-Ito), given to a field's values in sorted
#: order, so that a value has the same colour in every chart of the same samples.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
)
UP, DOWN, FLAT = "#D55E00", "#0072B2", "#9a9a9a"
#: Most points of a volcano / MA plot drawn as SVG; larger tables use WebGL.
WEBGL_POINTS = 60000


def figure_json(figure: go.Figure) -> dict[str, Any]:
    """The figure as plain JSON data (``data`` and ``layout``) for plotly.js: arrays as
    lists of numbers (not plotly's base64 typed arrays), NaN as None."""
    plain = _plain_json(figure.to_plotly_json())
    return {"data": plain.get("data", []), "layout": plain.get("layout", {})}


def _plain_json(value: Any) -> Any:
    if isinstance(value, dict) and "bdata" in value and "dtype" in value:
        value = _typed_array(value)  # plotly keeps numpy arrays as base64 typed arrays
    if isinstance(value, dict):
        return {str(k): _plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_json(v) for v in value]
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            cells = value.astype(object)
            cells[~np.isfinite(value)] = None
            return cells.tolist()
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _typed_array(spec: dict[str, Any]) -> np.ndarray:
    """The numpy array of a plotly typed array (``dtype``, base64 ``bdata``, ``shape``)."""
    import base64

    data = np.frombuffer(base64.b64decode(spec["bdata"]), dtype=np.dtype(spec["dtype"]))
    shape = spec.get("shape")
    if shape:
        data = data.reshape([int(n) for n in str(shape).split(",")])
    return data


def row_zscores(values: np.ndarray) -> np.ndarray:
    """Each row centred on its mean and divided by its standard deviation (constant rows: 0),
    the colour scale of the heatmaps."""
    data = np.asarray(values, dtype=np.float64)
    mean = data.mean(axis=1, keepdims=True)
    spread = data.std(axis=1, ddof=1, keepdims=True) if data.shape[1] > 1 else np.ones_like(mean)
    return (data - mean) / np.where(spread > 0, spread, 1.0)


def dendrogram_segments(tree: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Line segments ``(n, 2, 2)`` of a dendrogram: leaf ``order[i]`` at position ``i``,
    heights from the linkage matrix ``tree``; computed without recursion (deep trees of
    single linkage are fine)."""
    n = len(order)
    position = np.empty(n + len(tree), dtype=np.float64)
    height = np.zeros(n + len(tree), dtype=np.float64)
    position[np.asarray(order, dtype=np.int64)] = np.arange(n, dtype=np.float64)
    segments = np.empty((3 * len(tree), 2, 2), dtype=np.float64)
    for i, (left, right, distance, _) in enumerate(tree):
        a, b = int(left), int(right)
        xa, xb, ya, yb = position[a], position[b], height[a], height[b]
        segments[3 * i] = ((xa, ya), (xa, distance))
        segments[3 * i + 1] = ((xa, distance), (xb, distance))
        segments[3 * i + 2] = ((xb, distance), (xb, yb))
        position[n + i] = (xa + xb) / 2
        height[n + i] = distance
    return segments


def _lines(segments: np.ndarray, swap: bool = False) -> tuple[list[float | None], ...]:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for (x0, y0), (x1, y1) in segments:
        if swap:
            x0, y0, x1, y1 = y0, x0, y1, x1
        xs += [float(x0), float(x1), None]
        ys += [float(y0), float(y1), None]
    return xs, ys


def heatmap_figure(
    result: ClusterResult, *, title: str | None = None, annotate: str | None = None
) -> go.Figure:
    """The cluster heatmap: row z-scores of the clustered values, samples across, genes down,
    with the sample tree above and the gene tree (or the k-means clusters) on the left; with
    ``annotate`` (a field of ``result.annotations``, e.g. a subset type) a strip under the
    sample tree colours the samples by its value."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    values = result.values
    genes = [str(x) for x in values.index]
    samples = [str(x) for x in values.columns]
    groups = sample_groups(result, annotate)
    heat_row = 3 if groups is not None else 2
    figure = make_subplots(
        rows=heat_row,
        cols=2,
        column_widths=[0.15, 0.85],
        row_heights=[0.15, 0.04, 0.81] if groups is not None else [0.15, 0.85],
        shared_xaxes="columns",
        shared_yaxes="rows",
        horizontal_spacing=0.005,
        vertical_spacing=0.005,
    )
    z = np.round(row_zscores(values.to_numpy()), 3)
    figure.add_trace(
        go.Heatmap(
            z=z,
            x=list(range(len(samples))),
            y=list(range(len(genes))),
            text=[[f"{g} / {s}" for s in samples] for g in genes] if len(genes) <= 300 else None,
            colorscale="RdBu",
            reversescale=True,
            zmid=0,
            colorbar={"title": "z-score", "len": 0.8, "y": 0.42},
            hovertemplate="%{text}<br>z = %{z:.2f}<extra></extra>"
            if len(genes) <= 300
            else "sample %{x}, gene %{y}<br>z = %{z:.2f}<extra></extra>",
        ),
        row=heat_row,
        col=2,
    )
    tree_line = {"color": "#444", "width": 1}
    if result.column_linkage is not None and len(result.column_linkage):
        segments = dendrogram_segments(result.column_linkage, _original_order(result, "columns"))
        xs, ys = _lines(segments)
        figure.add_trace(
            go.Scatter(x=xs, y=ys, mode="lines", line=tree_line, hoverinfo="skip"), row=1, col=2
        )
    if result.row_linkage is not None and len(result.row_linkage):
        segments = dendrogram_segments(result.row_linkage, _original_order(result, "rows"))
        xs, ys = _lines(segments, swap=True)
        figure.add_trace(
            go.Scatter(
                x=[-x if x is not None else None for x in xs],
                y=ys,
                mode="lines",
                line=tree_line,
                hoverinfo="skip",
            ),
            row=heat_row,
            col=1,
        )
    elif result.row_clusters is not None:
        figure.add_trace(
            go.Heatmap(
                z=[[int(c)] for c in result.row_clusters],
                colorscale=[[i / 7, c] for i, c in enumerate(PALETTE)],
                showscale=False,
                hovertemplate="cluster %{z}<extra></extra>",
            ),
            row=heat_row,
            col=1,
        )
    figure.update_xaxes(
        tickvals=list(range(len(samples))), ticktext=samples, tickangle=-60, row=heat_row, col=2
    )
    figure.update_yaxes(
        tickvals=list(range(len(genes))) if len(genes) <= 60 else [],
        ticktext=genes if len(genes) <= 60 else [],
        side="right",
        autorange="reversed",
        row=heat_row,
        col=2,
    )
    if groups is not None:
        names = sorted(set(groups))
        codes = [names.index(g) for g in groups]
        steps = max(1, len(names) - 1)
        figure.add_trace(
            go.Heatmap(
                z=[codes],
                x=list(range(len(samples))),
                text=[[f"{s}: {g}" for s, g in zip(samples, groups, strict=True)]],
                colorscale=[[i / steps, PALETTE[i % len(PALETTE)]] for i in range(len(names))]
                if len(names) > 1
                else [[0, PALETTE[0]], [1, PALETTE[0]]],
                showscale=False,
                hovertemplate="%{text}<extra>" + _escape(str(annotate)) + "</extra>",
            ),
            row=2,
            col=2,
        )
        figure.update_layout(
            annotations=[
                {
                    "text": f"{_escape(str(annotate))}: "
                    + ", ".join(
                        f'<span style="color:{PALETTE[i % len(PALETTE)]}">■</span> {_escape(n)}'
                        for i, n in enumerate(names)
                    ),
                    "xref": "paper",
                    "yref": "paper",
                    "x": 0.15,
                    "y": 1.0,
                    "xanchor": "left",
                    "yanchor": "bottom",
                    "showarrow": False,
                }
            ]
        )
    spare = [(1, 1), (1, 2), (heat_row, 1)] + ([(2, 1), (2, 2)] if groups is not None else [])
    for row, col in spare:
        figure.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, row=row, col=col)
        figure.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, row=row, col=col)
    figure.update_yaxes(autorange="reversed", row=heat_row, col=1)
    figure.update_layout(
        title=title or _cluster_title(result),
        showlegend=False,
        height=720,
        margin={"l": 20, "r": 20, "t": 60, "b": 110},
        plot_bgcolor="white",
    )
    return figure


def sample_groups(result: ClusterResult, field: str | None) -> list[str] | None:
    """The value of ``field`` for each sample of ``result`` in display order (None without a
    field; ``"(none)"`` for a sample without a value).

    Raises
    ------
    ValueError
        When ``result.annotations`` has no such field.
    """
    if field is None:
        return None
    table = result.annotations
    if table is None or field not in table.columns:
        known = ", ".join(map(str, table.columns)) if table is not None else "none"
        raise ValueError(f"no field {field!r} to annotate the samples with; fields: {known}")
    column = table[field]
    return [
        str(column.get(s))
        if column.get(s) is not None and column.get(s) == column.get(s)
        else "(none)"
        for s in (str(c) for c in result.values.columns)
    ]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _original_order(result: ClusterResult, axis: str) -> np.ndarray:
    """Display position -> original index, recovered from the linkage (leaves order)."""
    from scipy.cluster.hierarchy import leaves_list

    tree = result.column_linkage if axis == "columns" else result.row_linkage
    assert tree is not None
    return np.asarray(leaves_list(tree), dtype=np.int64)


def _cluster_title(result: ClusterResult) -> str:
    if result.method == "hierarchical":
        how = f"hierarchical, {result.linkage} linkage, {result.distance} distance"
    else:
        how = f"{result.method}, K = {result.k} ({result.axis})"
    return f"{result.values.shape[0]} most variable rows x {result.values.shape[1]} samples: {how}"


def _groups(keys: list[str], groups: pd.Series | None) -> list[str]:
    if groups is None:
        return ["samples"] * len(keys)
    return [str(groups.get(k)) if groups.get(k) == groups.get(k) else "(none)" for k in keys]


def box_figure(
    stats: pd.DataFrame, groups: pd.Series | None = None, *, title: str | None = None
) -> go.Figure:
    """Box plots of each sample from :func:`~exprhub.analysis.distributions.box_statistics`,
    coloured by ``groups`` (sample -> group, e.g. a subset), samples ordered by group."""
    import plotly.graph_objects as go

    keys = [str(k) for k in stats.index]
    labels = _groups(keys, groups)
    rank = {name: n for n, name in enumerate(sorted(set(labels)))}
    order = sorted(range(len(keys)), key=lambda i: rank[labels[i]])
    figure = go.Figure()
    for n, group in enumerate(sorted(set(labels))):
        rows = [i for i in order if labels[i] == group]
        part = stats.iloc[rows]
        figure.add_trace(
            go.Box(
                name=group,
                x=[keys[i] for i in rows],
                q1=part["q1"].tolist(),
                median=part["median"].tolist(),
                q3=part["q3"].tolist(),
                lowerfence=part["lower_whisker"].tolist(),
                upperfence=part["upper_whisker"].tolist(),
                mean=part["mean"].tolist(),
                marker_color=PALETTE[n % len(PALETTE)],
                boxpoints=False,
            )
        )
    scale = "log2 value" if stats.attrs.get("log2_applied") else "value"
    figure.update_layout(
        title=title or "Value distribution per sample",
        yaxis_title=scale,
        xaxis={
            "tickangle": -60,
            "categoryorder": "array",
            "categoryarray": [keys[i] for i in order],
        },
        legend_title=groups.name if groups is not None and groups.name else None,
        height=480,
        margin={"b": 110},
    )
    return figure


def pca_figure(result: PcaResult, *, title: str | None = None) -> go.Figure:
    """Samples on the first two principal components, coloured by ``result.color``."""
    import plotly.graph_objects as go

    table = result.frame()
    keys = [str(k) for k in table.index]
    groups = table[result.color] if result.color and result.color in table else None
    labels = _groups(keys, groups)
    ratio = result.explained_variance_ratio
    second = "PC2" if "PC2" in table else "PC1"
    figure = go.Figure()
    for n, group in enumerate(sorted(set(labels))):
        rows = [i for i, g in enumerate(labels) if g == group]
        figure.add_trace(
            go.Scatter(
                x=table["PC1"].iloc[rows].tolist(),
                y=table[second].iloc[rows].tolist(),
                mode="markers",
                name=group,
                text=[keys[i] for i in rows],
                marker={"size": 11, "color": PALETTE[n % len(PALETTE)]},
                hovertemplate="%{text}<extra>" + group.replace("<", "&lt;") + "</extra>",
            )
        )
    figure.update_layout(
        title=title or "Principal components of the samples",
        xaxis_title=f"PC1 ({100 * ratio[0]:.1f} %)",
        yaxis_title=f"{second} ({100 * ratio[min(1, len(ratio) - 1)]:.1f} %)",
        legend_title=result.color,
        height=480,
    )
    return figure


def check_top_table(table: pd.DataFrame) -> None:
    """Raise ``ValueError`` naming the columns of :data:`TOP_TABLE_COLUMNS` that ``table``
    lacks."""
    missing = [c for c in TOP_TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"the table has no column {', '.join(missing)} (a limma-style top table)")


def significance(
    table: pd.DataFrame, *, adj_p_value: float = 0.05, log_fc: float = 1.0
) -> np.ndarray:
    """``"up"`` / ``"down"`` / ``"not significant"`` per row: adjusted p-value at most
    ``adj_p_value`` and absolute logFC at least ``log_fc``."""
    check_top_table(table)
    adj = table["adj.P.Val"].to_numpy(dtype=np.float64)
    lfc = table["logFC"].to_numpy(dtype=np.float64)
    passing = (adj <= adj_p_value) & (np.abs(lfc) >= log_fc)
    return np.where(
        passing & (lfc > 0), "up", np.where(passing & (lfc < 0), "down", "not significant")
    )


def _de_scatter(
    table: pd.DataFrame, x: np.ndarray, y: np.ndarray, adj_p_value: float, log_fc: float
) -> go.Figure:
    import plotly.graph_objects as go

    calls = significance(table, adj_p_value=adj_p_value, log_fc=log_fc)
    names = [str(k) for k in table.index]
    # SVG up to WEBGL_POINTS points (drawn everywhere); WebGL beyond (faster, needs a GPU)
    scatter = go.Scatter if len(table) <= WEBGL_POINTS else go.Scattergl
    figure = go.Figure()
    for call, colour in (("not significant", FLAT), ("down", DOWN), ("up", UP)):
        rows = np.flatnonzero(calls == call)
        figure.add_trace(
            scatter(
                x=x[rows].tolist(),
                y=y[rows].tolist(),
                mode="markers",
                name=f"{call} ({len(rows)})",
                text=[names[i] for i in rows],
                marker={"size": 5, "color": colour, "opacity": 0.8},
                hovertemplate="%{text}<br>x = %{x:.3g}, y = %{y:.3g}<extra></extra>",
            )
        )
    return figure


def volcano_figure(
    table: pd.DataFrame,
    *,
    adj_p_value: float = 0.05,
    log_fc: float = 1.0,
    title: str | None = None,
) -> go.Figure:
    """Volcano plot of a top table: logFC across, -log10 P.Value up, rows passing
    ``adj.P.Val <= adj_p_value`` and ``|logFC| >= log_fc`` coloured up / down."""
    check_top_table(table)
    x = table["logFC"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore"):
        y = -np.log10(table["P.Value"].to_numpy(dtype=np.float64))
    figure = _de_scatter(table, x, y, adj_p_value, log_fc)
    figure.update_layout(
        title=title or f"Volcano plot (adj.P.Val <= {adj_p_value:g}, |logFC| >= {log_fc:g})",
        xaxis_title="log2 fold change",
        yaxis_title="-log10 P.Value",
        height=480,
    )
    return figure


def ma_figure(
    table: pd.DataFrame,
    *,
    adj_p_value: float = 0.05,
    log_fc: float = 1.0,
    title: str | None = None,
) -> go.Figure:
    """Mean-difference (MA) plot of a top table: AveExpr across, logFC up, coloured as in
    :func:`volcano_figure`."""
    check_top_table(table)
    x = table["AveExpr"].to_numpy(dtype=np.float64)
    y = table["logFC"].to_numpy(dtype=np.float64)
    figure = _de_scatter(table, x, y, adj_p_value, log_fc)
    figure.update_layout(
        title=title or "Mean-difference plot",
        xaxis_title="average log2 expression",
        yaxis_title="log2 fold change",
        height=480,
    )
    return figure
