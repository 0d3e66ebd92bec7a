"""Which engine runs a catalogue, and the Dask cluster when it is Dask.

Three routes, chosen by :func:`choose_route` from the catalogue's size and the
environment:

``"memory"``
    Today's in-process route (:mod:`core.pca`, :mod:`core.manifold`...): the
    whole standardized float32 matrix in one process. The default below
    :data:`SCALE_MIN_ROWS` rows.
``"local"``
    A :class:`distributed.LocalCluster` sized to this machine, started and
    shut down by :func:`connect`. Above :data:`SCALE_MIN_ROWS` rows, or with
    ``FASHION_DASK=local``.
``"remote"``
    An existing cluster at ``FASHION_DASK_SCHEDULER=tcp://host:8786``.

Workers need only this project installed (``pip install -r requirements.txt``
and the repository on their ``PYTHONPATH``) and read access to two places:

* the images: the dataset folder at the same path (a shared file system such
  as NFS), or wherever ``FASHION_DASK_IMAGES`` points: another mount path, or
  an fsspec URL such as ``s3://bucket/fashion`` standing for the dataset's root, image
  paths relative to it as the catalogue gives them (install the matching
  fsspec back end, e.g. ``s3fs``, on the app and the workers);
* the feature store: under the cache folder by default (so the cache must be
  on a shared path too), or at ``FASHION_DASK_STORE``, a folder or fsspec URL
  that every worker can read and write.

Nothing is kept on the workers between tasks: each task receives the paths
and small arrays it needs as arguments and opens the store itself.
"""
from __future__ import annotations

import contextlib
import logging
import os
from typing import Iterator, Optional

from .. import admission

logger = logging.getLogger(__name__)

#: ``local`` (start a LocalCluster), ``memory``/``off`` (never use Dask).
DASK_ENV = "FASHION_DASK"
#: Address of an existing scheduler, e.g. ``tcp://10.0.0.5:8786``.
SCHEDULER_ENV = "FASHION_DASK_SCHEDULER"
#: Rows from which the Dask route is taken by default. At 100,000 images of
#: 100x100 the standardized float32 matrix alone is 4 GB, two thirds of the
#: default memory budget on a 10 GB machine (core.admission).
SCALE_MIN_ROWS = 100_000
#: Overrides :data:`SCALE_MIN_ROWS`.
MIN_ROWS_ENV = "FASHION_DASK_MIN_ROWS"
#: Seconds to wait for a scheduler before giving up.
CONNECT_TIMEOUT_S = 5.0
#: Memory each local worker may use at most, bytes.
WORKER_MEMORY_CAP = 6 * 2**30

ROUTES = ("memory", "local", "remote")


class ClusterError(RuntimeError):
    """A Dask cluster that cannot be reached or started, with what to do about it."""


def min_rows() -> int:
    """Rows from which :func:`choose_route` picks Dask (``FASHION_DASK_MIN_ROWS``)."""
    raw = os.environ.get(MIN_ROWS_ENV, "").strip()
    if raw:
        try:
            value = int(raw)
            if value >= 1:
                return value
        except ValueError:
            pass
        logger.warning("ignoring %s=%r: expected a positive integer", MIN_ROWS_ENV, raw)
    return SCALE_MIN_ROWS


def choose_route(n_rows: int) -> str:
    """The engine for a catalogue of ``n_rows`` images.

    Parameters
    ----------
    n_rows : int

    Returns
    -------
    {"memory", "local", "remote"}
        ``"remote"`` when ``FASHION_DASK_SCHEDULER`` is set; else ``"local"``
        when ``FASHION_DASK=local`` or ``n_rows >= min_rows()``;
        ``"memory"`` when ``FASHION_DASK`` is ``memory``/``off`` or the
        catalogue is small.
    """
    if os.environ.get(SCHEDULER_ENV, "").strip():
        return "remote"
    mode = os.environ.get(DASK_ENV, "").strip().lower()
    if mode == "local":
        return "local"
    if mode in ("memory", "off", "0", "no", "false"):
        return "memory"
    if mode:
        logger.warning("ignoring %s=%r: expected local or off", DASK_ENV, mode)
    return "local" if int(n_rows) >= min_rows() else "memory"


