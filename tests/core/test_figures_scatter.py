"""Scatters of products: traces, legends, colours, ids, highlight, thumbnails, hover data."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from core import config, figures


def _frame(n: int, rng) -> pd.DataFrame:
    """A frame like a Kaggle subsample's, with the description in ``attrs`` as Subsample.frame() sets it."""
    frame = pd.DataFrame({
        "id": np.arange(n, dtype=np.int64) * 7 + 1000,
        "masterCategory": rng.choice(["Apparel", "Footwear", "Accessories", "Home"], n,
                                     p=[0.5, 0.3, 0.19, 0.01]),
        "articleType": rng.choice([f"type{i}" for i in range(20)], n),
        "gender": rng.choice(["Men", "Women", "Unisex"], n),
        "subCategory": rng.choice(["Topwear", "Shoes"], n),
        "productDisplayName": [f"Product <b>{i}</b>" for i in range(n)],
    })
    frame.attrs.update(label_columns=("masterCategory", "subCategory", "articleType", "gender"),
                       categories=config.CATEGORIES, name_column="productDisplayName")
    return frame


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    n = 300
    return rng.normal(size=(n, 2)), _frame(n, rng)


def test_one_named_trace_per_category_in_fixed_order(data):
    xy, frame = data
    fig = figures.category_scatter(xy, frame)
    names = [t.name.split(" (")[0] for t in fig.data]
    present = [c for c in config.CATEGORIES if c in set(frame["masterCategory"])]
    assert names == present
    for t in fig.data:
        cat = t.name.split(" (")[0]
        assert t.marker.color == config.CATEGORY_COLORS[cat]
        assert t.name == f"{cat} ({(frame['masterCategory'] == cat).sum()})"
    assert fig.layout.legend.title.text == "masterCategory"


def test_customdata_holds_the_ids_of_the_right_points(data):
    xy, frame = data
    fig = figures.category_scatter(xy, frame)
    seen = np.concatenate([np.asarray(t.customdata) for t in fig.data])
    assert sorted(seen.tolist()) == sorted(frame["id"].tolist())
    for t in fig.data:
        rows = frame.set_index("id").loc[np.asarray(t.customdata)]
        assert (rows["masterCategory"] == t.legendgroup).all()
        idx = frame.index[frame["id"].isin(t.customdata)]
        lookup = dict(zip(frame["id"], range(len(frame))))
        pos = [lookup[i] for i in t.customdata]
        np.testing.assert_allclose(t.x, xy[pos, 0])
        np.testing.assert_allclose(t.y, xy[pos, 1])
        assert len(idx) == len(t.customdata)
    assert np.array_equal(figures.figure_ids(fig), np.sort(frame["id"].to_numpy()))


def test_webgl_for_large_scatters():
    rng = np.random.default_rng(0)
    small = figures.category_scatter(rng.normal(size=(50, 2)), _frame(50, rng))
    big = figures.category_scatter(rng.normal(size=(3000, 2)), _frame(3000, rng))
    assert all(isinstance(t, go.Scatter) for t in small.data)
    assert all(isinstance(t, go.Scattergl) for t in big.data)


def test_other_columns_use_a_capped_palette_with_other(data):
    xy, frame = data
    fig = figures.category_scatter(xy, frame, color_by="articleType")
    names = [t.name for t in fig.data]
    assert len(fig.data) == config.MAX_NAMED_GROUPS
    assert names[-1].startswith("Other (5 values)")
    assert fig.data[-1].marker.color == figures.OTHER_COLOR
    colours = [t.marker.color for t in fig.data[:-1]]
    assert len(set(colours)) == len(colours)
    assert sum(len(t.customdata) for t in fig.data) == len(frame)
    counts = [int(t.name.rsplit("(", 1)[1].rstrip(")")) for t in fig.data[:-1]]
    assert counts == sorted(counts, reverse=True)


