"""warm: every step runs once, reports one line each, and a second call reads the cache only.

The embeddings are replaced by a cheap stand-in here (their own tests cover
them; the shared-data integration test runs the real ones).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from core import clustering, manifold, mixture, pca, pipeline
from core.__main__ import main
from core.subsample import Subsample
from core.dataset import open_dataset


@pytest.fixture
def fake_embeddings(monkeypatch):
    """Embeddings that are the PCA projection shifted per method, with fixed quality figures."""
    calls = []

    def embed(sub, method, *, random_state=42, progress=None, **params):
        calls.append(method)
        coords, _ = pca.projection_2d(sub, random_state)
        return manifold.Embedding(coords=np.asarray(coords) + len(method), method=method, params={},
                                  seconds=0.5, route=f"stand-in for {method}")

    def quality(sub, method, *, random_state=42, progress=None, **params):
        return {"trustworthiness": 0.9, "knn_accuracy": 0.8, "silhouette": 0.1, "seconds": 0.5}

    monkeypatch.setattr(manifold, "embed", embed)
    monkeypatch.setattr(manifold, "quality", quality)
    return calls


@pytest.fixture
def counted(monkeypatch):
    """Count the expensive array-level computations behind the cached functions."""
    counts = {"decompose": 0, "sweep_k": 0, "bic_curve": 0, "fit_gmm": 0}
    for module, name in [(pca, "decompose"), (clustering, "sweep_k"), (mixture, "bic_curve"),
                         (mixture, "fit_gmm")]:
        original = getattr(module, name)

        def wrapper(*a, _original=original, _name=name, **k):
            counts[_name] += 1
            return _original(*a, **k)

        monkeypatch.setattr(module, name, wrapper)
    return counts


def test_warm_computes_everything_once_then_reads_the_cache(tiny_dataset, fake_embeddings, counted,
                                                            monkeypatch):
    sub = Subsample(open_dataset(tiny_dataset), fraction=1.0, image_size=12)
    messages = []
    out = pipeline.warm(sub, random_state=0, progress=lambda f, m: messages.append((f, m)))

    # the headline figures
    assert out["dataset"]["rows"] == len(sub.frame())
    assert out["dataset"]["synthetic"] is False
    assert 1 <= out["n_components_95"] <= len(sub.frame())
    assert 0 < out["variance_2d"] <= 100
    assert set(out["embeddings"]) == set(manifold.METHODS)
    for figures in out["embeddings"].values():
        assert set(figures) == {"seconds", "trustworthiness", "knn_accuracy", "silhouette", "route"}
    sweep = clustering.kmeans_sweep(sub, "pca2", (1, 10), 0)
    assert out["elbow_k"] == sweep["elbow_k"] and out["silhouette_k"] == sweep["silhouette_k"]
    assert out["bic_k"] == mixture.bic_sweep(sub, "pca2", (1, 10), 0)["bic_k"]
    assert set(out["generated"]) == set(mixture.ROUTES)
    json.dumps(out)  # plain JSON types only

    # the pages' calls are now cache hits
    k = clustering.default_k(sweep)
    assert clustering.decision_regions.is_cached(sub, k, "pca2", 200, 0)
    assert clustering.contingency.is_cached(sub, k, "pca2", 0)
    for kk in (2, 3, 4, 5):
        assert clustering.silhouette_by_cluster.is_cached(sub, kk, "pca2", 0)
    assert mixture.density_grid.is_cached(sub, out["bic_k"], "pca2", 200, 0)
    for route in mixture.ROUTES:
        assert mixture.realism.is_cached(sub, 16, route, None, mixture.DEFAULT_SAMPLE_DIMS, 0)
        assert mixture.sample_images.is_cached(sub, 16, route, None, mixture.DEFAULT_SAMPLE_DIMS, 0)

    # one message per step, in order, the fraction never going back
    step_messages = [m for _, m in messages if m.startswith("[")]
    assert len(set(step_messages)) == len(out["steps"])
    fractions = [f for f, _ in messages]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(c >= 1 for c in counted.values())

    # a second run computes nothing and never loads the feature matrix
    for name in counted:
        counted[name] = 0
    fake_embeddings.clear()

    def no_features(*a, **k):
        raise AssertionError("a warm run loaded the feature matrix")

    monkeypatch.setattr(Subsample, "features", no_features)
    again = pipeline.warm(sub, random_state=0)
    assert counted == {"decompose": 0, "sweep_k": 0, "bic_curve": 0, "fit_gmm": 0}
    for key in ("n_components_95", "variance_2d", "elbow_k", "silhouette_k", "bic_k", "generated",
                "kmeans"):
        assert again[key] == out[key]


def test_warm_cli_prints_json_and_progress(tiny_dataset, fake_embeddings, capsys):
    code = main(["warm", "--data", str(tiny_dataset), "--fraction", "1.0", "--json"])
    captured = capsys.readouterr()
    assert code == 0
    result = json.loads(captured.out)
    for key in ("n_components_95", "variance_2d", "embeddings", "elbow_k", "silhouette_k", "bic_k"):
        assert key in result
    lines = [line for line in captured.err.splitlines() if "] [" in line]
    assert len(lines) == len(result["steps"])


def test_warm_cli_reports_a_bad_folder_in_one_line(tmp_path, capsys):
    code = main(["warm", "--data", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("error:") and "nowhere" in err
    assert "Traceback" not in err
