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
from ui.text import plain

#: At most one widget update per this many seconds (a tight loop in core must
#: not flood the browser with deltas).
_MIN_INTERVAL_S = 0.1
#: Session-state key: labels of the tasks this visitor cancelled.
_CANCELLED = "_cancelled_tasks"


def _cancel(label: str) -> None:
    st.session_state.setdefault(_CANCELLED, set()).add(label)


def _restart(label: str) -> None:
    st.session_state.get(_CANCELLED, set()).discard(label)


def _stop_if_cancelled(label: str) -> None:
    """A task this visitor cancelled is not started again by the rerun that the click caused."""
    if label not in st.session_state.get(_CANCELLED, ()):
        return
    st.info(f"{plain(label)}: cancelled.", icon=":material/cancel:")
    st.button("Start it again", key=f"restart:{label}", on_click=_restart, args=(label,),
              icon=":material/play_arrow:")
    st.stop()


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

    A Cancel button in the box stops the work (or its wait in the queue of
    heavy computations, whose place is shown as the progress message), and the
    page then offers to start it again instead of restarting it by itself.

    Yields
    ------
    callable
        ``progress(fraction, message)`` to pass to ``core``. Calls from other
        threads than the script's are ignored (Streamlit widgets can only be
        updated from the script thread).
    """
    _stop_if_cancelled(label)
    holder = st.empty()
    status = holder.status(plain(label), expanded=True)
    bar = status.progress(0.0, text="starting")
    # Clicking ends this run at its next progress update (Streamlit interrupts a
    # script for the rerun a click asks for), which also frees its place in the
    # queue of heavy work; the flag keeps the rerun from starting it again.
    cancel = status.empty()  # a slot, so that a failed task can take the button away
    cancel.button("Cancel", key=f"cancel:{label}:{time.monotonic_ns()}", on_click=_cancel,
                  args=(label,), icon=":material/cancel:",
                  help="Stop waiting for (or computing) this result.")
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
        # A failed box keeps neither its bar ("starting") nor its Cancel button:
        # nothing runs any more; the page says why beside it.
        bar.empty()
        cancel.empty()
        status.update(label=f"{plain(label)}: failed", state="error", expanded=False)
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

