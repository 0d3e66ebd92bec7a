"""core.cache survives dead lock holders, full or read-only storage, and a size limit."""
from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import diskcache
import numpy as np
import pytest

from core import cache, config

REPO = Path(__file__).resolve().parents[2]


def _lock_of(key):
    return (cache._LOCK_PREFIX,) + key


def _foreign_holder(**changes):
    """A live-looking holder on another machine, with a fresh heartbeat."""
    holder = {"host": "another-host", "boot": "another-boot", "pidns": "pid:[1]", "pid": 1,
              "start": 1, "tid": 1, "token": "theirs", "heartbeat": time.time()}
    holder.update(changes)
    return holder


# ----------------------------------------------------------------------------
# dead holders
# ----------------------------------------------------------------------------
_HOLDER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, sys.argv[1])
    from pathlib import Path
    from core import cache

    def compute():
        Path(sys.argv[2]).touch()
        time.sleep(600)

    cache.get_or_compute(cache.make_key("test.killed", 1, "k"), compute)
""")


def test_lock_of_a_killed_process_is_broken_at_once(tmp_path, calls):
    script = tmp_path / "holder.py"
    script.write_text(_HOLDER)
    started = tmp_path / "started"
    proc = subprocess.Popen([sys.executable, str(script), str(REPO), str(started)],
                            env=os.environ.copy())
    try:
        deadline = time.time() + 120
        while not started.exists():
            assert proc.poll() is None, "the holder process failed"
            assert time.time() < deadline, "the holder never started computing"
            time.sleep(0.05)
        key = cache.make_key("test.killed", 1, "k")
        holder = cache.get_cache().get(_lock_of(key))
        assert holder["pid"] == proc.pid and holder["boot"] == cache._boot_id()
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    t0 = time.monotonic()
    assert cache.get_or_compute(key, lambda: calls.append(1) or "mine") == "mine"
    assert time.monotonic() - t0 < 3 and calls == [1]
    assert cache.get_cache().get(_lock_of(key)) is None


def test_killed_but_unreaped_holder_counts_as_dead(calls):
    # A zombie still answers kill(pid, 0); a container's PID 1 may never reap it.
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        holder = cache._holder("zombie")
        holder.update(pid=proc.pid, start=cache._start_time(proc.pid))
        proc.send_signal(signal.SIGKILL)
        deadline = time.time() + 10
        while (cache._proc_stat(proc.pid) or ("Z",))[0] != "Z" and time.time() < deadline:
            time.sleep(0.02)
        assert cache._holder_dead(holder)
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("restart", ["other boot, old heartbeat", "same pid, other process",
                                     "other host, old heartbeat", "legacy tuple"])
def test_lock_left_before_a_restart_is_broken_at_once(restart, double, calls):
    key = double.key(3)
    if restart == "other boot, old heartbeat":
        # The machine rebooted: its boot id changed, and nobody refreshed the lock.
        holder = _foreign_holder(host=cache.socket.gethostname(), boot="before-the-reboot",
                                 heartbeat=time.time() - 60)
    elif restart == "same pid, other process":
        # A restarted container: same host name, PID 1 again (here: our own PID),
        # but a process that started at another time. The heartbeat is fresh.
        holder = cache._holder("previous-run")
        holder["start"] = (holder["start"] or 0) + 12345
    elif restart == "other host, old heartbeat":
        holder = _foreign_holder(heartbeat=time.time() - 60)
    else:
        holder = ("old-host", 1, 1, time.time() - 3600)
    cache.get_cache().add(_lock_of(key), holder)
    t0 = time.monotonic()
    assert double(3) == 6 and calls == [3]
    assert time.monotonic() - t0 < 2


def test_live_holder_elsewhere_is_waited_for_until_its_heartbeat_stops(double, calls, monkeypatch):
    monkeypatch.setattr(cache, "STALE_S", 1.0)
    cache.get_cache().add(_lock_of(double.key(4)), _foreign_holder())
    t0 = time.monotonic()
    assert double(4) == 8 and calls == [4]
    assert 0.8 < time.monotonic() - t0 < 5


def test_heartbeat_is_refreshed_while_computing(monkeypatch):
    monkeypatch.setattr(cache, "HEARTBEAT_S", 0.05)
    key = cache.make_key("test.heartbeat", 1, "k")
    seen = []

    def compute():
        for _ in range(2):
            seen.append(cache.get_cache().get(_lock_of(key))["heartbeat"])
            time.sleep(0.4)
        return 1

    cache.get_or_compute(key, compute)
    assert seen[1] > seen[0]
    assert cache.get_cache().get(_lock_of(key)) is None


# ----------------------------------------------------------------------------
# waiting is visible and can be cancelled
# ----------------------------------------------------------------------------
class Stop(Exception):
    pass


def test_waiter_reports_and_a_raising_callback_ends_the_wait(double, calls):
    key = double.key(5)
    holder = _foreign_holder()
    cache.get_cache().add(_lock_of(key), holder)
    messages = []

    def progress(fraction, message):
        messages.append(message)
        raise Stop

    with pytest.raises(Stop):
        double(5, progress=progress)
    assert "waiting for another process" in messages[0] and "test.double" in messages[0]
    assert calls == [] and not double.is_cached(5)
    assert cache.get_cache().get(_lock_of(key)) == holder  # neither taken nor left by the waiter


def test_waiter_can_be_cancelled_with_an_event(calls):
    key = cache.make_key("test.cancel", 1, "k")
    holder = _foreign_holder()
    cache.get_cache().add(_lock_of(key), holder)
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    t0 = time.monotonic()
    with pytest.raises(cache.WaitCancelled):
        cache.get_or_compute(key, lambda: calls.append(1), cancel=cancel)
    assert time.monotonic() - t0 < 3 and calls == []
    assert cache.get_cache().get(_lock_of(key)) == holder


def test_waiting_for_a_thread_of_this_process_says_so(calls):
    key = cache.make_key("test.session", 1, "k")
    started, release = threading.Event(), threading.Event()

    def slow():
        started.set()
        release.wait(10)
        return "value"

    t = threading.Thread(target=lambda: cache.get_or_compute(key, slow))
    t.start()
    started.wait(10)
    messages = []

    def progress(fraction, message):
        messages.append(message)
        release.set()

    assert cache.get_or_compute(key, lambda: calls.append(1), progress=progress) == "value"
    t.join()
    assert calls == [] and messages and messages[0].startswith("waiting for another session")


# ----------------------------------------------------------------------------
# full or read-only storage: compute, keep what is stored, say it once
# ----------------------------------------------------------------------------
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _failing_writes(monkeypatch, message):
    """Make every write statement of diskcache fail as SQLite would."""
    real = diskcache.Cache._sql

    def _sql(self):
        execute = real.fget(self)

        def wrapped(statement, *args, **kwargs):
            if statement.lstrip().upper().startswith(_WRITES):
                raise sqlite3.OperationalError(message)
            return execute(statement, *args, **kwargs)

        return wrapped

    monkeypatch.setattr(diskcache.Cache, "_sql", property(_sql))


@pytest.mark.parametrize("message", ["database or disk is full",
                                     "attempt to write a readonly database"])
def test_unwritable_storage_computes_without_storing_or_deleting(
        message, double, calls, monkeypatch, caplog):
    double(1)
    folder = config.cache_dir()
    db = folder / "cache.db"
    with monkeypatch.context() as m:
        _failing_writes(m, message)
        with caplog.at_level(logging.WARNING, logger="core.cache"):
            assert double(2) == 4 and double(2) == 4 and double(3) == 6
            a = cache.cached_array("test.unstored", 1, ("k",), lambda: np.arange(3.0))
        np.testing.assert_array_equal(a, [0, 1, 2])
        assert calls == [1, 2, 2, 3]
        assert double(1) == 2 and calls == [1, 2, 2, 3]  # what was stored is still read
        assert message in cache.degraded()
        assert cache.cache_info()["degraded"] == cache.degraded()
    warnings = [r for r in caplog.records if "cannot store" in r.getMessage()]
    assert len(warnings) == 1
    assert db.exists() and not double.is_cached(2) and double.is_cached(1)
    # Writes are retried once the pause is over, and the state clears.
    monkeypatch.setattr(cache, "_DEGRADED_RETRY_S", 0.0)
    assert double(2) == 4 and double.is_cached(2)
    assert cache.degraded() is None


def test_unopenable_storage_computes_and_keeps_the_database(double, calls, monkeypatch, reopen):
    double(1)
    db = config.cache_dir() / "cache.db"
    reopen()
    with monkeypatch.context() as m:
        def refuse(*args, **kwargs):
            raise sqlite3.OperationalError("attempt to write a readonly database")

        m.setattr(diskcache.Cache, "__init__", refuse)
        assert double(1) == 2 and double(5) == 10
        assert "readonly" in cache.degraded()
        with pytest.raises(cache.CacheUnavailable):
            cache.get_cache()
    assert db.exists()
    monkeypatch.setattr(cache, "_DEGRADED_RETRY_S", 0.0)
    assert double.is_cached(1) and not double.is_cached(5)


def test_full_disk_while_writing_a_file_builds_it_elsewhere(calls):
    import errno

    kept = cache.cached_array("test.kept", 1, ("k",), lambda: np.ones(4))
    folder = cache.files_dir()

    def build(tmp):
        calls.append(tmp)
        if folder in tmp.parents:
            raise OSError(errno.ENOSPC, "No space left on device")
        tmp.write_text("built")

    path = cache.cached_file("test.full", 1, ("k",), build, ".txt")
    assert path.read_text() == "built" and folder not in path.parents
    assert "No space left" in cache.degraded()
    assert [p.name for p in folder.iterdir()] == [Path(kept.filename).name]
    assert (config.cache_dir() / "cache.db").exists()
    # Served from the temporary folder afterwards, without building again.
    assert cache.cached_file("test.full", 1, ("k",), build, ".txt") == path
    assert len(calls) == 2


def test_an_error_of_the_computation_never_rebuilds_the_cache(double, calls):
    double(1)

    @cache.memoize("test.eof", version=1)
    def reads_a_truncated_file():
        raise EOFError("truncated input")

    with pytest.raises(EOFError):
        reads_a_truncated_file()
    assert double.is_cached(1)


def _read_only(paths):
    """Make ``paths`` truly unwritable, even for root; returns the undo function."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in paths}
        for p in paths:
            p.chmod(modes[p] & ~0o222)
        return lambda: [p.chmod(m) for p, m in modes.items()]
    # File modes do not stop root; the immutable attribute does.
    done = []

    def undo():
        for p in done:
            subprocess.run(["chattr", "-i", str(p)], check=False)

    for p in paths:
        try:
            ok = subprocess.run(["chattr", "+i", str(p)], capture_output=True).returncode == 0
        except FileNotFoundError:
            ok = False
        if not ok:
            undo()
            pytest.skip("cannot make a folder read-only for root here (no chattr +i)")
        done.append(p)
    return undo


