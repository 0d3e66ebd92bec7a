"""ui.thumbs: old thumbnail folders of other data are pruned; the current one and recent ones stay."""
from __future__ import annotations

import os
import time

from core.dataset import open_dataset
from make_data import make_dataset
from ui import thumbs


def test_old_fingerprint_folders_are_pruned_once(tmp_path, monkeypatch):
    monkeypatch.setattr(thumbs, "THUMBS_DIR", tmp_path / "thumbs")
    monkeypatch.setattr(thumbs, "_pruned", set())
    make_dataset(tmp_path / "data", n_good=3, damaged=False)
    ds = open_dataset(tmp_path / "data")
    old, recent = tmp_path / "thumbs" / "0ld", tmp_path / "thumbs" / "recent"
    for folder in (old, recent):
        folder.mkdir(parents=True)
        (folder / "1.jpg").write_bytes(b"x")
    week_ago = time.time() - 7 * 86400
    os.utime(old, (week_ago, week_ago))
    written = thumbs.ensure_thumbnails(ds, ds_ids(ds))
    assert written == 3
    assert not old.exists() and recent.exists()
    assert sorted(p.name for p in thumbs.thumbs_dir(ds).iterdir()) == sorted(
        f"{i}.jpg" for i in ds_ids(ds))
    assert thumbs.prune_old(ds) == []  # once per process


def ds_ids(ds):
    from core import styles

    return [int(i) for i in styles.load_styles(ds)[0]["id"]]
