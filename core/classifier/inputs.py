"""The model's input: one preprocessing route for the dataset's photos and for uploads.

Every image the classifier sees goes through :func:`prepare` (80 high by 60
wide, RGB, other aspect ratios padded with the catalogue's white): the
subsample's photos for training (:func:`dataset_images`) and uploads alike
(:func:`prepare_upload`, after :func:`open_upload` has refused what cannot be
classified). The notebook's seed model reads the same photos upscaled to
400x400 (:func:`seed_input`). :func:`split` says which rows train, tune and
validate.
"""
from __future__ import annotations

import io

import numpy as np

from .. import cache
from ..progress import report

#: Input of the default model: the catalogue's native photo size (height, width).
IMAGE_HEIGHT, IMAGE_WIDTH = 80, 60
#: Side of the notebook's seed model's square input.
SEED_SIZE = 400
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
#: The catalogue's background, used to pad uploads of another aspect ratio.
_BACKGROUND = (255, 255, 255)


class UploadError(ValueError):
    """An image that cannot be classified, with a message a person can act on."""


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
