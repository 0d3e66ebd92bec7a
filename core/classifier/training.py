"""Training a classifier on the notebook's split, evaluated and cached.

:func:`train` runs its named steps, memoized as one: read the photos, split
them and map every attribute's labels (:func:`_split_photos`), fit the model
(:func:`_fit_default`, one head per attribute, with its PCA + SVC partner on the
primary; or :func:`_fit_seed`), evaluate every attribute on the reported
validation set (:func:`_validate`), check the catalogue's labels on the products
the model never trained on (:func:`_check`), save the ``.keras`` file,
calibrate the out-of-distribution thresholds on the tuning slice
(:func:`_calibrate_ood`) and embed the catalogue for nearest neighbours. Early
stopping, the partner's weight and the thresholds use the tuning slice only,
never the validation set.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .. import admission, cache, config
from ..neighbors import kneighbors
from ..progress import ProgressFn, report, scaled
from . import backend
from . import labels
from .check import label_issues
from .inputs import dataset_images, seed_input, split
from .metrics import evaluate
from .models import (SEED_RECIPE, auto_epochs, build_default_model, build_seed_model, class_weights,
                     default_proba, ema_momentum_for, embed, embedder, head_probas, parameter_counts,
                     recipe, seed_proba, weighted_loss)
from .svc import PCASVC, choose_weight, fit_partner, mix, partner_proba

#: Below this top probability an answer is flagged as uncertain (lowered per
#: model to what the least sure 2% of the tuning slice get).
LOW_CONFIDENCE = 0.6

#: Version of the trained models, their files and embeddings in the cache.
_MODEL_VERSION = 3

#: Server setting: whether visitors of the app may start a training. The CLI
#: (the operator) always may; the Docker image sets it to 0 and is served a
#: model trained once with ``python -m core train``.
ALLOW_TRAINING_ENV = "FASHION_ALLOW_TRAINING"

#: At most one training at a time in this process, whatever the heavy-work
#: slots allow: two would each take all the CPUs and both finish late.
_TRAININGS = admission.Admission(slots=lambda: 1)


#: Classes the notebook's seed model answers (its eight outputs, the last unused).
SEED_CLASSES = 7


class TrainingNotAllowed(PermissionError):
    """This server does not let visitors train; an operator must train from the command line."""


def training_allowed() -> bool:
    """Whether ``$FASHION_ALLOW_TRAINING`` lets visitors start a training (default: yes).

    ``0``, ``false``, ``no`` and ``off`` (any case) forbid it; anything else,
    or nothing, allows it, which suits one person running the app locally.
    """
    value = os.environ.get(ALLOW_TRAINING_ENV, "").strip().lower()
    return value not in {"0", "false", "no", "off"}


def _rows(sub):
    """The subsample with the image settings reset: the classifier reads its own photos."""
    from ..subsample import Subsample

    return Subsample(sub.dataset, fraction=float(sub.fraction), seed=int(sub.seed))


def _resolved_recipe(sub, model: str, epochs: Optional[int]) -> dict:
    """The recipe with ``"auto"`` epochs made concrete for this subsample's size (the cache key)."""
    resolved = recipe(model, epochs)
    if resolved.get("epochs") == "auto":
        fit, _, _ = split(len(_rows(sub).ids))
        resolved["epochs"] = auto_epochs(len(fit))
    return resolved


