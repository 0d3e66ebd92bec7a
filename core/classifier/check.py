"""The catalogue check: products whose stored label the model confidently contradicts.

Predictions on products the model never trained on (the validation part and
the tuning slice: out of sample, so a product cannot vouch for its own label)
go through confident learning (:func:`cleanlab.filter.find_label_issues`,
Northcutt et al. 2021): per class, the model's typical confidence in its own
class sets a threshold, and a product counts as a likely label error when the
model is above another class's threshold for it (the off-diagonal of the
confident joint, cleanlab's ``filter_by="confident_learning"``: the rule that
reads "the model confidently contradicts the stored label" literally). Of those, the ones where the model's answer differs from the
stored label are kept, ranked by the model's confidence in its answer.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

from .labels import OTHER


def label_issues(labels: np.ndarray, proba: np.ndarray, classes: Sequence[str], ids: np.ndarray,
                 max_issues: int = 300) -> list[dict]:
    """Likely label errors among out-of-sample predictions, the most confident contradiction first.

    Parameters
    ----------
    labels : numpy.ndarray of shape (n_samples,)
        Stored labels as codes of ``classes``.
    proba : numpy.ndarray of shape (n_samples, n_classes)
        Out-of-sample predicted probabilities.
    classes : sequence of str
        Class names in label order.
    ids : numpy.ndarray of shape (n_samples,)
        Product ids.
    max_issues : int
        Longest list returned.

    Returns
    -------
    list of dict
        ``id``, ``given`` (the stored label), ``predicted``, ``confidence``
        (the model's probability of ``predicted``), ``given_probability``.
        Products whose stored or predicted label is the grouped :data:`OTHER`
        are left out: "other" names no value to contradict.
    """
    from cleanlab.filter import find_label_issues

    labels = np.asarray(labels, dtype=int)
    proba = np.asarray(proba, dtype=np.float64)
    if len(labels) == 0:
        return []
    # confident learning needs every class it is given to occur: keep the classes
    # present among the labels, and renormalize the probabilities over them
    present = np.unique(labels)
    if len(present) < 2:
        return []
    remap = {c: i for i, c in enumerate(present)}
    p = proba[:, present]
    p = p / np.maximum(p.sum(1, keepdims=True), 1e-12)
    y = np.array([remap[c] for c in labels])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flagged = find_label_issues(y, p, filter_by="confident_learning", n_jobs=1)
    pred = present[p.argmax(1)]
    other = list(classes).index(OTHER) if OTHER in classes else -1
    keep = np.flatnonzero(flagged & (pred != labels) & (labels != other) & (pred != other))
    confidence = p[keep, p[keep].argmax(1)] if len(keep) else np.zeros(0)
    order = keep[np.argsort(-confidence, kind="stable")][:max_issues]
    return [{"id": int(ids[i]), "given": classes[labels[i]], "predicted": classes[pred[i]],
             "confidence": float(p[i].max()), "given_probability": float(p[i, y[i]])}
            for i in order]