def local_layout(n_workers: Optional[int] = None) -> dict:
    """Workers, threads and memory limit of a LocalCluster sized to this machine.

    One process per two cores (image decoding holds the GIL part of the time,
    BLAS does not), each with an equal share of the memory budget of
    :func:`core.admission.memory_budget`, capped at :data:`WORKER_MEMORY_CAP`.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    workers = int(n_workers) if n_workers else max(1, cores // 2)
    threads = max(1, cores // workers)
    memory = int(min(WORKER_MEMORY_CAP, admission.memory_budget() // workers))
    return {"n_workers": workers, "threads_per_worker": threads, "memory_limit": memory}


def scheduler_address() -> Optional[str]:
    """``FASHION_DASK_SCHEDULER``, or None."""
    return os.environ.get(SCHEDULER_ENV, "").strip() or None


@contextlib.contextmanager
def connect(route: Optional[str] = None, *, address: Optional[str] = None,
            n_workers: Optional[int] = None, processes: bool = True,
            timeout: float = CONNECT_TIMEOUT_S) -> Iterator:
    """A :class:`distributed.Client` for the duration of a ``with`` block.

    Parameters
    ----------
    route : {"local", "remote"}, optional
        Default: ``"remote"`` when an address is given or
        ``FASHION_DASK_SCHEDULER`` is set, else ``"local"``.
    address : str, optional
        Scheduler address (``tcp://host:8786``); default the environment's.
    n_workers : int, optional
        Local workers; default :func:`local_layout`'s.
    processes : bool, default True
        Local workers as processes; ``False`` runs them as threads of this
        process (tests, notebooks).
    timeout : float, default 5
        Seconds to wait for a remote scheduler.

    Yields
    ------
    distributed.Client
        Its ``dashboard_link`` is the Dask dashboard.

    Raises
    ------
    ClusterError
        Within ``timeout`` seconds when the scheduler cannot be reached, or
        when a local cluster cannot start.

    Notes
    -----
    A cluster started here is closed when the block ends, on success or
    error; a remote cluster is only disconnected from.
    """
    from distributed import Client, LocalCluster

    address = address or scheduler_address()
    route = route or ("remote" if address else "local")
    if route == "remote":
        if not address:
            raise ClusterError(f"no scheduler address: set {SCHEDULER_ENV}=tcp://host:8786")
        try:
            client = Client(address, timeout=f"{timeout}s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {address} within {timeout:g} s ({exc}). "
                f"Check that `dask scheduler` runs there and the port is open, or unset "
                f"{SCHEDULER_ENV} to compute on this machine") from None
        try:
            yield client
        finally:
            client.close()
        return
    if route != "local":
        raise ValueError(f"unknown cluster route {route!r}; use local or remote")
    layout = local_layout(n_workers)
    try:
        # In-process workers log their comms closing at shutdown as errors.
        cluster = LocalCluster(processes=processes, dashboard_address=":0",
                               silence_logs=logging.ERROR if processes else logging.CRITICAL,
                               **layout)
    except (OSError, RuntimeError, TimeoutError) as exc:
        raise ClusterError(f"could not start a local Dask cluster ({exc}); "
                           f"set {DASK_ENV}=off to compute in this process") from None
    try:
        with Client(cluster, set_as_default=False) as client:
            yield client
    finally:
        cluster.close()


def describe(client) -> str:
    """One line: workers, threads, memory and the dashboard link."""
    info = client.scheduler_info()
    workers = info.get("workers", {})
    threads = sum(w.get("nthreads", 0) for w in workers.values())
    memory = sum(w.get("memory_limit", 0) or 0 for w in workers.values())
    return (f"Dask: {len(workers)} workers, {threads} threads, {memory / 2**30:.1f} GB; "
            f"dashboard {client.dashboard_link}")
