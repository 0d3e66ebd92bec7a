"""The pages on a catalogue that goes to Dask: PCA from the feature store, maps by sample.

``FASHION_DASK_MIN_ROWS`` makes a generated catalogue of 150 products count
as large, so every page takes the route a 200,000-product catalogue takes,
at a size a test can afford; the samples are shrunk in proportion.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import manifold
from core.demo import write_catalogue
from core.scale import cluster

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
COLD_TIMEOUT = 300
N = 150

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    return write_catalogue(tmp_path_factory.mktemp("large") / "catalogue", N, n_jobs=1)


@pytest.fixture
def app(catalogue, shared_cache, monkeypatch):
    """A function that opens the app with extra query parameters."""
    monkeypatch.setenv("FASHION_DATA_DIR", str(catalogue))
    monkeypatch.setenv(cluster.MIN_ROWS_ENV, "50")
    for name in (cluster.DASK_ENV, cluster.SCHEDULER_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(manifold, "FIT_SAMPLE", 60)
    monkeypatch.setattr(manifold, "SAMPLE_ONLY", {"lle": 80, "mds": 50})

    def start(**query) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=COLD_TIMEOUT)
        for key, value in {"fraction": "1.0", "image_size": "28", **query}.items():
            at.query_params[key] = value
        return at.run()

    return start


@pytest.fixture
def at(app) -> AppTest:
    return app()


def _open(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _captions(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption)


def test_pca_page_reads_the_basis_computed_on_dask(at):
    _open(at, "pca")
    assert any(m.label == "Images" and m.value == f"{N:,}" for m in at.metric)
    assert any("on the cluster" in str(m.help) for m in at.metric if m.label == "Decomposition")


def test_embeddings_place_every_product_with_tsne(at):
    _open(at, "embeddings")
    assert f"t-SNE fitted on 60 of {N} products" in _captions(at)
    assert f"the other {N - 60} placed by openTSNE transform" in _captions(at)


def test_embeddings_say_when_a_map_is_a_sample(at):
    _open(at, "embeddings")
    at.session_state["emb_method"] = "lle"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert f"of a sample of 80 of {N} products" in _captions(at)
    assert any(f"LLE of a sample of 80 products: at {N} products" in i.value for i in at.info)


def test_clustering_page_works_on_the_scores(at):
    _open(at, "clustering")
    assert any(m.label == "ARI" for m in at.metric)


def test_clusters_on_every_embedding_show_the_shared_sample(at):
    _open(at, "clustering")
    toggles = [t for t in at.toggle if t.key == "multiples"]
    if toggles:
        toggles[0].set_value(True).run(timeout=COLD_TIMEOUT)
    assert not at.exception, [e.message for e in at.exception]
    assert "A sample of 50 products" in _captions(at)  # MDS's, part of LLE's
    spec = next(json.loads(el.proto.spec) for el in at.get("plotly_chart")
                if json.loads(el.proto.spec)["layout"]["title"]["text"].startswith("k = "))
    assert [a["text"] for a in spec["layout"]["annotations"]] == ["PCA", "t-SNE", "LLE", "MDS", "UMAP"]


@pytest.mark.parametrize("page", ["overview", "mixture"])
def test_the_other_pages_open(at, page):
    _open(at, page)
    assert at.title