# ----------------------------------------------------------------------------
# The training loops
# ----------------------------------------------------------------------------
class _EpochLog:
    """Keras callback: per-epoch history on the tuning slice, progress per batch, best weights.

    ``predict(model, x)`` gives the list of head probabilities; the primary
    (first) head's tuning accuracy picks the best epoch, and every head's
    tuning accuracy is logged (``tune_accuracy``).
    """

    def __new__(cls, *args, **kwargs):
        keras = backend.keras()

        class Impl(keras.callbacks.Callback):
            def __init__(self, tune, epochs, steps, progress, predict):
                super().__init__()
                self.tune, self.epochs, self.steps = tune, epochs, steps
                self.progress, self.predict = progress, predict
                self.history = []
                self.best = (-1.0, None, -1)
                self.t0 = time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                if self.progress is not None and batch % 10 == 0:
                    done = (len(self.history) + (batch + 1) / self.steps) / self.epochs
                    report(self.progress, done,
                           f"epoch {len(self.history) + 1}/{self.epochs}, batch {batch + 1}/{self.steps}")

            def on_epoch_end(self, epoch, logs=None):
                logs = logs or {}
                # one accuracy metric, the primary head's (its key depends on the outputs' names)
                accuracy = next((v for k, v in logs.items() if k.endswith("accuracy")), np.nan)
                row = {"epoch": epoch + 1, "loss": float(logs.get("loss", np.nan)),
                       "accuracy": float(accuracy), "seconds": time.perf_counter() - self.t0}
                x_tune, ys_tune = self.tune
                if len(ys_tune[0]):
                    ps = self.predict(self.model, x_tune)
                    p, y = ps[0], ys_tune[0]
                    row["val_loss"] = float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-7, 1))))
                    row["val_accuracy"] = float(np.mean(p.argmax(1) == y))
                    row["tune_accuracy"] = [float(np.mean(q.argmax(1) == t)) for q, t in zip(ps, ys_tune)]
                    if row["val_accuracy"] >= self.best[0]:
                        self.best = (row["val_accuracy"], [w.copy() for w in self.model.get_weights()], epoch + 1)
                self.history.append(row)
                report(self.progress, (epoch + 1) / self.epochs,
                       f"epoch {epoch + 1}/{self.epochs}: accuracy {row['accuracy']:.3f}"
                       + (f", tuning accuracy {row['val_accuracy']:.3f}" if "val_accuracy" in row else "")
                       + (" (other heads " + ", ".join(f"{a:.3f}" for a in row["tune_accuracy"][1:]) + ")"
                          if len(row.get("tune_accuracy", ())) > 1 else ""))

        return Impl(*args, **kwargs)


def _fit_default(x_fit, ys_fit, x_tune, ys_tune, n_classes, recipe: dict, seed: int, progress=None):
    """Train the default model, one head per attribute; returns the model, history and best epoch.

    ``ys_fit`` and ``ys_tune`` hold one code array per head, the primary first;
    ``n_classes`` the classes of each head.
    """
    keras = backend.keras()
    tf = backend.tensorflow()

    keras.utils.set_random_seed(int(seed))
    model = build_default_model(list(n_classes), width=recipe["width"], dropout=recipe["dropout"])
    epochs = auto_epochs(len(ys_fit[0])) if recipe["epochs"] == "auto" else int(recipe["epochs"])
    batch = int(recipe["batch_size"])
    steps = int(np.ceil(len(ys_fit[0]) / batch))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=recipe["learning_rate"] / 10, decay_steps=max(1, steps * epochs),
        warmup_target=recipe["learning_rate"], warmup_steps=steps * recipe["warmup_epochs"])
    losses = [weighted_loss(class_weights(y, n, recipe["class_weight_power"], recipe["class_weight_cap"]),
                            recipe["label_smoothing"]) for y, n in zip(ys_fit, n_classes)]
    aux = float(recipe.get("aux_loss_weight", 1.0))
    # An exponential moving average of the weights (recipe "ema_momentum"):
    # Keras keeps it beside the weights and writes it into them when fit ends.
    ema = ema_momentum_for(recipe.get("ema_momentum"), steps * epochs)
    optimizer = keras.optimizers.AdamW(schedule, weight_decay=recipe["weight_decay"],
                                       use_ema=bool(ema), ema_momentum=float(ema or 0.99))
    model.compile(optimizer=optimizer,
                  loss=losses, loss_weights=[1.0] + [aux] * (len(losses) - 1),
                  metrics=[["sparse_categorical_accuracy"]] + [[] for _ in losses[1:]])
    targets = tuple(np.asarray(y, np.int32) for y in ys_fit)
    # the photos stay uint8 in memory (the whole catalogue is 600 MB so, 2.4 GB as
    # floats); each batch is cast on the way in
    ds = (tf.data.Dataset.from_tensor_slices((np.asarray(x_fit), targets))
          .shuffle(len(ys_fit[0]), seed=int(seed), reshuffle_each_iteration=True)
          .batch(batch).map(lambda x, y: (tf.cast(x, tf.float32), y)).prefetch(2))
    log = _EpochLog((np.asarray(x_tune), ys_tune), epochs, steps, progress,
                    lambda m, x: head_probas(m, x, tta=False))
    model.fit(ds, epochs=epochs, verbose=0, callbacks=[log])
    best_epoch = epochs
    if ema:  # the averaged weights are the answer; the log's best epoch held raw weights
        return model, log.history, best_epoch
    if log.best[1] is not None and log.best[0] > log.history[-1].get("val_accuracy", -1):
        model.set_weights(log.best[1])
        best_epoch = log.best[2]
    return model, log.history, best_epoch


