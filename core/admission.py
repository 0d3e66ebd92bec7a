"""Admission control: how many heavy computations run at once and how much memory one may take.

One server process serves every browser tab, each in its own thread. Without a
gate, one link (``?fraction=1.0&color=true&image_size=100`` asks PCA for a
42,072 x 30,000 float32 matrix plus a centred copy, about 9.4 GB) or a few tabs
starting trainings at once can exhaust the machine for everybody. Two rules:

* **Slots.** At most :func:`heavy_slots` heavy computations (decomposition,
  embeddings, mixtures, training) run at once; the others wait in a first come,
  first served queue, and each waiter knows its position.
* **Memory.** A computation states the bytes it needs (the estimators below).
  One that alone exceeds :func:`memory_budget` is refused before it queues
  (:class:`OverBudget`); one that fits alone but not beside those running waits
  until enough is released.

Usage
-----
In a ``core`` function that does heavy work::

    need = admission.pca_bytes(n, d, k)
    with admission.heavy(f"PCA of {n:,} images", bytes_needed=need,
                         advice="Choose a smaller sample fraction, a smaller image size or grayscale.",
                         progress=progress, cancel=cancel):
        ...  # the computation; nested heavy() calls in this thread pass straight through

In a page: hand in a ``progress`` that writes the message into a placeholder
(it reads "PCA of 42,072 images: waiting for 1 computation ahead (running now:
t-SNE of 4,208 images)" while queued) and a ``cancel`` event that a Cancel
button's ``on_click`` sets; show ``str(exc)`` of :class:`OverBudget` as an
error and :class:`Cancelled` as a note. :func:`status` tells what runs and how
many wait. Streamlit may also interrupt the script by raising from inside the
``progress`` callback (a rerun); the queue stays consistent whatever the
callback raises.

In the CLI: nothing waits in a single process; catch :class:`OverBudget` and
print its message.

Settings (read on every admission, so a test or an operator can change them):

``FASHION_HEAVY_SLOTS``
    Concurrent heavy computations, an integer >= 1. Default: one per 2 CPUs
    available to this process, at least 1.
``FASHION_MEMORY_GB``
    Memory budget in GB of 2**30 bytes (the unit of every message here), a
    number > 0. Default: 60% of the smaller of the machine's physical memory
    and the cgroup (container) memory limit, if one is set; the rest is left
    to the server itself, the page caches and other processes.

A bad value (``"abc"``, ``"-1"``) falls back to the default with a logged
warning: a typo in a deployment must not take the server down.
"""
from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence, Union

from .progress import ProgressFn, report

logger = logging.getLogger(__name__)

SLOTS_ENV = "FASHION_HEAVY_SLOTS"
MEMORY_ENV = "FASHION_MEMORY_GB"
#: Share of the physical (or cgroup) memory that the default budget allows.
DEFAULT_MEMORY_SHARE = 0.6
#: Where the cgroup memory limit is read, v2 first, then v1.
CGROUP_MEMORY_FILES: tuple[Path, ...] = (
    Path("/sys/fs/cgroup/memory.max"),
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
)
#: A waiter reports its position at least this often (seconds)...
REPORT_EVERY = 1.0
#: ...and looks at its cancel token this often, so Cancel answers promptly.
POLL_EVERY = 0.05

GB = 2**30

#: A cancel token: an event, a callable that returns True once cancelled, or None.
CancelToken = Union[threading.Event, Callable[[], bool], None]


class Cancelled(Exception):
    """A computation was cancelled while it waited for its turn."""


class OverBudget(ValueError):
    """A computation alone needs more memory than this server's budget."""


# ----------------------------------------------------------------------------
# Settings
# ----------------------------------------------------------------------------
_warned: set[tuple[str, str]] = set()


