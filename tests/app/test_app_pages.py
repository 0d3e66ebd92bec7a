"""Every page of the dashboard, run by Streamlit's AppTest on the generated demo set.

The custom image-hover component shows up here only as an unknown element, so
these tests check the Plotly figures (parsed from ``proto.spec``), the
metrics, the settings and the errors; the browser tests cover hovering.

All tests share one cache folder (the ``shared_cache`` fixture), so the demo
set is generated and each page computed once; the first visit of a page gets a
generous timeout because it computes cold.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
#: Seconds for a run that may compute cold on 2 cores (the demo set is small).
COLD_TIMEOUT = 240

pytestmark = pytest.mark.slow


def _app(monkeypatch, **query) -> AppTest:
    monkeypatch.delenv("FASHION_DATA_DIR", raising=False)
    at = AppTest.from_file(APP, default_timeout=COLD_TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def _open(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def charts(at: AppTest) -> list[dict]:
    """The Plotly figures on the page, as their JSON specs."""
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def titles(at: AppTest) -> list[str]:
    return [(spec["layout"].get("title") or {}).get("text") or "" for spec in charts(at)]


def trace_names(at: AppTest, title_start: str) -> list[str]:
    for spec in charts(at):
        if ((spec["layout"].get("title") or {}).get("text") or "").startswith(title_start):
            return [t.get("name") for t in spec["data"]]
    raise AssertionError(f"no chart titled {title_start!r}; charts: {titles(at)}")


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.fixture
def at(shared_cache, monkeypatch) -> AppTest:
    return _app(monkeypatch)


# ----------------------------------------------------------------------------
# Frame and settings
# ----------------------------------------------------------------------------
def test_frame_shows_demo_banner_and_settings(at):
    assert not at.exception
    assert any("Demo set: synthetic images" in w.value for w in at.sidebar.warning)
    assert at.sidebar.select_slider(key="fraction").value == 0.1
    assert at.sidebar.slider(key="sample_seed").value == 42
    assert at.sidebar.select_slider(key="image_size").value == 100
    assert at.sidebar.toggle(key="color").value is False
    assert at.sidebar.slider(key="random_state").value == 42


def test_settings_persist_across_pages_and_drive_the_subsample(at):
    _open(at, "overview")
    base = int(metrics(at)["Subsample"].replace(",", ""))
    at.sidebar.select_slider(key="fraction").set_value(0.2).run()
    assert int(metrics(at)["Subsample"].replace(",", "")) > base
    _open(at, "clustering")
    assert at.sidebar.select_slider(key="fraction").value == 0.2
    _open(at, "overview")
    assert at.sidebar.select_slider(key="fraction").value == 0.2


def test_bad_data_folder_is_an_error_with_what_to_do(shared_cache, monkeypatch, tmp_path):
    monkeypatch.setenv("FASHION_DATA_DIR", str(tmp_path / "nowhere"))
    at = AppTest.from_file(APP, default_timeout=COLD_TIMEOUT).run()
    assert not at.exception
    assert len(at.error) == 1
    message = at.error[0].value
    assert "does not exist" in message and "FASHION_DATA_DIR" in message


def test_view_state_comes_from_the_url(shared_cache, monkeypatch):
    at = _app(monkeypatch, k="4", sil_view="k = 2..5")
    _open(at, "clustering")
    assert at.slider(key="k").value == 4
    assert sorted(t for t in titles(at) if t.startswith("Silhouette diagram")) == [
        f"Silhouette diagram, k = {k}" for k in (2, 3, 4, 5)]


# ----------------------------------------------------------------------------
# One test per page
# ----------------------------------------------------------------------------
def test_overview(at):
    _open(at, "overview")
    m = metrics(at)
    assert m["Rows read"] == "1,500"
    assert int(m["Subsample"].replace(",", "")) > 100
    assert "Missing values per column" in titles(at)
    names = trace_names(at, "Items per masterCategory")
    assert names == ["items"]
    bars = next(s for s in charts(at) if s["layout"]["title"]["text"].startswith("Items"))["data"][0]
    assert bars["x"][:2] == ["Accessories", "Apparel"]
    assert len(at.image) >= 7  # the gallery: products of every category
    assert any("Licence" in md.value for md in at.markdown)


def test_pca(at):
    _open(at, "pca")
    n95 = int(metrics(at)["Components for 95% of the variance"])
    assert trace_names(at, "Cumulative explained variance") == [
        "cumulative variance", f"{n95} components for 95%"]
    assert any(t.startswith(f"10 products and their reconstruction from {n95}") for t in titles(at))
    at.slider(key="n_components").set_value(5).run()
    assert not at.exception
    assert any(t.startswith("10 products and their reconstruction from 5 ") for t in titles(at))
    assert float(metrics(at)["Variance kept"].rstrip("%")) < 95
    assert "Variance explained by two components" in metrics(at)


def test_embeddings(at):
    pytest.importorskip("core.manifold", reason="core.manifold is not in this checkout")
    _open(at, "embeddings")
    assert at.title and at.title[0].value == "Embeddings"


def test_clustering(at):
    _open(at, "clustering")
    assert trace_names(at, "Elbow")[0] == "inertia"
    assert trace_names(at, "Mean silhouette")[0] == "mean silhouette"
    k = at.slider(key="k").value
    assert f"Silhouette diagram, k = {k}" in titles(at)
    regions = trace_names(at, "K-means regions")
    assert regions[0] == "regions" and regions[-1] == "centroids"
    assert "Apparel" in regions
    assert {"ARI", "NMI"} <= set(metrics(at))
    assert trace_names(at, "Clusters against masterCategory") == ["counts"]
    at.slider(key="k").set_value(5).run()
    assert not at.exception
    assert "Silhouette diagram, k = 5" in titles(at)
    assert at.download_button


def test_clustering_on_every_embedding(at):
    pytest.importorskip("core.manifold", reason="core.manifold is not in this checkout")
    _open(at, "clustering")
    toggles = [t for t in at.toggle if t.key == "multiples"]
    if toggles:  # absent once every embedding is cached: then they are drawn at once
        toggles[0].set_value(True).run(timeout=COLD_TIMEOUT)
    assert not at.exception, [e.message for e in at.exception]
    spec = next(s for s in charts(at) if s["layout"]["title"]["text"].startswith("k = "))
    panels = [a["text"] for a in spec["layout"]["annotations"]]
    assert panels == ["PCA", "t-SNE", "LLE", "MDS", "UMAP"]


def test_mixture(at):
    _open(at, "mixture")
    assert trace_names(at, "BIC and AIC")[:2] == ["BIC", "AIC"]
    n = at.slider(key="components").value
    density = trace_names(at, f"Density of {n} Gaussian components")
    assert density[:2] == ["-log likelihood", "regions"] and density[-1] == "means"
    at.button[0].click().run(timeout=COLD_TIMEOUT)
    assert not at.exception, [e.message for e in at.exception]
    distances = [m.value for m in at.metric if m.label.startswith("Mean distance")]
    assert len(distances) == 2


def test_classifier(at):
    _open(at, "classifier")
    assert at.title and at.title[0].value == "Classifier"


def test_warm_pages_render(at):
    """Every page renders again from the caches (the second visit computes nothing)."""
    pages = ("overview", "pca", "clustering", "mixture", "classifier")
    first = {}
    for page in pages:
        _open(at, page)
        first[page] = titles(at)
    for page in pages:
        _open(at, page)
        assert titles(at) == first[page]


def test_a_setting_over_the_memory_budget_is_refused_with_what_to_change(shared_cache, monkeypatch):
    # The costliest link a visitor can share; a tiny budget stands in for a small server.
    monkeypatch.setenv("FASHION_MEMORY_GB", "0.1")
    at = _app(monkeypatch, fraction="1.0", color="true", image_size="100", sample_seed="7")
    at.switch_page("pages/pca.py").run()
    assert not at.exception, [e.message for e in at.exception]
    messages = " ".join(e.value for e in at.error).replace("\\", "")  # shown as plain text
    assert "PCA of" in messages and "colour images at 100x100" in messages
    assert "FASHION_MEMORY_GB" in messages and "smaller sample fraction" in messages
    assert "Traceback" not in messages
