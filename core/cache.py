"""The one disk cache of the project.

Every expensive step of :mod:`core` is memoized here, in a single
:class:`diskcache.Cache` whose folder is chosen by :func:`core.config.cache_dir`
(explicit argument, then ``$FASHION_CACHE_DIR``, then the repository's
``cache/``).

Rules that keep the cache honest:

* diskcache keys on a function's name and arguments, not on its code, so every
  memoized function carries an explicit ``name`` and ``version``; bump the
  version when the function's result changes.
* Arguments become keys through :func:`key_of`: objects that describe data
  (a dataset, a subsample) provide ``cache_key()``, which holds the dataset's
  fingerprint; raw arrays and models are refused as keys.
* :data:`CACHE_SCHEMA` is a sentinel: a cache written by an incompatible
  release is cleared on open.

Rules that let the cache survive anything:

* A miss takes a per-key lock stored in the cache itself, so two threads or two
  processes that ask for the same cold result compute it once; the others wait
  and read it. The lock names its holder (host, boot, PID namespace, PID and
  the process's start time) and carries a heartbeat that a thread of the
  holder refreshes every :data:`HEARTBEAT_S`. A holder is dead when its
  heartbeat is older than :data:`STALE_S`, wherever it ran, and at once when it
  ran in this very system and its process is gone or is another process with
  the same PID (a restarted container is PID 1 again). Waiters report what they
  wait for through the progress callback and can be cancelled.
* Only real corruption (a malformed database, a file that is not one) rebuilds
  the database. A full disk or read-only storage never deletes anything:
  results are computed and returned without being stored, one warning is
  logged and :func:`degraded` says why, so a page can show it once.
* The cache holds at most ``$FASHION_CACHE_GB`` gigabytes (default
  :data:`core.config.DEFAULT_CACHE_GB`): diskcache evicts its least recently
  stored entries, and :func:`prune` evicts the least recently used files of
  :func:`cached_file`, which live beside the database in ``files/``. Files
  whose entry was evicted and temporaries left by a crash are removed too.
"""
from __future__ import annotations

import atexit
import errno
import functools
import hashlib
import inspect
import logging
import os
import pickle
import re
import shutil
import socket
import sqlite3
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from . import admission, config, files
from .progress import ProgressFn, report

logger = logging.getLogger(__name__)

#: Bump when the layout of cached values changes incompatibly.
CACHE_SCHEMA = 1
_SCHEMA_KEY = "__schema__"
_LOCK_PREFIX = "__lock__"
#: Seconds between two refreshes of a held lock's heartbeat.
HEARTBEAT_S = 2.0
#: A lock whose heartbeat is older than this belongs to a dead (or hung) holder.
STALE_S = 5 * HEARTBEAT_S
_POLL_S = 0.1
#: Seconds between two "waiting for..." progress messages of a waiter.
_WAIT_REPORT_S = 1.0
#: After a failed write, seconds during which writes are not even attempted.
_DEGRADED_RETRY_S = 60.0
#: Temporaries, and files without an entry, younger than this are left alone:
#: their writer may still be running.
TMP_MAX_AGE_S = 3600.0
#: A file used within this many seconds is not touched again to mark its use.
_TOUCH_EVERY_S = 600.0
_FILES = "files"
#: Arguments that never change a result and so are left out of keys.
_IGNORED_ARGS = frozenset({"progress", "callback", "n_jobs", "verbose"})

_caches: dict[Path, Any] = {}
_open_lock = threading.RLock()


class UncacheableArgument(TypeError):
    """An argument that cannot be part of a cache key (an array, a model...)."""


class CacheUnavailable(RuntimeError):
    """The cache folder cannot be opened for storage (full, read-only); see :func:`degraded`."""


class WaitCancelled(RuntimeError):
    """A caller waiting for another holder of the same key was cancelled."""


# ----------------------------------------------------------------------------
# What a failure means: corruption, or storage that cannot take writes
# ----------------------------------------------------------------------------
_CORRUPT_MESSAGES = ("malformed", "not a database", "file is encrypted")
_STORAGE_ERRNOS = frozenset(
    getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EROFS", "EACCES", "EPERM", "EIO")
    if hasattr(errno, name)
)


