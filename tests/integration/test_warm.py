"""``python -m core warm`` on the real dataset's 10% subsample: the figures the analysis promises.

Skipped, with the reason, when ``../shared/data/fashion-small`` is absent. The
first run computes everything (a few minutes on 2 cores, less when the session
cache already holds the features and embeddings); the second must be served
from the cache with the same figures.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import config, manifold

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _warm(shared_data, shared_cache) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", "warm", "--data", str(shared_data), "--json"],
                          cwd=REPO, capture_output=True, text=True, timeout=1200,
                          env={**os.environ, config.CACHE_ENV: str(shared_cache)})


@pytest.fixture(scope="module")
def first(shared_data, shared_cache):
    r = _warm(shared_data, shared_cache)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout), r.stderr


def test_headline_figures_on_the_ten_percent_subsample(first):
    out, _ = first
    assert out["dataset"]["rows"] == 4208
    assert out["dataset"]["synthetic"] is False
    assert 280 <= out["n_components_95"] <= 305
    assert 31.0 <= out["variance_2d"] <= 33.5
    assert set(out["embeddings"]) == set(manifold.METHODS)
    for method, fig in out["embeddings"].items():
        assert 0.5 < fig["trustworthiness"] <= 1.0, method
        assert 0.3 < fig["knn_accuracy"] <= 1.0, method
        assert -1.0 <= fig["silhouette"] <= 1.0, method
        assert fig["seconds"] >= 0 and fig["route"], method
    for pick in ("elbow_k", "silhouette_k", "bic_k"):
        assert isinstance(out[pick], int) and 1 <= out[pick] <= 10, pick
    assert out["kmeans"]["k"] >= 2 and 0 <= out["kmeans"]["nmi"] <= 1


def test_the_higher_dimensional_route_generates_more_realistic_images(first):
    out, _ = first
    gen = out["generated"]
    assert gen["2d"]["dims"] == 2 and gen["pca"]["dims"] > 2
    assert gen["pca"]["mean_distance"] < gen["2d"]["mean_distance"]


def test_one_progress_line_per_step(first):
    out, err = first
    step_lines = [line for line in err.splitlines() if "] [" in line]
    assert len(step_lines) == len(out["steps"])


def test_second_run_is_served_from_the_cache(first, shared_data, shared_cache):
    out, _ = first
    r = _warm(shared_data, shared_cache)
    assert r.returncode == 0, r.stderr[-2000:]
    again = json.loads(r.stdout)
    for key in ("n_components_95", "variance_2d", "embeddings", "elbow_k", "silhouette_k", "bic_k",
                "kmeans", "generated"):
        assert again[key] == out[key], key
