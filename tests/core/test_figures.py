"""Analysis figures: built from tiny generated arrays, checked on fig.data and fig.layout."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from core import config, figures


def _names(fig: go.Figure) -> list[str]:
    return [t.name for t in fig.data]


def test_class_counts_orders_and_colours_categories():
    counts = {"Footwear": 30, "Apparel": 50, "Home": 1, "Accessories": 40}
    fig = figures.class_counts(counts, "Products per masterCategory", order=config.CATEGORIES,
                               label="masterCategory")
    bar = fig.data[0]
    assert list(bar.x) == ["Accessories", "Apparel", "Footwear", "Home"]
    assert list(bar.y) == [40, 50, 30, 1]
    assert list(bar.marker.color) == [config.CATEGORY_COLORS[c] for c in bar.x]
    assert fig.layout.title.text == "Products per masterCategory"
    assert fig.layout.xaxis.title.text == "masterCategory"


def test_class_counts_without_an_order_goes_from_the_largest():
    fig = figures.class_counts({"b": 3, "a": 9, "c": 5})
    assert list(fig.data[0].x) == ["a", "c", "b"]
    assert list(fig.data[0].marker.color) == list(config.PALETTE[:3])


def test_class_counts_uses_log_axis_for_skewed_counts():
    assert figures.class_counts({"Apparel": 2000, "Home": 1}).layout.yaxis.type == "log"
    assert figures.class_counts({"Apparel": 20, "Home": 10}).layout.yaxis.type == "linear"


def test_null_counts_aligns_after_on_before_columns():
    before = pd.Series({"gender": 0, "baseColour": 15, "season": 21, "usage": 317})
    after = pd.Series({"usage": 0})
    fig = figures.null_counts(before, after)
    assert _names(fig) == ["before cleaning", "after cleaning"]
    assert list(fig.data[0].y) == [0, 15, 21, 317]
    assert list(fig.data[1].y) == [0, 0, 0, 0]
    assert fig.layout.barmode == "group"


def test_image_grid_gray_and_rgb():
    rng = np.random.default_rng(0)
    gray = [rng.normal(size=(8, 6)) for _ in range(5)]
    fig = figures.image_grid(gray, n_cols=3, titles=[f"#{i}" for i in range(5)], title="grid")
    assert len(fig.data) == 5 and all(isinstance(t, go.Heatmap) for t in fig.data)
    # Each tile is scaled to its own range and drawn upright.
    np.testing.assert_allclose(np.asarray(fig.data[0].z), gray[0][::-1])
    assert fig.data[0].zmin == pytest.approx(gray[0].min())
    assert [a.text for a in fig.layout.annotations] == [f"#{i}" for i in range(5)]
    rgb = [rng.integers(0, 255, size=(8, 6, 3)) for _ in range(2)]
    fig = figures.image_grid(rgb, n_cols=2)
    assert all(isinstance(t, go.Image) for t in fig.data)
    assert np.asarray(fig.data[0].z).dtype == np.uint8
    assert len(figures.image_grid([]).data) == 0


def test_variance_curve_marks_target():
    rng = np.random.default_rng(0)
    ratio = np.sort(rng.random(50))[::-1]
    cumulative = np.cumsum(ratio / ratio.sum())
    n95 = int(np.argmax(cumulative >= 0.95)) + 1
    fig = figures.variance_curve(cumulative)
    assert _names(fig) == ["cumulative variance", f"{n95} components for 95%"]
    assert fig.data[1].x[0] == n95
    assert fig.data[1].y[0] == pytest.approx(cumulative[n95 - 1])
    # The 95% line and the component marker are layout shapes.
    assert {s.type for s in fig.layout.shapes} == {"line"}
    assert any(s.y0 == 0.95 for s in fig.layout.shapes)
    assert any(s.x0 == n95 for s in fig.layout.shapes)


def test_elbow_and_silhouette_curves_circle_picks():
    ks = list(range(1, 11))
    inertia = [100 / k for k in ks]
    sil = [float("nan")] + [0.3 + 0.01 * k for k in ks[1:]]
    fig = figures.elbow_curve(ks, inertia, elbow_k=3)
    assert _names(fig) == ["inertia", "elbow: k = 3"]
    assert fig.data[1].y[0] == pytest.approx(100 / 3)
    fig = figures.silhouette_curve(ks, sil, best_k=10)
    assert list(fig.data[0].x) == ks[1:]  # k = 1 has no silhouette
    assert _names(fig)[1] == "best silhouette: k = 10"
    # A pick outside the range is not drawn.
    assert len(figures.elbow_curve(ks, inertia, elbow_k=None).data) == 1


def test_silhouette_diagram_one_band_per_cluster():
    rng = np.random.default_rng(0)
    groups = [np.sort(rng.uniform(-0.1, 0.8, n)) for n in (30, 12, 5)]
    fig = figures.silhouette_diagram(groups, mean=0.42)
    assert _names(fig) == ["cluster 0 (30)", "cluster 1 (12)", "cluster 2 (5)"]
    assert fig.layout.title.text == "Silhouette diagram, k = 3"
    # Bands do not overlap vertically.
    spans = [(min(t.y), max(t.y)) for t in fig.data]
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:]))
    assert any(s.x0 == pytest.approx(0.42) for s in fig.layout.shapes)


def test_decision_regions_layers():
    rng = np.random.default_rng(0)
    coords = rng.normal(size=(40, 2))
    cats = np.array(["Apparel", "Footwear"] * 20, dtype=object)
    xx, yy = np.linspace(-3, 3, 20), np.linspace(-3, 3, 10)
    centers = np.array([[-1.0, 0.0], [1.0, 0.0]])
    Z = (np.meshgrid(xx, yy)[0] > 0).astype(int)
    fig = figures.decision_regions(xx, yy, Z, centers, coords, cats, ids=np.arange(40),
                                   order=config.CATEGORIES)
    assert _names(fig) == ["regions", "Apparel", "Footwear", "centroids"]
    assert np.asarray(fig.data[0].z).shape == (10, 20)
    assert fig.data[1].marker.color == config.CATEGORY_COLORS["Apparel"]
    assert list(fig.data[1].customdata) == list(range(0, 40, 2))
    np.testing.assert_allclose(fig.data[-1].x, centers[:, 0])


def test_contingency_heatmap_drops_empty_categories():
    table = pd.DataFrame([[5, 0, 1], [0, 0, 7]], columns=["Accessories", "Home", "Apparel"],
                         index=pd.RangeIndex(2, name="cluster"))
    fig = figures.contingency_heatmap(table)
    hm = fig.data[0]
    assert list(hm.x) == ["Accessories", "Apparel"]
    assert list(hm.y) == ["cluster 0", "cluster 1"]
    assert np.asarray(hm.z).tolist() == [[5, 1], [0, 7]]


def test_cluster_small_multiples_share_legend():
    rng = np.random.default_rng(0)
    clusters = rng.integers(0, 3, 30)
    panels = {m: rng.normal(size=(30, 2)) for m in ("pca", "tsne", "umap", "lle")}
    fig = figures.cluster_small_multiples(panels, clusters, n_cols=3)
    assert len(fig.data) == 4 * len(np.unique(clusters))
    assert [t.name for t in fig.data if t.showlegend] == [f"cluster {k}" for k in np.unique(clusters)]
    assert [a.text for a in fig.layout.annotations] == list(panels)
    total = sum(len(t.x) for t in fig.data if t.xaxis == "x")
    assert total == 30


def test_information_criteria_marks_lowest_bic():
    ns = np.arange(1, 7)
    bic = np.array([10.0, 8.0, 5.0, 6.0, 7.0, 9.0])
    fig = figures.information_criteria(ns, bic, bic + 1, best_n=3)
    assert _names(fig) == ["BIC", "AIC", "lowest BIC: 3"]
    assert fig.data[2].y[0] == 5.0


def test_density_contours_layers():
    rng = np.random.default_rng(0)
    xx, yy = np.linspace(-2, 2, 15), np.linspace(-2, 2, 12)
    gx, gy = np.meshgrid(xx, yy)
    nll = gx ** 2 + gy ** 2 + 3
    regions = (gx > 0).astype(int)
    coords = rng.normal(size=(20, 2))
    fig = figures.density_contours(xx, yy, nll, means=[[-1, 0], [1, 0]], regions=regions,
                                   coords=coords, categories=np.array(["Apparel"] * 20, dtype=object),
                                   weights=[0.4, 0.6])
    assert _names(fig) == ["-log likelihood", "regions", "Apparel", "means"]
    assert np.nanmin(np.asarray(fig.data[0].z)) == pytest.approx(0.0)
    assert list(fig.data[-1].text) == ["0 (40%)", "1 (60%)"]


def test_markers_stay_above_webgl_points():
    rng = np.random.default_rng(0)
    n = 5000
    coords = rng.normal(size=(n, 2))
    cats = np.array(["Apparel"] * n, dtype=object)
    xx = yy = np.linspace(-4, 4, 5)
    fig = figures.decision_regions(xx, yy, np.zeros((5, 5), int), [[0.0, 0.0]], coords, cats)
    assert isinstance(fig.data[1], go.Scattergl) and isinstance(fig.data[-1], go.Scattergl)
    fig = figures.density_contours(xx, yy, np.ones((5, 5)), means=[[0.0, 0.0]], coords=coords,
                                   categories=cats)
    assert isinstance(fig.data[-1], go.Scattergl)


def test_variance_curve_zooms_on_the_target():
    cumulative = np.minimum(1.0, np.linspace(0.1, 3.0, 1000))
    fig = figures.variance_curve(cumulative)
    n95 = int(np.argmax(cumulative >= 0.95)) + 1
    assert tuple(fig.layout.xaxis.range) == (0, max(3 * n95, 50))


def test_far_outliers_do_not_squeeze_the_view():
    rng = np.random.default_rng(0)
    coords = np.vstack([rng.normal(size=(500, 2)), [[-100.0, 80.0]]])
    cats = np.array(["Apparel"] * len(coords), dtype=object)
    xx, yy = np.linspace(-105, 5, 50), np.linspace(-5, 85, 50)
    fig = figures.decision_regions(xx, yy, np.zeros((50, 50), int), [[0.0, 0.0]], coords, cats)
    x0, x1 = fig.layout.xaxis.range
    assert -10 < x0 < -2 and 2 < x1 < 10
    # Without outliers the whole grid is shown.
    fig = figures.density_contours(np.linspace(-4, 4, 9), np.linspace(-4, 4, 9), np.ones((9, 9)),
                                   coords=rng.uniform(-4, 4, size=(200, 2)),
                                   categories=np.array(["Apparel"] * 200, dtype=object))
    assert tuple(fig.layout.xaxis.range) == (-4.0, 4.0)
