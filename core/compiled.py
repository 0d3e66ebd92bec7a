"""Compiled kernels: threads, and numba's disk cache of compiled code.

numba compiles a kernel on its first call in every new process unless the
compiled code is cached on disk. :func:`numba_cache` points numba's cache at
the project's cache folder (``<cache>/numba``, or ``$NUMBA_CACHE_DIR`` when
set), :func:`cache_compiled` turns the disk cache on for a library's
kernels that were declared without it (umap-learn, pynndescent), and
:func:`core.manifold.compile_kernels` (``python -m core compile``) fills it once per
install, so that no server start or first map pays for compiling.
"""
from __future__ import annotations

import os

from . import config


def n_threads() -> int:
    """CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def kernel_threads(n_items: int) -> int:
    """Threads for a kernel over ``n_items`` rows: one for small inputs (no sync cost)."""
    return 1 if n_items < 1500 else n_threads()


def numba_cache() -> None:
    """Keep numba's compiled code under the cache folder, across processes.

    Set before any kernel is compiled: numba reads ``config.CACHE_DIR`` when a
    function's cache is created, and an explicit ``$NUMBA_CACHE_DIR`` wins.
    """
    import numba

    if not numba.config.CACHE_DIR:
        folder = config.cache_dir() / "numba"
        folder.mkdir(parents=True, exist_ok=True)
        numba.config.CACHE_DIR = str(folder)


def cache_compiled(modules) -> int:
    """Turn on numba's disk cache for every jitted function of ``modules`` that lacks it.

    umap-learn compiles most of its kernels without ``cache=True``, so every
    new process paid about a minute of compiling before its first UMAP (91 s
    at 4,200 points on a busy 2-core machine). Cached, a process pays it once
    per install. Returns the number of functions switched.
    """
    from numba.core.dispatcher import Dispatcher
    from numba.core.caching import NullCache

    switched = 0
    for module in modules:
        for obj in list(vars(module).values()):
            if isinstance(obj, Dispatcher) and isinstance(obj._cache, NullCache):
                obj.enable_caching()
                switched += 1
    return switched


class threads:
    """Run numba kernels on ``n`` threads inside the block."""

    def __init__(self, n: int):
        self.n = n

    def __enter__(self):
        import numba

        self.old = numba.get_num_threads()
        numba.set_num_threads(max(1, min(self.n, numba.config.NUMBA_NUM_THREADS)))
        return self

    def __exit__(self, *exc):
        import numba

        numba.set_num_threads(self.old)
        return False

