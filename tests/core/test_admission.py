"""Admission control: fair queueing of heavy computations and the memory budget.

The threaded tests synchronise on events set by the progress callback and the
blocks themselves, never on sleeps; every join has a timeout so a regression
fails instead of hanging the suite.
"""
from __future__ import annotations

import logging
import threading

import numpy as np
import pytest

from core import admission
from core.admission import GB, Admission, Cancelled, OverBudget

JOIN = 5.0  # seconds a thread may take before the test calls it stuck


def _gate(slots: int = 1, budget: int = 10 * GB) -> Admission:
    return Admission(slots=lambda: slots, budget=lambda: budget)


class Worker:
    """A thread that enters ``gate.heavy`` and holds it until released."""

    def __init__(self, gate, what, *, bytes_needed=0, cancel=None, hold=True, order=None):
        self.what = what
        self.messages: list[str] = []
        self.error: BaseException | None = None
        self.entered = threading.Event()
        self.release = threading.Event()
        self.waiting = threading.Event()  # set on the first position report
        self._seen = threading.Condition()
        if not hold:
            self.release.set()

        def progress(fraction, message):
            with self._seen:
                self.messages.append(message)
                self._seen.notify_all()
            self.waiting.set()

        def run():
            try:
                with gate.heavy(what, bytes_needed=bytes_needed, progress=progress, cancel=cancel):
                    if order is not None:
                        order.append(what)
                    self.entered.set()
                    self.release.wait(JOIN)
            except BaseException as exc:  # noqa: BLE001 - handed to the test
                self.error = exc

        self.thread = threading.Thread(target=run, name=what, daemon=True)
        self.thread.start()

    def wait_for_message(self, text: str) -> str:
        with self._seen:
            ok = self._seen.wait_for(lambda: any(text in m for m in self.messages), JOIN)
        assert ok, f"{self.what} never reported {text!r}; got {self.messages}"
        return next(m for m in self.messages if text in m)

    def finish(self):
        self.release.set()
        self.thread.join(JOIN)
        assert not self.thread.is_alive(), f"{self.what} is stuck"


def _holder(gate, what="PCA of 42,072 images", **kwargs) -> Worker:
    w = Worker(gate, what, **kwargs)
    assert w.entered.wait(JOIN), "the first computation never started"
    return w


# ----------------------------------------------------------------------------
# Queue
# ----------------------------------------------------------------------------
def test_waiters_start_in_arrival_order_and_know_their_position():
    gate = _gate(slots=1)
    order: list[str] = []
    first = _holder(gate, "first", order=order)
    waiters = []
    for i, name in enumerate(["second", "third", "fourth"], start=1):
        w = Worker(gate, name, hold=False, order=order)
        # Enqueued once it has reported; only then start the next one.
        expected = "1 computation ahead" if i == 1 else f"{i} computations ahead"
        message = w.wait_for_message(expected)
        assert message.startswith(f"{name}: waiting for")
        assert "running now: first" in message
        waiters.append(w)
    assert gate.status()["waiting"] == 3
    first.finish()
    for w in waiters:
        w.finish()
        assert w.error is None
    assert order == ["first", "second", "third", "fourth"]
    assert gate.status() == {"running": [], "waiting": 0, "slots": 1,
                             "running_bytes": 0, "budget_bytes": 10 * GB}


def test_status_names_what_runs():
    gate = _gate(slots=1)
    first = _holder(gate, "t-SNE of 4,208 images")
    second = Worker(gate, "PCA")
    second.wait_for_message("1 computation ahead")
    assert gate.status()["running"] == ["t-SNE of 4,208 images"]
    assert gate.status()["waiting"] == 1
    first.finish()
    assert second.entered.wait(JOIN)
    assert second.messages[-1] == "PCA: starting"
    second.finish()


@pytest.mark.parametrize("token", ["event", "callable"])
def test_cancel_while_waiting_leaves_and_the_next_moves_up(token):
    gate = _gate(slots=1)
    first = _holder(gate)
    event = threading.Event()
    cancel = event if token == "event" else event.is_set
    second = Worker(gate, "second", cancel=cancel)
    second.wait_for_message("1 computation ahead")
    third = Worker(gate, "third")
    third.wait_for_message("2 computations ahead")

    event.set()
    # Cancel is looked at every POLL_EVERY (0.05 s): well within the join.
    second.thread.join(JOIN)
    assert not second.thread.is_alive()
    assert isinstance(second.error, Cancelled)
    assert "second was cancelled" in str(second.error)
    assert not second.entered.is_set()
    third.wait_for_message("1 computation ahead")  # moved up
    assert gate.status()["waiting"] == 1

    first.finish()
    assert third.entered.wait(JOIN)
    third.finish()
    assert gate.status()["running"] == [] and gate.status()["waiting"] == 0


