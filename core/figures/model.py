"""Figures of a trained model: training curves, confusion matrices, per-class tables, an upload on the map.

Pure: the dicts that :func:`core.classifier.train` and
:func:`core.classifier.classify_images` return, and arrays, in; Plotly figures
(or a DataFrame) out.
"""
from __future__ import annotations

import html
from typing import Optional, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import config
from .products import category_scatter

__all__ = ["history_figure", "confusion_figure", "per_class_table", "upload_map_figure"]


def history_figure(history: Sequence[dict], title: Optional[str] = "Training curves"):
    """Per-epoch loss and accuracy, on the training batches and on the tuning slice.

    Returns
    -------
    plotly.graph_objects.Figure
        Two panels (loss, accuracy), one trace per series.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"))
    epochs = [h["epoch"] for h in history]
    series = [("loss", "training", "#0072B2", "solid"), ("val_loss", "tuning slice", "#D55E00", "dash"),
              ("accuracy", "training", "#0072B2", "solid"),
              ("val_accuracy", "tuning slice", "#D55E00", "dash")]
    for i, (key, name, color, dash) in enumerate(series):
        values = [h.get(key) for h in history]
        if all(v is None for v in values):
            continue
        fig.add_trace(go.Scatter(x=epochs, y=values, mode="lines+markers", name=name,
                                 legendgroup=name, showlegend=i in (0, 1),
                                 line=dict(color=color, dash=dash)), row=1, col=1 + (i >= 2))
    fig.update_xaxes(title_text="epoch")
    fig.update_layout(title=title, height=320, margin=dict(l=40, r=10, t=60, b=40))
    return fig


def confusion_figure(confusion, categories: Sequence[str] = config.CATEGORIES,
                     title: Optional[str] = "Confusion matrix (validation set)"):
    """Heatmap of a confusion matrix, rows the true category, columns the predicted one.

    Categories absent from both the truth and the predictions are left out.
    """
    cm = np.asarray(confusion, dtype=int)
    keep = [i for i in range(len(cm)) if cm[i].sum() or cm[:, i].sum()] or list(range(len(cm)))
    cm = cm[np.ix_(keep, keep)]
    names = [categories[i] for i in keep]
    share = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig = go.Figure(go.Heatmap(
        z=share, x=names, y=names, text=cm, texttemplate="%{text}", colorscale="Blues",
        zmin=0, zmax=1, colorbar=dict(title="share of row"),
        hovertemplate="true %{y}<br>predicted %{x}<br>%{text} images (%{z:.1%} of the row)<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="predicted", yaxis_title="true",
                      yaxis_autorange="reversed", height=420, margin=dict(l=10, r=10, t=60, b=10))
    return fig


def per_class_table(evaluation: dict):
    """Per-class precision, recall, F1 and support as a DataFrame."""
    rows = evaluation["per_class"]
    frame = pd.DataFrame(rows)
    if "note" not in frame.columns:
        frame["note"] = ""
    return frame[["category", "precision", "recall", "f1", "support", "predicted", "note"]].fillna("")


def upload_map_figure(coords, frame, points: Sequence[tuple[str, float, float]],
                      title: Optional[str] = "Where the uploads land on the PCA map"):
    """The subsample's 2-D PCA map coloured by category with uploads marked as stars.

    Parameters
    ----------
    coords : numpy.ndarray of shape (n_samples, 2)
        The subsample's :func:`core.pca.projection_2d`.
    frame : pandas.DataFrame
        The subsample's rows.
    points : sequence of (name, x, y)
        Uploads: file names are the uploader's text, so their ``<``, ``>`` and
        ``&`` are escaped (Plotly reads labels as HTML, where a name could
        otherwise become a link).
    """
    fig = category_scatter(coords, frame, title=title)
    for name, x, y in points:
        label = html.escape(str(name), quote=False)
        fig.add_trace(go.Scatter(x=[x], y=[y], mode="markers+text", name=label, text=[label],
                                 textposition="top center",
                                 marker=dict(symbol="star", size=18, color="black",
                                             line=dict(color="white", width=1.5))))
    return fig