@pytest.mark.skipif(os.name != "posix", reason="POSIX file permissions")
def test_really_read_only_folder(double, calls, reopen):
    double(1)
    cache.cached_array("test.ro", 1, ("k",), lambda: np.ones(3))
    folder = config.cache_dir()
    reopen()
    undo = _read_only([folder, *sorted(folder.rglob("*"))])
    try:
        assert double(1) == 2 and double(2) == 4 and double(2) == 4
        assert len(calls) >= 3 and calls[-2:] == [2, 2]
        np.testing.assert_array_equal(
            cache.cached_array("test.ro", 1, ("k",), lambda: np.zeros(3)), np.ones(3))
        assert cache.degraded() is not None
    finally:
        undo()
    assert (folder / "cache.db").exists()
    reopen()
    cache._degraded.clear()
    assert double.is_cached(1) and not double.is_cached(2)


# ----------------------------------------------------------------------------
# size limit and housekeeping
# ----------------------------------------------------------------------------
def test_size_limit_comes_from_the_environment(monkeypatch, caplog):
    monkeypatch.delenv(config.CACHE_GB_ENV, raising=False)
    assert cache.size_limit_bytes() == int(config.DEFAULT_CACHE_GB * 1e9)
    monkeypatch.setenv(config.CACHE_GB_ENV, "0.5")
    assert cache.size_limit_bytes() == 500_000_000
    assert cache.get_cache().size_limit == 500_000_000
    assert cache.get_cache().eviction_policy == "least-recently-stored"
    monkeypatch.setenv(config.CACHE_GB_ENV, "lots")
    with caplog.at_level(logging.WARNING, logger="core.cache"):
        assert cache.size_limit_bytes() == int(config.DEFAULT_CACHE_GB * 1e9)
    assert config.CACHE_GB_ENV in caplog.text


