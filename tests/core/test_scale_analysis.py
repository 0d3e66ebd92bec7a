"""PCA, k-means, maps and the progress bridge on the cluster agree with the in-memory route."""
from __future__ import annotations

import time

import numpy as np
import pytest
from numpy.testing import assert_allclose

from core import clustering, pca as core_pca
from core.dataset import open_dataset
from core.scale import cluster, groups, maps, pca, store
from core.scale.progress import track
from core.subsample import Subsample
from make_data import make_dataset


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    make_dataset(folder, n_good=60, damaged=False)
    ds = open_dataset(folder)
    sub = Subsample(ds, fraction=1.0, image_size=12)
    with cluster.connect("local", n_workers=1, processes=False) as client:
        rows = store.catalogue_rows(ds)
        st = store.build_store(client, ds, rows["id"], 12, chunk_rows=16)
        yield client, st, sub


@pytest.mark.parametrize("method", ["covariance", "randomized"])
def test_pca_agrees_with_the_exact_route(setup, method):
    client, st, sub = setup
    res = pca.fit(client, st, method=method, n_randomized=50)
    dec = core_pca.decompose(sub.features())
    k = 10
    ratio = dec.eigenvalues / dec.total_variance
    assert_allclose(res.explained_variance_ratio_[:k], ratio[:k], atol=1e-5)
    assert res.n_components_95 == core_pca.components_for_variance(ratio)
    low, high = res.n_components_95_range
    assert low <= res.n_components_95 <= high
    assert_allclose(np.abs(pca.scores(st, 3)), np.abs(dec.scores[:, :3]), atol=1e-3)
    assert np.all(res.eigenvalue_error_ >= 0)


def test_kmeans_labels_equal_the_in_memory_fit(setup):
    client, st, sub = setup
    pca.fit(client, st)
    X = pca.scores(st, 5)
    km = groups.kmeans(client, st, 3, dims=5)
    ref = clustering.fit_kmeans(X, 3)
    assert np.array_equal(km["labels"], ref["labels"])
    assert km["inertia"] == pytest.approx(ref["inertia"], rel=1e-6)


def test_gaussian_mixture_assigns_every_row(setup):
    client, st, _ = setup
    pca.fit(client, st)
    gm = groups.gaussian_mixture(client, st, 2)
    assert gm["labels"].shape == (int(st.valid().sum()),)
    assert set(np.unique(gm["labels"])) <= {0, 1}


def test_lle_and_mds_say_when_they_are_sample_only(setup):
    client, st, _ = setup
    pca.fit(client, st)
    res = maps.embed(client, st, "mds", sample_size=20)
    assert res["sample_only"] and res["coords"].shape == (20, 2)
    assert "sample of 20" in res["route"]
    whole = maps.embed(client, st, "pca")
    assert not whole["sample_only"] and len(whole["coords"]) == int(st.valid().sum())


@pytest.mark.slow
def test_tsne_places_the_rows_outside_its_sample(setup):
    client, st, _ = setup
    pca.fit(client, st)
    res = maps.embed(client, st, "tsne", sample_size=40)
    assert res["n_fitted"] == 40 and not res["sample_only"]
    assert np.isfinite(res["coords"]).all() and len(res["coords"]) == int(st.valid().sum())
    assert 0.5 < maps.trustworthiness(client, st, res) <= 1.0


def test_progress_reports_the_dashboard_first_and_reaches_one(setup):
    client = setup[0]
    seen = []
    out = track(client, [client.submit(np.sqrt, i, pure=False) for i in (4, 9)],
                lambda f, m: seen.append((f, m)), "roots")
    assert out == [2.0, 3.0]
    assert "dashboard http" in seen[0][1] and seen[-1][0] == 1.0


def test_a_failing_task_raises_its_own_error(setup):
    client = setup[0]

    def boom(x):
        raise ValueError(f"bad {x}")

    with pytest.raises(ValueError, match="bad 1"):
        track(client, [client.submit(boom, 1, pure=False)], None, "boom")


def test_covariance_partials_are_summed_as_they_finish(setup, monkeypatch):
    client, st, _ = setup
    monkeypatch.setattr(pca, "CHUNKS_PER_TASK", 1)  # 4 partial sums, added pairwise
    res = pca._covariance_route(client, st, 0, None)[0]
    one = pca._eigen_task(pca._gram_task(st, list(range(st.n_chunks)), *st.scale()), 640, 0)
    assert res["n"] == one["n"] == 60
    assert_allclose(res["w"][:10], one["w"][:10], rtol=1e-8)


def test_partial_covariances_are_added_on_the_cluster_and_released(setup):
    """The d x d partial sums never pile up: one result is left, and it is the exact total."""
    client = setup[0]
    rng = np.random.default_rng(0)
    blocks = [rng.normal(size=(5, 4)) for _ in range(7)]

    def gram(x):
        return x.T @ x, x.sum(axis=0), len(x)

    seen = []
    total = pca._sum_as_completed(client, [client.submit(gram, b, pure=False) for b in blocks],
                                  lambda f, m: seen.append(f), "grams")
    g, colsum, n = total.result()
    X = np.vstack(blocks)
    assert_allclose(g, X.T @ X) and assert_allclose(colsum, X.sum(axis=0))
    assert n == 35 and seen[-1] == 1.0 and len(seen) == 8
    del total
    for _ in range(50):  # the scheduler forgets released keys asynchronously
        held = [k for keys in client.has_what().values() for k in keys
                if str(k).startswith(("gram", "_add"))]
        if not held:
            break
        time.sleep(0.1)
    assert held == []


def test_a_failing_partial_sum_raises_its_own_error(setup):
    client = setup[0]

    def boom(x):
        raise ValueError(f"bad block {x}")

    with pytest.raises(ValueError, match="bad block 2"):
        pca._sum_as_completed(client, [client.submit(boom, 2, pure=False)], None, "grams")
