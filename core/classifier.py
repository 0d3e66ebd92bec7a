"""masterCategory classifier: the notebook's CNN, a CNN designed for this data, a classical baseline.

Three models answer the same question on the notebook's split (80/20,
``random_state=42``) of a subsample:

* ``seed``: exactly the notebook's Keras model (two convolutions on a 400x400x3
  input, 48,038,633 parameters), kept to measure what it cost;
* ``default``: a small batch-normalised CNN (293,495 parameters) on the
  catalogue's native 80 high by 60 wide colour photos, with cheap augmentation,
  label smoothing, rare classes weighed up (square root, capped), AdamW on a
  warm-up + cosine schedule and mirror test-time augmentation; its
  probabilities are averaged with a PCA + RBF SVC partner on the same photos
  in grayscale, with a weight chosen on the tuning slice;
* ``baseline``: PCA + RBF SVC on the notebook's standardized grayscale features.

Training and uploads share one preprocessing function, :func:`prepare`. Early
stopping, the out-of-distribution threshold and every other tuning use a slice
of the training part (:func:`split`), never the reported validation set.
Trained models are saved as ``.keras`` files in the disk cache, keyed by the
dataset's fingerprint and every parameter, and their metrics are memoized.
"""
from __future__ import annotations

import io
import os
import threading
import time
from typing import Iterable, Optional, Sequence

import numpy as np

from . import cache, config
from .progress import report, scaled

#: Input of the default model: the catalogue's native photo size (height, width).
IMAGE_HEIGHT, IMAGE_WIDTH = 80, 60
#: Largest upload accepted, the same as ``server.maxUploadSize`` in
#: ``.streamlit/config.toml`` (20 MB), so the app and the CLI refuse the same files.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: Largest decoded image accepted (pixels); a decompression bomb is refused
#: before its pixels are allocated.
MAX_IMAGE_PIXELS = 40_000_000
#: Formats accepted for uploads (Pillow's format names).
UPLOAD_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "MPO")
#: File extensions offered by the page's uploader.
UPLOAD_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "gif")
#: Share of the training part held out for early stopping and calibration.
TUNING_FRACTION = 0.1
#: Below this top probability an answer is flagged as uncertain (lowered per
#: model to what the least sure 2% of the tuning slice get).
LOW_CONFIDENCE = 0.6
MODELS = ("default", "seed")
#: The catalogue's background, used to pad uploads of another aspect ratio.
_BACKGROUND = (255, 255, 255)

_MODEL_VERSION = 1


class UploadError(ValueError):
    """An image that cannot be classified, with a message a person can act on."""


