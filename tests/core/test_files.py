"""core.files: atomic writes and pruning of what crashes and old versions leave behind."""
from __future__ import annotations

import os
import time

import pytest

from core import files

OLD = time.time() - 3 * 86400


def _age(path, when=OLD):
    os.utime(path, (when, when))


def test_atomic_write_bytes_replaces_whole_files(tmp_path):
    target = tmp_path / "a.bin"
    files.atomic_write_bytes(target, b"first")
    files.atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_atomic_path_keeps_the_suffix_and_the_folder(tmp_path):
    target = tmp_path / "model.keras"
    with files.atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".keras"
        assert files.is_temporary(tmp.name) and not tmp.exists()
        tmp.write_text("model")
    assert target.read_text() == "model"


def test_atomic_path_leaves_the_target_alone_on_failure(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with files.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("writer failed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
    with pytest.raises(FileNotFoundError):
        with files.atomic_path(target):
            pass  # wrote nothing
    assert target.read_text() == "old"


def test_atomic_path_works_for_folders(tmp_path):
    target = tmp_path / "thumbs"
    with pytest.raises(ValueError):
        with files.atomic_path(target) as tmp:
            tmp.mkdir()
            (tmp / "1.jpg").write_bytes(b"x")
            raise ValueError
    assert list(tmp_path.iterdir()) == []
    with files.atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "1.jpg").write_bytes(b"x")
    assert [p.name for p in target.iterdir()] == ["1.jpg"]


def test_prune_temporaries_removes_only_old_ones(tmp_path):
    old_tmp = files.temporary_name(tmp_path / "a.npy")
    young_tmp = files.temporary_name(tmp_path / "b.npy")
    final = tmp_path / "c.npy"
    for p in (old_tmp, young_tmp, final):
        p.write_bytes(b"x")
    _age(old_tmp)
    _age(final)
    assert files.prune_temporaries(tmp_path, max_age_s=3600) == [old_tmp.name]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([young_tmp.name, final.name])
    assert files.prune_temporaries(tmp_path / "missing") == []


def test_prune_folders_keeps_the_current_and_the_recent(tmp_path):
    for name in ("current", "old", "recent"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "1.jpg").write_bytes(b"x")
    (tmp_path / "note.txt").write_text("not a folder")
    _age(tmp_path / "current")
    _age(tmp_path / "old")
    _age(tmp_path / "note.txt")
    assert files.prune_folders(tmp_path, keep={"current"}) == ["old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current", "note.txt", "recent"]
    assert files.prune_folders(tmp_path / "missing", keep=set()) == []
