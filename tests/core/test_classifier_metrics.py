"""Tests of core.classifier.metrics: accuracy, confusion matrix, tiny classes, misclassified examples."""
from __future__ import annotations

import numpy as np
import pytest

from core import classifier


def test_evaluate_confusion_and_tiny_classes():
    y = np.array([0, 0, 1, 1, 1, 6])
    proba = np.zeros((6, 7))
    proba[np.arange(6), [0, 1, 1, 1, 1, 1]] = 0.9
    ids = np.arange(100, 106)
    ev = classifier.evaluate(y, proba, ids)
    assert ev["accuracy"] == pytest.approx(4 / 6)
    assert ev["confusion"][0][1] == 1 and ev["confusion"][6][1] == 1
    rows = {r["category"]: r for r in ev["per_class"]}
    assert rows["Home"]["support"] == 1 and "anecdotal" in rows["Home"]["note"]
    assert rows["Footwear"]["support"] == 0 and "none" in rows["Footwear"]["note"]
    assert sorted(m["id"] for m in ev["misclassified"]) == [101, 105]


def test_top_k_majority_rate_and_confused_pairs():
    classes = ("a", "b", "c", "d", "e", "f")
    y = np.array([0, 0, 0, 1, 1, 2])
    proba = np.array([
        [0.6, 0.3, 0.1, 0, 0, 0],   # right
        [0.35, 0.6, 0.05, 0, 0, 0],  # a -> b, a second
        [0.0, 0.6, 0.1, 0.1, 0.1, 0.1],  # a -> b, a outside the top 2
        [0.2, 0.7, 0.1, 0, 0, 0],   # right
        [0.05, 0.15, 0.8, 0, 0, 0],  # b -> c, b second
        [0.1, 0.1, 0.8, 0, 0, 0],   # right
    ])
    ev = classifier.evaluate(y, proba, np.arange(6), classes=classes, top_k=2, majority_class=0)
    assert ev["accuracy"] == pytest.approx(3 / 6)
    assert ev["top_k"] == 2 and ev["top_k_accuracy"] == pytest.approx(5 / 6)
    assert ev["majority_rate"] == pytest.approx(3 / 6)
    assert ev["classes"] == list(classes)
    assert ev["confused_pairs"][0] == {"true": "a", "predicted": "b", "count": 2,
                                       "share_of_true": pytest.approx(2 / 3)}
    assert [(p["true"], p["predicted"]) for p in ev["confused_pairs"]] == [("a", "b"), ("b", "c")]
    assert {m["true"] for m in ev["misclassified"]} == {"a", "b"}
