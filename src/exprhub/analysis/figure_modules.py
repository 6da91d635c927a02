"""Every module drawing an interactive chart needs, imported at once before a server answers
requests concurrently.

plotly imports most of its modules (trace and layout classes, their validators, narwhals) the
first time a figure needs them. The web server answers requests in threads: two first
requests drawing charts at the same time then import the same modules from two threads, and
Python's import lock can take that for a deadlock and fail one of them (``_DeadlockError``, a
500). Drawing one small chart of every kind, once, imports them all beforehand. (The analyses
import scipy and scikit-learn themselves, before any chart; they are not imported here: it
would double the start-up time of each server process.)
"""

from __future__ import annotations

import threading

import numpy as np

_imported = threading.Event()
_importing = threading.Lock()


def import_figure_modules() -> None:
    """Import every module the charts of :mod:`exprhub.analysis.charts` need (plotly's trace,
    layout and validator modules, narwhals, pandas) by drawing each chart once on a small
    matrix; does nothing once done in this process."""
    with _importing:
        if not _imported.is_set():
            _draw_every_chart()
            _imported.set()


def _draw_every_chart() -> None:
    import pandas as pd
    import plotly.graph_objects as go

    from exprhub.analysis import charts
    from exprhub.analysis.clustering import ClusterResult
    from exprhub.analysis.distributions import PcaResult, box_statistics

    samples = [f"s{n}" for n in range(4)]
    frame = pd.DataFrame(
        np.arange(1.0, 25.0).reshape(6, 4) ** 1.5 % 7 + 1.0,
        index=[f"g{n}" for n in range(6)],
        columns=samples,
    )
    groups = pd.Series(["a", "a", "b", "b"], index=samples, name="group")
    # k-means of the genes, samples in their given order: a heatmap drawn without scipy's trees
    clusters = ClusterResult(
        frame, "kmeans", None, None, 2, "genes", 0, None, np.empty((0, 4)),
        np.array([1, 1, 2, 2, 1, 2]), None, False, 6, 6, groups.to_frame(),
    )  # fmt: skip
    tree_lines = go.Scatter(
        x=[0.0, 1.0, None], y=[0.0, 1.0, None], mode="lines", line={"color": "#444", "width": 1},
        hoverinfo="skip",
    )  # fmt: skip
    components = pd.DataFrame({"PC1": [1.0, -1.0, 0.5, -0.5], "PC2": [0.2, 0.1, -0.1, -0.2]})
    pca = PcaResult(
        components.set_axis(samples), [0.9, 0.1], False, 6, 6, groups.to_frame(), "group"
    )
    top_table = pd.DataFrame(
        {"logFC": [2.0, -2.0, 0.1], "AveExpr": [5.0, 6.0, 7.0], "P.Value": [0.001, 0.002, 0.5],
         "adj.P.Val": [0.01, 0.01, 0.5]},
        index=["g0", "g1", "g2"],
    )  # fmt: skip
    figures = [
        charts.heatmap_figure(clusters, annotate="group"),
        go.Figure(tree_lines),
        charts.box_figure(box_statistics(frame), groups),
        charts.pca_figure(pca),
        charts.volcano_figure(top_table),
        charts.ma_figure(top_table),
        go.Figure(go.Scattergl(x=[0.0], y=[0.0], mode="markers", marker={"size": 5})),
    ]
    for figure in figures:
        charts.figure_json(figure)
