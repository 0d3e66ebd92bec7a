"""core.subsample: the notebook's subsample and its cache keys."""
from __future__ import annotations


import numpy as np
import pytest

from core import config, dataset, images, styles, subsample
from make_data import make_dataset


def test_subsample_follows_the_notebook(damaged):
    folder, exp = damaged
    ds = dataset.open_dataset(folder)
    sub = subsample.Subsample(ds, fraction=0.5, seed=42)
    df, _ = styles.read_styles(folder / "styles.csv")
    clean = df.dropna()
    clean = clean[clean["masterCategory"].isin(list(config.LABELS))]
    notebook = clean.sample(frac=1, random_state=42).sample(frac=0.5, random_state=42)
    readable = set(images.scan(ds)["readable"].tolist())
    expected_ids = [i for i in notebook["id"] if i in readable]
    frame = sub.frame()
    assert frame["id"].tolist() == expected_ids
    assert (frame["label"] == frame["masterCategory"].map(config.LABELS)).all()
    assert sub.labels().dtype == np.int64


def test_subsample_full_fraction_takes_every_clean_readable_row(damaged):
    folder, exp = damaged
    sub = subsample.Subsample(dataset.open_dataset(folder), fraction=1.0)
    frame = sub.frame()
    # clean rows minus those without a readable image (2012, 2013 missing; 2020-2024 unreadable)
    assert len(frame) == exp["clean_rows"] - len(exp["missing"]) - len(exp["unreadable"])
    X = sub.features()
    assert X.shape == (len(frame), 100 * 100) and X.dtype == np.float32


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5])
def test_subsample_rejects_bad_fraction(damaged, fraction):
    with pytest.raises(ValueError):
        subsample.Subsample(dataset.open_dataset(damaged[0]), fraction=fraction)


def test_subsample_keys_differ_by_parameters(damaged):
    ds = dataset.open_dataset(damaged[0])
    a = subsample.Subsample(ds)
    keys = {a.cache_key(), subsample.Subsample(ds, fraction=0.2).cache_key(),
            subsample.Subsample(ds, seed=1).cache_key(), subsample.Subsample(ds, image_size=64).cache_key(),
            subsample.Subsample(ds, color=True).cache_key(), subsample.Subsample(ds, resample="area").cache_key()}
    assert len(keys) == 6
    assert a.cache_key() == subsample.Subsample(ds).cache_key()


def test_results_are_not_served_for_other_data(tmp_path):
    make_dataset(tmp_path, n_good=6, damaged=False)
    ds = dataset.open_dataset(tmp_path)
    assert len(images.scan(ds)["readable"]) == 6
    (tmp_path / "images" / "1000.jpg").write_bytes(b"")
    ds2 = dataset.open_dataset(tmp_path)
    assert ds2.cache_key() != ds.cache_key()
    assert len(images.scan(ds2)["readable"]) == 5