def _is_corrupt(exc: BaseException) -> bool:
    """Damage that only rebuilding the database repairs."""
    if isinstance(exc, (pickle.UnpicklingError, EOFError)):
        return True
    if isinstance(exc, sqlite3.DatabaseError):
        message = str(exc).lower()
        return any(m in message for m in _CORRUPT_MESSAGES)
    return False


def _is_storage_error(exc: BaseException) -> bool:
    """A failure of the storage itself (full, read-only, locked): never a reason to delete."""
    import diskcache

    if _is_corrupt(exc):
        return False
    if isinstance(exc, (sqlite3.DatabaseError, diskcache.Timeout)):
        return True
    return isinstance(exc, OSError) and exc.errno in _STORAGE_ERRNOS


# ----------------------------------------------------------------------------
# Degraded mode: compute without storing, say so once
# ----------------------------------------------------------------------------
_degraded: dict[Path, tuple[str, float]] = {}
_warned: set[Path] = set()
_state_lock = threading.Lock()


def _mark_degraded(path: Path, exc: BaseException) -> None:
    reason = str(exc) or type(exc).__name__  # diskcache's Timeout has no message
    message = (f"The cache folder cannot store results ({reason}); they are computed "
               "but not kept, so pages stay slow until it has space or is writable again.")
    with _state_lock:
        _degraded[path] = (message, time.monotonic())
        first = path not in _warned
        _warned.add(path)
    if first:  # one warning per folder and process, not one per call
        logger.warning("cache at %s cannot store results (%s); computing without storing",
                       path, reason)


def _mark_healthy(path: Path) -> None:
    with _state_lock:
        was = _degraded.pop(path, None)
    if was is not None:
        logger.info("cache at %s stores results again", path)


def _writes_paused(path: Path) -> bool:
    """Whether a recent storage failure says not to try writing yet."""
    with _state_lock:
        state = _degraded.get(path)
    return state is not None and time.monotonic() - state[1] < _DEGRADED_RETRY_S


def degraded(directory: Optional[os.PathLike | str] = None) -> Optional[str]:
    """Why the cache does not store results right now, or None when it does.

    ``directory`` is the cache folder, as for :func:`get_cache`.

    Returns
    -------
    str or None
        A sentence for the user (the disk is full, the folder is read-only...)
        while results are computed without being stored; None otherwise.
    """
    with _state_lock:
        state = _degraded.get(config.cache_dir(directory))
    return None if state is None else state[0]


# ----------------------------------------------------------------------------
# Opening, resetting, reporting
# ----------------------------------------------------------------------------
def size_limit_bytes() -> int:
    """The cache's size limit: ``$FASHION_CACHE_GB`` gigabytes, else the default.

    Returns
    -------
    int
        Bytes (a gigabyte is 10**9 bytes). An unreadable or non-positive value
        falls back to :data:`core.config.DEFAULT_CACHE_GB` with a warning.
    """
    raw = os.environ.get(config.CACHE_GB_ENV, "").strip()
    gb = config.DEFAULT_CACHE_GB
    if raw:
        try:
            gb = float(raw)
            if not np.isfinite(gb) or gb <= 0:
                raise ValueError(raw)
        except ValueError:
            logger.warning("ignoring %s=%r (not a positive number of gigabytes); using %s GB",
                           config.CACHE_GB_ENV, raw, config.DEFAULT_CACHE_GB)
            gb = config.DEFAULT_CACHE_GB
    return max(1, int(gb * 1e9))


def _open(path: Path):
    import diskcache

    # Least-recently-stored rather than least-recently-used: a read then stays
    # a pure read, which works on a full disk and costs no write per hit.
    return diskcache.Cache(str(path), size_limit=size_limit_bytes(),
                           eviction_policy="least-recently-stored")


def get_cache(directory: Optional[os.PathLike | str] = None):
    """The shared :class:`diskcache.Cache`, opened lazily.

    A corrupt database is rebuilt. Storage that cannot be opened (full disk,
    read-only folder) is left untouched: :func:`degraded` then says why.

    Parameters
    ----------
    directory : path-like, optional
        Cache folder; see :func:`core.config.cache_dir`.

    Returns
    -------
    diskcache.Cache

    Raises
    ------
    CacheUnavailable
        When the folder cannot be opened because of its storage.
    """
    path = config.cache_dir(directory)
    with _open_lock:
        cache = _caches.get(path)
        if cache is not None and (path / "cache.db").exists():
            return cache
        if cache is not None:  # the folder was deleted under us
            _close_quietly(cache)
            _caches.pop(path, None)
        if _writes_paused(path):
            raise CacheUnavailable(degraded(path))
        try:
            cache = _open(path)
            _check_schema(cache, path)
        except Exception as exc:
            if _is_corrupt(exc):
                logger.warning("cache at %s is corrupt (%s); rebuilding it", path, exc)
                cache = _rebuild(path)
            elif _is_storage_error(exc):
                _mark_degraded(path, exc)
                raise CacheUnavailable(degraded(path)) from exc
            else:
                raise
        _caches[path] = cache
    try:
        prune(path)
    except Exception as exc:  # housekeeping must never stop the app
        logger.warning("could not prune the cache at %s: %s", path, exc)
    return cache