def _warn_once(name: str, value: str, fallback: str) -> None:
    # Settings are read on every admission; one warning per bad value is enough.
    if (name, value) not in _warned:
        _warned.add((name, value))
        logger.warning("%s=%r is not valid; using the default %s", name, value, fallback)


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may use (containers, taskset)
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_heavy_slots() -> int:
    """One heavy computation per 2 CPUs available to this process, at least 1."""
    return max(1, _cpus() // 2)


def heavy_slots() -> int:
    """Heavy computations allowed at once: ``$FASHION_HEAVY_SLOTS`` or :func:`default_heavy_slots`."""
    raw = os.environ.get(SLOTS_ENV, "").strip()
    if raw:
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value >= 1:
            return value
        _warn_once(SLOTS_ENV, raw, str(default_heavy_slots()))
    return default_heavy_slots()


def physical_memory() -> int:
    """Bytes of physical memory of the machine (``sysconf``, else ``/proc/meminfo``)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 8 * GB  # unknown platform: a modest machine, so the budget errs low


def cgroup_memory_limit(paths: Optional[Sequence[os.PathLike | str]] = None) -> Optional[int]:
    """The container's memory limit in bytes, or None when there is none.

    Parameters
    ----------
    paths : sequence of path-like, optional
        Files tried in order, :data:`CGROUP_MEMORY_FILES` by default (read
        when called, so a test can point it elsewhere); the first that exists and reads as a limit wins.
        cgroup v2 writes ``max`` when unlimited; v1 writes a huge number,
        which the caller's ``min`` with physical memory absorbs.

    Returns
    -------
    int or None
    """
    for path in CGROUP_MEMORY_FILES if paths is None else paths:
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text == "max":
            return None
        try:
            value = int(text)
        except ValueError:
            continue
        if value > 0:
            return value
    return None


def default_memory_budget() -> int:
    """:data:`DEFAULT_MEMORY_SHARE` of the smaller of physical memory and the cgroup limit, in bytes."""
    total = physical_memory()
    limit = cgroup_memory_limit()
    if limit is not None:
        total = min(total, limit)
    return int(total * DEFAULT_MEMORY_SHARE)


def memory_budget() -> int:
    """Bytes one server may give its heavy computations together.

    ``$FASHION_MEMORY_GB`` (GB of 2**30 bytes, > 0) when valid, else
    :func:`default_memory_budget`.
    """
    raw = os.environ.get(MEMORY_ENV, "").strip()
    if raw:
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value > 0:
            return int(value * GB)
        _warn_once(MEMORY_ENV, raw, f"{format_gb(default_memory_budget())} GB")
    return default_memory_budget()


def format_gb(n_bytes: float) -> str:
    """Bytes as GB of 2**30 with one decimal (two below 0.1 GB): ``"9.4"``."""
    gb = n_bytes / GB
    return f"{gb:.2f}" if gb < 0.1 else f"{gb:.1f}"


def check_memory(bytes_needed: int, what: str, advice: str = "", *,
                 budget: Optional[int] = None) -> None:
    """Refuse a computation that alone needs more than :func:`memory_budget`.

    Parameters
    ----------
    bytes_needed : int
        The estimate (see :func:`pca_bytes` and the other estimators).
    what : str
        What was asked, as a person would say it: "PCA of 42,072 colour
        images at 100x100".
    advice : str, optional
        What to change to fit, e.g. "Choose a smaller sample fraction."
    budget : int, optional
        Bytes allowed; :func:`memory_budget` by default.

    Raises
    ------
    OverBudget
        With a message naming the request, its need, the budget and
        :data:`MEMORY_ENV`.
    """
    budget = memory_budget() if budget is None else int(budget)
    if bytes_needed > budget:
        # The budget rounded down, and the need up where rounding would make
        # it read "needs 6.0 GB, over the budget of 6.0 GB".
        allowed = math.floor(budget / GB * 10) / 10
        need = round(bytes_needed / GB, 1)
        if need <= allowed:
            need = math.ceil(bytes_needed / GB * 10) / 10
        message = (f"{what} needs about {need:.1f} GB, over this server's memory "
                   f"budget of {allowed:.1f} GB ({MEMORY_ENV}).")
        raise OverBudget(f"{message} {advice}".strip())


def is_cancelled(cancel: CancelToken) -> bool:
    """Whether a cancel token (event, callable or None) is set."""
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


def raise_if_cancelled(cancel: CancelToken, what: str = "computation") -> None:
    """Raise :class:`Cancelled` when ``cancel`` is set: a check for long loops between steps."""
    if is_cancelled(cancel):
        raise Cancelled(f"{what} was cancelled")


# ----------------------------------------------------------------------------
# The queue
# ----------------------------------------------------------------------------
@dataclass(eq=False)
class _Ticket:
    what: str
    bytes_needed: int


def _plural(n: int) -> str:
    return f"{n} computation{'s' if n != 1 else ''}"


class Admission:
    """A first come, first served gate with a slot count and a memory budget.

    The module keeps one process-wide instance behind :func:`heavy` and
    :func:`status`; separate instances serve tests.

    Parameters
    ----------
    slots : callable returning int, default :func:`heavy_slots`
    budget : callable returning int, default :func:`memory_budget`
        Read on every admission, so changed settings apply to the next one.
    """

    def __init__(self, slots: Callable[[], int] = heavy_slots,
                 budget: Callable[[], int] = memory_budget):
        self._slots = slots
        self._budget = budget
        self._cond = threading.Condition(threading.Lock())
        self._waiting: deque[_Ticket] = deque()
        self._running: list[_Ticket] = []
        # Per thread: how deep in heavy() it is, so nested calls pass through.
        self._local = threading.local()

    # -- queries -----------------------------------------------------------
    def status(self) -> dict:
        """What runs and how many wait.

        Returns
        -------
        dict
            ``running`` (list of str, labels in start order), ``waiting``
            (int), ``slots`` (int), ``running_bytes`` and ``budget_bytes`` (int).
        """
        with self._cond:
            return {
                "running": [t.what for t in self._running],
                "waiting": len(self._waiting),
                "slots": self._slots(),
                "running_bytes": sum(t.bytes_needed for t in self._running),
                "budget_bytes": self._budget(),
            }

    # -- under the lock ----------------------------------------------------
    def _can_start(self, ticket: _Ticket) -> bool:
        if not self._waiting or self._waiting[0] is not ticket:
            return False  # strictly in arrival order: a small request never overtakes a big one
        if not self._running:
            return True  # alone it was checked against the budget; never wait for nothing
        if len(self._running) >= self._slots():
            return False
        used = sum(t.bytes_needed for t in self._running)
        return used + ticket.bytes_needed <= self._budget()

    def _waiting_message(self, ticket: _Ticket) -> str:
        ahead = len(self._running) + self._waiting.index(ticket)
        message = f"{ticket.what}: waiting for {_plural(ahead)} ahead"
        if self._running:
            message += f" (running now: {', '.join(t.what for t in self._running)})"
        slot_free = len(self._running) < self._slots()
        if slot_free and self._waiting[0] is ticket:
            used = sum(t.bytes_needed for t in self._running)
            message += (f"; waiting for memory: {format_gb(used)} of {format_gb(self._budget())} GB "
                        f"in use, {format_gb(ticket.bytes_needed)} GB needed")
        return message

    def _leave(self, ticket: _Ticket) -> None:
        with self._cond:
            if ticket in self._waiting:
                self._waiting.remove(ticket)
            if ticket in self._running:
                self._running.remove(ticket)
            self._cond.notify_all()  # the others move up, and say so

    # -- the gate ----------------------------------------------------------
    @contextmanager
    def heavy(self, what: str, *, bytes_needed: int = 0, advice: str = "",
              progress: Optional[ProgressFn] = None, cancel: CancelToken = None) -> Iterator[None]:
        """Run the ``with`` block once a slot and enough memory are free.

        See :func:`heavy` for the parameters.
        """
        bytes_needed = max(0, int(bytes_needed))
        # Refused before queueing: waiting could never make it fit.
        check_memory(bytes_needed, what, advice, budget=self._budget())
        depth = getattr(self._local, "depth", 0)
        if depth:
            # This thread already holds a slot, whose estimate covers its inner
            # steps; waiting here for a second slot would wait on itself.
            self._local.depth = depth + 1
            try:
                yield
            finally:
                self._local.depth = depth
            return

        ticket = _Ticket(what, bytes_needed)
        reported: Optional[str] = None
        last = -math.inf
        with self._cond:
            self._waiting.append(ticket)
        try:
            while True:
                # The token and the callback are the caller's code: called
                # outside the lock, so a slow or re-entrant one blocks nobody.
                if is_cancelled(cancel):
                    raise Cancelled(f"{what} was cancelled while it waited for its turn")
                with self._cond:
                    if self._can_start(ticket):
                        self._waiting.popleft()
                        self._running.append(ticket)
                        break
                    message = self._waiting_message(ticket)
                    if message == reported and time.monotonic() - last < REPORT_EVERY:
                        self._cond.wait(POLL_EVERY)
                        continue
                reported, last = message, time.monotonic()
                report(progress, 0.0, message)
        except BaseException:
            self._leave(ticket)
            raise

        self._local.depth = 1
        try:
            if reported is not None:
                report(progress, 0.0, f"{what}: starting")
            yield
        finally:
            self._local.depth = 0
            self._leave(ticket)


_ADMISSION = Admission()


def heavy(what: str, *, bytes_needed: int = 0, advice: str = "",
          progress: Optional[ProgressFn] = None, cancel: CancelToken = None):
    """Context manager: wait for a heavy-computation slot, then run the block.

    Process-wide and first come, first served. The memory check comes first:
    a request that alone exceeds the budget raises at once and never queues.
    While waiting, ``progress(0.0, message)`` is told the position ("PCA of
    42,072 images: waiting for 2 computations ahead (running now: ...)") when
    it changes and at least every :data:`REPORT_EVERY` seconds; once admitted,
    "<what>: starting". A call inside a block that already holds a slot in the
    same thread passes straight through (its memory is taken as part of the
    outer estimate). Threads started inside a block are not the same thread:
    they must not enter ``heavy`` themselves.

    Parameters
    ----------
    what : str
        Label shown to the others waiting and in messages.
    bytes_needed : int, default 0
        Estimated peak memory; the running computations' estimates plus this
        one must fit :func:`memory_budget`, else this one waits.
    advice : str, optional
        What to change when refused, appended to the :class:`OverBudget` message.
    progress : callable, optional
        ``progress(fraction, message)``; anything it raises (a Streamlit rerun)
        leaves the queue and propagates.
    cancel : threading.Event or callable, optional
        Checked every :data:`POLL_EVERY` seconds while waiting.

    Raises
    ------
    OverBudget
        ``bytes_needed`` alone exceeds the budget.
    Cancelled
        ``cancel`` was set before a slot came free; the ticket leaves the queue.
    """
    return _ADMISSION.heavy(what, bytes_needed=bytes_needed, advice=advice,
                            progress=progress, cancel=cancel)


def status() -> dict:
    """What the process-wide gate runs and how many wait (see :meth:`Admission.status`)."""
    return _ADMISSION.status()


# ----------------------------------------------------------------------------
# Estimators: peak bytes of the heavy steps, conservative on purpose
# ----------------------------------------------------------------------------
#: Mirrors of the project's route choices (checked against their modules by
#: the tests, so they cannot drift silently): core.pca's budget for the
#: square Gram/covariance matrix, the side up to which it is float64 and the
#: eigenpairs it computes at least, and
#: core.mds's exact-MDS limit and landmark count.
PCA_SQUARE_BUDGET = 4 * GB
PCA_FLOAT64_UP_TO = 2048
PCA_MAX_COMPONENTS = 640
MDS_EXACT_MAX = 8000
MDS_LANDMARKS = 3000
#: Neighbours of openTSNE's affinities (3 x perplexity 30) and UMAP's graph.
_TSNE_NEIGHBORS = 90
_UMAP_NEIGHBORS = 15
#: Fixed cost of an embedding library (index structures, FFT grids, numba).
_EMBEDDING_OVERHEAD = 256 * 2**20
#: TensorFlow's runtime and the model's weights and optimiser state.
_TRAINING_OVERHEAD = 1 * GB
#: Float32 activations (forward and gradients) kept per input value of a batch.
_ACTIVATIONS_PER_INPUT = 64


def pca_bytes(n_samples: int, n_features: int, n_components: int) -> int:
    """Peak bytes of the PCA of an ``(n_samples, n_features)`` float32 matrix.

    With ``n`` samples, ``d`` features, ``m = min(n, d)`` and ``k`` components:
    ``4 n d`` for the data plus ``4 n d`` for a centred copy (the Gram and
    randomized routes make one; the covariance route only row blocks, so
    there the estimate errs high by at most the data's size), plus the
    working memory of the route core.pca takes:

    * Gram or covariance, when ``2 * itemsize * m**2`` fits
      :data:`PCA_SQUARE_BUDGET`: the square matrix and a copy (itemsize 8 up
      to :data:`PCA_FLOAT64_UP_TO`, else 4), and four float64 blocks of
      ``m x (e + 64)`` for the subspace iteration, which finds
      ``e = min(m, max(k, PCA_MAX_COMPONENTS))`` eigenpairs whatever ``k`` is;
    * randomized SVD otherwise: three float32 blocks of ``(n + d) x (k + 20)``;

    plus the outputs, float32 scores and components: ``4 k (n + d)``.

    Parameters
    ----------
    n_samples, n_features : int
    n_components : int
        Components kept (core.pca keeps up to ``MAX_STORED_COMPONENTS`` by default).

    Returns
    -------
    int
        For the whole dataset in colour at 100x100 (42,072 x 30,000, 640
        components), about 10.1 GB, of which 9.4 GB is the data and its copy.
    """
    n, d, k = int(n_samples), int(n_features), int(n_components)
    m = min(n, d)
    data = 2 * 4 * n * d
    square = 2 * (8 if m <= PCA_FLOAT64_UP_TO else 4) * m * m
    if square <= PCA_SQUARE_BUDGET:
        eigenpairs = min(m, max(k, PCA_MAX_COMPONENTS))
        work = square + 4 * 8 * m * (eigenpairs + 64)
    else:
        work = 3 * 4 * (n + d) * (k + 20)
    return data + work + 4 * k * (n + d)


def embedding_bytes(n_samples: int, n_dims: int, method: str) -> int:
    """Peak bytes of a 2-D embedding of ``n_samples`` points of ``n_dims`` dimensions.

    ``n_dims`` is the input the method sees (PCA scores, 50 to 300 columns by
    default in core.manifold). With ``n`` points and ``d`` input dimensions:

    * ``"pca"``: the projection is sliced from the decomposition: ``4 n d``.
    * ``"tsne"``, ``"umap"``: linear in ``n``. A float64 copy of the input
      and the neighbour index (``16 n d``), the k-NN graph and affinities at
      40 bytes per edge (indices, distances, symmetrised values) with 90
      (t-SNE) or 15 (UMAP) neighbours, plus a fixed 256 MB.
    * ``"mds"``: quadratic. Up to :data:`MDS_EXACT_MAX` points, four
      ``n x n`` float32 matrices (the distances, those of the classical start
      and two temporaries): ``16 n**2``; above, the same on
      :data:`MDS_LANDMARKS` points plus blocks of 4,096 rows against them.
      Plus ``24 n d`` for the float64 input and its SVD.
    * ``"lle"``: quadratic, an assumption, not a measurement: scikit-learn
      factorizes the sparse ``n x n`` matrix ``(I - W)^T (I - W)`` for its
      shift-invert eigensolver, and the fill-in of a k-NN graph's factor is
      not bounded by its non-zeros; ``4 n**2`` is taken as the ceiling,
      plus ``16 n d`` for the float64 input and the neighbour search.

    Parameters
    ----------
    n_samples, n_dims : int
    method : {"pca", "tsne", "umap", "mds", "lle"}

    Returns
    -------
    int
    """
    n, d = int(n_samples), int(n_dims)
    if method == "pca":
        return 4 * n * d
    if method in ("tsne", "umap"):
        k = _TSNE_NEIGHBORS if method == "tsne" else _UMAP_NEIGHBORS
        return 16 * n * d + 40 * n * k + _EMBEDDING_OVERHEAD
    if method == "mds":
        if n <= MDS_EXACT_MAX:
            pairs = 16 * n * n
        else:
            pairs = 16 * MDS_LANDMARKS**2 + 3 * 8 * 4096 * MDS_LANDMARKS
        return pairs + 24 * n * d
    if method == "lle":
        return 4 * n * n + 16 * n * d
    raise ValueError(f"unknown embedding method {method!r}; expected pca, tsne, umap, mds or lle")


def mixture_bytes(n_samples: int, n_dims: int, n_components: int) -> int:
    """Peak bytes of fitting a full-covariance Gaussian mixture (scikit-learn).

    Float64 throughout: the data and one centred copy per component in turn
    (``16 n d``); responsibilities, weighted log-probabilities and their
    temporaries (``32 n k``); covariances, precisions and their Cholesky
    factors (``24 k d**2``).

    Parameters
    ----------
    n_samples, n_dims, n_components : int

    Returns
    -------
    int
    """
    n, d, k = int(n_samples), int(n_dims), int(n_components)
    return 16 * n * d + 32 * n * k + 24 * k * d * d


def training_bytes(n_samples: int, image_shape: tuple[int, ...], *,
                   input_shape: Optional[tuple[int, ...]] = None, batch_size: int = 64) -> int:
    """Peak bytes of training the classifier on ``n_samples`` uint8 images.

    * The images, uint8, twice (the training slice and tf.data's copy):
      ``2 n prod(image_shape)``.
    * The SVC partner's grayscale float32 features, standardized copy and
      PCA's centred copy: ``3 * 4 n h w``.
    * One batch of activations and their gradients, an assumption of
      :data:`_ACTIVATIONS_PER_INPUT` float32 per input value:
      ``4 * 64 * batch * prod(input_shape)``.
    * TensorFlow's runtime, weights and optimiser state: a fixed 1 GB.

    Parameters
    ----------
    n_samples : int
    image_shape : tuple of int
        Stored image shape, ``(height, width, channels)`` (80, 60, 3 in core.classifier).
    input_shape : tuple of int, optional
        What the network sees when it differs (the notebook's model upscales
        to 400 x 400 x 3). Default ``image_shape``.
    batch_size : int, default 64

    Returns
    -------
    int
    """
    n = int(n_samples)
    image = math.prod(int(s) for s in image_shape)
    pixels = math.prod(int(s) for s in image_shape[:2])
    seen = math.prod(int(s) for s in (input_shape or image_shape))
    return (2 * n * image + 3 * 4 * n * pixels
            + 4 * _ACTIVATIONS_PER_INPUT * int(batch_size) * seen + _TRAINING_OVERHEAD)