def test_cancel_set_before_asking_never_starts():
    gate = _gate()
    event = threading.Event()
    event.set()
    with pytest.raises(Cancelled):
        with gate.heavy("x", cancel=event):
            pytest.fail("a cancelled request ran")
    assert gate.status()["waiting"] == 0


def test_an_exception_inside_the_block_releases_the_slot():
    gate = _gate(slots=1)
    with pytest.raises(RuntimeError, match="boom"):
        with gate.heavy("failing", bytes_needed=GB):
            raise RuntimeError("boom")
    assert gate.status()["running"] == [] and gate.status()["running_bytes"] == 0
    # Another thread gets the slot at once.
    w = _holder(gate, "next")
    w.finish()
    assert w.messages == []  # it never had to wait


def test_a_progress_callback_that_raises_leaves_the_queue_consistent():
    # Streamlit interrupts a script by raising from its next st call: here,
    # the callback that shows the position.
    gate = _gate(slots=1)
    first = _holder(gate)

    def rerun(fraction, message):
        raise KeyboardInterrupt("rerun")

    with pytest.raises(KeyboardInterrupt):
        with gate.heavy("interrupted", progress=rerun):
            pytest.fail("an interrupted request ran")
    assert gate.status()["waiting"] == 0
    first.finish()
    assert gate.status()["running"] == []


def test_nested_heavy_in_the_same_thread_passes_through():
    gate = _gate(slots=1, budget=2 * GB)
    done = threading.Event()

    def run():
        with gate.heavy("outer", bytes_needed=GB):
            with gate.heavy("inner", bytes_needed=GB):  # would exceed the budget if counted
                with gate.heavy("innermost"):
                    assert gate.status()["running"] == ["outer"]
            assert gate.status()["running"] == ["outer"]
        done.set()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(JOIN)
    assert done.is_set(), "nested heavy() deadlocked"
    # The thread left the gate entirely: a new call from it queues normally.
    assert gate.status()["running"] == []


def test_nested_heavy_still_refuses_what_alone_exceeds_the_budget():
    gate = _gate(budget=GB)
    with gate.heavy("outer"):
        with pytest.raises(OverBudget):
            with gate.heavy("inner", bytes_needed=2 * GB):
                pass
        assert gate.status()["running"] == ["outer"]


def test_two_slots_let_two_run_at_once(monkeypatch):
    monkeypatch.setenv(admission.SLOTS_ENV, "2")
    monkeypatch.setenv(admission.MEMORY_ENV, "100")
    gate = Admission()
    first = _holder(gate, "first")
    second = _holder(gate, "second")  # would time out with one slot
    assert gate.status()["running"] == ["first", "second"]
    third = Worker(gate, "third")
    third.wait_for_message("2 computations ahead")
    first.finish()
    assert third.entered.wait(JOIN)
    second.finish()
    third.finish()


def test_one_slot_from_the_environment_makes_the_second_wait(monkeypatch):
    monkeypatch.setenv(admission.SLOTS_ENV, "1")
    monkeypatch.setenv(admission.MEMORY_ENV, "100")
    gate = Admission()
    first = _holder(gate)
    second = Worker(gate, "second")
    second.wait_for_message("1 computation ahead")
    assert not second.entered.is_set()
    first.finish()
    second.finish()


def test_module_level_gate(monkeypatch):
    monkeypatch.setenv(admission.MEMORY_ENV, "100")
    with admission.heavy("module-level", bytes_needed=GB):
        assert admission.status()["running"] == ["module-level"]
        assert admission.status()["running_bytes"] == GB
    assert admission.status()["running"] == []


# ----------------------------------------------------------------------------
# Memory
# ----------------------------------------------------------------------------
def test_over_budget_is_refused_at_once_without_queueing(monkeypatch):
    monkeypatch.setenv(admission.MEMORY_ENV, "6")
    gate = Admission(slots=lambda: 1)
    first = _holder(gate)  # a full queue makes no difference: the refusal comes first
    need = admission.pca_bytes(42072, 30000, 640)
    advice = "Choose a smaller sample fraction, a smaller image size or grayscale."
    with pytest.raises(OverBudget) as info:
        with gate.heavy("PCA of 42,072 colour images at 100x100", bytes_needed=need, advice=advice):
            pytest.fail("an over-budget request ran")
    message = str(info.value)
    assert message == ("PCA of 42,072 colour images at 100x100 needs about 10.1 GB, over this "
                       "server's memory budget of 6.0 GB (FASHION_MEMORY_GB). " + advice)
    assert isinstance(info.value, ValueError)
    assert gate.status()["waiting"] == 0
    first.finish()


