"""Figures of a trained model: training curves, confusion matrices, per-class and per-attribute tables,
the most confused pairs, the catalogue check's table, an upload on the map.

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
from .products import category_scatter, product_names

__all__ = ["history_figure", "confusion_figure", "per_class_table", "attribute_table",
           "confused_pairs_table", "label_issues_table", "upload_map_figure",
           "READABLE_CLASSES"]

#: A confusion matrix is drawn up to this many classes; past it the cells are
#: too small to read, and the most confused pairs say more.
READABLE_CLASSES = 16


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


def attribute_table(info: dict, baseline: Optional[dict] = None) -> pd.DataFrame:
    """One row per attribute: classes, top-1 and top-5 accuracy, majority-class rate, baseline.

    Parameters
    ----------
    info : dict
        What :func:`core.classifier.train` returns.
    baseline : dict, optional
        :func:`core.classifier.baseline_tags`, measured on the same split.
    """
    rows = []
    for a in info.get("attributes", []):
        e = info["evaluations"][a["column"]]
        row = {"attribute": a["column"], "classes": len(a["classes"]),
               "grouped as other": len(a["grouped"]), "top-1": e["accuracy"],
               "top-5": e["top_k_accuracy"], "majority class": e["majority_rate"],
               "macro F1": e["macro_f1"]}
        if baseline is not None:
            row["PCA + SVC"] = baseline["attributes"].get(a["column"], {}).get("val_accuracy")
        rows.append(row)
    return pd.DataFrame(rows)


def confused_pairs_table(evaluation: dict, n: int = 15) -> pd.DataFrame:
    """The ``n`` most frequent mistakes: true class, predicted class, count, share of the true class."""
    frame = pd.DataFrame(evaluation.get("confused_pairs", [])[:n],
                         columns=["true", "predicted", "count", "share_of_true"])
    return frame.rename(columns={"share_of_true": "share of the true class"})


def label_issues_table(issues: dict, frame: pd.DataFrame) -> pd.DataFrame:
    """The catalogue check as one table: attribute, id, stored label, model's label, confidence, name.

    Parameters
    ----------
    issues : dict
        Column to :func:`core.classifier.label_issues` (``info["issues"]``).
    frame : pandas.DataFrame
        Rows of the catalogue, for the product names.

    Returns
    -------
    pandas.DataFrame
        Ranked by confidence within each attribute; what the page exports as CSV.
    """
    names = pd.Series(product_names(frame), index=frame["id"].to_numpy())
    rows = [{"attribute": column, "id": i["id"], "stored label": i["given"], "model says": i["predicted"],
             "confidence": i["confidence"], "probability of the stored label": i["given_probability"],
             "product name": names.get(i["id"], "")}
            for column, found in issues.items() for i in found]
    return pd.DataFrame(rows, columns=["attribute", "id", "stored label", "model says", "confidence",
                                       "probability of the stored label", "product name"])


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