# ----------------------------------------------------------------------------
# Preprocessing: one route for training and uploads
# ----------------------------------------------------------------------------
def prepare(image) -> np.ndarray:
    """Turn one image into the default model's input.

    The only preprocessing of the classifier: every dataset image during
    training and every upload goes through it. EXIF orientation is applied, any
    mode (palette, RGBA, grayscale, CMYK, 16-bit) becomes RGB (transparency over
    white, the catalogue's background), another aspect ratio is padded with white
    to 3:4, and the result is resized to 60 wide by 80 high.

    Parameters
    ----------
    image : PIL.Image.Image or numpy.ndarray
        An image, or a uint8 array of shape ``(h, w)`` or ``(h, w, 3)``.

    Returns
    -------
    numpy.ndarray
        uint8 array of shape ``(80, 60, 3)``.
    """
    from PIL import Image, ImageOps

    if isinstance(image, np.ndarray):
        arr = image
        if arr.dtype != np.uint8:
            arr = np.clip(arr, 0, 255).astype(np.uint8)
        image = Image.fromarray(arr)
    image = ImageOps.exif_transpose(image)
    image = _to_rgb(image)
    w, h = image.size
    # Pad to the catalogue's 3:4 aspect rather than stretch: a square photo of a
    # shoe stays a shoe, not a tall thin one.
    target_w = max(w, int(round(h * IMAGE_WIDTH / IMAGE_HEIGHT)))
    target_h = max(h, int(round(w * IMAGE_HEIGHT / IMAGE_WIDTH)))
    if (target_w, target_h) != (w, h):
        canvas = Image.new("RGB", (target_w, target_h), _BACKGROUND)
        canvas.paste(image, ((target_w - w) // 2, (target_h - h) // 2))
        image = canvas
    if image.size != (IMAGE_WIDTH, IMAGE_HEIGHT):
        image = image.resize((IMAGE_WIDTH, IMAGE_HEIGHT), Image.Resampling.BICUBIC)
    return np.asarray(image, dtype=np.uint8).copy()


def _to_rgb(image):
    from PIL import Image

    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16/32-bit grayscale: scale to 8 bits by the actual range of the format.
        arr = np.asarray(image, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        arr = np.clip(arr / top * 255.0, 0, 255).astype(np.uint8)
        image = Image.fromarray(arr, "L")
    elif mode == "F":
        arr = np.asarray(image, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        arr = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        image = Image.fromarray(arr.astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode in ("RGB", "L") and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _BACKGROUND + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def open_upload(data: bytes, name: str = "image", max_bytes: int = MAX_UPLOAD_BYTES):
    """Validate and decode an uploaded file.

    Parameters
    ----------
    data : bytes
        The file's content.
    name : str
        Its name, for messages.
    max_bytes : int
        Largest size accepted.

    Returns
    -------
    PIL.Image.Image
        The decoded image, fully loaded (first frame of an animation).

    Raises
    ------
    UploadError
        Empty file, over the size limit, not an image, an unsupported format, a
        truncated file or a decompression bomb.
    """
    from PIL import Image

    if len(data) == 0:
        raise UploadError(f"{name}: the file is empty")
    if len(data) > max_bytes:
        raise UploadError(f"{name}: the file is {len(data) / 1e6:.1f} MB, over the "
                          f"{max_bytes / 2**20:.0f} MB upload limit; send a smaller image")
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise UploadError(f"{name}: refused as a possible decompression bomb ({exc})") from None
    except Exception:
        raise UploadError(f"{name}: not an image Pillow can read; send a JPEG, PNG, WebP "
                          "or GIF photo") from None
    if image.format not in UPLOAD_FORMATS:
        raise UploadError(f"{name}: {image.format} images are not accepted; send a JPEG, "
                          "PNG, WebP or GIF photo")
    w, h = image.size
    if w * h > MAX_IMAGE_PIXELS:
        raise UploadError(f"{name}: {w}x{h} is {w * h / 1e6:.0f} megapixels, over the "
                          f"{MAX_IMAGE_PIXELS / 1e6:.0f} megapixel limit (a possible "
                          "decompression bomb); send a smaller image")
    if w == 0 or h == 0:
        raise UploadError(f"{name}: the image has no pixels")
    try:
        image.load()
    except Exception as exc:
        raise UploadError(f"{name}: the image is truncated or corrupt ({exc}); send the "
                          "complete file") from None
    return image


def prepare_upload(data: bytes, name: str = "image", max_bytes: int = MAX_UPLOAD_BYTES) -> np.ndarray:
    """Validate an uploaded file and turn it into the model's input; see :func:`prepare`."""
    image = open_upload(data, name, max_bytes)
    try:
        return prepare(image)
    except UploadError:
        raise
    except Exception as exc:
        raise UploadError(f"{name}: the image could not be converted ({exc})") from None


def dataset_images(sub, progress=None) -> np.ndarray:
    """The subsample's photos through :func:`prepare`, in the frame's order.

    Returns
    -------
    numpy.ndarray
        Memory-mapped uint8 array of shape ``(n_samples, 80, 60, 3)``.
    """
    from PIL import Image

    ids = sub.ids
    dataset = sub.dataset

    def compute():
        out = np.empty((len(ids), IMAGE_HEIGHT, IMAGE_WIDTH, 3), np.uint8)
        for i, pid in enumerate(ids):
            with Image.open(dataset.image_path(pid)) as im:
                out[i] = prepare(im)
            if i % 500 == 0:
                report(progress, i / max(1, len(ids)), f"decoding photos {i}/{len(ids)}")
        report(progress, 1.0, "photos decoded")
        return out

    return cache.cached_array("classifier.images", 1, (sub.rows_key(),), compute)


# ----------------------------------------------------------------------------
# The notebook's split
# ----------------------------------------------------------------------------
def split(n_samples: int, random_state: int = 42, tuning_fraction: float = TUNING_FRACTION):
    """Indices of the notebook's split and of the tuning slice.

    The notebook's plain ``train_test_split(test_size=0.2, random_state=42)``
    gives the training part and the reported validation set. A slice of the
    training part (``tuning_fraction``, stratified-free, seeded) is held out for
    early stopping and calibration, so the validation set never tunes anything.

    Returns
    -------
    fit, tune, val : numpy.ndarray
        Row indices.
    """
    from sklearn.model_selection import train_test_split

    idx = np.arange(n_samples)
    train, val = train_test_split(idx, test_size=0.2, random_state=42)
    if tuning_fraction <= 0 or len(train) < 10:
        return np.sort(train), np.sort(train[:0]), np.sort(val)
    fit, tune = train_test_split(train, test_size=tuning_fraction, random_state=random_state)
    return np.sort(fit), np.sort(tune), np.sort(val)


# ----------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------
def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    return keras


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
    keras = _keras()
    from keras import layers, regularizers

    l2 = regularizers.l2(0.05)
    model = keras.Sequential([
        keras.Input((400, 400, 3)),
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


def build_default_model(n_classes: int = len(config.CATEGORIES), width: int = 32,
                        dropout: float = 0.2):
    """The CNN designed for this data: 80x60 colour in, a few conv blocks, global pooling.

    Full resolution in the first block (the catalogue's details, such as a watch's
    dial or a bottle's cap, are only a few pixels wide), batch normalisation
    after every convolution, global average pooling instead of a large dense
    head, and augmentation layers that are active only while training
    (horizontal flip, small shifts and zoom: the catalogue is centred on a white
    background, so larger distortions only teach what never occurs).

    Parameters
    ----------
    n_classes : int
        Outputs (the seven masterCategory names).
    width : int
        Channels of the first block; later blocks double it.
    dropout : float
        Dropout before the classifier.

    Returns
    -------
    keras.Model
        Not compiled; its layer named ``"embedding"`` is the penultimate
        representation used for nearest neighbours.
    """
    keras = _keras()
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
    outputs = layers.Dense(n_classes, activation="softmax", name="probabilities")(x)
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
    # "auto": 20 epochs on the 10% subsample, fewer on more data (8 on the
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
    # The CNN's probabilities are averaged with a PCA + RBF SVC on the same
    # photos in grayscale; their mistakes differ, so the mixture beats both.
    # The SVC's weight is chosen on the tuning slice among these.
    "svc_weights": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
    "svc_components": 100,
    "svc_C": 10.0,
}
#: An RBF SVC's fit grows with the square of its rows: beyond this many it is
#: fitted on a seeded random sample of the training part (only the whole
#: dataset reaches it; bump ``_MODEL_VERSION`` when changing it).
SVC_MAX_ROWS = 10000
SEED_RECIPE = {"epochs": 10, "batch_size": 32}


def class_weights(y: np.ndarray, n_classes: int, power: float = 0.5, cap: float = 5.0) -> np.ndarray:
    """Per-class loss weights ``(max_count / count) ** power``, capped, mean 1 over the samples."""
    counts = np.bincount(y, minlength=n_classes).astype(float)
    w = np.ones(n_classes)
    present = counts > 0
    w[present] = np.minimum((counts[present].max() / counts[present]) ** power, cap)
    w /= (w[y].mean() if len(y) else 1.0)
    return w


class _EpochLog:
    """Keras callback: per-epoch history on the tuning slice, progress per batch, best weights."""

    def __new__(cls, *args, **kwargs):
        keras = _keras()

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
                row = {"epoch": epoch + 1, "loss": float(logs.get("loss", np.nan)),
                       "accuracy": float(logs.get("accuracy", np.nan)),
                       "seconds": time.perf_counter() - self.t0}
                x_tune, y_tune = self.tune
                if len(y_tune):
                    p = self.predict(self.model, x_tune)
                    row["val_loss"] = float(-np.mean(np.log(np.clip(p[np.arange(len(y_tune)), y_tune], 1e-7, 1))))
                    row["val_accuracy"] = float(np.mean(p.argmax(1) == y_tune))
                    if row["val_accuracy"] >= self.best[0]:
                        self.best = (row["val_accuracy"], [w.copy() for w in self.model.get_weights()], epoch + 1)
                self.history.append(row)
                report(self.progress, (epoch + 1) / self.epochs,
                              f"epoch {epoch + 1}/{self.epochs}: accuracy {row['accuracy']:.3f}"
                              + (f", tuning accuracy {row['val_accuracy']:.3f}" if "val_accuracy" in row else ""))

        return Impl(*args, **kwargs)


def _predict(model, x: np.ndarray, tta: bool = True, batch_size: int = 256) -> np.ndarray:
    """Class probabilities, averaged with the horizontally flipped image when ``tta``."""
    x = np.asarray(x)
    out = []
    for start in range(0, len(x), batch_size):
        xb = np.asarray(x[start:start + batch_size], dtype=np.float32)
        p = np.asarray(model(xb, training=False))
        if tta:
            p = (p + np.asarray(model(xb[:, :, ::-1], training=False))) / 2
        out.append(p)
    if not out:
        return np.zeros((0, model.output_shape[-1]), np.float32)
    return np.concatenate(out)


def auto_epochs(n_fit: int) -> int:
    """Epochs of the default recipe for ``n_fit`` training images.

    20 on the 10% subsample (about 3,400 images); more data needs fewer passes,
    and the whole dataset's 8 epochs keep its training within 30 minutes on 2 cores.
    """
    return int(np.clip(round(20 * (3400 / max(1, n_fit)) ** 0.4), 8, 20))


def _fit_default(x_fit, y_fit, x_tune, y_tune, recipe: dict, seed: int, progress=None):
    """Train the default model; returns the model, per-epoch history and the best epoch."""
    keras = _keras()
    import tensorflow as tf

    keras.utils.set_random_seed(int(seed))
    n_classes = len(config.CATEGORIES)
    model = build_default_model(n_classes, width=recipe["width"], dropout=recipe["dropout"])
    epochs = auto_epochs(len(y_fit)) if recipe["epochs"] == "auto" else int(recipe["epochs"])
    batch = int(recipe["batch_size"])
    steps = int(np.ceil(len(y_fit) / batch))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=recipe["learning_rate"] / 10, decay_steps=max(1, steps * epochs),
        warmup_target=recipe["learning_rate"], warmup_steps=steps * recipe["warmup_epochs"])
    model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=recipe["weight_decay"]),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe["label_smoothing"]),
                  metrics=["accuracy"])
    weights = class_weights(y_fit, n_classes, recipe["class_weight_power"], recipe["class_weight_cap"])
    onehot = np.eye(n_classes, dtype=np.float32)[y_fit]
    ds = (tf.data.Dataset.from_tensor_slices((np.asarray(x_fit), onehot, weights[y_fit].astype(np.float32)))
          .shuffle(len(y_fit), seed=int(seed), reshuffle_each_iteration=True)
          .batch(batch).map(lambda x, y, w: (tf.cast(x, tf.float32), y, w)).prefetch(2))
    log = _EpochLog((np.asarray(x_tune), y_tune), epochs, steps, progress,
                    lambda m, x: _predict(m, x, tta=False))
    model.fit(ds, epochs=epochs, verbose=0, callbacks=[log])
    best_epoch = epochs
    if log.best[1] is not None and log.best[0] > log.history[-1].get("val_accuracy", -1):
        model.set_weights(log.best[1])
        best_epoch = log.best[2]
    return model, log.history, best_epoch


def _svc_features(x: np.ndarray) -> np.ndarray:
    """Grayscale pixels of prepared images, flattened: the SVC's input."""
    import cv2

    x = np.asarray(x, dtype=np.uint8)
    if len(x) == 0:
        return np.zeros((0, IMAGE_HEIGHT * IMAGE_WIDTH), np.float32)
    gray = np.stack([cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) for img in x])
    return gray.reshape(len(x), -1).astype(np.float32)


class _SVCPart:
    """PCA + RBF SVC on :func:`_svc_features`, fitted on the training part only."""

    def __init__(self, x_fit, y_fit, n_components: int, C: float, seed: int):
        from sklearn.decomposition import PCA
        from sklearn.svm import SVC

        f = _svc_features(x_fit)
        self.mean_ = f.mean(axis=0)
        self.scale_ = f.std(axis=0) + 1e-3
        z = (f - self.mean_) / self.scale_
        n_components = int(min(n_components, len(f) - 1, f.shape[1]))
        self.pca_ = PCA(n_components, svd_solver="randomized", random_state=seed).fit(z)
        self.svc_ = SVC(C=C, kernel="rbf", gamma="scale", random_state=seed)
        self.svc_.fit(self.pca_.transform(z), y_fit)

    def predict_proba(self, x) -> np.ndarray:
        """Pseudo-probabilities: a softmax of the one-vs-rest decision values."""
        out = np.zeros((len(x), len(config.CATEGORIES)), np.float32)
        if len(x) == 0:
            return out
        z = self.pca_.transform((_svc_features(x) - self.mean_) / self.scale_)
        classes = self.svc_.classes_
        if len(classes) == 1:
            out[:, classes[0]] = 1.0
            return out
        dec = np.asarray(self.svc_.decision_function(z), dtype=np.float64).reshape(len(x), -1)
        if dec.shape[1] == 1:  # two classes: one signed margin
            dec = np.hstack([-dec, dec])
        e = np.exp(2.0 * (dec - dec.max(1, keepdims=True)))
        out[:, classes] = e / e.sum(1, keepdims=True)
        return out


def _mix(p_cnn: np.ndarray, p_svc: Optional[np.ndarray], weight: float) -> np.ndarray:
    if p_svc is None or weight <= 0:
        return p_cnn
    return (1.0 - weight) * p_cnn + weight * p_svc


def _choose_weight(p_cnn, p_svc, y, weights) -> float:
    """The SVC weight with the lowest log-loss on the tuning slice."""
    if len(y) == 0:
        return 0.0
    losses = [-np.mean(np.log(np.clip(_mix(p_cnn, p_svc, w)[np.arange(len(y)), y], 1e-7, 1)))
              for w in weights]
    return float(weights[int(np.argmin(losses))])


def _fit_seed(x_fit, y_fit, x_tune, y_tune, epochs: int, seed: int, progress=None, steps=None):
    """Train the notebook's model as it was: 400x400 inputs, batch 32, Adam 1e-3."""
    keras = _keras()
    import tensorflow as tf

    keras.utils.set_random_seed(int(seed))
    model = build_seed_model()
    batch = SEED_RECIPE["batch_size"]

    def upscale(x, y):
        return tf.image.resize(tf.cast(x, tf.float32) / 255.0, (400, 400)), y

    ds = (tf.data.Dataset.from_tensor_slices((np.asarray(x_fit), y_fit.astype(np.int64)))
          .shuffle(len(y_fit), seed=int(seed)).batch(batch).map(upscale).prefetch(2))
    n_steps = int(np.ceil(len(y_fit) / batch))
    if steps is not None:
        ds, n_steps, epochs = ds.take(int(steps)), int(steps), 1

    def predict(m, x):
        out = []
        for start in range(0, len(x), 64):
            xb = upscale(np.asarray(x[start:start + 64]), None)[0]
            out.append(np.asarray(m(xb, training=False))[:, :len(config.CATEGORIES)])
        return np.concatenate(out) if out else np.zeros((0, len(config.CATEGORIES)))

    log = _EpochLog((np.asarray(x_tune), y_tune), epochs, n_steps, progress, predict)
    model.fit(ds, epochs=epochs, verbose=0, callbacks=[log] if steps is None else [])
    return model, log.history, epochs, predict


def seed_step_seconds(sub, steps: int = 5, progress=None) -> dict:
    """Time a few training steps of the notebook's model on the subsample's photos.

    The first step (graph tracing) is excluded. Used by the benchmark to measure
    the speed ratio against the notebook's model in the same run.

    Returns
    -------
    dict
        ``seconds_per_step``, ``steps_per_epoch`` (notebook split),
        ``seconds_per_epoch`` (extrapolated), ``params``.
    """
    _keras()  # quiet logs and the TensorFlow backend before TensorFlow loads
    import tensorflow as tf

    x = np.asarray(dataset_images(sub, progress=progress))
    fit, tune, val = split(len(x), tuning_fraction=0.0)
    model = build_seed_model()
    batch = SEED_RECIPE["batch_size"]
    rng = np.random.default_rng(0)
    y = sub.labels()
    times = []
    for i in range(steps + 1):
        pick = rng.choice(fit, batch, replace=len(fit) < batch)
        xb = tf.image.resize(tf.cast(x[pick], tf.float32) / 255.0, (400, 400))
        t0 = time.perf_counter()
        model.train_on_batch(xb, y[pick])
        if i:
            times.append(time.perf_counter() - t0)
        report(progress, (i + 1) / (steps + 1), f"seed model step {i + 1}/{steps + 1}")
    per_step = float(np.median(times))
    steps_per_epoch = int(np.ceil(len(fit) / batch))
    return {"seconds_per_step": per_step, "steps_per_epoch": steps_per_epoch,
            "seconds_per_epoch": per_step * steps_per_epoch, "params": parameter_counts(model)}


# ----------------------------------------------------------------------------
# Training with evaluation, cached
# ----------------------------------------------------------------------------
def _rows(sub):
    """The subsample with the image settings reset: the classifier reads its own photos."""
    from .subsample import Subsample

    return Subsample(sub.dataset, fraction=float(sub.fraction), seed=int(sub.seed))


def evaluate(y_true: np.ndarray, proba: np.ndarray, ids: Optional[np.ndarray] = None,
             max_misclassified: int = 60) -> dict:
    """Accuracy, confusion matrix, per-class figures and misclassified examples.

    Parameters
    ----------
    y_true : numpy.ndarray of shape (n_samples,)
        Labels by :data:`core.config.LABELS`.
    proba : numpy.ndarray of shape (n_samples, n_classes)
        Predicted probabilities.
    ids : numpy.ndarray, optional
        Product ids of the rows, for the misclassified list.

    Returns
    -------
    dict
        ``accuracy``, ``confusion`` (rows true, columns predicted, in
        :data:`core.config.CATEGORIES` order), ``per_class`` (precision,
        recall, F1, support per category, with a ``note`` where the support is
        too small to mean anything), ``macro_f1``, ``misclassified`` (most
        confident mistakes first).
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    n = len(config.CATEGORIES)
    y_true = np.asarray(y_true, dtype=int)
    pred = proba.argmax(1) if len(proba) else np.zeros(0, int)
    cm = confusion_matrix(y_true, pred, labels=list(range(n))) if len(y_true) else np.zeros((n, n), int)
    prec, rec, f1, support = precision_recall_fscore_support(
        y_true, pred, labels=list(range(n)), zero_division=0) if len(y_true) else (np.zeros(n),) * 4
    per_class = []
    for i, name in enumerate(config.CATEGORIES):
        s = int(support[i])
        row = {"category": name, "precision": float(prec[i]), "recall": float(rec[i]),
               "f1": float(f1[i]), "support": s, "predicted": int(cm[:, i].sum())}
        if s == 0:
            row["note"] = "none in this set: no figure can be measured"
        elif s < 10:
            row["note"] = f"only {s} in this set: the figures are anecdotal"
        per_class.append(row)
    present = [i for i in range(n) if support[i] > 0]
    wrong = np.flatnonzero(pred != y_true)
    conf = proba.max(1) if len(proba) else np.zeros(0)
    wrong = wrong[np.argsort(-conf[wrong], kind="stable")][:max_misclassified]
    misclassified = [{"row": int(i), "id": int(ids[i]) if ids is not None else int(i),
                      "true": config.CATEGORIES[y_true[i]], "predicted": config.CATEGORIES[pred[i]],
                      "confidence": float(conf[i])} for i in wrong]
    return {"accuracy": float(np.mean(pred == y_true)) if len(y_true) else float("nan"),
            "n_samples": int(len(y_true)), "confusion": cm.astype(int).tolist(),
            "per_class": per_class, "macro_f1": float(np.mean(f1[present])) if present else float("nan"),
            "misclassified": misclassified}


def _resolved_recipe(sub, model: str, epochs: Optional[int]) -> dict:
    """The recipe with ``"auto"`` epochs made concrete for this subsample's size (the cache key)."""
    recipe = _recipe(model, epochs)
    if recipe.get("epochs") == "auto":
        fit, _, _ = split(len(_rows(sub).ids))
        recipe["epochs"] = auto_epochs(len(fit))
    return recipe


def _recipe(model: str, epochs: Optional[int]) -> dict:
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    recipe = dict(DEFAULT_RECIPE if model == "default" else SEED_RECIPE)
    if epochs is not None:
        if int(epochs) < 1:
            raise ValueError(f"epochs must be at least 1, got {epochs}")
        recipe["epochs"] = int(epochs)
    return recipe


@cache.memoize("classifier.train", version=_MODEL_VERSION)
def _train(rows, model: str, recipe: dict, seed: int, progress=None) -> dict:
    x = np.asarray(dataset_images(rows, progress=scaled(progress, 0.0, 0.05)))
    y = rows.labels()
    ids = rows.ids
    fit, tune, val = split(len(y), random_state=seed)
    if len(fit) == 0:
        raise ValueError("the subsample is too small to train on; choose a larger fraction")
    train_progress = scaled(progress, 0.05, 0.92)
    t0, cpu0 = time.perf_counter(), time.process_time()
    svc_part, weight = None, 0.0
    if model == "default":
        km, history, best_epoch = _fit_default(x[fit], y[fit], x[tune], y[tune], recipe, seed,
                                               train_progress)
        if len(np.unique(y[fit])) > 1 and recipe.get("svc_weights"):
            report(progress, 0.92, "fitting the PCA + SVC partner")
            rows_svc = fit
            if len(fit) > SVC_MAX_ROWS:
                rows_svc = np.sort(np.random.default_rng(seed).choice(fit, SVC_MAX_ROWS, replace=False))
            svc_part = _SVCPart(x[rows_svc], y[rows_svc], recipe["svc_components"], recipe["svc_C"], seed)
            weight = _choose_weight(_predict(km, x[tune]), svc_part.predict_proba(x[tune]), y[tune],
                                    recipe["svc_weights"])

        def predict(m, xs):
            return _mix(_predict(m, xs), None if svc_part is None else svc_part.predict_proba(xs), weight)
    else:
        km, history, best_epoch, seed_predict = _fit_seed(x[fit], y[fit], x[tune], y[tune],
                                                          recipe["epochs"], seed, train_progress)
        predict = lambda m, xs: seed_predict(m, xs)  # noqa: E731
    seconds = time.perf_counter() - t0
    # CPU time of every thread: on a busy machine the wall time overstates the
    # cost, and cpu_seconds / n_cores is what an idle machine would take.
    cpu_seconds = time.process_time() - cpu0
    report(progress, 0.93, "evaluating on the validation set")
    proba_val = predict(km, x[val])
    evaluation = evaluate(y[val], proba_val, ids[val])
    cnn_accuracy = (float(np.mean(_predict(km, x[val]).argmax(1) == y[val])) if model == "default"
                    else evaluation["accuracy"])
    path = cache.cached_file("classifier.model", _MODEL_VERSION, (rows.rows_key(), model, recipe, seed),
                             lambda tmp: km.save(tmp), ".keras")
    # Out-of-distribution calibration on the tuning slice: how far a real
    # product lies from its nearest training neighbour in the embedding.
    ood = {"low_confidence": LOW_CONFIDENCE, "nn_distance": None}
    if len(tune):
        # Label smoothing and the mixture keep probabilities modest: "low" is
        # what only the least sure 2% of real products get, at most 60%.
        confidence = predict(km, x[tune]).max(1)
        ood["low_confidence"] = float(min(LOW_CONFIDENCE, np.quantile(confidence, 0.02)))
    if len(tune) and len(fit):
        emb = _embedder(km)
        transform, batch = (Predictor._upscale, 32) if model == "seed" else (None, 256)
        e_fit = _embed(emb, x[fit], batch, transform)
        e_tune = _embed(emb, x[tune], batch, transform)
        d = _nearest_distances(e_tune, e_fit, k=1)[0][:, 0]
        ood["nn_distance"] = float(np.quantile(d, 0.99))
        ood["tune_median_nn_distance"] = float(np.median(d))
    report(progress, 1.0, f"trained in {seconds:.0f} s: validation accuracy "
                                 f"{evaluation['accuracy']:.1%}")
    return {
        "model": model, "recipe": recipe, "seed": int(seed),
        "dataset": rows.dataset.fingerprint, "fraction": float(rows.fraction),
        "n_samples": int(len(y)), "n_fit": int(len(fit)), "n_tune": int(len(tune)), "n_val": int(len(val)),
        "val_ids": ids[val].tolist(),
        "seconds": float(seconds), "cpu_seconds": float(cpu_seconds), "history": history,
        "epochs": len(history),
        "best_epoch": int(best_epoch),
        "params": parameter_counts(km), "val_accuracy": evaluation["accuracy"],
        "cnn_val_accuracy": cnn_accuracy, "svc": svc_part, "svc_weight": weight,
        "evaluation": evaluation, "model_file": path.name, "ood": ood,
    }


def train(sub, model: str = "default", epochs: Optional[int] = None, seed: int = 42,
          progress=None) -> dict:
    """Train a classifier on the notebook's split of ``sub``, or load it from the cache.

    Parameters
    ----------
    sub : core.subsample.Subsample
        Rows to use; its image settings do not matter (the classifier reads the
        photos at 80x60 colour through :func:`prepare`).
    model : {"default", "seed"}
        The designed CNN or the notebook's.
    epochs : int, optional
        Overrides the model's own number of epochs.
    seed : int
        Random seed of the weights, the shuffling and the tuning slice.
    progress : callable, optional
        ``progress(fraction, message)`` per batch and epoch.

    Returns
    -------
    dict
        ``seconds`` of training, ``history`` (per epoch: loss, accuracy and, on
        the tuning slice, val_loss, val_accuracy), ``params`` (total, trainable,
        biases), ``val_accuracy`` and ``evaluation`` on the reported validation
        set (see :func:`evaluate`), ``model_file``, ``ood`` thresholds.
    """
    return _train(_rows(sub), model, _resolved_recipe(sub, model, epochs), int(seed), progress=progress)


def is_trained(sub, model: str = "default", epochs: Optional[int] = None, seed: int = 42) -> bool:
    """Whether :func:`train` would answer from the cache."""
    return _train.is_cached(_rows(sub), model, _resolved_recipe(sub, model, epochs), int(seed))


def train_summary(sub, model: str = "default", epochs: Optional[int] = None, seed: int = 42,
                  progress=None) -> dict:
    """What the CLI's ``train`` prints: accuracy, seconds, parameter counts, per-class figures."""
    cached = is_trained(sub, model, epochs, seed)
    r = train(sub, model, epochs, seed, progress=progress)
    return {
        "model": r["model"], "from_cache": cached, "val_accuracy": r["val_accuracy"],
        "cnn_val_accuracy": r["cnn_val_accuracy"], "svc_weight": r["svc_weight"],
        "macro_f1": r["evaluation"]["macro_f1"], "training_seconds": r["seconds"],
        "training_cpu_seconds": r.get("cpu_seconds"),
        "epochs": len(r["history"]), "best_epoch": r["best_epoch"],
        "params": r["params"], "n_train": r["n_fit"] + r["n_tune"], "n_tuning_slice": r["n_tune"],
        "n_val": r["n_val"],
        "per_class": {c["category"]: {k: c[k] for k in ("precision", "recall", "f1", "support", "note")
                                      if k in c}
                      for c in r["evaluation"]["per_class"]},
        "history": r["history"],
    }


# ----------------------------------------------------------------------------
# Embedding and neighbours
# ----------------------------------------------------------------------------
def _embedder(model):
    """A model from the same input to the penultimate representation."""
    keras = _keras()
    try:
        layer = model.get_layer("embedding")
    except ValueError:
        layer = model.layers[-2]
    inputs = model.inputs
    return keras.Model(inputs[0] if len(inputs) == 1 else inputs, layer.output)


def _embed(embedder, x: np.ndarray, batch_size: int = 256, transform=None) -> np.ndarray:
    out = []
    for start in range(0, len(x), batch_size):
        xb = np.asarray(x[start:start + batch_size], dtype=np.float32)
        if transform is not None:  # per batch: the seed model's 400x400 inputs are large
            xb = transform(xb)
        out.append(np.asarray(embedder(xb, training=False), dtype=np.float32))
    dim = embedder.output_shape[-1]
    e = np.concatenate(out) if out else np.zeros((0, dim), np.float32)
    # Unit length: the distance then compares the shape of the response, not
    # the overall activation (which grows with contrast).
    return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)