def _fit_seed(x_fit, y_fit, x_tune, y_tune, epochs: int, seed: int, progress=None):
    """Train the notebook's model as it was: 400x400 inputs, batch 32, Adam 1e-3."""
    keras = backend.keras()
    tf = backend.tensorflow()

    keras.utils.set_random_seed(int(seed))
    model = build_seed_model()
    batch = SEED_RECIPE["batch_size"]

    # Plain TensorFlow ops, nothing for AutoGraph to convert (it would trip over
    # the environment set up on the way in).
    @tf.autograph.experimental.do_not_convert
    def upscale(x, y):
        return seed_input(x), y

    ds = (tf.data.Dataset.from_tensor_slices((np.asarray(x_fit), y_fit.astype(np.int64)))
          .shuffle(len(y_fit), seed=int(seed)).batch(batch).map(upscale).prefetch(2))
    steps = int(np.ceil(len(y_fit) / batch))
    log = _EpochLog((np.asarray(x_tune), [y_tune]), epochs, steps, progress,
                    lambda m, x: [seed_proba(m, x, batch_size=64)])
    model.fit(ds, epochs=epochs, verbose=0, callbacks=[log])
    return model, log.history, epochs


# ----------------------------------------------------------------------------
# The steps of one training
# ----------------------------------------------------------------------------
@dataclass
class _Photos:
    """The subsample's prepared photos, every attribute's labels and ids, and the split's row indices.

    ``ys[i]`` holds the codes of ``attributes[i]``; the primary comes first
    (``y``).
    """

    x: np.ndarray
    ys: list
    attributes: list
    ids: np.ndarray
    fit: np.ndarray
    tune: np.ndarray
    val: np.ndarray

    @property
    def y(self) -> np.ndarray:
        return self.ys[0]


@dataclass
class _Fitted:
    """A trained Keras model, its partner and how it answers."""

    model: str
    keras_model: object
    history: list
    best_epoch: int
    svc: Optional[PCASVC] = None
    svc_weight: float = 0.0

    def probas(self, x: np.ndarray) -> list[np.ndarray]:
        """Every head's answer: the mirror-averaged CNN, the primary mixed with the partner."""
        if self.model == "seed":
            return [seed_proba(self.keras_model, x, batch_size=64)]
        ps = head_probas(self.keras_model, x)
        ps[0] = mix(ps[0], partner_proba(self.svc, x), self.svc_weight)
        return ps

    def proba(self, x: np.ndarray) -> np.ndarray:
        """The primary attribute's answer."""
        return self.probas(x)[0]


