"""The Classifier page with a trained tagger: evaluation per attribute and the catalogue check.

A generated catalogue where every attribute is learnable (``make_tagging_dataset``)
is trained on in seconds with a small recipe, in the same process as the
AppTest, so the page finds the model in the cache and draws everything a
trained model shows.
"""
from __future__ import annotations

import pytest

from core import classifier, config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tagging_catalogue):
    from core import dataset, subsample

    return classifier.train(subsample.Subsample(dataset.open_dataset(tagging_catalogue), fraction=1.0))


def test_the_page_shows_every_attribute_and_the_catalogue_check(trained, shared_cache, classifier_page):
    at = classifier_page("1.0")
    assert any("validation accuracy" in s.value for s in at.success)
    assert [t.label for t in at.tabs] == list(config.LABEL_COLUMNS)
    headers = [h.value for h in at.header]
    assert "Catalogue check: labels the model contradicts" in headers
    frames = [df.value for df in at.dataframe]
    table = next(f for f in frames if "attribute" in f.columns and "top-5" in f.columns)
    assert table["attribute"].tolist() == list(config.LABEL_COLUMNS)
    assert (table["top-1"] >= table["majority class"]).all()
    assert at.selectbox(key="clf_check_attr").options[0].startswith("masterCategory")