def _check_schema(cache, path: Path) -> None:
    """Clear a cache written under another :data:`CACHE_SCHEMA`.

    Runs in one write transaction: a second process opening the same folder
    waits for it, then sees the sentinel, so it never clears the entries (or
    the locks) of a process that already started computing.

    A missing sentinel is simply written: the folder is new, or the size limit
    evicted the sentinel (the oldest entry of all), and clearing a full cache
    for that would be the opposite of what a size limit is for.
    """
    if cache.get(_SCHEMA_KEY) == CACHE_SCHEMA:
        return
    try:
        with cache.transact():
            stored = cache.get(_SCHEMA_KEY)
            if stored == CACHE_SCHEMA:
                return
            if stored is not None:
                cache.clear()
                shutil.rmtree(path / _FILES, ignore_errors=True)
            cache.set(_SCHEMA_KEY, CACHE_SCHEMA)
    except Exception as exc:
        # Entries of an unknown layout must not be read; a merely missing
        # sentinel is harmless, so a cache that cannot take the write is used.
        if not _is_storage_error(exc) or cache.get(_SCHEMA_KEY) is not None:
            raise
        _mark_degraded(path, exc)


def _close_quietly(cache) -> None:
    try:
        cache.close()
    except Exception:  # closing a broken cache must not mask the real work
        pass


def _rebuild(path: Path):
    """Delete the database files and open an empty cache. Only for corruption."""
    for name in ("cache.db", "cache.db-wal", "cache.db-shm"):
        try:
            (path / name).unlink()
        except FileNotFoundError:
            pass
    cache = _open(path)
    cache.set(_SCHEMA_KEY, CACHE_SCHEMA)
    return cache


def _reset(directory=None):
    path = config.cache_dir(directory)
    with _open_lock:
        cache = _caches.pop(path, None)
        if cache is not None:
            _close_quietly(cache)
        _caches[path] = _rebuild(path)
        return _caches[path]


def files_dir(directory: Optional[os.PathLike | str] = None) -> Path:
    """Folder for cached results stored as plain files (arrays, models)."""
    path = config.cache_dir(directory) / _FILES
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_info(directory: Optional[os.PathLike | str] = None) -> dict:
    """Size and contents of the cache.

    Returns
    -------
    dict
        ``directory``, ``size_bytes`` (everything under the folder),
        ``limit_bytes`` (see :func:`size_limit_bytes`), ``entries``,
        ``by_kind``: entry count per kind, the kind being the first dotted part
        of the memoized function's name (``pca``, ``images``...), and
        ``degraded`` (see :func:`degraded`).
    """
    cache = get_cache(directory)
    path = Path(cache.directory)
    by_kind: dict[str, int] = {}
    for key in cache.iterkeys():
        if isinstance(key, tuple) and len(key) >= 2 and key[0] == "v":
            kind = str(key[1]).split(".")[0]
            by_kind[kind] = by_kind.get(kind, 0) + 1
    # Results stored as files (arrays, models) have an entry under the same
    # kind of key, so counting keys counts them once.
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return {
        "directory": str(path),
        "size_bytes": int(size),
        "limit_bytes": size_limit_bytes(),
        "entries": int(sum(by_kind.values())),
        "by_kind": dict(sorted(by_kind.items())),
        "degraded": degraded(path),
    }


def clear_cache(directory: Optional[os.PathLike | str] = None) -> int:
    """Delete every cached result. Returns the number of bytes freed."""
    before = cache_info(directory)["size_bytes"]
    cache = get_cache(directory)
    cache.clear()
    shutil.rmtree(Path(cache.directory) / _FILES, ignore_errors=True)
    cache.set(_SCHEMA_KEY, CACHE_SCHEMA)
    _mark_healthy(Path(cache.directory))
    return max(0, before - cache_info(directory)["size_bytes"])