def test_check_memory_accepts_what_fits(monkeypatch):
    monkeypatch.setenv(admission.MEMORY_ENV, "2")
    admission.check_memory(2 * GB, "exactly the budget")
    with pytest.raises(OverBudget, match=r"needs about 2\.1 GB.*budget of 2\.0 GB"):
        admission.check_memory(2 * GB + 100 * 2**20, "a little more")
    # Just over: rounding must not make it read as equal to the budget.
    with pytest.raises(OverBudget, match=r"needs about 2\.1 GB.*budget of 2\.0 GB"):
        admission.check_memory(2 * GB + 1, "a hair more")
    with pytest.raises(OverBudget, match=r"budget of 1\.0 GB"):
        admission.check_memory(2 * GB, "an explicit budget", budget=GB)


def test_fits_alone_but_not_together_waits_for_memory():
    gate = _gate(slots=2, budget=GB)
    first = _holder(gate, "first", bytes_needed=600 * 2**20)
    second = Worker(gate, "second", bytes_needed=600 * 2**20)
    message = second.wait_for_message("waiting for memory")
    assert "1 computation ahead" in message
    assert "0.6 of 1.0 GB in use, 0.6 GB needed" in message
    assert not second.entered.is_set() and second.error is None
    first.finish()
    assert second.entered.wait(JOIN)
    assert gate.status()["running_bytes"] == 600 * 2**20
    second.finish()


def test_a_small_request_does_not_overtake_a_waiting_big_one():
    # First come, first served also for memory: otherwise a stream of small
    # requests could starve a big one forever.
    gate = _gate(slots=3, budget=GB)
    first = _holder(gate, "first", bytes_needed=600 * 2**20)
    big = Worker(gate, "big", bytes_needed=600 * 2**20)
    big.wait_for_message("waiting for memory")
    small = Worker(gate, "small", bytes_needed=1)
    small.wait_for_message("2 computations ahead")
    assert not small.entered.is_set()
    first.finish()
    assert big.entered.wait(JOIN)
    assert small.entered.wait(JOIN)
    big.finish()
    small.finish()


# ----------------------------------------------------------------------------
# Settings
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("raw", ["abc", "-1", "0", "nan", "inf", "1e400"])
def test_bad_memory_setting_falls_back_to_the_default_with_a_warning(monkeypatch, caplog, raw):
    admission._warned.clear()
    monkeypatch.setenv(admission.MEMORY_ENV, raw)
    with caplog.at_level(logging.WARNING, logger="core.admission"):
        assert admission.memory_budget() == admission.default_memory_budget()
    assert any(admission.MEMORY_ENV in r.getMessage() and repr(raw) in r.getMessage()
               for r in caplog.records)


def test_memory_setting_in_gb(monkeypatch):
    monkeypatch.setenv(admission.MEMORY_ENV, " 2.5 ")
    assert admission.memory_budget() == int(2.5 * GB)
    monkeypatch.setenv(admission.MEMORY_ENV, "")
    assert admission.memory_budget() == admission.default_memory_budget()


@pytest.mark.parametrize("raw", ["abc", "0", "-3", "1.5"])
def test_bad_slots_setting_falls_back_to_the_default_with_a_warning(monkeypatch, caplog, raw):
    admission._warned.clear()
    monkeypatch.setenv(admission.SLOTS_ENV, raw)
    with caplog.at_level(logging.WARNING, logger="core.admission"):
        assert admission.heavy_slots() == admission.default_heavy_slots()
    assert any(admission.SLOTS_ENV in r.getMessage() for r in caplog.records)


def test_slots_default_is_one_per_two_cpus(monkeypatch):
    monkeypatch.delenv(admission.SLOTS_ENV, raising=False)
    for cpus, slots in [(1, 1), (2, 1), (3, 1), (4, 2), (16, 8)]:
        monkeypatch.setattr(admission, "_cpus", lambda c=cpus: c)
        assert admission.heavy_slots() == slots
    monkeypatch.setenv(admission.SLOTS_ENV, "3")
    assert admission.heavy_slots() == 3


@pytest.mark.parametrize("text, expected", [
    ("max\n", None),
    ("2147483648\n", 2 * GB),
    ("not a number", None),
    ("0", None),
])
def test_cgroup_v2_limit(tmp_path, text, expected):
    path = tmp_path / "memory.max"
    path.write_text(text)
    assert admission.cgroup_memory_limit([path]) == expected


def test_cgroup_v1_is_read_when_v2_is_absent(tmp_path):
    v1 = tmp_path / "memory.limit_in_bytes"
    v1.write_text("1073741824\n")
    assert admission.cgroup_memory_limit([tmp_path / "absent", v1]) == GB
    assert admission.cgroup_memory_limit([tmp_path / "absent"]) is None