def _split_photos(rows, model: str, seed: int, min_count: int, progress=None) -> _Photos:
    """Step 1: the photos through :func:`~core.classifier.inputs.prepare`, the split, every attribute's labels.

    The label mappings (:func:`~core.classifier.labels.attributes`) come from
    the training part; the seed model answers the primary attribute only.
    """
    x = np.asarray(dataset_images(rows, progress=progress))
    frame = rows.frame()
    fit, tune, val = split(len(frame), random_state=seed)
    if len(fit) == 0:
        raise ValueError("the subsample is too small to train on; choose a larger fraction")
    columns = rows.label_columns if model == "default" else rows.label_columns[:1]
    attrs = labels.attributes(frame, columns, rows.categories, np.concatenate([fit, tune]), min_count)
    return _Photos(x, labels.encode_all(frame, attrs, rows.labels()), attrs, rows.ids, fit, tune, val)


def _fit(data: _Photos, model: str, recipe: dict, seed: int, progress=None) -> _Fitted:
    """Step 2: train the Keras model and, for the default model, its PCA + SVC partner.

    ``progress`` runs to 0.92 while training; the partner reports at 0.92.
    """
    x, y, fit, tune = data.x, data.y, data.fit, data.tune
    if model == "seed":
        km, history, best_epoch = _fit_seed(x[fit], y[fit], x[tune], y[tune], recipe["epochs"], seed,
                                            scaled(progress, 0.05, 0.92))
        return _Fitted(model, km, history, best_epoch)
    km, history, best_epoch = _fit_default(
        x[fit], [c[fit] for c in data.ys], x[tune], [c[tune] for c in data.ys],
        [a.n_classes for a in data.attributes], recipe, seed, scaled(progress, 0.05, 0.92))
    fitted = _Fitted(model, km, history, best_epoch)
    if len(np.unique(y[fit])) > 1 and recipe.get("svc_weights"):
        report(progress, 0.92, "fitting the PCA + SVC partner")
        fitted.svc = fit_partner(x[fit], y[fit], recipe["svc_components"], recipe["svc_C"], seed,
                                 data.attributes[0].n_classes)
        fitted.svc_weight = choose_weight(default_proba(km, x[tune]), partner_proba(fitted.svc, x[tune]),
                                          y[tune], recipe["svc_weights"])
    return fitted


def _validate(data: _Photos, fitted: _Fitted, heldout: np.ndarray) -> tuple[list, float, list]:
    """Step 3: every attribute's evaluation on the reported validation set.

    Returns the evaluations (one per attribute), the primary CNN's accuracy
    without its partner, and every head's probabilities on the ``heldout``
    rows (validation part and tuning slice), for the catalogue check.
    """
    x_held = data.x[heldout]
    ps = head_probas(fitted.keras_model, x_held) if fitted.model == "default" else fitted.probas(x_held)
    in_val = np.isin(heldout, data.val)
    cnn_accuracy = float(np.mean(ps[0][in_val].argmax(1) == data.y[data.val]))
    if fitted.model == "default":
        ps[0] = mix(ps[0], partner_proba(fitted.svc, x_held), fitted.svc_weight)
    train_rows = np.concatenate([data.fit, data.tune])
    evaluations = []
    for a, y, p in zip(data.attributes, data.ys, ps):
        majority = int(np.bincount(y[train_rows], minlength=a.n_classes).argmax())
        evaluations.append(evaluate(y[data.val], p[in_val], data.ids[data.val], classes=a.classes,
                                    majority_class=majority))
    return evaluations, cnn_accuracy, ps


def _check(data: _Photos, heldout: np.ndarray, probas: list) -> dict:
    """Step 4: the catalogue check (:func:`~core.classifier.check.label_issues`) per attribute."""
    return {a.column: label_issues(y[heldout], p, a.classes, data.ids[heldout])
            for a, y, p in zip(data.attributes, data.ys, probas)}


def _save(fitted: _Fitted, rows, recipe: dict, seed: int):
    """Step 5: the ``.keras`` file in the cache; returns its path.

    The model is saved uncompiled: its per-head losses are closures that
    need not (and could not) be restored.
    """
    keras = backend.keras()
    km = fitted.keras_model
    plain = keras.Model(km.inputs, km.outputs, name=km.name) if fitted.model == "default" else km
    return cache.cached_file("classifier.model", _MODEL_VERSION, (rows.rows_key(), fitted.model, recipe, seed),
                             lambda tmp: plain.save(tmp), ".keras")


