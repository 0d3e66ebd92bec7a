"""core.demo: the generated demo set is deterministic, complete, and has real structure."""
from __future__ import annotations

import hashlib
import threading

import numpy as np
import pandas as pd
import pytest

from core import config, dataset, demo, images, subsample, summary


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    folder = demo.ensure_demo(tmp_path_factory.mktemp("demo") / "demo")
    return folder, pd.read_csv(folder / "styles.csv")


def _digest(folder) -> str:
    h = hashlib.sha256((folder / "styles.csv").read_bytes())
    for p in sorted((folder / "images").iterdir()):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def test_layout_and_size(full):
    folder, styles = full
    assert len(styles) == demo.N_IMAGES
    assert list(styles.columns) == list(config.STYLE_COLUMNS)
    assert styles["id"].is_unique
    files = sorted(p.name for p in (folder / "images").iterdir())
    assert files == sorted(f"{i}.jpg" for i in styles["id"])


def test_every_column_is_filled_and_says_synthetic(full):
    _, styles = full
    assert styles.notna().all().all()
    assert styles["productDisplayName"].str.startswith("Demo ").all()
    assert styles["year"].between(2007, 2019).all()


def test_all_seven_classes_in_roughly_real_proportions(full):
    _, styles = full
    share = styles["masterCategory"].value_counts(normalize=True)
    assert set(share.index) == set(config.CATEGORIES)
    assert share["Apparel"] == pytest.approx(0.48, abs=0.03)
    assert share["Accessories"] == pytest.approx(0.25, abs=0.03)
    assert share["Footwear"] == pytest.approx(0.21, abs=0.03)
    assert share["Personal Care"] == pytest.approx(0.05, abs=0.02)
    for rare in ("Free Items", "Sporting Goods", "Home"):
        assert 1 <= (styles["masterCategory"] == rare).sum() <= 15
    assert styles["articleType"].nunique() >= 25


def test_images_are_60_by_80_products_on_white(full):
    folder, styles = full
    for pid in styles["id"].iloc[:40]:
        rgb = images.read_bgr(folder / "images" / f"{pid}.jpg")
        assert rgb.shape == (80, 60, 3)
        assert rgb[:3, :3].mean() > 200  # white ground in the corner
        assert rgb.min() < 200  # something is drawn


def test_readable_by_the_pipeline_and_labelled_demo(full, monkeypatch):
    folder, _ = full
    monkeypatch.setenv(config.DATA_ENV, "")
    ds = dataset.open_dataset(folder, kind="demo")
    assert ds.is_demo and "synthetic" in ds.describe().lower()
    info = summary.dataset_info(ds)
    assert info["readable_images"] == demo.N_IMAGES and info["unreadable_images"] == 0
    assert info["source"]["is_demo"] is True


def test_classes_are_separable(full):
    """The set has structure: a simple classifier on raw pixels beats the majority class clearly."""
    from sklearn.decomposition import PCA
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    folder, _ = full
    sub = subsample.Subsample(dataset.open_dataset(folder, "demo"), fraction=1.0, image_size=32)
    X = PCA(20, random_state=0).fit_transform(sub.features())
    y = sub.labels()
    acc = cross_val_score(KNeighborsClassifier(5), X, y, cv=3).mean()
    majority = np.bincount(y).max() / len(y)
    assert acc > majority + 0.3


def test_deterministic(tmp_path):
    a = demo.ensure_demo(tmp_path / "a", n_images=40)
    b = demo.ensure_demo(tmp_path / "b", n_images=40)
    assert _digest(a) == _digest(b)


def test_second_call_reuses_and_old_version_is_replaced(tmp_path, monkeypatch):
    folder = demo.ensure_demo(tmp_path / "d", n_images=20)
    mtime = (folder / "styles.csv").stat().st_mtime_ns
    assert demo.ensure_demo(folder, n_images=20) == folder
    assert (folder / "styles.csv").stat().st_mtime_ns == mtime
    monkeypatch.setattr(demo, "DEMO_VERSION", demo.DEMO_VERSION + 1)
    (folder / "images" / "stale.txt").write_text("from an older release")
    demo.ensure_demo(folder, n_images=20)
    assert not (folder / "images" / "stale.txt").exists()
    assert len(list((folder / "images").iterdir())) == 20
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_partial_folder_is_regenerated(tmp_path):
    folder = tmp_path / "d"
    (folder / "images").mkdir(parents=True)
    (folder / "styles.csv").write_text("half written")
    demo.ensure_demo(folder, n_images=10)
    assert len(pd.read_csv(folder / "styles.csv")) == 10


def test_two_threads_at_once(tmp_path):
    folder = tmp_path / "d"
    out, errors = [], []

    def run():
        try:
            out.append(demo.ensure_demo(folder, n_images=30))
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and out == [folder] * 3
    assert len(pd.read_csv(folder / "styles.csv")) == 30
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_progress(tmp_path):
    seen = []
    demo.ensure_demo(tmp_path / "d", progress=lambda f, m: seen.append(f), n_images=10)
    assert seen[0] == 0.0 and seen[-1] == 1.0


def test_default_folder_is_under_the_cache(monkeypatch, tmp_path):
    monkeypatch.setattr(demo, "N_IMAGES", 10)
    folder = demo.ensure_demo(None, n_images=10)
    assert folder == demo.demo_dir()
    assert str(folder).startswith(str(config.cache_dir()))
