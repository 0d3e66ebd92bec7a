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
* A miss takes a per-key lock stored in the cache itself, so two threads or two
  processes that ask for the same cold result compute it once; the other waits
  and reads it. A lock left by a process that died is broken.
* A corrupt or deleted cache is rebuilt, never fatal.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import logging
import os
import pickle
import shutil
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from . import config

logger = logging.getLogger(__name__)

#: Bump when the layout of cached values changes incompatibly.
CACHE_SCHEMA = 1
_SCHEMA_KEY = "__schema__"
_LOCK_PREFIX = "__lock__"
#: A lock older than this is considered stale even if its holder lives.
_LOCK_EXPIRE_S = 6 * 3600
_POLL_S = 0.1
_FILES = "files"
#: Arguments that never change a result and so are left out of keys.
_IGNORED_ARGS = frozenset({"progress", "callback", "n_jobs", "verbose"})

_caches: dict[Path, Any] = {}
_open_lock = threading.RLock()


class UncacheableArgument(TypeError):
    """An argument that cannot be part of a cache key (an array, a model...)."""


# ----------------------------------------------------------------------------
# Opening, resetting, reporting
# ----------------------------------------------------------------------------
def get_cache(directory: Optional[os.PathLike | str] = None):
    """The shared :class:`diskcache.Cache`, opened lazily.

    Parameters
    ----------
    directory : path-like, optional
        Cache folder; see :func:`core.config.cache_dir`.

    Returns
    -------
    diskcache.Cache
    """
    import diskcache

    path = config.cache_dir(directory)
    with _open_lock:
        cache = _caches.get(path)
        if cache is not None and (path / "cache.db").exists():
            return cache
        if cache is not None:  # the folder was deleted under us
            _close_quietly(cache)
        try:
            cache = diskcache.Cache(str(path), size_limit=2**40, eviction_policy="none")
            _check_schema(cache, path)
        except (sqlite3.DatabaseError, OSError, pickle.UnpicklingError, EOFError) as exc:
            logger.warning("cache at %s is unreadable (%s); rebuilding it", path, exc)
            cache = _rebuild(path)
        _caches[path] = cache
        return cache


def _check_schema(cache, path: Path) -> None:
    """Clear a cache written under another :data:`CACHE_SCHEMA`.

    Runs in one write transaction: a second process opening the same folder
    waits for it, then sees the sentinel, so it never clears the entries (or
    the locks) of a process that already started computing.
    """
    if cache.get(_SCHEMA_KEY) == CACHE_SCHEMA:
        return
    with cache.transact():
        stored = cache.get(_SCHEMA_KEY)
        if stored == CACHE_SCHEMA:
            return
        if stored is not None or len(cache):
            cache.clear()
            shutil.rmtree(path / _FILES, ignore_errors=True)
        cache.set(_SCHEMA_KEY, CACHE_SCHEMA)


def _close_quietly(cache) -> None:
    try:
        cache.close()
    except Exception:  # closing a broken cache must not mask the real work
        pass


def _rebuild(path: Path):
    import diskcache

    for name in ("cache.db", "cache.db-wal", "cache.db-shm"):
        try:
            (path / name).unlink()
        except FileNotFoundError:
            pass
    cache = diskcache.Cache(str(path), size_limit=2**40, eviction_policy="none")
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
        ``entries`` and ``by_kind``: entry count per kind, the kind being the
        first dotted part of the memoized function's name (``pca``,
        ``images``...).
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
        "entries": int(sum(by_kind.values())),
        "by_kind": dict(sorted(by_kind.items())),
    }


def clear_cache(directory: Optional[os.PathLike | str] = None) -> int:
    """Delete every cached result. Returns the number of bytes freed."""
    before = cache_info(directory)["size_bytes"]
    cache = get_cache(directory)
    cache.clear()
    shutil.rmtree(Path(cache.directory) / _FILES, ignore_errors=True)
    cache.set(_SCHEMA_KEY, CACHE_SCHEMA)
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
# Locking
# ----------------------------------------------------------------------------
def _holder() -> tuple:
    return (socket.gethostname(), os.getpid(), threading.get_ident(), time.time())


def _holder_dead(holder: Any) -> bool:
    try:
        host, pid, _tid, since = holder
    except (TypeError, ValueError):
        return True
    if time.time() - since > _LOCK_EXPIRE_S:
        return True
    if host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


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


def get_or_compute(key: tuple, compute: Callable[[], Any], directory=None, *, store: bool = True) -> Any:
    """Return the cached value of ``key``, computing it once if absent.

    Concurrent callers of the same key, in threads or processes, wait for the
    first one instead of computing again.
    """
    for attempt in range(2):
        try:
            return _get_or_compute(get_cache(directory), key, compute, store)
        except sqlite3.DatabaseError as exc:
            if attempt:
                raise
            logger.warning("cache database is corrupt (%s); rebuilding it", exc)
            _reset(directory)
    raise AssertionError("unreachable")


def _get_or_compute(cache, key, compute, store):
    value = _get(cache, key, _MISSING)
    if value is not _MISSING:
        return value
    lock = (_LOCK_PREFIX,) + key
    while not cache.add(lock, _holder()):
        value = _get(cache, key, _MISSING)
        if value is not _MISSING:
            return value
        holder = cache.get(lock)
        if holder is not None and _holder_dead(holder):
            logger.warning("breaking stale cache lock for %s", key[1])
            cache.delete(lock)
        time.sleep(_POLL_S)
    try:
        value = _get(cache, key, _MISSING)
        if value is _MISSING:
            value = compute()
            if store:
                cache.set(key, value)
        return value
    finally:
        cache.delete(lock)


def memoize(name: str, version: int) -> Callable[[Callable], Callable]:
    """Decorator: cache a function's result on disk under ``name`` and ``version``.

    The key holds every bound argument (defaults applied, so ``f(x)`` and
    ``f(x, n=50)`` share an entry when 50 is the default) except progress
    callbacks and thread counts. Each argument goes through :func:`key_of`.

    The wrapped function gains ``key(*args, **kwargs)``,
    ``is_cached(*args, **kwargs)`` and ``uncached`` (the original function).
    """

    def decorate(func: Callable) -> Callable:
        sig = inspect.signature(func)

        def _key(*args, **kwargs) -> tuple:
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            parts = tuple(
                (k, v) for k, v in bound.arguments.items() if k not in _IGNORED_ARGS
            )
            return make_key(name, version, *parts)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            key = _key(*args, **kwargs)
            return get_or_compute(key, lambda: func(*args, **kwargs))

        def is_cached(*args, **kwargs) -> bool:
            try:
                return _get(get_cache(), _key(*args, **kwargs), _MISSING) is not _MISSING
            except sqlite3.DatabaseError:
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
    atomically, so a reader never sees half a file. The cache database records
    the file under the same kind of key as :func:`memoize`, so locking and
    concurrency behave the same.

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
    """
    key = make_key(name, version, *parts)
    target = files_dir(directory) / f"{name}.{_digest(key)}{suffix}"

    def compute() -> str:
        if not target.exists():
            # Opening a fresh cache (schema reset) or a deleted folder may have
            # removed the files folder since ``target`` was computed.
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.stem}.{os.getpid()}.{threading.get_ident()}{suffix}")
            try:
                build(tmp)
                os.replace(tmp, target)
            finally:
                if tmp.exists():
                    tmp.unlink()
        return target.name

    for _ in range(2):
        stored = get_or_compute(key, compute, directory)
        path = files_dir(directory) / stored
        if path.exists():
            return path
        # The entry outlived its file (someone deleted it): rebuild.
        get_cache(directory).delete(key)
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
