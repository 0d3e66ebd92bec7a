"""Progress for long work: turn ``core``'s callbacks into ``st.status`` + ``st.progress``.

``core`` reports progress as ``progress(fraction, message)``. A page hands it
the callback of :func:`task`::

    with ui.progress.task("Computing t-SNE") as cb:
        emb = manifold.embed(sub, "tsne", progress=cb)

or lets :func:`run` decide: a result already in the disk cache is returned
without drawing anything, so a revisit shows no flicker of progress widgets.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import streamlit as st

from core.progress import ProgressFn

#: At most one widget update per this many seconds (a tight loop in core must
#: not flood the browser with deltas).
_MIN_INTERVAL_S = 0.1


@contextmanager
def task(label: str, *, keep: bool = False) -> Iterator[ProgressFn]:
    """Show a status box with a progress bar while the block runs.

    Parameters
    ----------
    label : str
        What is being computed, shown as the status label.
    keep : bool, default False
        Leave a collapsed "done in N s" status after success instead of
        removing the box.

    Yields
    ------
    callable
        ``progress(fraction, message)`` to pass to ``core``. Calls from other
        threads than the script's are ignored (Streamlit widgets can only be
        updated from the script thread).
    """
    holder = st.empty()
    status = holder.status(label, expanded=True)
    bar = status.progress(0.0, text="starting")
    owner = threading.get_ident()
    last = {"t": 0.0, "msg": None}
    t0 = time.perf_counter()

    def progress(fraction: float, message: str) -> None:
        if threading.get_ident() != owner:
            return
        now = time.perf_counter()
        if message == last["msg"] and now - last["t"] < _MIN_INTERVAL_S and fraction < 1:
            return
        last["t"], last["msg"] = now, message
        value = min(1.0, max(0.0, float(fraction)))
        bar.progress(value, text=f"{message} ({value:.0%}, {now - t0:.0f} s)")

    try:
        yield progress
    except Exception:
        status.update(label=f"{label}: failed", state="error", expanded=True)
        raise
    seconds = time.perf_counter() - t0
    if keep:
        status.update(label=f"{label}: done in {seconds:.1f} s", state="complete", expanded=False)
    else:
        holder.empty()


def run(fn: Callable, *args, label: str, **kwargs) -> Any:
    """Call a ``core`` function, with a progress box only when it will compute.

    Parameters
    ----------
    fn : callable
        A function decorated with :func:`core.cache.memoize` (it has
        ``is_cached``) that accepts ``progress=``. Other callables always show
        the box.
    label : str
        Status label while computing.
    *args, **kwargs
        Passed to ``fn``.

    Returns
    -------
    The function's result, also kept in a small in-memory layer keyed on the
    disk cache's key, so a rerun does not even unpickle it.
    """
    key = _memory_key(fn, args, kwargs)
    if key is not None:
        hit = _memory().get(key)
        if hit is not None:
            _memory().move_to_end(key)
            return hit[0]
    is_cached = getattr(fn, "is_cached", None)
    if is_cached is not None and _safe(is_cached, *args, **kwargs):
        result = fn(*args, **kwargs)
    else:
        with task(label) as cb:
            result = fn(*args, progress=cb, **kwargs) if _takes_progress(fn) else fn(*args, **kwargs)
    if key is not None:
        _remember(key, result)
    return result


def _takes_progress(fn: Callable) -> bool:
    import inspect

    try:
        params = inspect.signature(inspect.unwrap(fn)).parameters
    except (TypeError, ValueError):
        return False
    return "progress" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _safe(is_cached, *args, **kwargs) -> bool:
    try:
        return bool(is_cached(*args, **kwargs))
    except Exception:  # a key that cannot be built just means "show progress"
        return False


# ----------------------------------------------------------------------------
# Thin in-memory layer over the disk cache
# ----------------------------------------------------------------------------
_MEMORY_ENTRIES = 64
_memory_lock = threading.Lock()


@st.cache_resource(show_spinner=False)
def _memory() -> "OrderedDict[tuple, tuple]":
    return OrderedDict()


def _memory_key(fn: Callable, args, kwargs):
    """Key of a call in the in-memory layer, or None when its arguments are not descriptors."""
    from core import cache
    from core.config import cache_dir

    try:
        key_fn = getattr(fn, "key", None)
        if key_fn is not None:
            key = key_fn(*args, **kwargs)
        else:
            name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
            # A bound method (``sub.frame``) is keyed on its object too.
            key = cache.make_key(name, 0, getattr(fn, "__self__", None), args, kwargs)
        return (str(cache_dir()),) + key
    except Exception:  # arrays or models among the arguments: no memory layer
        return None


def _remember(key: tuple, value: Any) -> None:
    with _memory_lock:
        mem = _memory()
        mem[key] = (value,)
        mem.move_to_end(key)
        while len(mem) > _MEMORY_ENTRIES:
            mem.popitem(last=False)

