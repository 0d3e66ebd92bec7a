"""How well a classifier answers: accuracy, top-k, confusion, per-class figures, its mistakes."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .. import config


def evaluate(y_true: np.ndarray, proba: np.ndarray, ids: Optional[np.ndarray] = None,
             max_misclassified: int = 60, classes: Sequence[str] = config.CATEGORIES,
             top_k: int = 5, majority_class: Optional[int] = None, max_pairs: int = 20) -> dict:
    """Accuracy, confusion matrix, per-class figures and misclassified examples.

    Parameters
    ----------
    y_true : numpy.ndarray of shape (n_samples,)
        Codes in the order of ``classes``.
    proba : numpy.ndarray of shape (n_samples, n_classes)
        Predicted probabilities.
    ids : numpy.ndarray, optional
        Product ids of the rows, for the misclassified list.
    classes : sequence of str
        Class names in label order (default: the masterCategory names).
    top_k : int, default 5
        ``top_k_accuracy``: the truth among the ``top_k`` most probable classes.
    majority_class : int, optional
        The training part's most frequent class: ``majority_rate`` is the
        accuracy of always answering it, the figure any model must beat.
    max_pairs : int, default 20
        Most confused pairs listed.

    Returns
    -------
    dict
        ``accuracy``, ``top_k``, ``top_k_accuracy``, ``majority_rate`` (or
        None), ``confusion`` (rows true, columns predicted, in ``classes``
        order), ``classes``, ``per_class`` (precision, recall, F1, support per
        class, with a ``note`` where the support is too small to mean
        anything), ``macro_f1``, ``confused_pairs`` (true, predicted, count;
        most frequent first), ``misclassified`` (most confident mistakes first).
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    classes = list(classes)
    n = len(classes)
    y_true = np.asarray(y_true, dtype=int)
    proba = np.asarray(proba)
    pred = proba.argmax(1) if len(proba) else np.zeros(0, int)
    cm = confusion_matrix(y_true, pred, labels=list(range(n))) if len(y_true) else np.zeros((n, n), int)
    prec, rec, f1, support = precision_recall_fscore_support(
        y_true, pred, labels=list(range(n)), zero_division=0) if len(y_true) else (np.zeros(n),) * 4
    per_class = []
    for i, name in enumerate(classes):
        s = int(support[i])
        row = {"category": name, "precision": float(prec[i]), "recall": float(rec[i]),
               "f1": float(f1[i]), "support": s, "predicted": int(cm[:, i].sum())}
        if s == 0:
            row["note"] = "none in this set: no figure can be measured"
        elif s < 10:
            row["note"] = f"only {s} in this set: the figures are anecdotal"
        per_class.append(row)
    present = [i for i in range(n) if support[i] > 0]
    wrong = np.flatnonzero(pred != y_true)
    conf = proba.max(1) if len(proba) else np.zeros(0)
    wrong = wrong[np.argsort(-conf[wrong], kind="stable")][:max_misclassified]
    misclassified = [{"row": int(i), "id": int(ids[i]) if ids is not None else int(i),
                      "true": classes[y_true[i]], "predicted": classes[pred[i]],
                      "confidence": float(conf[i])} for i in wrong]
    off = cm.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None, kind="stable")[:max_pairs]
    pairs = [{"true": classes[t], "predicted": classes[p], "count": int(off[t, p]),
              "share_of_true": float(off[t, p] / max(1, cm[t].sum()))}
             for t, p in zip(*np.unravel_index(order, off.shape)) if off[t, p] > 0]
    k = int(min(top_k, n))
    if len(y_true):
        topk = np.argsort(-proba, axis=1, kind="stable")[:, :k]
        top_k_accuracy = float(np.mean((topk == y_true[:, None]).any(1)))
    else:
        top_k_accuracy = float("nan")
    majority_rate = (float(np.mean(y_true == majority_class)) if majority_class is not None and len(y_true)
                     else None)
    return {"accuracy": float(np.mean(pred == y_true)) if len(y_true) else float("nan"),
            "top_k": k, "top_k_accuracy": top_k_accuracy, "majority_rate": majority_rate,
            "n_samples": int(len(y_true)), "classes": classes, "confusion": cm.astype(int).tolist(),
            "per_class": per_class, "macro_f1": float(np.mean(f1[present])) if present else float("nan"),
            "confused_pairs": pairs, "misclassified": misclassified}
