"""Progress of Dask work in the project's ``progress(fraction, message)`` callbacks.

The bridge between a Dask cluster and :mod:`core.progress`: :func:`track`
polls the futures of one step, and calls the step's callback as they finish,
so the CLI's printed lines and a page's ``st.progress`` move for work that
runs on other machines. The first message of a step carries the Dask
dashboard link, where the task stream and each worker's memory are shown.
"""
from __future__ import annotations

import time
from typing import Optional, Sequence

from ..progress import ProgressFn, report

#: Seconds between two progress messages of one step (the first and the last always go).
REPORT_EVERY_S = 0.5


def dashboard_link(client) -> str:
    """The Dask dashboard URL of ``client``'s cluster, or ``""`` when it has none."""
    try:
        return str(client.dashboard_link or "")
    except Exception:  # a cluster without the dashboard service (bokeh missing)
        return ""


def track(client, futures: Sequence, progress: Optional[ProgressFn], label: str,
          poll_s: float = 0.2) -> list:
    """Wait for ``futures``, reporting the fraction finished; return their results in order.

    Parameters
    ----------
    client : distributed.Client
    futures : sequence of distributed.Future
    progress : callable, optional
        ``progress(fraction, message)``; the first message is
        ``"<label>: 0/<n> tasks (dashboard <link>)"``.
    label : str
        What the step does, e.g. ``"decoding images"``.
    poll_s : float, default 0.2
        Seconds between looks at the futures.

    Returns
    -------
    list
        ``[f.result() for f in futures]``.

    Raises
    ------
    Exception
        The first task's error, as raised on the worker; the futures not yet
        finished are cancelled, so a failed step leaves no work behind.
    """
    futures = list(futures)
    n = len(futures)
    link = dashboard_link(client)
    report(progress, 0.0, f"{label}: 0/{n} tasks" + (f" (dashboard {link})" if link else ""))
    last = time.monotonic()
    try:
        while True:
            done = 0
            for f in futures:
                status = f.status
                if status == "error" or status == "cancelled":
                    f.result()  # raises the worker's exception
                done += status == "finished"
            now = time.monotonic()
            if done == n or now - last >= REPORT_EVERY_S:
                report(progress, done / max(n, 1), f"{label}: {done}/{n} tasks")
                last = now
            if done == n:
                break
            time.sleep(poll_s)
        return client.gather(futures)
    except BaseException:
        client.cancel([f for f in futures if f.status == "pending"])
        raise
