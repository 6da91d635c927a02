"""Chart builders: volcano and MA plots of a small limma-style table made here, heatmap,
box and PCA figures; plotly JSON and matplotlib PNG / SVG."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from exprhub.analysis import charts, images
from exprhub.analysis.clustering import cluster_matrix
from exprhub.analysis.distributions import box_statistics, principal_components

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def top_table() -> pd.DataFrame:
    """Six genes: two up, one down, three not significant (by p or by fold)."""
    return pd.DataFrame(
        {
            "logFC": [2.5, 1.2, -3.0, 0.4, 2.0, -1.5],
            "AveExpr": [8.0, 6.5, 10.1, 7.7, 5.0, 9.0],
            "t": [9.1, 5.0, -8.0, 1.0, 1.5, -2.0],
            "P.Value": [1e-6, 1e-4, 1e-5, 0.3, 0.2, 0.04],
            "adj.P.Val": [1e-5, 5e-4, 6e-5, 0.4, 0.3, 0.09],
            "B": [5.0, 2.0, 4.0, -5.0, -4.0, -3.0],
        },
        index=pd.Index(["G1", "G2", "G3", "G4", "G5", "G6"], name="gene"),
    )


def _points(figure: dict, name_start: str) -> tuple[list, list, list]:
    [trace] = [t for t in figure["data"] if t["name"].startswith(name_start)]
    return trace["x"], trace["y"], trace["text"]


def test_volcano_figure(top_table):
    figure = charts.figure_json(charts.volcano_figure(top_table))
    assert [t["name"] for t in figure["data"]] == [
        "not significant (3)",
        "down (1)",
        "up (2)",
    ]
    x, y, text = _points(figure, "up")
    assert text == ["G1", "G2"] and x == [2.5, 1.2]
    assert y == pytest.approx([6.0, 4.0])  # -log10 P.Value
    assert _points(figure, "down")[2] == ["G3"]
    assert figure["layout"]["xaxis"]["title"]["text"] == "log2 fold change"
    stricter = charts.figure_json(charts.volcano_figure(top_table, log_fc=2.0))
    assert _points(stricter, "up")[2] == ["G1"]


def test_ma_figure(top_table):
    figure = charts.figure_json(charts.ma_figure(top_table, adj_p_value=0.1))
    x, y, text = _points(figure, "down")
    assert text == ["G3", "G6"] and x == [10.1, 9.0] and y == [-3.0, -1.5]


def test_volcano_and_ma_images(top_table, tmp_path):
    data = images.volcano_image(top_table, tmp_path / "volcano.png")
    assert data.startswith(PNG) and (tmp_path / "volcano.png").read_bytes() == data
    svg = images.ma_image(top_table, format="svg")
    assert b"<svg" in svg[:500]
    with pytest.raises(ValueError, match="png or svg"):
        images.ma_image(top_table, tmp_path / "plot.jpg")


def test_a_table_without_limma_columns_is_refused(top_table):
    with pytest.raises(ValueError, match=r"no column adj\.P\.Val"):
        charts.volcano_figure(top_table.drop(columns="adj.P.Val"))


def test_heatmap_box_and_pca_figures(gds507, tmp_path):
    values, rcc, _ = gds507
    result = cluster_matrix(values, top=200)
    figure = charts.figure_json(charts.heatmap_figure(result))
    [heat] = [t for t in figure["data"] if t["type"] == "heatmap"]
    assert np.array(heat["z"]).shape == (200, 17)
    assert sum(t["type"] == "scatter" for t in figure["data"]) == 2  # the two trees
    assert images.heatmap_image(result, tmp_path / "heat.png").startswith(PNG)
    result.annotations = pd.DataFrame(
        {"state": ["RCC" if k in rcc else "normal" for k in values.columns]},
        index=[str(k) for k in values.columns],
    )
    annotated = charts.figure_json(charts.heatmap_figure(result, annotate="state"))
    [strip] = [t for t in annotated["data"] if t["type"] == "heatmap" and len(t["z"]) == 1]
    shown = [str(c) for c in result.values.columns]
    assert strip["text"][0] == [f"{s}: {'RCC' if s in rcc else 'normal'}" for s in shown]
    assert "state" in annotated["layout"]["annotations"][0]["text"]
    assert images.heatmap_image(result, annotate="state").startswith(PNG)
    with pytest.raises(ValueError, match="no field 'stage'"):
        images.heatmap_image(result, annotate="stage")
    kmeans = cluster_matrix(values, method="kmedians", k=3, top=200)
    assert images.heatmap_image(kmeans, format="svg").lstrip().startswith(b"<?xml")
    stats = box_statistics(values)
    groups = pd.Series({k: "RCC" if k in rcc else "normal" for k in values.columns}, name="state")
    boxes = charts.figure_json(charts.box_figure(stats, groups))
    assert [t["name"] for t in boxes["data"]] == ["RCC", "normal"]
    assert boxes["data"][0]["median"] == pytest.approx(stats.loc[rcc, "median"].tolist())
    assert images.box_image(stats, groups, tmp_path / "box.svg").lstrip().startswith(b"<?xml")
    pca = principal_components(values)
    pca.annotations = groups.to_frame()
    pca.color = "state"
    scatter = charts.figure_json(charts.pca_figure(pca))
    assert sorted(t["name"] for t in scatter["data"]) == ["RCC", "normal"]
    assert images.pca_image(pca, tmp_path / "pca.png").startswith(PNG)
