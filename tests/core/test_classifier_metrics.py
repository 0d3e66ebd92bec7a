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
