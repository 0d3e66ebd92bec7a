"""ui.scatter: map files are written once, touched when used, and pruned when unused for long."""
from __future__ import annotations

import os
import time

from ui import scatter


def test_map_files_are_reused_touched_and_pruned(tmp_path, monkeypatch):
    monkeypatch.setattr(scatter, "MAPS_DIR", tmp_path)
    monkeypatch.setattr(scatter, "_pruned", [])
    old, used = tmp_path / "old.bin", tmp_path / "used.bin"
    for path, days in ((old, 30), (used, 3)):
        path.write_bytes(b"x")
        then = time.time() - days * 86400
        os.utime(path, (then, then))
    (tmp_path / "keep.txt").write_text("not a map")

    url = scatter._publish(b"ignored: the file exists", "used")
    assert url == "app/static/maps/used.bin" and used.read_bytes() == b"x"
    assert not old.exists(), "a map unused for a month is pruned"
    assert time.time() - used.stat().st_mtime < 60, "a map in use is touched"
    assert (tmp_path / "keep.txt").exists()

    scatter._publish(b"new", "fresh")
    assert (tmp_path / "fresh.bin").read_bytes() == b"new"
