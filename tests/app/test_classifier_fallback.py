"""Without a model on the chosen settings, uploads are answered by the largest one the server has.

A 200,000-product catalogue at 100% cannot be trained on a small server (the
photos alone would exceed its memory budget): a model trained on a smaller
fraction must answer instead of a refused training.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import classifier

APP = str(Path(__file__).resolve().parents[2] / "app.py")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained_on_half(tagging_catalogue):
    from core import dataset, subsample

    ds = dataset.open_dataset(tagging_catalogue)
    classifier.train(subsample.Subsample(ds, fraction=0.5))
    return ds


def test_the_largest_trained_fraction_is_found(trained_on_half):
    assert classifier.best_trained(trained_on_half, (0.2, 0.5, 1.0)).fraction == 0.5
    assert classifier.best_trained(trained_on_half, (0.2, 1.0)) is None
    assert classifier.best_trained(trained_on_half, (0.5,), model="seed") is None


def test_the_page_answers_with_it_and_offers_training_on_the_settings(trained_on_half, shared_cache,
                                                                     classifier_page):
    at = classifier_page("1.0")
    notes = [i.value for i in at.info]
    assert any("answered by the one trained on 50% of the catalogue" in n for n in notes), notes
    assert any(b.label == "Train now" for b in at.button)


def test_the_training_cost_follows_the_rows_whichever_way_they_are_chosen(trained_on_half):
    texts = []
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params["fraction"] = "1.0"
    at.run()
    at.switch_page("pages/classifier.py").run()
    for scope in ("subsample", "all"):
        at.radio(key="clf_scope").set_value(scope).run()
        assert not at.exception, [e.message for e in at.exception]
        texts.append(next(i.value for i in at.info if "Training on" in i.value))
    assert "sidebar" in texts[0] and "everything" in texts[1]
    assert texts[0].split("takes")[1] == texts[1].split("takes")[1]  # the same 100% training
