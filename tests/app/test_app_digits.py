"""Every page on a catalogue that is not Kaggle's: scikit-learn's digits, described by catalogue.toml.

The digits are written out by ``tests/make_data.make_digits_catalogue`` (a
CSV and PNGs in nested folders, label column ``digit``) and the app is pointed
at them with ``FASHION_DATA_DIR``, as a person would. Legends, bars and
tables must read 0-9, and no page may name a Kaggle column.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from make_data import make_digits_catalogue

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
COLD_TIMEOUT = 240
DIGITS = [str(d) for d in range(10)]
KAGGLE_COLUMNS = ("masterCategory", "articleType", "subCategory", "productDisplayName")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return make_digits_catalogue(tmp_path_factory.mktemp("digits"))


@pytest.fixture
def at(digits, shared_cache, monkeypatch) -> AppTest:
    monkeypatch.setenv("FASHION_DATA_DIR", str(digits))
    app = AppTest.from_file(APP, default_timeout=COLD_TIMEOUT)
    app.query_params["image_size"] = "28"
    return app.run()


def _open(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def _chart(at: AppTest, title_start: str) -> dict:
    for spec in _charts(at):
        if ((spec["layout"].get("title") or {}).get("text") or "").startswith(title_start):
            return spec
    raise AssertionError(f"no chart titled {title_start!r}")


def _no_kaggle_names(at: AppTest) -> None:
    text = json.dumps(_charts(at)) + " ".join(m.value for m in at.markdown)
    for col in KAGGLE_COLUMNS:
        assert col not in text, col


def test_overview_counts_the_ten_digits(at):
    _open(at, "overview")
    assert at.title[0].value == "Catalogue overview"
    bars = _chart(at, "Items per digit")["data"][0]
    assert bars["x"] == DIGITS
    assert any("`digit`: primary label" in md.value for md in at.markdown)
    assert len(at.image) >= 10  # a gallery row per digit
    _no_kaggle_names(at)


def test_pca_renders(at):
    _open(at, "pca")
    assert "Variance explained by two components" in {m.label for m in at.metric}
    _no_kaggle_names(at)


def test_embeddings_render(at):
    _open(at, "embeddings")
    assert at.title[0].value == "Embeddings"


def test_clustering_tables_read_digits(at):
    _open(at, "clustering")
    regions = [t["name"] for t in _chart(at, "K-means regions")["data"]]
    assert regions[1:-1] == DIGITS
    assert _chart(at, "Clusters against digit")["data"][0]["x"][:1] == ["0"]
    _no_kaggle_names(at)


def test_mixture_legend_reads_digits(at):
    _open(at, "mixture")
    n = at.slider(key="components").value
    names = [t["name"] for t in _chart(at, f"Density of {n} Gaussian components")["data"]]
    assert [x for x in names if x in DIGITS] == DIGITS


def test_classifier_page_opens(at):
    _open(at, "classifier")
    assert at.title[0].value == "Classifier"
