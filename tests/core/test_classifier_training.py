"""core.classifier.training and predict: who may train, one training at a time, loaded models."""
from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from core import admission
from core.classifier import predict, training


class _FakeTrain:
    """Stands in for the memoized ``_train``: records how many run at once."""

    def __init__(self, cached=False, seconds=0.3):
        self.cached, self.seconds = cached, seconds
        self.running = self.most = self.calls = 0
        self.lock = threading.Lock()

    def is_cached(self, *args):
        return self.cached

    def __call__(self, rows, model, recipe, seed, progress=None):
        with self.lock:
            self.calls += 1
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(self.seconds)
        with self.lock:
            self.running -= 1
        return {"model_file": f"m-{seed}.keras", "seed": seed}


@pytest.fixture
def fake(monkeypatch, tiny_sub):
    monkeypatch.setattr(training, "_resolved_recipe", lambda sub, model, epochs: {"epochs": 1})
    monkeypatch.setenv(admission.SLOTS_ENV, "4")  # the training limit must bite, not the slots
    f = _FakeTrain()
    monkeypatch.setattr(training, "_train", f)
    return f


@pytest.mark.parametrize("value,allowed", [(None, True), ("1", True), ("yes", True), ("0", False),
                                           ("false", False), (" OFF ", False), ("No", False)])
def test_training_allowed_reads_the_server_setting(monkeypatch, value, allowed):
    if value is None:
        monkeypatch.delenv(training.ALLOW_TRAINING_ENV, raising=False)
    else:
        monkeypatch.setenv(training.ALLOW_TRAINING_ENV, value)
    assert training.training_allowed() is allowed


def test_a_visitor_cannot_start_a_training_the_server_forbids(monkeypatch, fake, tiny_sub):
    monkeypatch.setenv(training.ALLOW_TRAINING_ENV, "0")
    with pytest.raises(training.TrainingNotAllowed, match="python -m core train --fraction 1"):
        training.train(tiny_sub)
    assert fake.calls == 0
    # the operator may, and a cached model is served whatever the setting
    assert training.train(tiny_sub, allow=True)["seed"] == 42
    fake.cached = True
    assert training.train(tiny_sub)["seed"] == 42


def test_at_most_one_training_at_a_time(fake, tiny_sub):
    threads = [threading.Thread(target=training.train, args=(tiny_sub,), kwargs={"seed": s})
               for s in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert fake.calls == 3 and fake.most == 1


def test_a_waiting_training_says_so_and_can_be_cancelled(fake, tiny_sub):
    fake.seconds = 1.5
    first = threading.Thread(target=training.train, args=(tiny_sub,), kwargs={"seed": 1})
    first.start()
    while fake.running == 0:
        time.sleep(0.01)
    messages, cancel = [], threading.Event()

    def progress(fraction, message):
        messages.append(message)
        cancel.set()

    with pytest.raises(admission.Cancelled):
        training.train(tiny_sub, seed=2, progress=progress, cancel=cancel)
    first.join(timeout=30)
    assert any("waiting for 1 computation ahead" in m for m in messages)
    assert fake.calls == 1


def test_loaded_models_are_capped_and_a_slow_load_blocks_no_one(monkeypatch, tiny_sub):
    gate = threading.Event()
    loads = []

    def load_model(path, compile=False):
        loads.append(path.name)
        if path.name == "m-3.keras":
            gate.wait(timeout=30)
        return SimpleNamespace(name=path.name)

    monkeypatch.setattr(predict, "train", lambda sub, model, epochs, seed, **kw:
                        {"model_file": f"m-{seed}.keras"})
    monkeypatch.setattr(predict.backend, "keras", lambda: SimpleNamespace(
        saving=SimpleNamespace(load_model=load_model)))
    monkeypatch.setattr(predict, "Predictor", lambda sub, info, km, progress=None: km)
    monkeypatch.setattr(predict.cache, "files_dir", lambda: _AlwaysThere())
    monkeypatch.setattr(predict, "_loaded", predict.OrderedDict())

    one = predict.load(tiny_sub, seed=1)
    assert predict.load(tiny_sub, seed=1) is one and loads == ["m-1.keras"]
    slow = threading.Thread(target=predict.load, args=(tiny_sub,), kwargs={"seed": 3})
    slow.start()
    while "m-3.keras" not in loads:
        time.sleep(0.01)
    t0 = time.perf_counter()
    assert predict.load(tiny_sub, seed=1) is one  # answered while model 3 is still loading
    assert time.perf_counter() - t0 < 1.0
    gate.set()
    slow.join(timeout=30)
    predict.load(tiny_sub, seed=2)
    assert len(predict._loaded) == predict.MAX_LOADED
    assert [k[0] for k in predict._loaded] == ["m-3.keras", "m-2.keras"]  # model 1 released


class _AlwaysThere:
    def __truediv__(self, name):
        return _Existing(name)


class _Existing:
    def __init__(self, name):
        self.name = name

    def exists(self):
        return True


def test_the_moving_average_recipe_answers_with_the_averaged_weights():
    """``ema_momentum`` turns on Keras's moving average; the last (averaged) weights are kept."""
    import numpy as np

    from core.classifier import models

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (48, models.IMAGE_HEIGHT, models.IMAGE_WIDTH, 3), dtype=np.uint8)
    y = rng.integers(0, 3, 48)
    recipe = {**models.DEFAULT_RECIPE, "width": 8, "batch_size": 16, "epochs": 3, "ema_momentum": 0.5}
    model, history, best_epoch = training._fit_default(x[:32], [y[:32]], x[32:], [y[32:]], [3],
                                                       recipe, seed=0)
    # 2 steps an epoch, 6 in all: the momentum averages the last fifth of them at most
    assert model.optimizer.use_ema
    assert models.ema_momentum_for(0.5, 6) < 0.5
    assert model.optimizer.ema_momentum == pytest.approx(models.ema_momentum_for(0.5, 6))
    assert len(history) == 3 and best_epoch == 3
    # the weights Keras wrote at the end are the optimizer's averages
    optimizer = model.optimizer
    pairs = list(zip(optimizer._trainable_variables, optimizer._model_variables_moving_average))
    assert len(pairs) == len(model.trainable_variables)
    for variable, average in pairs:
        np.testing.assert_allclose(np.asarray(variable), np.asarray(average), rtol=1e-6)
