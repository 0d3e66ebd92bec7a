"""Tests of core.figures.model: training curves, confusion matrix, per-class table, uploads on the map."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import classifier, config, figures


def test_history_figure_draws_the_series_present():
    history = [{"epoch": 1, "loss": 1.0, "accuracy": 0.5, "val_loss": 1.2, "val_accuracy": 0.4},
               {"epoch": 2, "loss": 0.8, "accuracy": 0.7, "val_loss": 1.0, "val_accuracy": 0.6}]
    fig = figures.history_figure(history)
    assert len(fig.data) == 4
    assert [t.name for t in fig.data if t.showlegend] == ["training", "tuning slice"]
    no_tuning = figures.history_figure([{k: h[k] for k in ("epoch", "loss", "accuracy")} for h in history])
    assert len(no_tuning.data) == 2


def test_confusion_figure_leaves_out_absent_categories():
    n = len(config.CATEGORIES)
    cm = np.zeros((n, n), int)
    cm[0, 0], cm[0, 1], cm[1, 1] = 8, 2, 5
    fig = figures.confusion_figure(cm)
    heat = fig.data[0]
    assert list(heat.x) == list(config.CATEGORIES[:2]) == list(heat.y)
    np.testing.assert_allclose(heat.z, [[0.8, 0.2], [0.0, 1.0]])


def test_per_class_table_has_a_note_column():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 20)
    proba = np.eye(len(config.CATEGORIES))[y]
    table = figures.per_class_table(classifier.evaluate(y, proba))
    assert list(table.columns) == ["category", "precision", "recall", "f1", "support", "predicted", "note"]
    assert len(table) == len(config.CATEGORIES)


def test_upload_map_figure_marks_uploads_with_plain_names():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"id": np.arange(6), "masterCategory": ["Apparel", "Footwear"] * 3,
                          "productDisplayName": [f"p{i}" for i in range(6)]})
    points = [("shoe.png", 0.5, 0.5), ("<a href='x'>x</a>.png", 1.0, 1.0)]
    fig = figures.upload_map_figure(rng.normal(size=(6, 2)), frame, points)
    stars = [t for t in fig.data if getattr(t.marker, "symbol", None) == "star"]
    assert [t.name for t in stars] == ["shoe.png", "&lt;a href='x'&gt;x&lt;/a&gt;.png"]
    assert stars[1].text == (stars[1].name,)


def _tagger_info():
    from core import classifier

    y = np.array([0, 1, 1, 2])
    proba = np.eye(3)[[0, 1, 2, 2]]
    ev = classifier.evaluate(y, proba, np.array([10, 11, 12, 13]), classes=("x", "y", "z"), majority_class=1)
    return {"attributes": [{"column": "articleType", "classes": ["x", "y", "z"], "grouped": {"w": 2}}],
            "evaluations": {"articleType": ev},
            "issues": {"articleType": [{"id": 12, "given": "y", "predicted": "z", "confidence": 0.9,
                                        "given_probability": 0.05}]}}


def test_attribute_table_puts_the_majority_rate_and_baseline_beside_the_accuracy():
    from core import figures

    info = _tagger_info()
    table = figures.attribute_table(info, {"attributes": {"articleType": {"val_accuracy": 0.5}}})
    row = table.iloc[0]
    assert row["attribute"] == "articleType" and row["classes"] == 3 and row["grouped as other"] == 1
    assert row["top-1"] == pytest.approx(0.75) and row["majority class"] == pytest.approx(0.5)
    assert row["PCA + SVC"] == pytest.approx(0.5)
    pairs = figures.confused_pairs_table(info["evaluations"]["articleType"])
    assert pairs.iloc[0][["true", "predicted", "count"]].tolist() == ["y", "z", 1]


def test_label_issues_table_names_the_products():
    import pandas as pd

    from core import figures

    frame = pd.DataFrame({"id": [12, 13], "productDisplayName": ["Blue shirt", "Red cap"]})
    frame.attrs["name_column"] = "productDisplayName"  # as a subsample's frame says
    table = figures.label_issues_table(_tagger_info()["issues"], frame)
    assert table.iloc[0].tolist() == ["articleType", 12, "y", "z", 0.9, 0.05, "Blue shirt"]
