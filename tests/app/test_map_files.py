"""ui.scatter: map files are written once, gzipped, touched when used, and pruned when unused for long."""
from __future__ import annotations

import gzip
import os
import time

from ui import scatter


def test_map_files_are_reused_touched_and_pruned(tmp_path, monkeypatch):
    monkeypatch.setattr(scatter, "MAPS_DIR", tmp_path)
    monkeypatch.setattr(scatter, "_pruned", [])
    old, used = tmp_path / "old.bin.gz", tmp_path / "used.bin.gz"
    for path, days in ((old, 30), (used, 3)):
        path.write_bytes(b"x")
        then = time.time() - days * 86400
        os.utime(path, (then, then))
    (tmp_path / "keep.txt").write_text("not a map")

    url = scatter._publish(b"ignored: the file exists", "used")
    assert url == "app/static/maps/used.bin.gz" and used.read_bytes() == b"x"
    assert not old.exists(), "a map unused for a month is pruned"
    assert time.time() - used.stat().st_mtime < 60, "a map in use is touched"
    assert (tmp_path / "keep.txt").exists()

    assert scatter._publish(b"new", "fresh") == "app/static/maps/fresh.bin.gz"
    fresh = tmp_path / "fresh.bin.gz"
    assert gzip.decompress(fresh.read_bytes()) == b"new"
    first = fresh.read_bytes()
    fresh.unlink()
    scatter._publish(b"new", "fresh")
    assert fresh.read_bytes() == first, "the same buffer gives the same file"


def test_map_files_are_served_as_gzip_so_the_server_does_not_compress_them_again():
    """Streamlit's gzip middleware skips what it serves as application/gzip."""
    from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES
    from streamlit.web.server.component_file_utils import guess_content_type

    assert guess_content_type("maps/0123abcd.bin.gz") == "application/gzip"
    assert "application/gzip" in DEFAULT_EXCLUDED_CONTENT_TYPES
