"""How well a classifier answers: accuracy, confusion matrix, per-class figures, its mistakes."""
from __future__ import annotations

from typing import Optional

import numpy as np

from .. import config


def evaluate(y_true: np.ndarray, proba: np.ndarray, ids: Optional[np.ndarray] = None,
             max_misclassified: int = 60) -> dict:
    """Accuracy, confusion matrix, per-class figures and misclassified examples.

    Parameters
    ----------
    y_true : numpy.ndarray of shape (n_samples,)
        Labels by :data:`core.config.LABELS`.
    proba : numpy.ndarray of shape (n_samples, n_classes)
        Predicted probabilities.
    ids : numpy.ndarray, optional
        Product ids of the rows, for the misclassified list.

    Returns
    -------
    dict
        ``accuracy``, ``confusion`` (rows true, columns predicted, in
        :data:`core.config.CATEGORIES` order), ``per_class`` (precision,
        recall, F1, support per category, with a ``note`` where the support is
        too small to mean anything), ``macro_f1``, ``misclassified`` (most
        confident mistakes first).
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    n = len(config.CATEGORIES)
    y_true = np.asarray(y_true, dtype=int)
    pred = proba.argmax(1) if len(proba) else np.zeros(0, int)
    cm = confusion_matrix(y_true, pred, labels=list(range(n))) if len(y_true) else np.zeros((n, n), int)
    prec, rec, f1, support = precision_recall_fscore_support(
        y_true, pred, labels=list(range(n)), zero_division=0) if len(y_true) else (np.zeros(n),) * 4
    per_class = []
    for i, name in enumerate(config.CATEGORIES):
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
                      "true": config.CATEGORIES[y_true[i]], "predicted": config.CATEGORIES[pred[i]],
                      "confidence": float(conf[i])} for i in wrong]
    return {"accuracy": float(np.mean(pred == y_true)) if len(y_true) else float("nan"),
            "n_samples": int(len(y_true)), "confusion": cm.astype(int).tolist(),
            "per_class": per_class, "macro_f1": float(np.mean(f1[present])) if present else float("nan"),
            "misclassified": misclassified}
