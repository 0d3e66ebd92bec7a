"""Tests of core.classifier.check: confident learning finds labels the model contradicts."""
from __future__ import annotations

import numpy as np

from core import classifier


def test_flipped_labels_are_flagged_most_confident_first():
    rng = np.random.default_rng(0)
    n, classes = 300, ("a", "b", "c", classifier.OTHER)
    truth = rng.integers(0, 3, n)
    proba = np.full((n, 4), 0.02)
    proba[np.arange(n), truth] = 0.94
    proba += rng.uniform(0, 0.02, proba.shape)
    proba /= proba.sum(1, keepdims=True)
    given = truth.copy()
    flipped = rng.choice(n, 12, replace=False)
    given[flipped] = (truth[flipped] + 1) % 3
    given[:3] = 3  # stored as "other": nothing to contradict
    ids = np.arange(1000, 1000 + n)
    found = classifier.label_issues(given, proba, classes, ids)
    flagged = {f["id"] for f in found}
    assert set(ids[flipped]) - set(ids[:3]) <= flagged
    assert flagged <= set(ids[flipped])  # nothing clean is flagged
    confidence = [f["confidence"] for f in found]
    assert confidence == sorted(confidence, reverse=True)
    f = found[0]
    assert f["given"] != f["predicted"] and f["given_probability"] < 0.1


def test_nothing_to_check():
    assert classifier.label_issues(np.zeros(0, int), np.zeros((0, 2)), ("a", "b"), np.zeros(0)) == []
    assert classifier.label_issues(np.zeros(5, int), np.full((5, 2), 0.5), ("a", "b"), np.arange(5)) == []
