"""Scatters of products: category-coloured maps, thumbnail maps, the hover table, embedding grids.

Point traces carry the product id in ``customdata`` so the image-hover
component can map a point to its product. Figures are values: pure functions
from arrays and frames to :class:`plotly.graph_objects.Figure`.

Which column colours the points, the order and colours of its values and the
column that names an item come from the arguments, else from the frame's
``attrs`` (:meth:`core.subsample.Subsample.frame` sets ``label_columns``,
``categories`` and ``name_column``): nothing here knows a catalogue's columns.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import config

__all__ = [
    "color_groups",
    "color_by_default",
    "category_scatter",
    "thumbnail_scatter",
    "figure_ids",
    "hover_table",
    "coded_fields",
    "categories_for",
    "product_names",
    "embedding_grid",
    "quality_bars",
    "HOVER_FIELDS",
    "QUALITATIVE",
    "OTHER_COLOR",
    "GL_THRESHOLD",
]

# ----------------------------------------------------------------------------
# Scatters of products (used with the image-hover component)
# ----------------------------------------------------------------------------
#: Fields the hover card shows under the item's name; None: the frame's
#: label columns (``frame.attrs["label_columns"]``).
HOVER_FIELDS = None
#: The palette of named groups (:data:`core.config.PALETTE`: Okabe-Ito, then
#: Paul Tol's muted), for the primary label and every other column alike.
QUALITATIVE: tuple[str, ...] = config.PALETTE
#: Colour of the values beyond :data:`core.config.MAX_NAMED_GROUPS`, grouped as "Other".
OTHER_COLOR = config.OTHER_COLOR
#: Above this many points the scatters use WebGL (``Scattergl``).
GL_THRESHOLD = 1000


def color_by_default(frame: pd.DataFrame) -> str:
    """The column a frame's points are coloured by when none is asked for.

    The primary label (``frame.attrs["label_columns"][0]``), else the first
    text column other than ``id``.
    """
    labels = frame.attrs.get("label_columns") or ()
    if labels and labels[0] in frame.columns:
        return labels[0]
    for col in frame.columns:
        if col != "id" and (frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col])):
            return str(col)
    raise ValueError("the frame has no column to colour by; pass color_by")


def categories_for(frame: pd.DataFrame, color_by: str, categories=None):
    """The label order of ``color_by``: ``categories`` if given, else the frame's own for its primary label.

    Only the primary label has a fixed order (and so fixed colours); any other
    column gets None, and :func:`color_groups` orders it by count.
    """
    if categories is not None:
        return categories
    labels = frame.attrs.get("label_columns") or ()
    return frame.attrs.get("categories") if labels and labels[0] == color_by else None


def _name_column(frame: pd.DataFrame):
    name = frame.attrs.get("name_column") or "name"
    return name if name in frame.columns else None


def color_groups(values, categories=None) -> list[tuple[str, str, np.ndarray]]:
    """Split points into the named, coloured groups of a scatter.

    Parameters
    ----------
    values : array-like of shape (n_samples,)
        The column the points are coloured by.
    categories : sequence of str, optional
        Its values in label order (the primary label's
        :attr:`core.subsample.Subsample.categories`). Groups then follow that
        order and value ``categories[i]`` takes ``PALETTE[i]``
        (:func:`core.config.category_colors`), the same colour on every page
        and subset; values outside it are gathered as "Other". Without it,
        values are ordered by frequency (ties by name) and coloured in that
        order. Either way at most :data:`core.config.MAX_NAMED_GROUPS` groups
        are named: past it the rest become ``"Other (m values)"`` in grey.

    Returns
    -------
    list of (name, colour, indices)
        One entry per group present, ``indices`` into ``values``.
    """
    vals = pd.Series(np.asarray(values, dtype=object)).fillna("(missing)").astype(str)
    counts = vals.value_counts(sort=True)
    # Ties in frequency are ordered by name so the colours do not depend on row order.
    counts = counts.rename_axis("value").reset_index(name="n").sort_values(
        ["n", "value"], ascending=[False, True])
    limit = config.MAX_NAMED_GROUPS
    if categories is not None and len(categories) <= limit:
        colours = config.category_colors(categories)
        names = [str(c) for c in categories if str(c) in set(counts["value"])]
    else:
        ranked = counts["value"].tolist()
        if categories is not None:
            known = {str(c) for c in categories}
            ranked = [v for v in ranked if v in known]
        names = ranked if len(ranked) <= limit and categories is None else ranked[:limit - 1]
        colours = {name: config.PALETTE[i] for i, name in enumerate(names)}
    groups = [(name, colours[name], np.flatnonzero((vals == name).to_numpy())) for name in names]
    rest = sorted(set(counts["value"]) - set(names))
    if rest:
        groups.append((f"Other ({len(rest)} value{'s' if len(rest) > 1 else ''})", OTHER_COLOR,
                       np.flatnonzero(vals.isin(rest).to_numpy())))
    return groups


def _marker_size(n: int) -> float:
    return 7.0 if n < 2_000 else 5.0 if n < 10_000 else 3.5


def _highlight_mask(highlight, ids: np.ndarray) -> np.ndarray | None:
    if highlight is None:
        return None
    arr = np.asarray(highlight)
    if arr.dtype == bool:
        if arr.shape != ids.shape:
            raise ValueError(f"highlight mask has {arr.size} entries for {ids.size} points")
        return arr
    return np.isin(ids, arr.astype(np.int64))


def category_scatter(coords, frame: pd.DataFrame, color_by: str | None = None,
                     highlight=None, title: str | None = None, *,
                     hover_names: bool = True, gl: bool | None = None,
                     categories=None) -> go.Figure:
    """A scatter of products with one trace per category value.

    Parameters
    ----------
    coords : array-like of shape (n_samples, 2)
        Point positions (an embedding, a projection).
    frame : pandas.DataFrame
        One row per point, in the order of ``coords``, with an ``id`` column
        and the column named by ``color_by``.
    color_by : str, optional
        Column that names and colours the traces; see :func:`color_groups`.
        The legend names every value, and clicking a legend entry toggles it.
        Default: :func:`color_by_default` (the primary label).
    highlight : array-like, optional
        Boolean mask of shape (n_samples,) or product ids. Matching points are
        drawn again on top, ringed, in a trace named ``"Matches (k)"``, and the
        rest fade.
    title : str, optional
    hover_names : bool, default True
        Put each product's name in Plotly's own hover label. The image-hover
        component shows its own card and passes False to keep the figure small.
    gl : bool, optional
        Use ``Scattergl``; by default above :data:`GL_THRESHOLD` points.
    categories : sequence of str, optional
        Order and colours of ``color_by``'s values (see :func:`color_groups`);
        default the frame's categories when ``color_by`` is its primary label.

    Returns
    -------
    plotly.graph_objects.Figure
        Every point trace holds the product ids in ``customdata``.
    """
    color_by = color_by or color_by_default(frame)
    xy = np.asarray(coords, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"coords must have shape (n_samples, 2), got {xy.shape}")
    if len(frame) != len(xy):
        raise ValueError(f"coords has {len(xy)} rows but frame has {len(frame)}")
    if color_by not in frame.columns:
        raise ValueError(f"cannot colour by {color_by!r}: the frame has no such column")
    n = len(xy)
    ids = frame["id"].to_numpy(dtype=np.int64)
    use_gl = n > GL_THRESHOLD if gl is None else bool(gl)
    Trace = go.Scattergl if use_gl else go.Scatter
    mask = _highlight_mask(highlight, ids)
    faded = mask is not None and mask.any()
    size = _marker_size(n)
    name_col = _name_column(frame)
    names = frame[name_col].astype(str).to_numpy() if hover_names and name_col else None

    fig = go.Figure()
    for name, colour, idx in color_groups(frame[color_by].to_numpy(),
                                          categories_for(frame, color_by, categories)):
        trace = dict(
            x=xy[idx, 0], y=xy[idx, 1], mode="markers", name=f"{name} ({len(idx)})",
            legendgroup=name, customdata=ids[idx],
            marker=dict(color=colour, size=size, opacity=0.25 if faded else 0.8,
                        line=dict(width=0)),
        )
        if names is not None:
            trace["text"] = names[idx]
            trace["hovertemplate"] = f"%{{text}}<br>{name}<extra></extra>"
        else:
            trace["hoverinfo"] = "none"
        fig.add_trace(Trace(**trace))
    if faded:
        idx = np.flatnonzero(mask)
        fig.add_trace(Trace(
            x=xy[idx, 0], y=xy[idx, 1], mode="markers", name=f"Matches ({len(idx)})",
            customdata=ids[idx], hoverinfo="none" if names is None else None,
            text=None if names is None else names[idx],
            marker=dict(color="rgba(0,0,0,0)", size=size + 5,
                        line=dict(color="#000000", width=1.5)),
        ))
    fig.update_layout(
        title=title, template="plotly_white", legend=dict(title=color_by, itemsizing="constant"),
        margin=dict(l=10, r=10, t=40 if title else 10, b=10), hovermode="closest",
        xaxis=dict(showticklabels=False, zeroline=False, title=None),
        yaxis=dict(showticklabels=False, zeroline=False, title=None),
    )
    return fig


def _spread_indices(xy: np.ndarray, cell: np.ndarray, max_images: int, seed: int = 0) -> np.ndarray:
    """Points far enough apart that boxes of size ``cell`` around them do not overlap.

    Candidates are the points nearest the centres of a grid of ``cell``-sized
    cells, best centred first; one is kept when no kept point lies within one
    cell in both directions. Above ``max_images`` a seeded random subset is kept.
    """
    lo = xy.min(axis=0)
    cells = np.floor((xy - lo) / cell).astype(np.int64)
    centres = lo + (cells + 0.5) * cell
    dist = (((xy - centres) / cell) ** 2).sum(axis=1)
    code = cells[:, 0] * (cells[:, 1].max() + 1) + cells[:, 1]
    order = np.lexsort((dist, code))
    first = order[np.r_[True, code[order][1:] != code[order][:-1]]]
    first = first[np.argsort(dist[first], kind="stable")]
    kept: list[int] = []
    pos = xy / cell
    for i in first:
        if kept and (np.abs(pos[kept] - pos[i]).max(axis=1) < 1.0).any():
            continue
        kept.append(int(i))
    picked = np.array(kept, dtype=np.int64)
    if len(picked) > max_images:
        picked = np.random.default_rng(seed).choice(picked, max_images, replace=False)
    return np.sort(picked)


def thumbnail_scatter(coords, frame: pd.DataFrame, image_url, *, categories: bool = True,
                      color_by: str | None = None, max_images: int = 150,
                      thumb_fraction: float = 0.045, title: str | None = None,
                      hover_names: bool = True) -> go.Figure:
    """Thumbnails drawn along a scatter (the notebook's ``AnnotationBbox`` view).

    A spread-out subset of points shows its product image at its position:
    the plane is cut into cells about one thumbnail wide and the point nearest
    each cell's centre is drawn.

    Parameters
    ----------
    coords : array-like of shape (n_samples, 2)
    frame : pandas.DataFrame
        As for :func:`category_scatter`.
    image_url : callable
        Maps a product id to the URL of its thumbnail. The figure holds only
        URLs; the browser loads the files.
    categories : bool, default True
        Overlay the category colours: points coloured by ``color_by`` and a
        frame of the category colour around every thumbnail. False draws the
        points in grey and the thumbnails bare.
    max_images : int, default 150
    thumb_fraction : float, default 0.045
        Thumbnail width as a share of the x range.
    title : str, optional
    hover_names : bool, default True

    Returns
    -------
    plotly.graph_objects.Figure
        Point traces carry product ids in ``customdata``; the thumbnails are
        ``layout.images`` and, with ``categories``, their frames are
        ``layout.shapes``.
    """
    xy = np.asarray(coords, dtype=np.float64)
    color_by = color_by or color_by_default(frame)
    if categories:
        fig = category_scatter(xy, frame, color_by=color_by, title=title, hover_names=hover_names)
    else:
        plain = frame.assign(_all="Products")
        fig = category_scatter(xy, plain, color_by="_all", title=title, hover_names=hover_names)
        fig.update_traces(marker_color="#9E9E9E", name=f"Products ({len(xy)})")
        fig.update_layout(showlegend=False)
    if len(xy) == 0:
        return fig
    span = np.ptp(xy, axis=0)
    span[span == 0] = 1.0
    sizex = thumb_fraction * span[0]
    sizey = thumb_fraction * span[1] * 80 / 60
    picked = _spread_indices(xy, np.array([sizex, sizey]) * 1.1, max_images)
    ids = frame["id"].to_numpy(dtype=np.int64)
    colour_of = np.full(len(xy), OTHER_COLOR, dtype=object)
    if categories:
        for _name, colour, idx in color_groups(frame[color_by].to_numpy(),
                                               categories_for(frame, color_by, None)):
            colour_of[idx] = colour
    images, shapes = [], []
    for i in picked:
        x, y = float(xy[i, 0]), float(xy[i, 1])
        images.append(dict(source=image_url(int(ids[i])), xref="x", yref="y", x=x, y=y,
                           sizex=sizex, sizey=sizey, xanchor="center", yanchor="middle",
                           sizing="contain", layer="above"))
        if categories:
            shapes.append(dict(type="rect", xref="x", yref="y", layer="above",
                               x0=x - sizex * 0.42, x1=x + sizex * 0.42,
                               y0=y - sizey / 2, y1=y + sizey / 2,
                               line=dict(color=colour_of[int(i)], width=2)))
    fig.update_layout(images=images, shapes=shapes)
    return fig


def figure_ids(fig: go.Figure) -> np.ndarray:
    """Sorted unique product ids held in the ``customdata`` of a figure's traces."""
    parts = [np.asarray(t.customdata).ravel() for t in fig.data if t.customdata is not None]
    if not parts:
        return np.empty(0, dtype=np.int64)
    return np.unique(np.concatenate(parts).astype(np.int64))


def hover_table(frame: pd.DataFrame, fields=HOVER_FIELDS, name_column: str | None = None) -> dict:
    """What the image-hover component needs to describe each product, as plain JSON.

    Columns are dictionary-coded (unique values plus one small integer per
    row) so the whole catalogue travels in a few hundred kilobytes. The
    component looks a hovered point's id up here; none of it is ever put into
    HTML.

    Parameters
    ----------
    frame : pandas.DataFrame
        With ``id`` and the ``fields`` present.
    fields : sequence of str, optional
        Columns shown under the name; absent ones are skipped. Default: the
        frame's label columns (``frame.attrs["label_columns"]``).
    name_column : str, optional
        Column naming each item; default ``frame.attrs["name_column"]``.

    Returns
    -------
    dict
        ``{"id": [...], "name": [...], "fields": [...],
        "columns": {field: {"values": [...], "codes": [...]}}}``.
    """
    coded = coded_fields(frame, fields)
    return {
        "id": frame["id"].astype("int64").tolist(),
        "name": product_names(frame, name_column),
        "fields": [field for field, _, _ in coded],
        "columns": {field: {"values": values, "codes": codes.tolist()}
                    for field, values, codes in coded},
    }


def product_names(frame: pd.DataFrame, name_column: str | None = None) -> list[str]:
    """Each product's display name (``name_column``, else the frame's), or empty strings."""
    name_col = name_column if name_column in frame.columns else _name_column(frame)
    return frame[name_col].astype(str).tolist() if name_col else [""] * len(frame)


def coded_fields(frame: pd.DataFrame, fields=HOVER_FIELDS) -> list[tuple[str, list[str], np.ndarray]]:
    """The hover fields of ``frame``, dictionary-coded.

    Parameters
    ----------
    frame : pandas.DataFrame
    fields : sequence of str, optional
        Columns to code; absent ones are skipped. Default: the frame's label
        columns (``frame.attrs["label_columns"]``).

    Returns
    -------
    list of (field, values, codes)
        ``values`` the sorted distinct values as text, ``codes`` (n_rows,)
        int64 indices into them.
    """
    if fields is None:
        fields = tuple(frame.attrs.get("label_columns") or ())
    out = []
    for field in fields:
        if field in frame.columns:
            codes, uniques = pd.factorize(frame[field].astype(str), sort=True)
            out.append((field, [str(u) for u in uniques], codes))
    return out


def embedding_grid(panels: dict, frame: pd.DataFrame, n_cols: int = 3,
                   color_by: str | None = None, title: str | None = None) -> go.Figure:
    """Small multiples: the same products in several 2-D embeddings.

    Parameters
    ----------
    panels : dict
        Panel title to coordinates of shape (n_samples, 2), rows in the order
        of ``frame``.
    frame : pandas.DataFrame
        With ``id`` and ``color_by``.
    n_cols : int, default 3
    color_by : str, optional
        Default: :func:`color_by_default` (the primary label, in its
        categories' order and colours).
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        One trace per (panel, category); a category shares one legend entry
        across panels (``legendgroup``), so a legend click hides it everywhere.
    """
    from plotly.subplots import make_subplots

    names = list(panels)
    n_rows = max(1, -(-len(names) // n_cols))
    fig = make_subplots(rows=n_rows, cols=n_cols, subplot_titles=names,
                        horizontal_spacing=0.03, vertical_spacing=0.08)
    color_by = color_by or color_by_default(frame)
    groups = color_groups(frame[color_by].to_numpy(), categories_for(frame, color_by, None))
    ids = frame["id"].to_numpy(dtype=np.int64)
    n = len(frame)
    Trace = go.Scattergl if n > GL_THRESHOLD else go.Scatter
    for p, name in enumerate(names):
        xy = np.asarray(panels[name], dtype=np.float64)
        if len(xy) != n:
            raise ValueError(f"panel {name!r} has {len(xy)} points for {n} products")
        for gname, colour, idx in groups:
            fig.add_trace(Trace(x=xy[idx, 0], y=xy[idx, 1], mode="markers", name=gname,
                                legendgroup=gname, showlegend=p == 0, customdata=ids[idx],
                                marker=dict(color=colour, size=max(2.0, _marker_size(n) - 2),
                                            opacity=0.8), hoverinfo="none"),
                          row=p // n_cols + 1, col=p % n_cols + 1)
    fig.update_xaxes(showticklabels=False, zeroline=False, showgrid=False)
    fig.update_yaxes(showticklabels=False, zeroline=False, showgrid=False)
    fig.update_layout(title=title, template="plotly_white", height=320 * n_rows,
                      legend=dict(title=color_by, itemsizing="constant"),
                      margin=dict(l=10, r=10, t=60 if title else 40, b=10))
    return fig


def quality_bars(table: pd.DataFrame, title: str | None = "Quality of each embedding") -> go.Figure:
    """Grouped bars of the embeddings' quality figures.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per method: ``method``, ``trustworthiness``, ``kNN accuracy``,
        ``silhouette`` and ``seconds``.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        Three bar traces (trustworthiness, kNN accuracy, silhouette) on one
        axis; the seconds appear in the hover text.
    """
    methods = table["method"].astype(str).tolist()
    fig = go.Figure()
    for col, colour in (("trustworthiness", "#0072B2"), ("kNN accuracy", "#009E73"),
                        ("silhouette", "#E69F00")):
        vals = table[col].astype(float).to_numpy()
        fig.add_trace(go.Bar(x=methods, y=vals, name=col, marker_color=colour,
                             text=[f"{v:.2f}" for v in vals], textposition="outside",
                             customdata=table["seconds"].astype(float).to_numpy(),
                             hovertemplate="%{x}: %{y:.3f} (computed in %{customdata:.1f} s)"
                                           f"<extra>{col}</extra>"))
    fig.update_layout(title=title, template="plotly_white", barmode="group",
                      yaxis=dict(title="score (higher is better)"),
                      margin=dict(l=10, r=10, t=50 if title else 10, b=10),
                      xaxis=dict(ticktext=[f"{m}<br>{s:.1f} s" for m, s in
                                           zip(methods, table["seconds"].astype(float))],
                                 tickvals=methods))
    return fig
