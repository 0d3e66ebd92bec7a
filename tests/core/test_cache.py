"""core.cache: keys that cannot lie, one computation per cold key, recovery from damage."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import cache, config, dataset, styles
from make_data import make_dataset

REPO = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------
# keys
# ----------------------------------------------------------------------------
def test_memoize_computes_once(double, calls):
    assert double(3) == 6 and double(3) == 6
    assert calls == [3]
    assert double.is_cached(3) and not double.is_cached(4)


def test_defaults_are_part_of_the_key(double, calls):
    double(3)
    double(3, scale=2)
    double(3, 2)
    assert calls == [3]
    assert double(3, scale=3) == 9 and calls == [3, 3]


def test_progress_and_jobs_do_not_change_the_key(double, calls):
    double(5, progress=lambda f, m: None, n_jobs=4)
    double(5)
    assert calls == [5]


def test_version_is_part_of_the_key(calls):
    def make(version):
        @cache.memoize("test.versioned", version=version)
        def f(x):
            calls.append(version)
            return version

        return f

    assert make(1)(0) == 1 and make(2)(0) == 2 and make(1)(0) == 1
    assert calls == [1, 2]


def test_keys_differ_when_data_differs(tmp_path, calls):
    make_dataset(tmp_path / "a", n_good=3, damaged=False)
    make_dataset(tmp_path / "b", n_good=4, damaged=False)
    a, b = dataset.open_dataset(tmp_path / "a"), dataset.open_dataset(tmp_path / "b")

    @cache.memoize("test.rows", version=1)
    def rows(dataset):
        calls.append(dataset.root.name)
        return len(styles.read_styles(dataset.styles_path)[0])

    assert rows(a) == 3 and rows(b) == 4 and rows(a) == 3
    assert calls == ["a", "b"]


@pytest.mark.parametrize("value", [np.zeros(3), pd.DataFrame({"a": [1]}), object()])
def test_raw_data_is_refused_as_a_key(value):
    with pytest.raises(cache.UncacheableArgument):
        cache.key_of(value)


def test_key_of_normalizes_scalars():
    assert cache.key_of(np.float32(0.5)) == cache.key_of(0.5)
    assert cache.key_of(np.int64(3)) == 3
    assert cache.key_of({"b": 1, "a": [1, 2]}) == cache.key_of({"a": (1, 2), "b": 1})
    assert cache.key_of(float("nan")) == "nan"
    assert cache.make_key("f", 1, 0.1) != cache.make_key("f", 1, 0.2)


# ----------------------------------------------------------------------------
# the schema sentinel, damage, deletion
# ----------------------------------------------------------------------------
def test_schema_sentinel_clears_stale_entries(double, calls, reopen):
    double(7)
    cache.get_cache().set(cache._SCHEMA_KEY, cache.CACHE_SCHEMA - 1)
    reopen()
    double(7)
    assert calls == [7, 7]
    assert cache.get_cache().get(cache._SCHEMA_KEY) == cache.CACHE_SCHEMA


def test_corrupt_database_is_rebuilt(double, calls, reopen):
    double(1)
    folder = config.cache_dir()
    reopen()
    for name in ("cache.db-wal", "cache.db-shm"):
        (folder / name).unlink(missing_ok=True)
    (folder / "cache.db").write_bytes(b"this is not a database" * 100)
    assert double(1) == 2
    assert calls == [1, 1]
    assert double(1) == 2 and calls == [1, 1]


def test_deleted_cache_folder_is_rebuilt(double, calls):
    double(2)
    shutil.rmtree(config.cache_dir())
    assert double(2) == 4
    assert calls == [2, 2]
    assert (config.cache_dir() / "cache.db").exists()


def test_unreadable_entry_is_recomputed(double, calls, monkeypatch):
    import types

    double(4)
    mod = types.ModuleType("module_that_will_vanish")
    exec("class Gone:\n    pass", mod.__dict__)
    mod.Gone.__module__ = mod.__name__
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    cache.get_cache().set(double.key(4), mod.Gone())
    monkeypatch.delitem(sys.modules, mod.__name__)
    assert double(4) == 8
    assert calls == [4, 4]


def test_cached_array_is_read_only_mmap_and_survives_deletion(calls):
    def compute():
        calls.append(1)
        return np.arange(12, dtype=np.float32).reshape(3, 4)

    a = cache.cached_array("test.arr", 1, ("x", 1), compute)
    assert isinstance(a, np.memmap) and not a.flags.writeable
    np.testing.assert_array_equal(a, np.arange(12).reshape(3, 4))
    cache.cached_array("test.arr", 1, ("x", 1), compute)
    assert calls == [1]
    for f in cache.files_dir().glob("test.arr.*"):
        f.unlink()
    np.testing.assert_array_equal(cache.cached_array("test.arr", 1, ("x", 1), compute), a)
    assert calls == [1, 1]
    for f in cache.files_dir().glob("test.arr.*"):
        f.write_bytes(b"garbage")
    np.testing.assert_array_equal(cache.cached_array("test.arr", 1, ("x", 1), compute), a)
    assert calls == [1, 1, 1]
    cache.cached_array("test.arr", 1, ("x", 2), compute)
    assert len(calls) == 4


def test_cached_file_is_written_atomically(tmp_path):
    def build(tmp):
        assert not tmp.exists()
        tmp.write_text("done")

    path = cache.cached_file("test.file", 1, ("p",), build, ".txt")
    assert path.read_text() == "done" and path.suffix == ".txt"
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]

    def failing(tmp):
        tmp.write_text("half")
        raise RuntimeError("build failed")

    with pytest.raises(RuntimeError):
        cache.cached_file("test.file", 1, ("q",), failing, ".txt")
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]
    assert len(list(path.parent.glob("test.file.*"))) == 1


def test_failed_computation_is_not_cached_and_releases_the_lock(calls):
    @cache.memoize("test.flaky", version=1)
    def flaky(x):
        calls.append(x)
        if len(calls) == 1:
            raise ValueError("first try fails")
        return x

    with pytest.raises(ValueError):
        flaky(1)
    assert flaky(1) == 1 and calls == [1, 1]


# ----------------------------------------------------------------------------
# concurrency
# ----------------------------------------------------------------------------
def test_threads_compute_a_cold_key_once(calls):
    @cache.memoize("test.slow_thread", version=1)
    def slow(x):
        calls.append(x)
        time.sleep(0.5)
        return x + 1

    out = []
    threads = [threading.Thread(target=lambda: out.append(slow(1))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == [2] * 4 and calls == [1]


_WORKER = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, sys.argv[1])
    from pathlib import Path
    from core import cache

    folder = Path(sys.argv[2])

    @cache.memoize("test.slow_process", version=1)
    def slow(x):
        with open(folder / "computed.txt", "a") as fh:
            fh.write(f"{os.getpid()}\\n")
        time.sleep(1.0)
        return x * 2

    (folder / f"ready-{os.getpid()}").touch()
    deadline = time.time() + 30
    while len(list(folder.glob("ready-*"))) < int(sys.argv[3]) and time.time() < deadline:
        time.sleep(0.01)
    print(slow(21))
""")


