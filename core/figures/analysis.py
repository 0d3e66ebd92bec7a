"""Analysis figures: overview counts, PCA curves and galleries, clustering and mixture views.

Pure functions from arrays and frames to :class:`plotly.graph_objects.Figure`;
categories are named in legends and coloured as on every page: a caller passes
the primary label's categories in label order (``order``), and the colours
follow :func:`core.figures.products.color_groups`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import config
from .products import color_groups

__all__ = [
    "class_counts",
    "null_counts",
    "image_grid",
    "variance_curve",
    "elbow_curve",
    "silhouette_curve",
    "silhouette_diagram",
    "decision_regions",
    "contingency_heatmap",
    "cluster_small_multiples",
    "information_criteria",
    "density_contours",
    "CLUSTER_COLORS",
]

# ----------------------------------------------------------------------------
# Analysis figures (PCA, clustering, mixtures, overview)
# ----------------------------------------------------------------------------
#: Colour-blind-safe qualitative palette (Paul Tol's "safe", as in Plotly) for
#: clusters and mixture components, which are not categories and so must not
#: borrow the category colours.
CLUSTER_COLORS: tuple[str, ...] = (
    "#88CCEE", "#CC6677", "#DDCC77", "#117733", "#332288",
    "#AA4499", "#44AA99", "#999933", "#882255", "#661100", "#888888",
)
#: Above this many points, point traces use WebGL.
_GL_THRESHOLD = 2000


def _cluster_color(c: int) -> str:
    return CLUSTER_COLORS[int(c) % len(CLUSTER_COLORS)]


def _scatter_cls(n: int):
    return go.Scattergl if n > _GL_THRESHOLD else go.Scatter


def _robust_range(values, lo: float, hi: float) -> list[float]:
    """Axis range that leaves out a few far outliers (0.5% each side) when they
    would squeeze the bulk of the points into a corner; else ``[lo, hi]``."""
    values = np.asarray(values, dtype=float)
    if len(values) < 50:
        return [float(lo), float(hi)]
    q_lo, q_hi = np.quantile(values, [0.005, 0.995])
    pad = 0.08 * (q_hi - q_lo)
    a, b = max(float(lo), q_lo - pad), min(float(hi), q_hi + pad)
    return [a, b] if (b - a) < 0.6 * (hi - lo) else [float(lo), float(hi)]


def _layout(fig: go.Figure, title: str | None, **kwargs) -> go.Figure:
    fig.update_layout(title=title, template="plotly_white",
                      margin=dict(l=60, r=20, t=60 if title else 20, b=50), **kwargs)
    return fig


def _category_points(fig: go.Figure, coords: np.ndarray, categories, ids=None, *, size: float = 4,
                     opacity: float = 0.6, row=None, col=None, showlegend: bool = True,
                     order=None) -> None:
    """One trace per category (named, coloured as everywhere), in label order when ``order`` is given."""
    coords = np.asarray(coords, dtype=float)
    cls = _scatter_cls(len(coords))
    for name, colour, idx in color_groups(categories, order):
        mask = np.zeros(len(coords), dtype=bool)
        mask[idx] = True
        trace = cls(
            x=coords[mask, 0], y=coords[mask, 1], mode="markers", name=name,
            legendgroup=name, showlegend=showlegend,
            marker=dict(color=colour, size=size, opacity=opacity),
            customdata=None if ids is None else np.asarray(ids)[mask],
            hovertemplate=f"{name}<extra>%{{customdata}}</extra>" if ids is not None else f"{name}<extra></extra>",
        )
        if row is None:
            fig.add_trace(trace)
        else:
            fig.add_trace(trace, row=row, col=col)


# --- Overview ----------------------------------------------------------------
def class_counts(counts, title: str | None = "Items per category", *, order=None,
                 label: str = "category") -> go.Figure:
    """Bar chart of items per category, named and coloured as everywhere.

    Parameters
    ----------
    counts : mapping or pandas.Series
        Category name to count.
    title : str, optional
    order : sequence of str, optional
        The categories in label order (a subsample's ``categories``): bars
        follow it and take its colours (:func:`core.config.category_colors`);
        names outside it come after, in grey. Without it, bars go from the
        largest count down.
    label : str, default "category"
        The x axis' title: the label column's name.

    Returns
    -------
    plotly.graph_objects.Figure
        One bar trace.
    """
    counts = pd.Series(counts, dtype="int64")
    if order is not None:
        names = [str(c) for c in order if str(c) in {str(i) for i in counts.index}]
        counts.index = counts.index.map(str)
        names += [str(c) for c in counts.index if str(c) not in names]
        colours = config.category_colors(order)
    else:
        counts.index = counts.index.map(str)
        names = [str(c) for c in counts.sort_values(ascending=False, kind="stable").index]
        colours = config.category_colors(names)
    values = [int(counts[c]) for c in names]
    fig = go.Figure(go.Bar(
        x=names, y=values, text=values, textposition="outside", name="items",
        marker_color=[colours.get(c, config.OTHER_COLOR) for c in names],
        hovertemplate="%{x}: %{y} items<extra></extra>",
    ))
    fig.update_yaxes(title="items", type="log" if values and max(values) > 50 * max(1, min(values)) else "linear")
    fig.update_xaxes(title=label, type="category")
    return _layout(fig, title, showlegend=False)


def null_counts(before, after, title: str | None = "Missing values per column") -> go.Figure:
    """Grouped bars of missing values per column before and after cleaning.

    Parameters
    ----------
    before, after : mapping or pandas.Series
        Column name to number of missing values (the notebook's
        ``df.isnull().sum()`` before and after ``dropna``).

    Returns
    -------
    plotly.graph_objects.Figure
        Two bar traces named "before cleaning" and "after cleaning".
    """
    before = pd.Series(before, dtype="int64")
    after = pd.Series(after, dtype="int64").reindex(before.index, fill_value=0)
    fig = go.Figure([
        go.Bar(x=list(before.index), y=before.to_numpy(), name="before cleaning",
               marker_color="#D55E00", text=before.to_numpy(), textposition="outside"),
        go.Bar(x=list(after.index), y=after.to_numpy(), name="after cleaning",
               marker_color="#0072B2", text=after.to_numpy(), textposition="outside"),
    ])
    fig.update_yaxes(title="missing values", rangemode="tozero")
    return _layout(fig, title, barmode="group")


# --- Images ------------------------------------------------------------------
def image_grid(images, n_cols: int = 10, titles=None, row_titles=None, title: str | None = None,
               tile_px: int = 90) -> go.Figure:
    """A grid of images, each scaled to its own range (as ``imshow`` does).

    Parameters
    ----------
    images : sequence of ndarray
        Each ``(h, w)`` grayscale or ``(h, w, 3)`` RGB, any numeric range
        (standardized reconstructions included).
    n_cols : int, default 10
    titles : sequence of str, optional
        One per image.
    row_titles : sequence of str, optional
        One per row, shown at the left.
    title : str, optional
    tile_px : int, default 90
        Height of one tile in pixels.

    Returns
    -------
    plotly.graph_objects.Figure
        One ``go.Heatmap`` (grayscale) or ``go.Image`` (RGB) trace per image.
    """
    from plotly.subplots import make_subplots

    images = [np.asarray(im, dtype=float) for im in images]
    n = len(images)
    if n == 0:
        return _layout(go.Figure(), title)
    n_cols = max(1, min(int(n_cols), n))
    n_rows = -(-n // n_cols)
    fig = make_subplots(rows=n_rows, cols=n_cols, horizontal_spacing=0.01,
                        vertical_spacing=0.08 if titles is not None else 0.02,
                        subplot_titles=list(titles) if titles is not None else None,
                        row_titles=list(row_titles) if row_titles is not None else None)
    for i, im in enumerate(images):
        r, c = divmod(i, n_cols)
        lo, hi = float(np.nanmin(im)), float(np.nanmax(im))
        if hi <= lo:
            hi = lo + 1.0
        if im.ndim == 3:
            scaled = np.clip((im - lo) / (hi - lo) * 255.0, 0, 255).astype(np.uint8)
            fig.add_trace(go.Image(z=scaled, hoverinfo="skip"), row=r + 1, col=c + 1)
        else:
            # Reversed y so the image is upright, as a picture.
            fig.add_trace(go.Heatmap(z=im[::-1], zmin=lo, zmax=hi, colorscale="gray", showscale=False,
                                     hoverinfo="skip"), row=r + 1, col=c + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", constrain="domain")
    for i in range(n):
        axis = "" if i == 0 else str(i + 1)
        fig.layout[f"yaxis{axis}"].scaleanchor = f"x{axis}"
    fig.update_annotations(font_size=10)
    return _layout(fig, title, height=int(n_rows * tile_px * 1.3 + (60 if title else 20)), showlegend=False)


# --- PCA ---------------------------------------------------------------------
def variance_curve(cumulative, target: float = 0.95, n_target: int | None = None,
                   title: str | None = "Cumulative explained variance") -> go.Figure:
    """Cumulative explained variance against the number of components.

    Parameters
    ----------
    cumulative : array-like of shape (n_components,)
        Cumulative explained-variance ratio, ``cumulative[i]`` for ``i + 1``
        components.
    target : float, default 0.95
        Variance target drawn as a horizontal line.
    n_target : int, optional
        Components reaching the target (first index above it, plus one, when
        omitted), drawn as a vertical marker.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces: the curve ("cumulative variance") and the marker point
        ("<n> components for <target>").
    """
    cumulative = np.asarray(cumulative, dtype=float)
    n = np.arange(1, len(cumulative) + 1)
    if n_target is None and len(cumulative):
        above = np.flatnonzero(cumulative >= target - 1e-12)
        n_target = int(above[0]) + 1 if len(above) else None
    fig = go.Figure(go.Scatter(x=n, y=cumulative, mode="lines", name="cumulative variance",
                               line=dict(color="#0072B2", width=2),
                               hovertemplate="%{x} components: %{y:.2%}<extra></extra>"))
    fig.add_hline(y=target, line_dash="dash", line_color="#888888",
                  annotation_text=f"{target:.0%}", annotation_position="bottom right")
    if n_target is not None:
        fig.add_vline(x=n_target, line_dash="dot", line_color="#D55E00")
        fig.add_trace(go.Scatter(x=[n_target], y=[cumulative[n_target - 1]], mode="markers+text",
                                 name=f"{n_target} components for {target:.0%}",
                                 text=[f"  {n_target} components"], textposition="middle right",
                                 marker=dict(color="#D55E00", size=10)))
    # The tail past the target is flat; show up to three times the target
    # count (double-click shows everything).
    shown = len(cumulative) if n_target is None else min(len(cumulative), max(3 * n_target, 50))
    fig.update_xaxes(title="number of components", range=[0, shown])
    fig.update_yaxes(title="explained variance", tickformat=".0%", range=[0, 1.02])
    return _layout(fig, title, legend=dict(x=0.98, xanchor="right", y=0.05))


# --- Clustering --------------------------------------------------------------
def _pick_curve(ks, values, pick, *, name: str, ytitle: str, pick_label: str, title, color: str) -> go.Figure:
    ks = np.asarray(ks)
    values = np.asarray(values, dtype=float)
    fig = go.Figure(go.Scatter(x=ks, y=values, mode="lines+markers", name=name,
                               line=dict(color=color), marker=dict(size=7)))
    if pick is not None and pick in set(ks.tolist()):
        y = values[list(ks).index(pick)]
        fig.add_trace(go.Scatter(x=[pick], y=[y], mode="markers", name=f"{pick_label}: k = {pick}",
                                 marker=dict(color="#D55E00", size=16, symbol="circle-open",
                                             line=dict(width=3))))
    fig.update_xaxes(title="k (clusters)", dtick=1)
    fig.update_yaxes(title=ytitle)
    return _layout(fig, title, legend=dict(orientation="h", x=0, y=-0.22, yanchor="top"))


def elbow_curve(ks, inertia, elbow_k: int | None = None, rule: str | None = None,
                title: str | None = "Elbow: k-means inertia") -> go.Figure:
    """Inertia against k, with the elbow pick circled.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces "inertia" and, when ``elbow_k`` is given, "elbow: k = <k>".
    """
    label = "elbow" if rule is None else f"elbow ({rule})"
    fig = _pick_curve(ks, inertia, elbow_k, name="inertia", ytitle="inertia (within-cluster SS)",
                      pick_label="elbow", title=title, color="#0072B2")
    if rule and len(fig.data) > 1:
        fig.data[1].hovertemplate = f"{label}<extra></extra>"
    return fig


def silhouette_curve(ks, silhouette, best_k: int | None = None,
                     title: str | None = "Mean silhouette score") -> go.Figure:
    """Mean silhouette against k (NaN at k = 1 is left out), best k circled.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces "mean silhouette" and "best silhouette: k = <k>".
    """
    ks = np.asarray(ks)
    sil = np.asarray(silhouette, dtype=float)
    keep = np.isfinite(sil)
    return _pick_curve(ks[keep], sil[keep], best_k, name="mean silhouette", ytitle="mean silhouette",
                       pick_label="best silhouette", title=title, color="#009E73")


def silhouette_diagram(values, mean: float | None = None, title: str | None = None) -> go.Figure:
    """Silhouette diagram: each cluster's sorted per-sample values as a band.

    Parameters
    ----------
    values : sequence of ndarray
        One array per cluster ``0..k-1``, sorted ascending (as
        :func:`core.clustering.silhouette_groups` returns them).
    mean : float, optional
        Mean silhouette, drawn as a dashed vertical line.
    title : str, optional
        Default "Silhouette diagram, k = <k>".

    Returns
    -------
    plotly.graph_objects.Figure
        One filled trace per cluster, named "cluster <c> (n)".
    """
    groups = [np.asarray(v, dtype=float) for v in values]
    k = len(groups)
    fig = go.Figure()
    gap = max(10, int(sum(len(g) for g in groups) * 0.02))
    lower = gap
    ticks, labels = [], []
    for c, g in enumerate(groups):
        y = np.arange(lower, lower + len(g))
        fig.add_trace(go.Scatter(
            x=np.concatenate([[0.0], g, [0.0]]), y=np.concatenate([[lower], y, [lower + max(len(g) - 1, 0)]]),
            mode="lines", fill="toself", name=f"cluster {c} ({len(g)})",
            line=dict(color=_cluster_color(c), width=0.5), fillcolor=_cluster_color(c),
            hovertemplate=f"cluster {c}: {len(g)} points, mean {g.mean() if len(g) else float('nan'):.3f}<extra></extra>",
        ))
        ticks.append(lower + len(g) / 2)
        labels.append(str(c))
        lower += len(g) + gap
    if mean is not None and np.isfinite(mean):
        fig.add_vline(x=float(mean), line_dash="dash", line_color="#D55E00",
                      annotation_text=f"mean {mean:.3f}", annotation_position="top")
    fig.update_xaxes(title="silhouette coefficient", range=[-0.3, 1.0], zeroline=True)
    fig.update_yaxes(title="cluster", tickvals=ticks, ticktext=labels, showgrid=False)
    return _layout(fig, title if title is not None else f"Silhouette diagram, k = {k}")


def decision_regions(xx, yy, Z, centers, coords=None, categories=None, ids=None,
                     title: str | None = "K-means decision regions", *, order=None) -> go.Figure:
    """K-means regions on a grid, centroids, and the points coloured by true category.

    Parameters
    ----------
    xx, yy : array-like of shape (nx,), (ny,)
        Grid axes.
    Z : array-like of shape (ny, nx)
        Cluster of each grid cell (``Z[i, j]`` at ``(xx[j], yy[i])``).
    centers : array-like of shape (k, 2)
    coords : array-like of shape (n_samples, 2), optional
    categories : array-like of shape (n_samples,), optional
        Primary label of each point.
    ids : array-like, optional
        Product ids, put in each point trace's ``customdata``.
    order : sequence of str, optional
        The primary label's categories in label order (legend order and colours).

    Returns
    -------
    plotly.graph_objects.Figure
        A "regions" heatmap, one trace per category, and a "centroids" trace.
    """
    Z = np.asarray(Z)
    k = len(np.asarray(centers))
    # Discrete colour per cluster at low contrast, so the points stay readable.
    scale = []
    for c in range(k):
        lo, hi = c / k, (c + 1) / k
        scale += [[lo, _cluster_color(c)], [hi, _cluster_color(c)]]
    fig = go.Figure(go.Heatmap(x=np.asarray(xx), y=np.asarray(yy), z=Z, zmin=-0.5, zmax=k - 0.5,
                               colorscale=scale if k > 0 else "gray", opacity=0.35, showscale=False,
                               name="regions", hovertemplate="cluster %{z}<extra></extra>"))
    if coords is not None and categories is not None:
        _category_points(fig, coords, categories, ids, size=4, opacity=0.7, order=order)
    centers = np.asarray(centers, dtype=float)
    # WebGL traces draw above SVG ones: the centroids use WebGL when the points do.
    top = _scatter_cls(0 if coords is None else len(coords))
    fig.add_trace(top(x=centers[:, 0], y=centers[:, 1], mode="markers+text", name="centroids",
                             text=[str(c) for c in range(k)], textposition="top center",
                             marker=dict(symbol="x", size=14, color="black", line=dict(width=2))))
    xr, yr = [float(np.min(xx)), float(np.max(xx))], [float(np.min(yy)), float(np.max(yy))]
    if coords is not None:
        pts = np.asarray(coords, dtype=float)
        xr, yr = _robust_range(pts[:, 0], *xr), _robust_range(pts[:, 1], *yr)
    fig.update_xaxes(title="dimension 1", range=xr)
    fig.update_yaxes(title="dimension 2", range=yr)
    return _layout(fig, title, legend=dict(itemsizing="constant"))


def contingency_heatmap(table: pd.DataFrame, title: str | None = "Clusters against categories", *,
                        label: str = "category") -> go.Figure:
    """Counts of each cluster (rows) per category (columns), annotated.

    Parameters
    ----------
    table : pandas.DataFrame
        Index: clusters; columns: category names (empty columns are dropped).
    title : str, optional
    label : str, default "category"
        The x axis' title: the label column's name.

    Returns
    -------
    plotly.graph_objects.Figure
        One heatmap trace with the counts as text.
    """
    table = table.loc[:, table.sum(axis=0) > 0] if len(table) else table
    z = table.to_numpy()
    fig = go.Figure(go.Heatmap(
        z=z, x=[str(c) for c in table.columns], y=[f"cluster {c}" for c in table.index],
        colorscale="Blues", text=z, texttemplate="%{text}", name="counts",
        hovertemplate="%{y}, %{x}: %{z}<extra></extra>", colorbar=dict(title="products"),
    ))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title=label, type="category")
    return _layout(fig, title)


def cluster_small_multiples(panels: dict, clusters, n_cols: int = 3,
                            title: str | None = "Clusters on every embedding") -> go.Figure:
    """The same cluster labels drawn on several 2-D embeddings.

    Parameters
    ----------
    panels : mapping
        Panel title (e.g. the method) to coordinates of shape
        ``(n_samples, 2)``, rows in the same order as ``clusters``.
    clusters : array-like of shape (n_samples,)
    n_cols : int, default 3

    Returns
    -------
    plotly.graph_objects.Figure
        One trace per (panel, cluster); clusters share a legend group, so one
        legend click toggles a cluster in every panel.
    """
    from plotly.subplots import make_subplots

    names = list(panels)
    clusters = np.asarray(clusters)
    n_cols = max(1, min(n_cols, len(names) or 1))
    n_rows = max(1, -(-len(names) // n_cols))
    fig = make_subplots(rows=n_rows, cols=n_cols, subplot_titles=names,
                        horizontal_spacing=0.04, vertical_spacing=0.1)
    cls = _scatter_cls(len(clusters) * max(1, len(names)))
    for p, name in enumerate(names):
        coords = np.asarray(panels[name], dtype=float)
        r, c = divmod(p, n_cols)
        for k in np.unique(clusters):
            mask = clusters == k
            fig.add_trace(cls(x=coords[mask, 0], y=coords[mask, 1], mode="markers",
                              name=f"cluster {k}", legendgroup=f"cluster {k}", showlegend=p == 0,
                              marker=dict(color=_cluster_color(k), size=3, opacity=0.7),
                              hovertemplate=f"{name}: cluster {k}<extra></extra>"),
                          row=r + 1, col=c + 1)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    return _layout(fig, title, height=330 * n_rows + 60, legend=dict(itemsizing="constant"))


# --- Gaussian mixtures -------------------------------------------------------
def information_criteria(ns, bic, aic=None, best_n: int | None = None,
                         title: str | None = "BIC and AIC by number of components") -> go.Figure:
    """BIC (and AIC) against the number of mixture components, best count marked.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces "BIC", "AIC" (when given) and "lowest BIC: <n>".
    """
    ns = np.asarray(ns)
    bic = np.asarray(bic, dtype=float)
    fig = go.Figure(go.Scatter(x=ns, y=bic, mode="lines+markers", name="BIC", line=dict(color="#0072B2")))
    if aic is not None:
        fig.add_trace(go.Scatter(x=ns, y=np.asarray(aic, dtype=float), mode="lines+markers", name="AIC",
                                 line=dict(color="#E69F00", dash="dash")))
    if best_n is not None and best_n in set(ns.tolist()):
        fig.add_trace(go.Scatter(x=[best_n], y=[bic[list(ns).index(best_n)]], mode="markers",
                                 name=f"lowest BIC: {best_n}",
                                 marker=dict(color="#D55E00", size=16, symbol="circle-open",
                                             line=dict(width=3))))
    fig.update_xaxes(title="components", dtick=1)
    fig.update_yaxes(title="information criterion (lower is better)")
    return _layout(fig, title, legend=dict(orientation="h", x=0, y=-0.22, yanchor="top"))


def density_contours(xx, yy, nll, means=None, regions=None, coords=None, categories=None, ids=None,
                     weights=None, title: str | None = "Gaussian mixture density", *,
                     order=None) -> go.Figure:
    """Contours of the mixture's negative log-likelihood, regions, means and points.

    Parameters
    ----------
    xx, yy : array-like of shape (nx,), (ny,)
    nll : array-like of shape (ny, nx)
        Negative log-likelihood on the grid; drawn on a log scale as the
        notebook's ``LogNorm`` contours.
    means : array-like of shape (n_components, 2), optional
    regions : array-like of shape (ny, nx), optional
        Predicted component per cell, drawn as boundary lines.
    coords, categories, ids : optional
        Points coloured by true category.
    order : sequence of str, optional
        The categories in label order (legend order and colours).
    weights : array-like of shape (n_components,), optional
        Shown beside each mean.

    Returns
    -------
    plotly.graph_objects.Figure
        A "-log likelihood" contour trace, optionally a "regions" contour
        trace, category traces, and a "means" trace.
    """
    nll = np.asarray(nll, dtype=float)
    shifted = np.log10(nll - np.nanmin(nll) + 1.0)
    fig = go.Figure(go.Contour(
        x=np.asarray(xx), y=np.asarray(yy), z=shifted, name="-log likelihood", colorscale="Viridis",
        reversescale=True, ncontours=15, opacity=0.55, contours=dict(coloring="fill", showlines=True),
        colorbar=dict(title=dict(text="log NLL", side="right")),
        customdata=nll, hovertemplate="NLL %{customdata:.2f}<extra></extra>",
    ))
    if regions is not None:
        regions = np.asarray(regions)
        n = int(regions.max()) + 1 if regions.size else 1
        fig.add_trace(go.Contour(
            x=np.asarray(xx), y=np.asarray(yy), z=regions, name="regions", showscale=False,
            contours=dict(coloring="none", start=0.5, end=n - 0.5, size=1),
            line=dict(color="black", width=1.5, dash="dash"), hoverinfo="skip"))
    if coords is not None and categories is not None:
        _category_points(fig, coords, categories, ids, size=3, opacity=0.5, order=order)
    if means is not None:
        means = np.asarray(means, dtype=float)
        text = [f"{i}" if weights is None else f"{i} ({w:.0%})" for i, w in
                enumerate(weights if weights is not None else [None] * len(means))]
        top = _scatter_cls(0 if coords is None else len(coords))
        fig.add_trace(top(x=means[:, 0], y=means[:, 1], mode="markers+text", name="means",
                                 text=text, textposition="top center",
                                 marker=dict(symbol="x", size=13, color="white",
                                             line=dict(width=2, color="black"))))
    fig.update_xaxes(title="dimension 1")
    fig.update_yaxes(title="dimension 2")
    if coords is not None:
        pts = np.asarray(coords, dtype=float)
        fig.update_xaxes(range=_robust_range(pts[:, 0], float(np.min(xx)), float(np.max(xx))))
        fig.update_yaxes(range=_robust_range(pts[:, 1], float(np.min(yy)), float(np.max(yy))))
    # The colour bar takes the right edge; the legend goes under the plot.
    return _layout(fig, title, height=560,
                   legend=dict(itemsizing="constant", orientation="h", y=-0.15, x=0, yanchor="top"))