# ----------------------------------------------------------------------------
# Keys
# ----------------------------------------------------------------------------
def key_of(value: Any) -> Any:
    """A small, hashable, picklable descriptor of ``value`` for a cache key.

    Objects that describe data provide ``cache_key()``; plain scalars, strings,
    tuples, lists and dicts are converted recursively. Arrays, frames and
    models are refused: a key must never depend on raw data.
    """
    if hasattr(value, "cache_key"):
        return key_of(value.cache_key())
    if value is None or isinstance(value, (bool, int, str, bytes)):
        return value
    if isinstance(value, float):
        return float(repr(value)) if np.isfinite(value) else repr(value)
    if isinstance(value, np.generic):
        return key_of(value.item())
    if isinstance(value, (tuple, list)):
        return tuple(key_of(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return tuple(sorted(key_of(v) for v in value))
    if isinstance(value, dict):
        return tuple(sorted((str(k), key_of(v)) for k, v in value.items()))
    raise UncacheableArgument(
        f"{type(value).__name__} cannot be part of a cache key; pass a descriptor "
        "with cache_key() (dataset, subsample, parameters) instead of raw data"
    )


def make_key(name: str, version: int, *parts: Any) -> tuple:
    """The full key of a memoized result."""
    return ("v", name, int(version), key_of(parts))


def _digest(key: tuple) -> str:
    return hashlib.sha256(repr(key).encode()).hexdigest()[:24]


# ----------------------------------------------------------------------------
# Who holds a lock, and whether it still lives
# ----------------------------------------------------------------------------
def _read(path: str) -> str:
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return ""


@functools.lru_cache(maxsize=1)
def _boot_id() -> str:
    """Changes at every boot of the kernel; empty where /proc does not have it."""
    return _read("/proc/sys/kernel/random/boot_id")


def _pid_namespace() -> str:
    """Two containers on one kernel share the boot id but not this."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def _proc_stat(pid: int) -> Optional[tuple[str, int]]:
    """State letter and start time (clock ticks after boot) of ``pid``, or None."""
    text = _read(f"/proc/{int(pid)}/stat")
    if not text:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after
    # its closing one. Field 3 is the state, field 22 the start time.
    fields = text[text.rfind(")") + 2:].split()
    try:
        return fields[0], int(fields[19])
    except (IndexError, ValueError):
        return None


def _start_time(pid: int) -> Optional[int]:
    stat = _proc_stat(pid)
    return None if stat is None else stat[1]


def _holder(token: str) -> dict:
    """The value of a lock taken by this thread."""
    pid = os.getpid()
    return {
        "host": socket.gethostname(),
        "boot": _boot_id(),
        "pidns": _pid_namespace(),
        "pid": pid,
        "start": _start_time(pid),
        "tid": threading.get_ident(),
        "token": token,
        "heartbeat": time.time(),
    }


def _pid_gone(pid: int, start: Optional[int]) -> bool:
    """Whether process ``pid`` of this system is dead, a zombie, or another process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, under another user
        pass
    except (OverflowError, ValueError, TypeError):
        return True
    stat = _proc_stat(pid)
    if stat is None:
        return False  # no /proc to tell more: alive
    state, started = stat
    if state in ("Z", "X"):  # killed, not yet reaped by its parent
        return True
    return start is not None and started != start


def _holder_dead(holder: Any) -> bool:
    """Whether the holder described by a lock's value can no longer release it."""
    now = time.time()
    if isinstance(holder, tuple):
        # A lock of an older release: (host, pid, thread, since), never refreshed.
        try:
            host, pid, _tid, since = holder
            if now - float(since) > STALE_S:
                return True
            return host == socket.gethostname() and _pid_gone(int(pid), None)
        except (TypeError, ValueError):
            return True
    if not isinstance(holder, dict):
        return True
    try:
        if now - float(holder["heartbeat"]) > STALE_S:
            return True
        same_system = (holder["host"] == socket.gethostname()
                       and holder["boot"] == _boot_id()
                       and holder["pidns"] == _pid_namespace())
        return same_system and _pid_gone(int(holder["pid"]), holder.get("start"))
    except (KeyError, TypeError, ValueError):
        return True


def _describe(holder: Any) -> str:
    if isinstance(holder, dict) and holder.get("pid") == os.getpid() \
            and holder.get("host") == socket.gethostname():
        return "another session"
    if isinstance(holder, dict):
        return f"another process (pid {holder.get('pid')} on {holder.get('host')})"
    return "another process"


class _Heartbeat:
    """Refreshes a held lock's heartbeat from a daemon thread until stopped."""

    def __init__(self, cache, lock: tuple, holder: dict):
        self._cache, self._lock, self._holder = cache, lock, holder
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"cache-heartbeat-{lock[2]}",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                with self._cache.transact():
                    current = self._cache.get(self._lock)
                    if not (isinstance(current, dict)
                            and current.get("token") == self._holder["token"]):
                        return  # broken by a waiter who thought us dead: nothing to refresh
                    self._holder = {**self._holder, "heartbeat": time.time()}
                    self._cache.set(self._lock, self._holder)
            except Exception as exc:  # a full disk: the lock goes stale, which is safe
                logger.debug("could not refresh the lock of %s: %s", self._lock[2], exc)

    def stop(self) -> None:
        self._stop.set()


def _release(cache, lock: tuple, token: str) -> None:
    """Delete the lock if it is still ours (a waiter may have broken and retaken it)."""
    try:
        with cache.transact():
            current = cache.get(lock)
            if isinstance(current, dict) and current.get("token") == token:
                cache.delete(lock)
    except Exception as exc:
        # Left in place it goes stale within STALE_S and is broken then.
        logger.debug("could not release the lock of %s: %s", lock[2], exc)


def _break(cache, lock: tuple, holder: Any) -> None:
    """Delete a dead holder's lock, unless it changed since it was judged dead."""
    with cache.transact():
        if cache.get(lock) == holder:
            logger.warning("breaking the cache lock of %s left by a dead holder", lock[2])
            cache.delete(lock)


# ----------------------------------------------------------------------------
# Get or compute
# ----------------------------------------------------------------------------
def _get(cache, key, default):
    try:
        return cache.get(key, default)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError) as exc:
        logger.warning("dropping unreadable cache entry %s: %s", key[:2], exc)
        try:
            cache.delete(key)
        except Exception:
            pass
        return default


_MISSING = object()


def get_or_compute(
    key: tuple,
    compute: Callable[[], Any],
    directory=None,
    *,
    store: bool = True,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[threading.Event] = None,
) -> Any:
    """Return the cached value of ``key``, computing it once if absent.

    Concurrent callers of the same key, in threads or processes, wait for the
    first one instead of computing again.

    Parameters
    ----------
    key : tuple
        From :func:`make_key`.
    compute : callable
        Returns the value; called at most once per call of this function.
    directory : path-like, optional
        Cache folder; see :func:`core.config.cache_dir`.
    store : bool
        Store the computed value (default) or only share the lock.
    progress : callable, optional
        While waiting for another holder, called now and then with
        ``(0.0, "waiting for ... computing <name>")``. An exception it raises
        ends the wait and propagates; the waiter never holds the lock.
    cancel : threading.Event, optional
        Set it to end a wait with :class:`WaitCancelled`.

    Returns
    -------
    The value. When the storage is full or read-only it is computed and
    returned without being stored (see :func:`degraded`).
    """
    path = config.cache_dir(directory)
    done: dict = {}

    def compute_once():
        # A corrupt database found after computing must not compute again.
        if "value" not in done:
            try:
                done["value"] = compute()
            except BaseException:
                # The computation's own errors (an EOFError reading a dataset,
                # say) say nothing about the cache: they must propagate as is.
                done["raised"] = True
                raise
        return done["value"]

    for attempt in range(2):
        try:
            cache = get_cache(directory)
        except CacheUnavailable:
            return compute_once()
        try:
            return _get_or_compute(cache, path, key, compute_once, store, progress, cancel)
        except sqlite3.DatabaseError as exc:
            if done.get("raised") or not _is_corrupt(exc) or attempt:
                raise
            logger.warning("cache database is corrupt (%s); rebuilding it", exc)
            _reset(directory)
    raise AssertionError("unreachable")


def _storage_op(path: Path, op: Callable[[], Any]) -> Any:
    """Run one write of the cache; on a storage failure mark the cache degraded.

    Returns :data:`_MISSING` when the write failed or writes are paused.
    Corruption and other errors propagate.
    """
    if _writes_paused(path):
        return _MISSING
    try:
        return op()
    except Exception as exc:
        if not _is_storage_error(exc):
            raise
        _mark_degraded(path, exc)
        return _MISSING


def _get_or_compute(cache, path, key, compute, store, progress, cancel):
    value = _get(cache, key, _MISSING)
    if value is not _MISSING:
        return value
    lock = (_LOCK_PREFIX,) + key
    token = uuid.uuid4().hex
    started = time.monotonic()
    last_report = None
    while True:
        holder = _holder(token)
        added = _storage_op(path, lambda: cache.add(lock, holder))
        if added is _MISSING:
            # No lock can be written: compute alone, store nothing.
            return compute()
        if added:
            break
        value = _get(cache, key, _MISSING)
        if value is not _MISSING:
            return value
        current = cache.get(lock)
        if current is None:
            continue  # released between our add and our look: try again
        if _holder_dead(current):
            _storage_op(path, lambda: _break(cache, lock, current))
            continue
        if cancel is not None and cancel.is_set():
            raise WaitCancelled(f"stopped waiting for {key[1]}")
        now = time.monotonic()
        if progress is not None and (last_report is None or now - last_report >= _WAIT_REPORT_S):
            last_report = now
            report(progress, 0.0, f"waiting for {_describe(current)} computing "
                                         f"{key[1]} ({now - started:.0f} s)")
        time.sleep(_POLL_S)
    heartbeat = _Heartbeat(cache, lock, holder)
    try:
        value = _get(cache, key, _MISSING)
        if value is _MISSING:
            value = compute()
            if store and _storage_op(path, lambda: cache.set(key, value)) is not _MISSING:
                _mark_healthy(path)
                _after_store(cache, path)
        return value
    finally:
        heartbeat.stop()
        _release(cache, lock, token)


def _after_store(cache, path: Path) -> None:
    """Keep the whole folder, files included, under the size limit."""
    try:
        _enforce_limit(cache, path)
    except Exception as exc:  # eviction is housekeeping: the value is stored
        logger.warning("could not enforce the cache size limit at %s: %s", path, exc)


def memoize(name: str, version: int, *,
            admit: Optional[Callable[..., tuple[str, int, str]]] = None) -> Callable[[Callable], Callable]:
    """Decorator: cache a function's result on disk under ``name`` and ``version``.

    With ``admit``, a miss is heavy work: ``admit(*args, **kwargs)`` (the
    call's own arguments) returns ``(what, bytes_needed, advice)`` and the
    computation runs inside :func:`core.admission.heavy` — refused at once
    when it alone would not fit the server's memory budget, else queued
    first come, first served behind the heavy work already running, with its
    place in the queue told to the ``progress`` argument. A hit never queues.

    The key holds every bound argument (defaults applied, so ``f(x)`` and
    ``f(x, n=50)`` share an entry when 50 is the default) except progress
    callbacks and thread counts. Each argument goes through :func:`key_of`.
    A ``progress`` argument also hears about waits for another holder of the
    same key (see :func:`get_or_compute`).

    The wrapped function gains ``key(*args, **kwargs)``,
    ``is_cached(*args, **kwargs)`` and ``uncached`` (the original function).
    """

    def decorate(func: Callable) -> Callable:
        sig = inspect.signature(func)

        def _bind(args, kwargs) -> tuple[tuple, Any]:
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            parts = tuple(
                (k, v) for k, v in bound.arguments.items() if k not in _IGNORED_ARGS
            )
            progress = bound.arguments.get("progress")
            return make_key(name, version, *parts), progress if callable(progress) else None

        def _key(*args, **kwargs) -> tuple:
            return _bind(args, kwargs)[0]

        def _heavy(args, kwargs, progress):
            what, bytes_needed, advice = admit(*args, **kwargs)
            with admission.heavy(what, bytes_needed=int(bytes_needed), advice=advice,
                                 progress=progress):
                return func(*args, **kwargs)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            key, progress = _bind(args, kwargs)
            if admit is None:
                return get_or_compute(key, lambda: func(*args, **kwargs), progress=progress)
            return get_or_compute(key, lambda: _heavy(args, kwargs, progress), progress=progress)

        def is_cached(*args, **kwargs) -> bool:
            try:
                return _get(get_cache(), _key(*args, **kwargs), _MISSING) is not _MISSING
            except (sqlite3.DatabaseError, CacheUnavailable):
                return False

        wrapper.key = _key
        wrapper.is_cached = is_cached
        wrapper.uncached = func
        wrapper.cache_name = name
        wrapper.cache_version = version
        return wrapper

    return decorate


# ----------------------------------------------------------------------------
# Results stored as files
# ----------------------------------------------------------------------------
class _BuiltElsewhere(Exception):
    """A file built outside the cache folder because the folder could not take it."""

    def __init__(self, path: Path):
        super().__init__(str(path))
        self.path = path


_fallback_lock = threading.Lock()
_fallback: list[Path] = []


def _fallback_dir() -> Path:
    """A private temporary folder of this process for files the cache cannot keep."""
    with _fallback_lock:
        if not _fallback:
            _fallback.append(Path(tempfile.mkdtemp(prefix="fashion-cache-")))
            atexit.register(shutil.rmtree, _fallback[0], True)
        return _fallback[0]


def _is_cache_storage_error(exc: OSError, folder: Path) -> bool:
    """An OSError of a build that comes from the cache folder's storage, not from its inputs."""
    if exc.errno not in _STORAGE_ERRNOS:
        return False
    name = exc.filename
    return name is None or str(Path(name).resolve()).startswith(str(folder.parent))


def _touch(path: Path) -> None:
    """Mark a file as used, for eviction; best effort (read-only storage is fine)."""
    try:
        if time.time() - path.stat().st_mtime > _TOUCH_EVERY_S:
            os.utime(path)
    except OSError:
        pass


def cached_file(
    name: str,
    version: int,
    parts: tuple,
    build: Callable[[Path], None],
    suffix: str,
    directory=None,
) -> Path:
    """Path of a cached file, building it once if absent.

    ``build(tmp_path)`` writes the file; it is then moved into place
    atomically (:func:`core.files.atomic_path`), so a reader never sees half a
    file. The cache database records the file under the same kind of key as
    :func:`memoize`, so locking and concurrency behave the same.

    When the cache folder is full or read-only the file is built in a
    temporary folder of this process instead and that path is returned.

    Parameters
    ----------
    name, version : str, int
        As for :func:`memoize`.
    parts : tuple
        Descriptors that determine the content (see :func:`key_of`).
    build : callable
        Called with a temporary path to write to.
    suffix : str
        File extension, with its dot (``".npy"``, ``".keras"``).

    Returns
    -------
    pathlib.Path
    """
    key = make_key(name, version, *parts)
    file_name = f"{name}.{_digest(key)}{suffix}"
    root = config.cache_dir(directory)

    def compute() -> str:
        folder = root / _FILES
        target = folder / file_name
        if target.exists():  # stored before: readable even when nothing can be written
            return file_name
        if _fallback and (_fallback[0] / file_name).exists():
            # Built while the folder could not take it.
            raise _BuiltElsewhere(_fallback[0] / file_name)
        if not _writes_paused(root):
            try:
                # Opening a fresh cache (schema reset) or a deleted folder may
                # have removed the files folder since the last call.
                folder.mkdir(parents=True, exist_ok=True)
                with files.atomic_path(target) as tmp:
                    build(tmp)
                return file_name
            except OSError as exc:
                if not _is_cache_storage_error(exc, folder):
                    raise
                _mark_degraded(root, exc)
        elsewhere = _fallback_dir() / file_name
        with files.atomic_path(elsewhere) as tmp:
            build(tmp)
        raise _BuiltElsewhere(elsewhere)

    for _ in range(2):
        try:
            stored = get_or_compute(key, compute, directory)
        except _BuiltElsewhere as elsewhere:
            return elsewhere.path
        path = root / _FILES / stored
        if path.exists():
            _touch(path)
            return path
        # The entry outlived its file (someone deleted it): rebuild.
        try:
            get_cache(directory).delete(key)
        except (CacheUnavailable, sqlite3.DatabaseError):
            pass
    raise RuntimeError(f"could not build cached file for {name}")


def cached_array(
    name: str,
    version: int,
    parts: tuple,
    compute: Callable[[], np.ndarray],
    directory=None,
    mmap: bool = True,
) -> np.ndarray:
    """An array cached as a ``.npy`` file and memory-mapped read-only on load."""

    def build(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.save(fh, np.ascontiguousarray(compute()))

    path = cached_file(name, version, parts, build, ".npy", directory)
    try:
        return np.load(path, mmap_mode="r" if mmap else None)
    except (ValueError, OSError, EOFError) as exc:
        logger.warning("cached array %s is unreadable (%s); rebuilding", path.name, exc)
        path.unlink(missing_ok=True)
        path = cached_file(name, version, parts, build, ".npy", directory)
        return np.load(path, mmap_mode="r" if mmap else None)


# ----------------------------------------------------------------------------
# Housekeeping: temporaries, orphans, the size limit
# ----------------------------------------------------------------------------
_FILE_NAME = re.compile(r"^(?P<name>.+)\.(?P<digest>[0-9a-f]{24})(?:\.[^.]*)?$")


def _is_leftover(name: str) -> bool:
    # Final names never start with a dot: every dotted name in files/ is a
    # temporary, of core.files.atomic_path or of an older release.
    return name.startswith(".")


def _file_keys(cache) -> dict[tuple[str, str], tuple]:
    """(name, digest) of every key that may own a file, mapped to the key."""
    owners = {}
    for key in cache.iterkeys():
        if isinstance(key, tuple) and len(key) == 4 and key[0] == "v":
            owners[(str(key[1]), _digest(key))] = key
    return owners


def _stored_files(folder: Path) -> list[tuple[float, int, Path]]:
    """(last use, size, path) of the final files in ``folder``, least recently used first."""
    out = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return out
    for entry in entries:
        if _is_leftover(entry.name) or not entry.is_file(follow_symlinks=False):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        out.append((st.st_mtime, st.st_size, Path(entry.path)))
    out.sort(key=lambda t: t[0])
    return out


def _enforce_limit(cache, path: Path) -> int:
    """Evict the least recently used files until database plus files fit the limit.

    diskcache keeps its own entries under the limit but knows nothing of the
    files beside it, so they are counted here. The most recently used file is
    never evicted: it was just stored or read.

    Returns
    -------
    int
        Files evicted.
    """
    limit = size_limit_bytes()
    stored = _stored_files(path / _FILES)
    total = cache.volume() + sum(size for _, size, _ in stored)
    if total <= limit:
        return 0
    owners = _file_keys(cache)
    evicted = 0
    for _used, size, file in stored[:-1]:
        if total <= limit:
            break
        match = _FILE_NAME.match(file.name)
        key = owners.get((match["name"], match["digest"])) if match else None
        # The entry goes first: a reader then rebuilds instead of finding an
        # entry without its file. A reader that already has the file mapped
        # keeps reading it: unlinking does not end a mapping.
        if key is not None:
            cache.delete(key)
        file.unlink(missing_ok=True)
        total -= size
        evicted += 1
    if evicted:
        logger.info("evicted %d cached files to stay under %.1f GB", evicted, limit / 1e9)
    return evicted


def prune(directory: Optional[os.PathLike | str] = None,
          max_age_s: float = TMP_MAX_AGE_S) -> dict:
    """Remove what crashes and evictions leave behind, and enforce the size limit.

    Runs when a process first opens the cache. Nothing is removed while the
    storage is degraded (full or read-only), except temporaries.

    Parameters
    ----------
    directory : path-like, optional
        Cache folder; see :func:`core.config.cache_dir`.
    max_age_s : float
        Temporaries and files without an entry younger than this are kept:
        their writer may still be running.

    Returns
    -------
    dict
        ``temporaries``, ``orphans`` and ``evicted``: how many files went.
    """
    path = config.cache_dir(directory)
    folder = path / _FILES
    out = {"temporaries": 0, "orphans": 0, "evicted": 0}
    out["temporaries"] = len(files.prune_temporaries(folder, max_age_s, match=_is_leftover))
    cache = _caches.get(path)
    if cache is None:
        cache = get_cache(path)
    if degraded(path) is not None:
        return out
    if cache.get(_SCHEMA_KEY) is None:  # evicted by the size limit: write it again
        _storage_op(path, lambda: cache.add(_SCHEMA_KEY, CACHE_SCHEMA))
    owners = _file_keys(cache)
    now = time.time()
    for used, _size, file in _stored_files(folder):
        match = _FILE_NAME.match(file.name)
        owned = match is not None and (match["name"], match["digest"]) in owners
        if not owned and now - used >= max_age_s:
            file.unlink(missing_ok=True)
            out["orphans"] += 1
    out["evicted"] = _enforce_limit(cache, path)
    return out