def test_processes_compute_a_cold_key_once(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    n = 3
    procs = [subprocess.Popen([sys.executable, str(script), str(REPO), str(tmp_path), str(n)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=os.environ.copy()) for _ in range(n)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * n, [e for _, e in outs]
    assert [o.strip() for o, _ in outs] == ["42"] * n
    assert len((tmp_path / "computed.txt").read_text().split()) == 1


def test_lock_of_a_dead_process_is_broken(double, calls):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    key = double.key(9)
    holder = cache._holder("dead")
    holder["pid"] = dead.pid
    cache.get_cache().add((cache._LOCK_PREFIX,) + key, holder)
    t0 = time.monotonic()
    assert double(9) == 18 and calls == [9]
    assert time.monotonic() - t0 < 2


# ----------------------------------------------------------------------------
# reporting and clearing
# ----------------------------------------------------------------------------
def test_cache_info_and_clear(double):
    double(1)
    double(2)
    cache.cached_array("arrays.test", 1, ("k",), lambda: np.ones((100, 100)))
    info = cache.cache_info()
    assert info["directory"] == str(config.cache_dir())
    assert info["by_kind"]["test"] == 2 and info["by_kind"]["arrays"] == 1
    assert info["entries"] == 3 and info["size_bytes"] > 80_000
    freed = cache.clear_cache()
    assert freed > 0
    after = cache.cache_info()
    assert after["entries"] == 0 and after["by_kind"] == {}
    assert after["size_bytes"] < info["size_bytes"]
    assert not list(cache.files_dir().iterdir())


def test_cache_folder_resolution(tmp_path, monkeypatch):
    assert config.cache_dir(tmp_path / "x") == (tmp_path / "x").resolve()
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "env"))
    assert config.cache_dir() == (tmp_path / "env").resolve()
    monkeypatch.delenv(config.CACHE_ENV)
    assert config.cache_dir() == config.REPO_ROOT / "cache"


def test_memoize_admit_queues_heavy_misses_and_refuses_what_never_fits(monkeypatch):
    from core import admission

    seen = []

    def admit(x, progress=None):
        return f"work on {x}", x * 2**30, "Ask for less."

    @cache.memoize("test.heavy", version=1, admit=admit)
    def work(x, progress=None):
        seen.append(admission.status()["running"])
        return x + 1

    monkeypatch.setenv("FASHION_MEMORY_GB", "4")
    assert work(1) == 2 and seen == [["work on 1"]]  # ran inside the gate
    assert work(1) == 2 and len(seen) == 1  # a hit never queues
    with pytest.raises(admission.OverBudget, match="work on 8 needs about 8.0 GB.*FASHION_MEMORY_GB.*Ask for less"):
        work(8)
    assert len(seen) == 1 and not work.is_cached(8)
