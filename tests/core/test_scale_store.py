"""The feature store: same features as the in-memory route, resumable, standardized blockwise."""
from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from core.dataset import open_dataset
from core.scale import cluster, store
from core.subsample import Subsample
from make_data import make_dataset


@pytest.fixture(scope="module")
def damaged_dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("damaged")
    make_dataset(folder, n_good=60, damaged=True)
    return open_dataset(folder)


@pytest.fixture(scope="module")
def client():
    with cluster.connect("local", n_workers=1, processes=False) as c:
        yield c


def test_rows_match_the_subsample_once_unreadable_images_are_dropped(damaged_dataset, client):
    sub = Subsample(damaged_dataset, fraction=1.0, image_size=12)
    rows = store.catalogue_rows(damaged_dataset, 1.0, sub.seed)
    st = store.build_store(client, damaged_dataset, rows["id"], 12, chunk_rows=16)
    valid = st.valid()
    assert (~valid).sum() > 0  # the damaged files are flagged, not decoded
    assert np.array_equal(rows["id"].to_numpy()[valid], sub.ids)
    X = store.features(st).compute()
    assert X.dtype == np.float32
    assert_allclose(X, sub.features(), atol=1e-5)
    mean, std = st.scale()
    from core import images

    ref_mean, ref_std = images.column_scale(np.asarray(store.pixels(st).compute()))
    assert_allclose(mean, ref_mean, rtol=1e-12, atol=1e-9)
    assert_allclose(std, ref_std, rtol=1e-9)


def test_features_are_blocks_of_at_most_one_chunk(damaged_dataset, client):
    rows = store.catalogue_rows(damaged_dataset)
    st = store.build_store(client, damaged_dataset, rows["id"], 12, chunk_rows=16)
    X = store.features(st)
    assert max(X.chunks[0]) <= 16
    assert X.chunks[1] == (144,)


def test_an_interrupted_store_resumes_from_its_done_chunks(damaged_dataset, client, monkeypatch,
                                                           tmp_path):
    rows = store.catalogue_rows(damaged_dataset)
    ids = rows["id"].to_numpy()
    real = store.decode_chunk
    # tasks run on a copy of the function: they leave a file per call
    calls = tmp_path / "calls"
    calls.mkdir()

    def decoded():
        return sorted(int(p.name) for p in calls.iterdir())

    def dies_halfway(st, i, *args):
        if i >= st.n_chunks // 2:
            raise RuntimeError("killed")  # as a run stopped mid-way
        return real(st, i, *args)

    monkeypatch.setattr(store, "decode_chunk", dies_halfway)
    with pytest.raises(RuntimeError, match="killed"):
        store.build_store(client, damaged_dataset, ids, 12, chunk_rows=8)
    st = store.open_store(damaged_dataset, ids, 12, chunk_rows=8)
    done = np.asarray(st.group()["done"][:])
    assert not st.is_complete() and 0 < done.sum() < st.n_chunks

    def counted(st, i, *args):
        (calls / str(i)).touch()
        return real(st, i, *args)

    monkeypatch.setattr(store, "decode_chunk", counted)
    st = store.build_store(client, damaged_dataset, ids, 12, chunk_rows=8)
    assert st.is_complete()
    # only missing chunks are decoded, and every chunk the killed run never finished is; a
    # chunk still being decoded when the run failed may finish after `done` was read
    assert set(decoded()) <= set(np.flatnonzero(done == 0).tolist())
    assert set(range(st.n_chunks // 2, st.n_chunks)) <= set(decoded())
    sub = Subsample(damaged_dataset, fraction=1.0, image_size=12)
    assert_allclose(store.features(st).compute(), sub.features(), atol=1e-5)


def test_a_store_of_other_rows_is_refused(damaged_dataset, tmp_path):
    url = str(tmp_path / "s.zarr")
    store.open_store(damaged_dataset, [1, 2, 3], 12, url=url)
    with pytest.raises(ValueError, match="other rows"):
        store.open_store(damaged_dataset, [1, 2, 4], 12, url=url)
