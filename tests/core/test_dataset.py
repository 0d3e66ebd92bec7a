"""core.dataset: opening, fingerprinting, resolving and downloading a dataset folder."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from core import config, dataset, styles
from make_data import HEADER, make_dataset


def test_open_dataset_one_level_down(tmp_path):
    make_dataset(tmp_path / "archive" / "myntradataset", n_good=3, damaged=False)
    ds = dataset.open_dataset(tmp_path / "archive")
    assert ds.root.name == "myntradataset" and ds.kind == "argument"


@pytest.mark.parametrize("setup,match", [
    (lambda p: None, "does not exist"),
    (lambda p: p.mkdir(), "Kaggle layout"),
    (lambda p: (p.mkdir(), (p / "styles.csv").write_text(HEADER)), "Kaggle layout"),
])
def test_open_dataset_errors(tmp_path, setup, match):
    folder = tmp_path / "x"
    setup(folder)
    with pytest.raises(dataset.DatasetError, match=match):
        dataset.open_dataset(folder)


def test_fingerprint_changes_with_the_data(tmp_path):
    make_dataset(tmp_path, n_good=4, damaged=False)
    before = dataset.fingerprint(tmp_path)
    assert dataset.fingerprint(tmp_path) == before
    img = tmp_path / "images" / "1000.jpg"
    st = img.stat()
    os.utime(img, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    touched = dataset.fingerprint(tmp_path)
    assert touched != before
    (tmp_path / "images" / "1001.jpg").unlink()
    removed = dataset.fingerprint(tmp_path)
    assert removed not in (before, touched)
    with open(tmp_path / "styles.csv", "a") as fh:
        fh.write("5000,Men,Apparel,Topwear,Tshirts,Blue,Summer,2012,Casual,x\n")
    assert dataset.fingerprint(tmp_path) not in (before, touched, removed)


def test_resolve_order(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    make_dataset(a, n_good=2, damaged=False)
    make_dataset(b, n_good=2, damaged=False)
    monkeypatch.setenv(config.DATA_ENV, str(b))
    assert dataset.resolve_dataset(a).root == a.resolve()
    assert dataset.resolve_dataset().kind == "env"
    monkeypatch.delenv(config.DATA_ENV)
    make_dataset(dataset.downloaded_dir(), n_good=2, damaged=False)
    assert dataset.resolve_dataset().kind == "downloaded"
    shutil.rmtree(dataset.downloaded_dir())
    monkeypatch.setattr("core.demo.N_IMAGES", 30)
    monkeypatch.setattr("core.demo.ensure_demo.__defaults__", (None, None, 30))
    ds = dataset.resolve_dataset()
    assert ds.kind == "demo" and ds.is_demo and "synthetic" in ds.describe().lower()


def test_bad_env_folder_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(dataset.DatasetError, match=config.DATA_ENV):
        dataset.resolve_dataset()


def test_download_without_network_says_so(monkeypatch):
    import kagglehub

    def offline(*args, **kwargs):
        raise ConnectionError("Failed to resolve 'www.kaggle.com'\nmore detail")

    monkeypatch.setattr(kagglehub, "dataset_download", offline)
    with pytest.raises(dataset.DatasetError) as err:
        dataset.download()
    msg = str(err.value)
    assert "network" in msg and "--data" in msg and config.DATA_ENV in msg and "\n" not in msg
    assert not dataset.downloaded_dir().exists()


def test_download_copies_the_nested_archive(tmp_path, monkeypatch):
    import kagglehub

    archive = tmp_path / "kagglehub" / "versions" / "1"
    make_dataset(archive / "myntradataset", n_good=3, damaged=False)
    calls = []
    monkeypatch.setattr(kagglehub, "dataset_download",
                        lambda handle, **kw: calls.append(handle) or str(archive))
    path = dataset.download()
    assert calls == [dataset.KAGGLE_HANDLE]
    assert path == dataset.downloaded_dir()
    assert (path / "styles.csv").is_file() and len(list((path / "images").iterdir())) == 3
    assert not any(p.is_symlink() for p in path.rglob("*"))
    assert dataset.resolve_dataset().kind == "downloaded"
    # a second call finds it and does not download again
    assert dataset.download() == path and calls == [dataset.KAGGLE_HANDLE]


def test_download_into_output_dir_is_moved_not_copied(monkeypatch):
    import kagglehub

    def fake(handle, output_dir=None, **kw):
        make_dataset(Path(output_dir) / "myntradataset", n_good=2, damaged=False)
        (Path(output_dir) / "extra.txt").write_text("not part of the layout")
        return output_dir

    monkeypatch.setattr(kagglehub, "dataset_download", fake)
    path = dataset.download()
    assert sorted(p.name for p in path.iterdir()) == ["images", "styles.csv"]
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]
    assert len(styles.read_styles(path / "styles.csv")[0]) == 2