def test_files_are_counted_and_the_least_recently_used_evicted(monkeypatch, calls, reopen):
    volume = cache.get_cache().volume()
    budget = 350_000  # room for three arrays of 100 kB beside the database
    monkeypatch.setenv(config.CACHE_GB_ENV, str((volume + budget) / 1e9))
    reopen()

    def array(i):
        def compute():
            calls.append(i)
            return np.full(12_500, i, dtype=np.float64)  # 100 kB

        a = cache.cached_array("test.big", 1, (i,), compute)
        # Distinct, increasing times of last use, whatever the clock's resolution.
        os.utime(a.filename, (time.time() - 100 + i, time.time() - 100 + i))
        return a

    for i in range(6):
        array(i)
    names = sorted(p.name for p in cache.files_dir().iterdir())
    assert 1 <= len(names) <= 3
    stored = sum(p.stat().st_size for p in cache.files_dir().iterdir())
    assert cache.get_cache().volume() + stored <= cache.cache_info()["limit_bytes"]
    assert array(5)[0] == 5 and calls == list(range(6))  # the newest stayed
    assert array(0)[0] == 0 and calls == list(range(6)) + [0]  # the oldest was evicted
    assert sum(1 for k in cache.get_cache().iterkeys() if k[:2] == ("v", "test.big")) <= 3


