"""``python -m core warm`` picks the engine by size: the Dask route prints its dashboard and steps."""
from __future__ import annotations

import functools
import json

import pytest

from core import __main__ as cli
from core.dataset import open_dataset
from core.scale import cluster
from core.subsample import Subsample


@pytest.fixture
def small_and_in_process(monkeypatch, tmp_path):
    """12x12 images and a one-thread cluster inside the test: the route is the same, the cost tiny."""
    monkeypatch.setenv("FASHION_CACHE_DIR", str(tmp_path / "cache"))
    for name in (cluster.DASK_ENV, cluster.SCHEDULER_ENV, cluster.MIN_ROWS_ENV):
        monkeypatch.delenv(name, raising=False)

    def subsample(args, progress=None):
        return Subsample(open_dataset(args.data), fraction=args.fraction, image_size=12)

    monkeypatch.setattr(cli, "_subsample", subsample)
    monkeypatch.setattr(cluster, "connect",
                        functools.partial(cluster.connect, n_workers=1, processes=False))


def test_warm_on_the_dask_route_prints_the_dashboard_steps_and_the_scale_result(
        tiny_dataset, small_and_in_process, monkeypatch, capsys):
    monkeypatch.setenv(cluster.MIN_ROWS_ENV, "10")  # 48 products count as a large catalogue
    assert cli.main(["warm", "--data", str(tiny_dataset), "--fraction", "1.0"]) == 0
    out, err = capsys.readouterr()
    assert "dashboard http" in err  # the link, before the work
    for step in ("decoding 48 images", "PCA: covariance", "k-means", "t-SNE"):
        assert step in err, step
    assert out.startswith("route: Dask (local)")
    assert "48 products, 48 with a readable image" in out
    assert "components for 95% of the variance (between" in out
    assert "k-means: elbow k = " in out and "ARI" in out
    assert "tsne" in out and "done in" in out


def test_warm_json_says_which_route_ran(tiny_dataset, small_and_in_process, monkeypatch, capsys):
    monkeypatch.setenv(cluster.DASK_ENV, "local")
    assert cli.main(["warm", "--data", str(tiny_dataset), "--fraction", "1.0", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["route"] == "local" and result["readable"] == 48
    assert set(result["steps"]) >= {"features", "pca", "kmeans", "mixture", "map: tsne"}
    assert result["embeddings"]["lle"]["n_fitted"] == 48


def test_small_catalogues_stay_in_memory(tiny_dataset, small_and_in_process, monkeypatch, capsys):
    def no_cluster(*args, **kwargs):
        raise AssertionError("a small catalogue must not start a cluster")

    monkeypatch.setattr(cluster, "connect", no_cluster)
    monkeypatch.setattr(cli, "_subsample", lambda args, progress=None: Subsample(
        open_dataset(args.data), fraction=0.5, image_size=12))
    from core import pipeline

    calls = []
    monkeypatch.setattr(pipeline, "warm", lambda sub, rs, progress=None: calls.append(sub) or {
        "dataset": {}, "n_components_95": 3, "variance_2d": 40.0, "elbow_k": 3, "silhouette_k": 3,
        "bic_k": 2, "seconds": 0.1})
    assert cli.main(["warm", "--data", str(tiny_dataset)]) == 0
    assert len(calls) == 1
    assert "PCA: 3 components for 95%" in capsys.readouterr().out