def _calibrate_ood(data: _Photos, fitted: _Fitted) -> dict:
    """Step 6: out-of-distribution thresholds, from the tuning slice.

    ``low_confidence``: label smoothing and the mixture keep probabilities
    modest, so "low" is what only the least sure 2% of real products get, at
    most :data:`LOW_CONFIDENCE`. ``nn_distance``: how far a real product lies
    from its nearest training neighbour in the embedding (99th percentile).
    """
    x, fit, tune = data.x, data.fit, data.tune
    ood = {"low_confidence": LOW_CONFIDENCE, "nn_distance": None}
    if len(tune):
        confidence = fitted.proba(x[tune]).max(1)
        ood["low_confidence"] = float(min(LOW_CONFIDENCE, np.quantile(confidence, 0.02)))
    if len(tune) and len(fit):
        emb = embedder(fitted.keras_model)
        is_seed = fitted.model == "seed"
        d = kneighbors(embed(emb, x[tune], is_seed), embed(emb, x[fit], is_seed), 1)[0][:, 0]
        ood["nn_distance"] = float(np.quantile(d, 0.99))
        ood["tune_median_nn_distance"] = float(np.median(d))
    return ood


def catalogue_embedding(rows, info: dict, get_embedder, progress=None) -> np.ndarray:
    """Unit-length embeddings of every row's photo by the model of ``info``, cached on disk.

    Parameters
    ----------
    rows : core.subsample.Subsample
        The rows the model was trained on.
    info : dict
        The training's result (its ``model_file`` keys the cache).
    get_embedder : callable
        Returns the model's :func:`~core.classifier.models.embedder`; called
        only when the embedding is not cached.

    Returns
    -------
    numpy.ndarray of float32, shape (n_samples, n_dims)
    """
    def compute():
        report(progress, 0.0, "embedding the catalogue for nearest neighbours")
        return embed(get_embedder(), dataset_images(rows), info["model"] == "seed")

    return np.asarray(cache.cached_array("classifier.embedding", 1, (rows.rows_key(), info["model_file"]),
                                         compute))


@cache.memoize("classifier.train", version=_MODEL_VERSION)
def _train(rows, model: str, recipe: dict, seed: int, progress=None) -> dict:
    data = _split_photos(rows, model, seed, int(recipe.get("min_count", labels.MIN_COUNT)),
                         scaled(progress, 0.0, 0.05))
    t0, cpu0 = time.perf_counter(), time.process_time()
    fitted = _fit(data, model, recipe, seed, progress)
    seconds = time.perf_counter() - t0
    # CPU time of every thread: on a busy machine the wall time overstates the
    # cost, and cpu_seconds / n_cores is what an idle machine would take.
    cpu_seconds = time.process_time() - cpu0
    report(progress, 0.93, "evaluating on the validation set")
    heldout = np.sort(np.concatenate([data.val, data.tune]))
    evaluations, cnn_accuracy, probas = _validate(data, fitted, heldout)
    report(progress, 0.95, "checking the catalogue's labels")
    issues = _check(data, heldout, probas)
    path = _save(fitted, rows, recipe, seed)
    ood = _calibrate_ood(data, fitted)
    # the catalogue's embedding, for nearest neighbours and similar products:
    # computed now, while the model is in memory
    report(progress, 0.97, "embedding the catalogue")
    emb = embedder(fitted.keras_model)
    catalogue_embedding(rows, {"model": model, "model_file": path.name}, lambda: emb)
    evaluation = evaluations[0]
    report(progress, 1.0, f"trained in {seconds:.0f} s: validation accuracy {evaluation['accuracy']:.1%}")
    return {
        "model": model, "recipe": recipe, "seed": int(seed),
        "dataset": rows.dataset.fingerprint, "fraction": float(rows.fraction),
        "n_samples": int(len(data.y)), "n_fit": int(len(data.fit)), "n_tune": int(len(data.tune)),
        "n_val": int(len(data.val)), "val_ids": data.ids[data.val].tolist(),
        "seconds": float(seconds), "cpu_seconds": float(cpu_seconds), "history": fitted.history,
        "epochs": len(fitted.history), "best_epoch": int(fitted.best_epoch),
        "params": parameter_counts(fitted.keras_model), "val_accuracy": evaluation["accuracy"],
        "cnn_val_accuracy": cnn_accuracy, "svc": fitted.svc, "svc_weight": fitted.svc_weight,
        "evaluation": evaluation, "model_file": path.name, "ood": ood,
        "attributes": [a.to_dict() for a in data.attributes],
        "evaluations": {a.column: e for a, e in zip(data.attributes, evaluations)},
        "issues": issues, "n_checked": int(len(heldout)),
    }