def _nearest_distances(queries: np.ndarray, base: np.ndarray, k: int = 8, block: int = 512):
    """Euclidean distances and indices of the ``k`` nearest rows of ``base``, nearest first."""
    k = min(k, len(base))
    base_sq = np.sum(base ** 2, 1)[None, :]
    dists, idxs = [], []
    for start in range(0, len(queries), block):
        q = queries[start:start + block]
        d2 = np.sum(q ** 2, 1)[:, None] + base_sq - 2 * q @ base.T
        part = np.argpartition(d2, k - 1, axis=1)[:, :k] if k < len(base) else np.tile(np.arange(len(base)), (len(q), 1))
        part_d = np.take_along_axis(d2, part, 1)
        order = np.argsort(part_d, axis=1, kind="stable")
        idxs.append(np.take_along_axis(part, order, 1))
        dists.append(np.sqrt(np.maximum(np.take_along_axis(part_d, order, 1), 0)))
    if not idxs:
        return np.zeros((0, k)), np.zeros((0, k), dtype=np.int64)
    return np.concatenate(dists), np.concatenate(idxs)


class Predictor:
    """A trained model ready to answer: probabilities, embedding, neighbours, PCA position.

    Build one with :func:`load`. Holding it in memory keeps a single
    classification well under 100 ms.

    Attributes
    ----------
    info : dict
        What :func:`train` returned for this model.
    model : keras.Model
    ids_ : numpy.ndarray
        Product ids of the subsample the neighbours come from.
    embedding_ : numpy.ndarray of shape (n_samples, n_dims)
        Unit-length embeddings of those products.
    """

    def __init__(self, sub, info: dict, model, progress=None):
        self.sub = sub
        self.info = info
        self.model = model
        self.embedder = _embedder(model)
        self._is_seed = info["model"] == "seed"
        rows = _rows(sub)
        self.ids_ = rows.ids
        self.labels_ = rows.labels()
        x = dataset_images(rows)
        parts = (rows.rows_key(), info["model_file"])
        self.embedding_ = np.asarray(cache.cached_array(
            "classifier.embedding", 1, parts,
            lambda: self._embed_rows(x, progress)))

    def _embed_rows(self, x, progress):
        report(progress, 0.0, "embedding the catalogue for nearest neighbours")
        return _embed(self.embedder, x, batch_size=32 if self._is_seed else 256,
                      transform=self._transform)

    @staticmethod
    def _upscale(x):
        import tensorflow as tf

        return np.asarray(tf.image.resize(np.asarray(x, np.float32) / 255.0, (400, 400)))

    @property
    def _transform(self):
        return self._upscale if self._is_seed else None

    def _compiled(self):
        """One graph-compiled call giving probabilities and embedding of a batch.

        Eager Keras calls cost tens of milliseconds each; a single traced
        function over the image and its mirror answers one upload in a few.
        """
        if getattr(self, "_fn", None) is None:
            keras = _keras()
            import tensorflow as tf

            both = keras.Model(self.model.inputs[0], [self.model.output, self.embedder.output])
            self._fn = tf.function(
                lambda z: both(z, training=False), reduce_retracing=True,
                input_signature=[tf.TensorSpec([None, IMAGE_HEIGHT, IMAGE_WIDTH, 3], tf.float32)])
        return self._fn

    def _infer(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities ``(n, 7)`` (mirror-averaged, mixed with the SVC) and unit embeddings."""
        x = np.asarray(x)
        if self._is_seed:
            probs = [np.asarray(self.model(self._upscale(x[i:i + 32]), training=False))
                     for i in range(0, len(x), 32)]
            proba = np.concatenate(probs)[:, :len(config.CATEGORIES)]
            return proba, _embed(self.embedder, x, batch_size=32, transform=self._transform)
        fn = self._compiled()
        probs, embs = [], []
        for start in range(0, len(x), 128):
            xb = np.asarray(x[start:start + 128], dtype=np.float32)
            n = len(xb)
            p, e = fn(np.concatenate([xb, xb[:, :, ::-1]]))
            p = np.asarray(p)
            probs.append((p[:n] + p[n:]) / 2)
            embs.append(np.asarray(e)[:n])
        e = np.concatenate(embs).astype(np.float32)
        e /= np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
        svc = self.info.get("svc")
        proba = _mix(np.concatenate(probs), None if svc is None else svc.predict_proba(x),
                     self.info.get("svc_weight", 0.0))
        return proba, e

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Probabilities of shape ``(n, 7)`` for prepared images ``(n, 80, 60, 3)``."""
        return self._infer(x)[0]

    def analyse(self, x: np.ndarray, k: int = 8):
        """Probabilities and the ``k`` nearest catalogue products, in one pass.

        Returns
        -------
        proba : numpy.ndarray of shape (n, 7)
        distances, ids, labels : numpy.ndarray of shape (n, k)
            Nearest first.
        """
        proba, e = self._infer(x)
        dist, idx = _nearest_distances(e, self.embedding_, k)
        return proba, dist, self.ids_[idx], self.labels_[idx]

    def neighbors(self, x: np.ndarray, k: int = 8):
        """Distances, product ids and labels of the ``k`` nearest catalogue products."""
        return self.analyse(x, k)[1:]



_projectors: dict = {}


def pca_position(sub, x: np.ndarray) -> Optional[np.ndarray]:
    """Coordinates of prepared images on the subsample's 2-D PCA map, or None.

    The images take the notebook's feature route (grayscale, resized to the
    subsample's image size with its filter, standardized with the subsample's
    per-pixel mean and deviation) and are projected with
    :func:`core.pca.fit` of the subsample, so they land in the coordinates of
    :func:`core.pca.projection_2d`.

    Parameters
    ----------
    sub : core.subsample.Subsample
    x : numpy.ndarray of shape (n, 80, 60, 3)
        Images through :func:`prepare`.

    Returns
    -------
    numpy.ndarray of shape (n, 2), or None when the PCA is unavailable.
    """
    key = sub.cache_key()
    try:
        project = _projectors.get(key)
        if project is None:
            project = _projectors[key] = _pca_projector(sub)
        return project(x)
    except (ImportError, AttributeError, ValueError):
        return None


def _pca_projector(sub):
    import cv2
    from PIL import Image

    from . import images, pca

    fitted = pca.fit(sub, n_components=2)
    # The per-pixel scale of the notebook's standardization, as core.pca undoes it.
    mean, std = (np.asarray(a, dtype=np.float64) for a in pca.pixel_scale(sub))
    components = np.asarray(fitted.components_, dtype=np.float64)[:2]
    center = np.asarray(getattr(fitted, "mean_", np.zeros(components.shape[1])), dtype=np.float64)
    size = int(sub.image_size)
    resample = images.PIL_FILTERS.get(sub.resample, Image.Resampling.BICUBIC)

    def project(x: np.ndarray) -> np.ndarray:
        rows = []
        for img in np.asarray(x, dtype=np.uint8):
            if sub.color:
                small = img
            else:
                # The same weights as the notebook's cv2.COLOR_BGR2GRAY on a BGR read.
                small = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
            if sub.resample == "area":
                small = cv2.resize(small, (size, size), interpolation=cv2.INTER_AREA)
            else:
                small = np.asarray(Image.fromarray(small).resize((size, size), resample))
            rows.append(small.ravel())
        z = (np.asarray(rows, np.float64) - mean) / std
        return (z - center) @ components.T

    return project


_loaded: dict = {}
_load_lock = threading.Lock()


def load(sub, model: str = "default", epochs: Optional[int] = None, seed: int = 42,
         progress=None) -> Predictor:
    """The trained model for these settings, training it first when none is cached.

    Loaded models are kept in memory, so a second call is instant.
    """
    info = train(sub, model, epochs, seed, progress=scaled(progress, 0.0, 0.95))
    key = (info["model_file"], sub.cache_key())
    with _load_lock:
        predictor = _loaded.get(key)
        if predictor is None:
            keras = _keras()
            path = cache.files_dir() / info["model_file"]
            if not path.exists():  # the file was deleted under its memoized metrics: retrain
                key = _train.key(_rows(sub), model, _resolved_recipe(sub, model, epochs), int(seed))
                cache.get_cache().delete(key)
                info = train(sub, model, epochs, seed, progress=progress)
                path = cache.files_dir() / info["model_file"]
            km = keras.saving.load_model(path, compile=False)
            predictor = Predictor(sub, info, km, progress=scaled(progress, 0.95, 1.0))
            _loaded[key] = predictor
    return predictor


# ----------------------------------------------------------------------------
# Classifying uploads
# ----------------------------------------------------------------------------
def classify_arrays(predictor: Predictor, x: np.ndarray, k: int = 8, map_sub=None) -> list[dict]:
    """Classify prepared images ``(n, 80, 60, 3)``; see :func:`classify_images`."""
    if len(x) == 0:
        return []
    from threadpoolctl import threadpool_limits

    # A few images are small work: more BLAS threads only contend with
    # TensorFlow's own pool.
    with threadpool_limits(1 if len(x) <= 8 else None):
        proba, dist, nn_ids, nn_labels = predictor.analyse(x, k)
        pos = pca_position(map_sub if map_sub is not None else predictor.sub, x)
    threshold = predictor.info["ood"].get("nn_distance")
    out = []
    for i, p in enumerate(proba):
        order = np.argsort(-p)[:3]
        top = [[config.CATEGORIES[j], float(p[j])] for j in order]
        reasons = []
        if top[0][1] < predictor.info["ood"].get("low_confidence", LOW_CONFIDENCE):
            reasons.append(f"low confidence ({top[0][1]:.0%})")
        if threshold is not None and len(dist[i]) and dist[i][0] > threshold:
            reasons.append("far from every catalogue product (nearest neighbour farther than for "
                           "99% of real products)")
        r = {"label": top[0][0], "confidence": top[0][1], "top": top,
             "neighbors": [{"id": int(a), "category": config.CATEGORIES[int(b)], "distance": float(d)}
                           for a, b, d in zip(nn_ids[i], nn_labels[i], dist[i])],
             "pca": None if pos is None else [float(pos[i][0]), float(pos[i][1])],
             "out_of_distribution": bool(reasons)}
        if reasons:
            r["warning"] = ("this does not look like a catalogue product: " + "; ".join(reasons)
                            + ". Treat the answer with caution.")
        out.append(r)
    return out


def classify_images(sub, images: Sequence[tuple[str, bytes]], model: str = "default",
                    progress=None, k: int = 8, max_bytes: int = MAX_UPLOAD_BYTES,
                    map_sub=None) -> list[dict]:
    """Classify uploaded files by masterCategory.

    Parameters
    ----------
    sub : core.subsample.Subsample
        The subsample whose model answers (trained first if none is cached).
    images : sequence of (name, bytes)
        The files.
    model : {"default", "seed"}
    k : int
        Nearest catalogue products to return.
    map_sub : core.subsample.Subsample, optional
        Whose PCA map the ``pca`` coordinates refer to (default ``sub``).

    Returns
    -------
    list of dict
        One per file, in order: ``name``, ``label``, ``confidence``, ``top``
        (three ``[label, probability]``), ``neighbors`` (``id``, ``category``,
        ``distance``), ``pca`` (``[x, y]`` on the subsample's PCA map, or None),
        ``out_of_distribution`` and, when it is, a ``warning``; or ``name`` and
        ``error`` for a rejected file.
    """
    prepared, results = [], []
    for name, data in images:
        try:
            prepared.append(prepare_upload(data, name, max_bytes))
            results.append({"name": name})
        except UploadError as exc:
            results.append({"name": name, "error": str(exc)})
    if prepared:
        predictor = load(sub, model, progress=progress)
        answers = iter(classify_arrays(predictor, np.stack(prepared), k, map_sub))
        for r in results:
            if "error" not in r:
                r.update(next(answers))
    return results


def classify_paths(sub, paths: Iterable, model: str = "default", progress=None) -> list[dict]:
    """Classify image files; the CLI's ``classify``.

    Returns
    -------
    list of dict
        ``{"path", "label", "confidence", "top"}`` (plus ``warning`` when the
        image does not look like a catalogue product), or ``{"path", "error"}``.
    """
    loaded = []
    for p in paths:
        p = str(p)
        try:
            size = os.path.getsize(p)
            if size > MAX_UPLOAD_BYTES:
                loaded.append((p, None, f"{p}: the file is {size / 1e6:.1f} MB, over the "
                                        f"{MAX_UPLOAD_BYTES / 2**20:.0f} MB limit; send a smaller image"))
                continue
            with open(p, "rb") as fh:
                loaded.append((p, fh.read(), None))
        except IsADirectoryError:
            loaded.append((p, None, f"{p}: is a folder, not an image file"))
        except FileNotFoundError:
            loaded.append((p, None, f"{p}: no such file"))
        except OSError as exc:
            loaded.append((p, None, f"{p}: cannot be read ({exc.strerror or exc})"))
    if any(data is not None for _, data, _ in loaded) and not is_trained(sub, model):
        report(progress, 0.0, f"no trained {model} model is cached for this dataset and "
                                     "fraction: training one first")
    results = classify_images(sub, [(p, data) for p, data, err in loaded if data is not None],
                              model=model, progress=progress)
    answers = iter(results)
    out = []
    for p, data, err in loaded:
        if err is not None:
            out.append({"path": p, "error": err})
            continue
        r = next(answers)
        row = {"path": p}
        if "error" in r:
            row["error"] = r["error"]
        else:
            row.update(label=r["label"], confidence=r["confidence"], top=r["top"])
            if "warning" in r:
                row["warning"] = r["warning"]
        out.append(row)
    return out


# ----------------------------------------------------------------------------
# Classical baseline
# ----------------------------------------------------------------------------
@cache.memoize("classifier.baseline", version=1)
def baseline(sub, n_components: int = 100, C: float = 10.0, random_state: int = 42,
             progress=None) -> dict:
    """PCA + RBF SVC on the notebook's features, on the same split: what the CNN earns for its cost.

    Parameters
    ----------
    sub : core.subsample.Subsample
        Its standardized feature matrix is the input (grayscale 100x100 by default).
    n_components : int
        PCA components, fitted on the training part only.
    C : float
        SVC regularisation.

    Returns
    -------
    dict
        ``seconds`` (fit, features excluded), ``val_accuracy``, ``evaluation``
        (see :func:`evaluate`), ``n_components``.
    """
    from sklearn.decomposition import PCA
    from sklearn.svm import SVC

    X = np.asarray(sub.features(progress=scaled(progress, 0.0, 0.7)), dtype=np.float32)
    y = sub.labels()
    fit, tune, val = split(len(y), random_state=random_state, tuning_fraction=0.0)
    n_comp = int(min(n_components, len(fit) - 1, X.shape[1]))
    report(progress, 0.75, "fitting PCA + SVC")
    t0 = time.perf_counter()
    pca = PCA(n_components=n_comp, svd_solver="randomized", random_state=random_state).fit(X[fit])
    svc = SVC(C=C, kernel="rbf", gamma="scale", random_state=random_state)
    svc.fit(pca.transform(X[fit]), y[fit])
    seconds = time.perf_counter() - t0
    pred = svc.predict(pca.transform(X[val]))
    proba = np.eye(len(config.CATEGORIES))[pred]
    evaluation = evaluate(y[val], proba, sub.ids[val])
    report(progress, 1.0, f"baseline: {evaluation['accuracy']:.1%}")
    return {"model": "PCA + RBF SVC", "n_components": n_comp, "C": float(C), "seconds": float(seconds),
            "val_accuracy": evaluation["accuracy"], "evaluation": evaluation}


# ----------------------------------------------------------------------------
# Figures (pure: arrays and dicts in, plotly figures out)
# ----------------------------------------------------------------------------
def history_figure(history: Sequence[dict], title: Optional[str] = "Training curves"):
    """Per-epoch loss and accuracy, on the training batches and on the tuning slice.

    Returns
    -------
    plotly.graph_objects.Figure
        Two panels (loss, accuracy), one trace per series.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"))
    epochs = [h["epoch"] for h in history]
    series = [("loss", "training", "#0072B2", "solid"), ("val_loss", "tuning slice", "#D55E00", "dash"),
              ("accuracy", "training", "#0072B2", "solid"),
              ("val_accuracy", "tuning slice", "#D55E00", "dash")]
    for i, (key, name, color, dash) in enumerate(series):
        values = [h.get(key) for h in history]
        if all(v is None for v in values):
            continue
        fig.add_trace(go.Scatter(x=epochs, y=values, mode="lines+markers", name=name,
                                 legendgroup=name, showlegend=i in (0, 1),
                                 line=dict(color=color, dash=dash)), row=1, col=1 + (i >= 2))
    fig.update_xaxes(title_text="epoch")
    fig.update_layout(title=title, height=320, margin=dict(l=40, r=10, t=60, b=40))
    return fig


def confusion_figure(confusion, categories: Sequence[str] = config.CATEGORIES,
                     title: Optional[str] = "Confusion matrix (validation set)"):
    """Heatmap of a confusion matrix, rows the true category, columns the predicted one.

    Categories absent from both the truth and the predictions are left out.
    """
    import plotly.graph_objects as go

    cm = np.asarray(confusion, dtype=int)
    keep = [i for i in range(len(cm)) if cm[i].sum() or cm[:, i].sum()] or list(range(len(cm)))
    cm = cm[np.ix_(keep, keep)]
    names = [categories[i] for i in keep]
    share = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig = go.Figure(go.Heatmap(
        z=share, x=names, y=names, text=cm, texttemplate="%{text}", colorscale="Blues",
        zmin=0, zmax=1, colorbar=dict(title="share of row"),
        hovertemplate="true %{y}<br>predicted %{x}<br>%{text} images (%{z:.1%} of the row)<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="predicted", yaxis_title="true",
                      yaxis_autorange="reversed", height=420, margin=dict(l=10, r=10, t=60, b=10))
    return fig


def per_class_table(evaluation: dict):
    """Per-class precision, recall, F1 and support as a DataFrame."""
    import pandas as pd

    rows = evaluation["per_class"]
    frame = pd.DataFrame(rows)
    if "note" not in frame.columns:
        frame["note"] = ""
    return frame[["category", "precision", "recall", "f1", "support", "predicted", "note"]].fillna("")


def upload_map_figure(coords, frame, points: Sequence[tuple[str, float, float]],
                      title: Optional[str] = "Where the uploads land on the PCA map"):
    """The subsample's 2-D PCA map coloured by category with uploads marked as stars."""
    import plotly.graph_objects as go

    from . import figures

    fig = figures.category_scatter(coords, frame, title=title)
    for name, x, y in points:
        fig.add_trace(go.Scatter(x=[x], y=[y], mode="markers+text", name=name, text=[name],
                                 textposition="top center",
                                 marker=dict(symbol="star", size=18, color="black",
                                             line=dict(color="white", width=1.5))))
    return fig
