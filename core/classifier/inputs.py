"""The model's input: one preprocessing route for the dataset's photos and for uploads.

Every image the classifier sees is letterboxed by :mod:`core.uploads` (80
high by 60 wide, RGB, other aspect ratios padded with the catalogue's white):
the subsample's photos for training (:func:`dataset_images`) and uploads alike
pass :func:`core.uploads.model_input`, the one gate for files, which refuses
what cannot be classified; an image already decoded goes through
:func:`prepare`. The notebook's seed model reads the same photos upscaled to
400x400 (:func:`seed_input`). :func:`split` says which rows train, tune and
validate.
"""
from __future__ import annotations


import numpy as np

from .. import cache, uploads
from ..progress import report

#: Input of the default model: the catalogue's native photo size (height, width).
IMAGE_HEIGHT, IMAGE_WIDTH = 80, 60
#: Side of the notebook's seed model's square input.
SEED_SIZE = 400
#: Share of the training part held out for early stopping and calibration.
TUNING_FRACTION = 0.1


def prepare(image) -> np.ndarray:
    """One image, already decoded, as the default model's input.

    The same route as an upload (:func:`core.uploads.letterbox`): any mode
    becomes RGB (transparency over white, the catalogue's background), another
    aspect ratio is fitted inside 80 high by 60 wide and padded with white, so
    a square photo of a shoe stays a shoe, not a tall thin one. EXIF
    orientation is applied.

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
        arr = image if image.dtype == np.uint8 else np.clip(image, 0, 255).astype(np.uint8)
        image = Image.fromarray(arr)
    return uploads.letterbox(ImageOps.exif_transpose(image), (IMAGE_HEIGHT, IMAGE_WIDTH))


def dataset_images(sub, progress=None) -> np.ndarray:
    """The subsample's photos through :func:`prepare`, in the frame's order.

    Returns
    -------
    numpy.ndarray
        Memory-mapped uint8 array of shape ``(n_samples, 80, 60, 3)``.
    """
    ids = sub.ids
    dataset = sub.dataset

    def compute():
        out = np.empty((len(ids), IMAGE_HEIGHT, IMAGE_WIDTH, 3), np.uint8)
        for i, pid in enumerate(ids):
            # catalogue files pass the same gate as uploads: a file is a file
            path = dataset.image_path(pid)
            out[i] = uploads.model_input(path.read_bytes(), path.name, (IMAGE_HEIGHT, IMAGE_WIDTH))
            if i % 500 == 0:
                report(progress, i / max(1, len(ids)), f"decoding photos {i}/{len(ids)}")
        report(progress, 1.0, "photos decoded")
        return out

    return cache.cached_array("classifier.images", 2, (sub.rows_key(),), compute)



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


def seed_input(x):
    """The notebook's seed model's input: prepared images upscaled to 400x400, in [0, 1].

    The one upscaling of the package: training batches, tuning predictions,
    embeddings and uploads of the seed model all go through it. Works on a
    NumPy batch and, inside a ``tf.data`` pipeline, on a tensor.

    Parameters
    ----------
    x : array-like or tf.Tensor of shape (n, 80, 60, 3)
        Images through :func:`prepare` (uint8 or float, 0 to 255).

    Returns
    -------
    tf.Tensor of float32, shape (n, 400, 400, 3)
    """
    from .backend import tensorflow

    tf = tensorflow()
    return tf.image.resize(tf.cast(x, tf.float32) / 255.0, (SEED_SIZE, SEED_SIZE))