def test_database_entries_are_evicted_too(monkeypatch, reopen):
    volume = cache.get_cache().volume()
    limit = volume + 600_000
    monkeypatch.setenv(config.CACHE_GB_ENV, str(limit / 1e9))
    reopen()

    @cache.memoize("test.blob", version=1)
    def blob(i):
        return b"x" * 50_000

    for i in range(20):
        blob(i)
    # diskcache evicts the least recently stored entries, ten at a time.
    assert blob.is_cached(19) and not blob.is_cached(0)
    assert cache.get_cache().volume() <= limit


def test_evicted_schema_sentinel_does_not_clear_the_cache(double, calls, reopen):
    double(1)
    cache.get_cache().delete(cache._SCHEMA_KEY)
    reopen()
    assert double(1) == 2 and calls == [1]
    assert cache.get_cache().get(cache._SCHEMA_KEY) == cache.CACHE_SCHEMA


def test_prune_removes_old_temporaries_and_orphans_only(calls):
    kept = Path(cache.cached_array("test.kept", 1, ("k",), lambda: np.ones(4)).filename)
    folder = cache.files_dir()
    old = time.time() - 2 * cache.TMP_MAX_AGE_S
    leftovers = {
        ".test.kept.0123456789ab.tmp.npy": old,       # made by core.files, crashed
        ".pca.components.abc.4242.139.npy": old,       # an older release's temporary
        ".fresh.0123456789ab.tmp.npy": time.time(),    # a writer still running
        "test.gone." + "a" * 24 + ".npy": old,         # its entry was evicted
        "test.young." + "b" * 24 + ".npy": time.time(),  # being stored right now
    }
    for name, mtime in leftovers.items():
        (folder / name).write_bytes(b"x")
        os.utime(folder / name, (mtime, mtime))
    os.utime(kept, (old, old))
    assert cache.prune() == {"temporaries": 2, "orphans": 1, "evicted": 0}
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [kept.name, ".fresh.0123456789ab.tmp.npy", "test.young." + "b" * 24 + ".npy"])


def test_a_process_prunes_when_it_opens_the_cache(reopen):
    folder = cache.files_dir()
    stale = folder / ".x.0123456789ab.tmp.npy"
    stale.write_bytes(b"x")
    old = time.time() - 2 * cache.TMP_MAX_AGE_S
    os.utime(stale, (old, old))
    reopen()
    cache.get_cache()
    assert not stale.exists()
