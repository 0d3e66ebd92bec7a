"""Fixtures of the AppTest runs."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import classifier, config
from make_data import make_tagging_dataset

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture(scope="module")
def tagging_catalogue(tmp_path_factory, shared_cache):
    """A generated catalogue where every attribute is learnable, served by the app, with a small tagger.

    Yields the folder; the tagger's recipe is shrunk so that a training on it
    takes seconds in the test's own process, where the page then finds it.
    """
    monkeypatch = pytest.MonkeyPatch()
    for key, value in (("width", 16), ("batch_size", 16), ("epochs", 12), ("min_count", 5)):
        monkeypatch.setitem(classifier.DEFAULT_RECIPE, key, value)
    folder = make_tagging_dataset(tmp_path_factory.mktemp("tagging"), n_per_combination=6)
    monkeypatch.setenv(config.DATA_ENV, str(folder))
    yield folder
    monkeypatch.undo()


@pytest.fixture
def classifier_page():
    """Opens the Classifier page of a fresh app at ``?fraction=...``; fails on any exception or error shown."""
    def open_page(fraction: str = "1.0") -> AppTest:
        at = AppTest.from_file(APP, default_timeout=240)
        at.query_params["fraction"] = fraction
        at.run()
        at.switch_page("pages/classifier.py").run()
        assert not at.exception, [e.message for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        return at

    return open_page