# ----------------------------------------------------------------------------
# Public entry points
# ----------------------------------------------------------------------------
def train(sub, model: str = "default", epochs: Optional[int] = None, seed: int = 42,
          progress: Optional[ProgressFn] = None, *, allow: Optional[bool] = None,
          cancel=None) -> dict:
    """Train a classifier on the notebook's split of ``sub``, or load it from the cache.

    Parameters
    ----------
    sub : core.subsample.Subsample
        Rows to use; its image settings do not matter (the classifier reads the
        photos at 80x60 colour through :func:`~core.classifier.inputs.prepare`).
    model : {"default", "seed"}
        The designed CNN or the notebook's.
    epochs : int, optional
        Overrides the model's own number of epochs.
    seed : int
        Random seed of the weights, the shuffling and the tuning slice.
    progress : callable, optional
        ``progress(fraction, message)`` per batch and epoch, and the place in
        the queue while other heavy work runs.
    allow : bool, optional
        Whether a training may start when none is cached; default
        :func:`training_allowed` (the server's setting). The CLI passes True.
    cancel : threading.Event or callable, optional
        Stops waiting in the queue (:class:`core.admission.Cancelled`).

    Returns
    -------
    dict
        ``seconds`` of training, ``history`` (per epoch: loss, accuracy and, on
        the tuning slice, val_loss, val_accuracy), ``params`` (total, trainable,
        biases), ``val_accuracy`` and ``evaluation`` on the reported validation
        set (see :func:`~core.classifier.metrics.evaluate`), ``model_file``,
        ``ood`` thresholds.

    Raises
    ------
    TrainingNotAllowed
        When no model is cached and training is not allowed.
    core.admission.OverBudget
        When the training would not fit this server's memory budget.
    """
    if model == "seed" and len(sub.categories) > SEED_CLASSES:
        raise ValueError(f"The notebook's model answers at most {SEED_CLASSES} classes and this "
                         f"catalogue's {sub.label_columns[0]} has {len(sub.categories)}; use the "
                         "default model.")
    rows, resolved = _rows(sub), _resolved_recipe(sub, model, epochs)
    if _train.is_cached(rows, model, resolved, int(seed)):
        return _train(rows, model, resolved, int(seed))
    if not (training_allowed() if allow is None else allow):
        raise TrainingNotAllowed(
            f"No {model} model is trained for these settings, and this server does not let "
            f"visitors train ({ALLOW_TRAINING_ENV}=0). An operator can train one with "
            f"`python -m core train --fraction {float(sub.fraction):g} --model {model}`.")
    n = len(rows.ids)
    what = f"training the {model} model on {n:,} photos"
    need = admission.training_bytes(n, (80, 60, 3))
    advice = "Train on a smaller fraction, or ask the operator to train from the command line."
    with _TRAININGS.heavy(what, bytes_needed=need, advice=advice, progress=progress, cancel=cancel), \
            admission.heavy(what, bytes_needed=need, advice=advice, progress=progress, cancel=cancel):
        return _train(rows, model, resolved, int(seed), progress=progress)