def test_default_budget_is_a_share_of_the_cgroup_limit(tmp_path, monkeypatch):
    path = tmp_path / "memory.max"
    path.write_text(str(4 * GB))
    monkeypatch.setattr(admission, "CGROUP_MEMORY_FILES", (path,))
    monkeypatch.setattr(admission, "physical_memory", lambda: 64 * GB)
    assert admission.default_memory_budget() == int(0.6 * 4 * GB)
    # An unlimited v1 cgroup writes a huge number: physical memory wins.
    path.write_text("9223372036854771712")
    assert admission.default_memory_budget() == int(0.6 * 64 * GB)
    path.write_text("max")
    assert admission.default_memory_budget() == int(0.6 * 64 * GB)


def test_physical_memory_is_plausible():
    assert 256 * 2**20 < admission.physical_memory() < 2**50


# ----------------------------------------------------------------------------
# Estimators
# ----------------------------------------------------------------------------
def test_pca_estimate_of_the_issue():
    # 42,072 x 30,000 float32 and its centred copy are 9.4 GB; the randomized
    # route and the outputs add the rest.
    need = admission.pca_bytes(42072, 30000, 640)
    assert 2 * 4 * 42072 * 30000 < need < 11 * GB
    assert admission.format_gb(need) == "10.1"


def test_pca_estimate_grows_with_the_input():
    small = admission.pca_bytes(4208, 10000, 640)
    assert small < admission.pca_bytes(42072, 10000, 640) < admission.pca_bytes(42072, 30000, 640)
    assert small < GB


@pytest.mark.parametrize("n, d", [(1000, 200), (200, 1000)])
def test_pca_estimate_covers_what_numpy_allocates(n, d):
    """The covariance and Gram routes, measured by tracemalloc (numpy reports to it).

    BLAS and LAPACK workspaces are not seen; the estimate had a margin of
    about 1.5x over the measured peak when this test was written.
    """
    import tracemalloc

    from core import pca

    rng = np.random.default_rng(0)
    pca.decompose(rng.standard_normal((50, 40)).astype(np.float32))  # imports outside the trace
    X = rng.standard_normal((n, d)).astype(np.float32)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = pca.decompose(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= admission.pca_bytes(n, d, result.components_.shape[0]), peak


def test_embedding_estimates():
    n, d = 4208, 50
    assert admission.embedding_bytes(n, d, "pca") == 4 * n * d
    tsne = admission.embedding_bytes(n, d, "tsne")
    assert admission.embedding_bytes(2 * n, d, "tsne") < 2 * tsne  # linear plus a constant
    assert admission.embedding_bytes(n, d, "umap") < tsne  # fewer neighbours
    mds = admission.embedding_bytes(n, 100, "mds")
    assert mds >= 16 * n * n  # quadratic up to the exact limit
    # Above it, landmarks bound the pairs: the whole dataset costs less than 8,000 exact points.
    assert admission.embedding_bytes(42072, 100, "mds") < admission.embedding_bytes(8000, 100, "mds")
    assert admission.embedding_bytes(2 * n, 300, "lle") > 3 * admission.embedding_bytes(n, 300, "lle")
    with pytest.raises(ValueError, match="unknown embedding method 'isomap'"):
        admission.embedding_bytes(n, d, "isomap")


def test_mixture_and_training_estimates():
    assert admission.mixture_bytes(1000, 2, 10) == 16 * 1000 * 2 + 32 * 1000 * 10 + 24 * 10 * 4
    assert admission.mixture_bytes(42072, 20, 48) < GB
    default = admission.training_bytes(42072, (80, 60, 3))
    seed = admission.training_bytes(42072, (80, 60, 3), input_shape=(400, 400, 3), batch_size=32)
    assert GB < default < seed
    assert admission.training_bytes(100, (80, 60, 3)) < default


def test_mirrored_constants_match_their_modules():
    """The estimators mirror route choices of core.pca and core.mds; a change there must show here."""
    from core import eigen, mds, pca

    assert admission.PCA_SQUARE_BUDGET == pca.DEFAULT_MEMORY_BUDGET
    assert admission.PCA_FLOAT64_UP_TO == eigen.FLOAT64_UP_TO
    assert admission.PCA_MAX_COMPONENTS == pca.MAX_STORED_COMPONENTS
    assert admission.MDS_EXACT_MAX == mds.MDS_EXACT_MAX
    assert admission.MDS_LANDMARKS == mds.MDS_LANDMARKS


def test_is_cancelled_accepts_events_callables_and_none():
    event = threading.Event()
    assert not admission.is_cancelled(None)
    assert not admission.is_cancelled(event)
    event.set()
    assert admission.is_cancelled(event)
    assert admission.is_cancelled(lambda: True)
    with pytest.raises(Cancelled, match="t-SNE was cancelled"):
        admission.raise_if_cancelled(event, "t-SNE")
