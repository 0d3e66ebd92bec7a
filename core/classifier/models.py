"""The Keras models: the notebook's seed CNN, the default CNN, their recipes and outputs.

* :func:`build_seed_model`: the notebook's model layer for layer, on 400x400
  inputs (:func:`~core.classifier.inputs.seed_input`), with :data:`SEED_RECIPE`;
* :func:`build_default_model`: the CNN designed for the catalogue's 80x60
  colour photos, trained with :data:`DEFAULT_RECIPE` (:func:`auto_epochs`,
  :func:`class_weights`);
* what is read from a trained model: probabilities (:func:`default_proba`,
  :func:`seed_proba`), the unit-length embedding behind nearest neighbours
  (:func:`embedder`, :func:`embed`) and :func:`parameter_counts`.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .. import config
from . import backend
from .inputs import IMAGE_HEIGHT, IMAGE_WIDTH, SEED_SIZE, seed_input

#: The models :func:`core.classifier.train` knows.
MODELS = ("default", "seed")


def build_seed_model():
    """The notebook's CNN, layer for layer.

    Conv2D 25 3x3 relu on 400x400x3, MaxPool 2, Conv2D 50 3x3 relu, MaxPool 2,
    Flatten, Dense 100/50/25 relu with L2 0.05, Dense 8 softmax; Adam 1e-3.
    48,038,633 parameters, 258 of them biases.

    Returns
    -------
    keras.Model
        Compiled with sparse categorical cross-entropy.
    """
    keras = backend.keras()
    from keras import layers, regularizers

    l2 = regularizers.l2(0.05)
    model = keras.Sequential([
        keras.Input((SEED_SIZE, SEED_SIZE, 3)),
        layers.Conv2D(25, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(50, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(100, activation="relu", kernel_regularizer=l2),
        layers.Dense(50, activation="relu", kernel_regularizer=l2),
        layers.Dense(25, activation="relu", kernel_regularizer=l2),
        layers.Dense(8, activation="softmax"),
    ], name="seed")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def build_default_model(n_classes=len(config.CATEGORIES), width: int = 32,
                        dropout: float = 0.2):
    """The CNN designed for this data: 80x60 colour in, a few conv blocks, global pooling, one head per attribute.

    Full resolution in the first block (the catalogue's details, such as a watch's
    dial or a bottle's cap, are only a few pixels wide), batch normalisation
    after every convolution, global average pooling instead of a large dense
    head, and augmentation layers that are active only while training
    (horizontal flip, small shifts and zoom: the catalogue is centred on a white
    background, so larger distortions only teach what never occurs).

    Parameters
    ----------
    n_classes : int or sequence of int
        Outputs: an int gives one softmax named ``"probabilities"``; a
        sequence gives the tagger, one softmax head per attribute named
        ``"head_0"``, ``"head_1"``... on the same trunk (the primary first).
    width : int
        Channels of the first block; later blocks double it.
    dropout : float
        Dropout before the classifier.

    Returns
    -------
    keras.Model
        Not compiled; its layer named ``"embedding"`` is the penultimate
        representation used for nearest neighbours. Its heads share the whole
        trunk: a finer attribute (articleType) and a coarser one
        (masterCategory) train the same features, which is what makes the
        finer ones affordable.
    """
    keras = backend.keras()
    from keras import layers

    def conv(x, filters, strides=1):
        x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        return layers.Activation("relu")(x)

    inputs = keras.Input((IMAGE_HEIGHT, IMAGE_WIDTH, 3), name="image")
    x = layers.RandomFlip("horizontal", name="aug_flip")(inputs)
    x = layers.RandomTranslation(0.08, 0.08, fill_mode="nearest", name="aug_shift")(x)
    x = layers.RandomZoom((-0.1, 0.1), fill_mode="nearest", name="aug_zoom")(x)
    x = layers.Rescaling(1 / 127.5, offset=-1.0)(x)
    x = conv(x, width // 2)
    x = conv(x, width, strides=2)          # 40x30
    x = conv(x, width)
    x = layers.MaxPooling2D()(x)           # 20x15
    x = conv(x, width * 2)
    x = conv(x, width * 2)
    x = layers.MaxPooling2D()(x)           # 10x7
    x = conv(x, width * 4)
    x = conv(x, width * 4)
    x = layers.GlobalAveragePooling2D(name="embedding")(x)
    x = layers.Dropout(dropout)(x)
    if np.ndim(n_classes) == 0:
        outputs = layers.Dense(int(n_classes), activation="softmax", name="probabilities")(x)
    else:
        outputs = [layers.Dense(int(n), activation="softmax", name=f"head_{i}")(x)
                   for i, n in enumerate(n_classes)]
    return keras.Model(inputs, outputs, name="default")


def parameter_counts(model) -> dict:
    """Total, trainable and bias parameter counts computed from a Keras model."""
    total = int(sum(int(np.prod(w.shape)) for w in model.weights))
    trainable = int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))
    biases = int(sum(int(np.prod(w.shape)) for w in model.weights
                     if w.path.rsplit("/", 1)[-1] == "bias"))
    return {"total": total, "trainable": trainable, "biases": biases}


#: Training recipe of the default model; every entry is part of the cache key.
DEFAULT_RECIPE = {
    "width": 32,
    # "auto": 20 epochs on the 10% subsample, fewer on more data (14 on the
    # whole dataset), where each epoch already holds ten times the steps.
    "epochs": "auto",
    "batch_size": 64,
    "learning_rate": 3e-3,
    "weight_decay": 5e-4,
    "label_smoothing": 0.1,
    "dropout": 0.2,
    # Rare classes weigh (n / count) ** power, capped: enough that Personal
    # Care and Free Items are not ignored, not so much that Apparel suffers.
    "class_weight_power": 0.5,
    "class_weight_cap": 5.0,
    "warmup_epochs": 1,
    # The model answers with an exponential moving average of its weights
    # (Keras keeps it beside them), with this momentum at most: a shorter
    # training averages over its last fifth (ema_momentum_for). Measured on
    # the whole data, 14 epochs: masterCategory 98.70% against 98.66% with
    # the best epoch's weights, every finer head 0.2-0.8 points higher; at
    # 10%, neutral (96.32% mean over three seeds against 96.36%).
    "ema_momentum": 0.99,
    # The tagger's other heads (subCategory, articleType, gender, colour) each
    # weigh this much in the loss beside the primary head's 1: enough that the
    # shared trunk learns the finer distinctions, which also sharpen the primary.
    "aux_loss_weight": 0.5,
    # Values with fewer training products than this are grouped as "other"
    # (core.classifier.labels.MIN_COUNT).
    "min_count": 10,
    # The CNN's probabilities are averaged with a PCA + RBF SVC on the same
    # photos in grayscale; their mistakes differ, so the mixture beats both.
    # The SVC's weight is chosen on the tuning slice among these.
    "svc_weights": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
    "svc_components": 100,
    "svc_C": 10.0,
}
#: The notebook's training: 10 epochs of batches of 32 (Adam 1e-3, compiled in the model).
SEED_RECIPE = {"epochs": 10, "batch_size": 32}


def auto_epochs(n_fit: int) -> int:
    """Epochs of the default recipe for ``n_fit`` training images.

    20 on the 10% subsample (about 3,000 fitting images); more data needs
    fewer passes: 14 on the whole dataset (30,291), about 22 minutes of
    training on 2 idle cores (92 s an epoch), within the 30 minutes it may
    take. At least 8 and at most 20.
    """
    return int(np.clip(round(20 * (3400 / max(1, n_fit)) ** 0.155), 8, 20))


def ema_momentum_for(momentum: Optional[float], total_steps: int) -> float:
    """The moving average's momentum for a training of ``total_steps`` steps.

    ``momentum`` (the recipe's) at most, and no more than averages the last
    fifth of the steps (``1 - 5 / total_steps``), so that a short training
    (a small catalogue, a test) is not answered by its first weights; 0 (no
    averaging) for ``None`` or 0 or 5 steps and fewer.
    """
    if not momentum or total_steps <= 5:
        return 0.0
    return float(min(float(momentum), 1.0 - 5.0 / int(total_steps)))


def class_weights(y: np.ndarray, n_classes: int, power: float = 0.5, cap: float = 5.0) -> np.ndarray:
    """Per-class loss weights ``(max_count / count) ** power``, capped, mean 1 over the samples."""
    counts = np.bincount(y, minlength=n_classes).astype(float)
    w = np.ones(n_classes)
    present = counts > 0
    w[present] = np.minimum((counts[present].max() / counts[present]) ** power, cap)
    w /= (w[y].mean() if len(y) else 1.0)
    return w


def weighted_loss(weights: np.ndarray, label_smoothing: float = 0.0):
    """Cross-entropy on integer labels, smoothed, each sample weighed by its class's weight.

    One loss per head, so each attribute carries its own :func:`class_weights`
    (Keras' ``class_weight`` serves single-output models only).

    Parameters
    ----------
    weights : numpy.ndarray of shape (n_classes,)
    label_smoothing : float
        Share of the target spread evenly over the classes.

    Returns
    -------
    callable
        ``loss(y_true, y_pred)`` with ``y_true`` integer codes, ``y_pred`` probabilities.
    """
    backend.keras()
    from keras import ops

    w = np.asarray(weights, np.float32)
    n = len(w)

    def loss(y_true, y_pred):
        y = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        target = ops.one_hot(y, n) * (1.0 - label_smoothing) + label_smoothing / n
        ce = -ops.sum(target * ops.log(ops.clip(y_pred, 1e-7, 1.0)), axis=-1)
        return ce * ops.take(ops.convert_to_tensor(w), y)

    return loss


def recipe(model: str, epochs: Optional[int] = None) -> dict:
    """A copy of ``model``'s training recipe, with ``epochs`` overriding its own.

    Raises
    ------
    ValueError
        An unknown model, or fewer than one epoch.
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    out = dict(DEFAULT_RECIPE if model == "default" else SEED_RECIPE)
    if epochs is not None:
        if int(epochs) < 1:
            raise ValueError(f"epochs must be at least 1, got {epochs}")
        out["epochs"] = int(epochs)
    return out


# ----------------------------------------------------------------------------
# What a trained model answers
# ----------------------------------------------------------------------------
def head_probas(model, x: np.ndarray, tta: bool = True, batch_size: int = 256) -> list[np.ndarray]:
    """Probabilities of every head of the default model, averaged with the mirrored image when ``tta``.

    Parameters
    ----------
    model : keras.Model
    x : numpy.ndarray of shape (n, 80, 60, 3)
        Prepared images.

    Returns
    -------
    list of numpy.ndarray of shape (n, n_classes of the head)
        One per output, in the model's order (one for a single-output model).
    """
    x = np.asarray(x)
    shapes = model.output_shape if isinstance(model.output_shape, list) else [model.output_shape]
    out = [[] for _ in shapes]
    for start in range(0, len(x), batch_size):
        xb = np.asarray(x[start:start + batch_size], dtype=np.float32)
        ps = _as_list(model(xb, training=False))
        if tta:
            ps = [(p + q) / 2 for p, q in zip(ps, _as_list(model(xb[:, :, ::-1], training=False)))]
        for o, p in zip(out, ps):
            o.append(p)
    return [np.concatenate(o) if o else np.zeros((0, s[-1]), np.float32) for o, s in zip(out, shapes)]


def _as_list(outputs) -> list[np.ndarray]:
    if isinstance(outputs, (list, tuple)):
        return [np.asarray(o) for o in outputs]
    if isinstance(outputs, dict):
        return [np.asarray(outputs[k]) for k in sorted(outputs, key=lambda k: int(k.rsplit("_", 1)[-1]))]
    return [np.asarray(outputs)]


def default_proba(model, x: np.ndarray, tta: bool = True, batch_size: int = 256) -> np.ndarray:
    """Probabilities of the default model's first (primary) head; see :func:`head_probas`."""
    return head_probas(model, x, tta, batch_size)[0]


def seed_proba(model, x: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Class probabilities of the seed model, upscaled a batch at a time.

    The notebook's model has eight outputs for seven categories; the unused
    last one is dropped.

    Returns
    -------
    numpy.ndarray of shape (n, 7)
    """
    n_classes = len(config.CATEGORIES)
    out = [np.asarray(model(seed_input(np.asarray(x[start:start + batch_size])), training=False))[:, :n_classes]
           for start in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, n_classes))


def embedder(model):
    """A model from the same input to the penultimate representation."""
    keras = backend.keras()
    try:
        layer = model.get_layer("embedding")
    except ValueError:
        layer = model.layers[-2]
    inputs = model.inputs
    return keras.Model(inputs[0] if len(inputs) == 1 else inputs, layer.output)


def embed(embedder, x: np.ndarray, seed: bool = False) -> np.ndarray:
    """Unit-length embeddings of prepared images ``(n, 80, 60, 3)``.

    Parameters
    ----------
    embedder : keras.Model
        From :func:`embedder`.
    seed : bool
        The seed model's embedder: its inputs are upscaled (:func:`seed_input`)
        32 images at a time, since a 400x400 batch is large.

    Returns
    -------
    numpy.ndarray of float32, shape (n, n_dims)
        Each row of length 1: the distance then compares the shape of the
        response, not the overall activation (which grows with contrast).
    """
    batch_size = 32 if seed else 256
    out = []
    for start in range(0, len(x), batch_size):
        xb = np.asarray(x[start:start + batch_size], dtype=np.float32)
        if seed:
            xb = seed_input(xb)
        out.append(np.asarray(embedder(xb, training=False), dtype=np.float32))
    e = np.concatenate(out) if out else np.zeros((0, embedder.output_shape[-1]), np.float32)
    return unit_rows(e)


def unit_rows(e: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (an all-zero row stays zero)."""
    return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