def test_highlight_adds_a_matches_trace_and_fades_the_rest(data):
    xy, frame = data
    wanted = frame["id"].to_numpy()[[3, 10, 42]]
    fig = figures.category_scatter(xy, frame, highlight=wanted)
    assert fig.data[-1].name == "Matches (3)"
    assert sorted(fig.data[-1].customdata) == sorted(wanted)
    assert all(t.marker.opacity < 0.5 for t in fig.data[:-1])
    mask = np.zeros(len(frame), bool)
    mask[[1, 2]] = True
    assert figures.category_scatter(xy, frame, highlight=mask).data[-1].name == "Matches (2)"
    none = figures.category_scatter(xy, frame, highlight=np.zeros(len(frame), bool))
    assert not any(t.name.startswith("Matches") for t in none.data)


def test_hover_names_can_be_left_out(data):
    xy, frame = data
    with_names = figures.category_scatter(xy, frame)
    without = figures.category_scatter(xy, frame, hover_names=False)
    assert with_names.data[0].text is not None
    assert without.data[0].text is None and without.data[0].hoverinfo == "none"


def test_bad_shapes_are_refused(data):
    xy, frame = data
    with pytest.raises(ValueError, match="shape"):
        figures.category_scatter(xy[:, :1], frame)
    with pytest.raises(ValueError, match="rows"):
        figures.category_scatter(xy[:-1], frame)
    with pytest.raises(ValueError, match="colour by"):
        figures.category_scatter(xy, frame, color_by="nope")


@pytest.mark.parametrize("categories", [True, False])
def test_thumbnail_scatter_spreads_images_without_piling(data, categories):
    xy, frame = data
    fig = figures.thumbnail_scatter(xy, frame, lambda i: f"thumbs/{i}.jpg",
                                    categories=categories, max_images=40)
    images = fig.layout.images
    assert 0 < len(images) <= 40
    ids = set(frame["id"])
    for im in images:
        assert int(im.source.split("/")[1].split(".")[0]) in ids
        assert im.xref == "x" and im.yref == "y"
    centres = np.array([[im.x, im.y] for im in images])
    sx, sy = images[0].sizex, images[0].sizey
    d = np.abs(centres[:, None, :] - centres[None, :, :]) / np.array([sx, sy])
    gap = d.max(axis=2)
    np.fill_diagonal(gap, np.inf)
    assert (gap >= 1.0).all(), "two thumbnails overlap"
    assert len(fig.layout.shapes) == (len(images) if categories else 0)
    assert figures.figure_ids(fig).size == len(frame)


def test_hover_table_is_dictionary_coded_json(data):
    _, frame = data
    table = figures.hover_table(frame)
    assert table["id"] == frame["id"].tolist()
    assert table["name"][5] == "Product <b>5</b>"  # kept as data, never parsed as HTML
    assert "masterCategory" in table["fields"] and "season" not in table["fields"]
    col = table["columns"]["masterCategory"]
    decoded = [col["values"][c] for c in col["codes"]]
    assert decoded == frame["masterCategory"].tolist()
    json.dumps(table)


def test_embedding_grid_shares_legend_entries(data):
    xy, frame = data
    fig = figures.embedding_grid({"A": xy, "B": xy * 2, "C": -xy, "D": xy}, frame, n_cols=3)
    cats = [c for c in config.CATEGORIES if c in set(frame["masterCategory"])]
    assert len(fig.data) == 4 * len(cats)
    shown = [t.name for t in fig.data if t.showlegend]
    assert shown == cats
    assert [a.text for a in fig.layout.annotations] == ["A", "B", "C", "D"]
    with pytest.raises(ValueError, match="panel"):
        figures.embedding_grid({"A": xy[:-1]}, frame)


def test_quality_bars():
    table = pd.DataFrame({"method": ["PCA", "t-SNE"], "trustworthiness": [0.8, 0.95],
                          "kNN accuracy": [0.7, 0.9], "silhouette": [0.1, 0.2], "seconds": [0.1, 9.0]})
    fig = figures.quality_bars(table)
    assert [t.name for t in fig.data] == ["trustworthiness", "kNN accuracy", "silhouette"]
    np.testing.assert_allclose(fig.data[0].y, [0.8, 0.95])
    assert fig.layout.barmode == "group"
