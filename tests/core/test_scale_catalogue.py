"""core.demo.write_catalogue: a synthetic catalogue of any size in the Kaggle layout."""
from __future__ import annotations

import pandas as pd

from core import demo
from core.dataset import open_dataset
from core.styles import clean_styles, load_styles


def test_catalogue_is_readable_and_does_not_depend_on_processes(tmp_path):
    one = demo.write_catalogue(tmp_path / "one", 2500, n_jobs=1)
    two = demo.write_catalogue(tmp_path / "two", 2500, n_jobs=2)
    a, b = pd.read_csv(one / "styles.csv"), pd.read_csv(two / "styles.csv")
    assert len(a) == 2500 and a.equals(b)
    assert a["id"].is_unique and a["productDisplayName"].str.startswith("Demo").all()
    assert (one / "images" / f"{a['id'].iloc[-1]}.jpg").read_bytes() == \
        (two / "images" / f"{a['id'].iloc[-1]}.jpg").read_bytes()
    ds = open_dataset(one)
    clean, _ = clean_styles(load_styles(ds)[0])
    assert len(clean) == 2500


def test_a_finished_catalogue_is_kept(tmp_path):
    folder = demo.write_catalogue(tmp_path / "c", 10, n_jobs=1)
    stamp = (folder / "styles.csv").stat().st_mtime_ns
    seen = []
    demo.write_catalogue(folder, 10, progress=lambda f, m: seen.append(m))
    assert (folder / "styles.csv").stat().st_mtime_ns == stamp and "already" in seen[-1]