def is_trained(sub, model: str = "default", epochs: Optional[int] = None, seed: int = 42) -> bool:
    """Whether :func:`train` would answer from the cache."""
    return _train.is_cached(_rows(sub), model, _resolved_recipe(sub, model, epochs), int(seed))


def best_trained(dataset, fractions, model: str = "default", seed: int = 42,
                 subsample_seed: int = config.DEFAULT_RANDOM_STATE):
    """The largest subsample of ``dataset`` among ``fractions`` with a trained ``model``.

    What answers an upload when the settings a person chose have no model yet:
    the best model the server already has, rather than a training that may
    take an hour or not fit the server.

    Parameters
    ----------
    dataset : core.dataset.Dataset
    fractions : iterable of float
        Subsample fractions to look at (the sidebar's).
    model : str, default "default"
    seed : int, default 42
        The training's seed, as :func:`is_trained`.
    subsample_seed : int
        The subsamples' seed.

    Returns
    -------
    core.subsample.Subsample or None
        The one with the most rows, or None when no fraction has a model.
    """
    from ..subsample import Subsample

    for fraction in sorted({float(f) for f in fractions}, reverse=True):
        candidate = Subsample(dataset, fraction=fraction, seed=subsample_seed)
        if is_trained(candidate, model, seed=seed):
            return candidate
    return None


def forget(sub, model: str = "default", epochs: Optional[int] = None, seed: int = 42) -> None:
    """Drop :func:`train`'s cached result, so the next call trains again (its file was lost)."""
    key = _train.key(_rows(sub), model, _resolved_recipe(sub, model, epochs), int(seed))
    cache.get_cache().delete(key)


def train_summary(sub, model: str = "default", epochs: Optional[int] = None, seed: int = 42,
                  progress=None) -> dict:
    """The figures of a training a person reads: accuracy per attribute, seconds, parameter counts.

    Trains first when no model is cached (``from_cache`` says which). The
    top-level ``val_accuracy``, ``macro_f1`` and ``per_class`` are the primary
    attribute's; ``attributes`` has, per attribute, ``val_accuracy`` (top-1),
    ``top5_accuracy``, ``majority_rate`` (always answering the training part's
    most frequent class), ``n_classes`` and ``other`` (the values grouped as
    "other", with their training counts).
    """
    cached = is_trained(sub, model, epochs, seed)
    r = train(sub, model, epochs, seed, progress=progress, allow=True)  # the operator asked
    return {
        "model": r["model"], "from_cache": cached, "val_accuracy": r["val_accuracy"],
        "cnn_val_accuracy": r["cnn_val_accuracy"], "svc_weight": r["svc_weight"],
        "macro_f1": r["evaluation"]["macro_f1"], "training_seconds": r["seconds"],
        "training_cpu_seconds": r.get("cpu_seconds"),
        "epochs": len(r["history"]), "best_epoch": r["best_epoch"],
        "params": r["params"], "n_train": r["n_fit"] + r["n_tune"], "n_tuning_slice": r["n_tune"],
        "n_val": r["n_val"],
        "attributes": {a["column"]: _attribute_summary(a, r["evaluations"][a["column"]])
                       for a in r["attributes"]},
        "label_issues": {column: len(found) for column, found in r["issues"].items()},
        "n_checked": r["n_checked"],
        "per_class": {c["category"]: {k: c[k] for k in ("precision", "recall", "f1", "support", "note")
                                      if k in c}
                      for c in r["evaluation"]["per_class"]},
        "history": r["history"],
    }


def _attribute_summary(attribute: dict, evaluation: dict) -> dict:
    return {"val_accuracy": evaluation["accuracy"], "top5_accuracy": evaluation["top_k_accuracy"],
            "majority_rate": evaluation["majority_rate"], "macro_f1": evaluation["macro_f1"],
            "n_classes": len(attribute["classes"]), "other": attribute["grouped"]}
