"""Answering with a trained classifier: probabilities, nearest catalogue products, the PCA map.

:func:`load` gives a :class:`Predictor` (training first when no model is
cached) and keeps it in memory; :func:`classify_images` checks and classifies
uploaded files, :func:`classify_arrays` prepared images; :func:`pca_position`
places images on the subsample's 2-D PCA map.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Optional, Sequence

import numpy as np

from .. import cache, uploads
from ..neighbors import kneighbors
from ..progress import scaled
from . import backend
from .inputs import IMAGE_HEIGHT, IMAGE_WIDTH
from .models import embed, embedder, seed_proba, unit_rows
from .labels import Attribute
from .svc import mix, partner_proba
from .training import LOW_CONFIDENCE, _rows, catalogue_embedding, forget, is_trained, train


class Predictor:
    """A trained model ready to answer: probabilities, embedding, neighbours.

    Build one with :func:`load`. Holding it in memory keeps a single
    classification well under 100 ms.

    Attributes
    ----------
    info : dict
        What :func:`~core.classifier.training.train` returned for this model.
    model : keras.Model
    ids_ : numpy.ndarray
        Product ids of the subsample the neighbours come from.
    embedding_ : numpy.ndarray of shape (n_samples, n_dims)
        Unit-length embeddings of those products.
    attributes : list of Attribute
        What each head answers, the primary first
        (:func:`~core.classifier.labels.attributes`).
    """

    def __init__(self, sub, info: dict, model, progress=None):
        self.sub = sub
        self.info = info
        self.model = model
        self.embedder = embedder(model)
        self._is_seed = info["model"] == "seed"
        rows = _rows(sub)
        self.attributes = [Attribute.from_dict(a) for a in info["attributes"]]
        self.ids_ = rows.ids
        self.labels_ = rows.labels()
        self.embedding_ = catalogue_embedding(rows, info, lambda: self.embedder, progress)

    def _compiled(self):
        """One graph-compiled call giving every head's probabilities and the embedding of a batch.

        Eager Keras calls cost tens of milliseconds each; a single traced
        function over the image and its mirror answers one upload in a few.
        """
        if getattr(self, "_fn", None) is None:
            keras = backend.keras()
            tf = backend.tensorflow()

            outputs = self.model.outputs
            both = keras.Model(self.model.inputs[0], [*outputs, self.embedder.output])
            self._fn = tf.function(
                lambda z: both(z, training=False), reduce_retracing=True,
                input_signature=[tf.TensorSpec([None, IMAGE_HEIGHT, IMAGE_WIDTH, 3], tf.float32)])
        return self._fn

    def _infer(self, x: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """Every head's probabilities (mirror-averaged, the primary mixed with the partner) and unit embeddings."""
        x = np.asarray(x)
        if self._is_seed:
            return [seed_proba(self.model, x)], embed(self.embedder, x, seed=True)
        fn = self._compiled()
        n_heads = len(self.attributes)
        probs, embs = [[] for _ in range(n_heads)], []
        for start in range(0, len(x), 128):
            xb = np.asarray(x[start:start + 128], dtype=np.float32)
            n = len(xb)
            *ps, e = fn(np.concatenate([xb, xb[:, :, ::-1]]))
            for out, p in zip(probs, ps):
                p = np.asarray(p)
                out.append((p[:n] + p[n:]) / 2)
            embs.append(np.asarray(e)[:n])
        e = unit_rows(np.concatenate(embs).astype(np.float32))
        probas = [np.concatenate(p) for p in probs]
        probas[0] = mix(probas[0], partner_proba(self.info.get("svc"), x), self.info.get("svc_weight", 0.0))
        return probas, e

    def predict_probas(self, x: np.ndarray) -> list[np.ndarray]:
        """Every attribute's probabilities ``(n, n_classes)`` for prepared images ``(n, 80, 60, 3)``."""
        return self._infer(x)[0]

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """The primary attribute's probabilities ``(n, n_classes)`` for prepared images ``(n, 80, 60, 3)``."""
        return self._infer(x)[0][0]

    def analyse(self, x: np.ndarray, k: int = 8):
        """Every attribute's probabilities and the ``k`` nearest catalogue products, in one pass.

        Returns
        -------
        probas : list of numpy.ndarray of shape (n, n_classes)
            One per attribute of :attr:`attributes`, the primary first.
        distances, ids, labels : numpy.ndarray of shape (n, k)
            Nearest first; ``labels`` are primary codes.
        """
        probas, e = self._infer(x)
        dist, idx = kneighbors(e, self.embedding_, k)
        return probas, dist, self.ids_[idx], self.labels_[idx]

    def neighbors(self, x: np.ndarray, k: int = 8):
        """Distances, product ids and labels of the ``k`` nearest catalogue products."""
        return self.analyse(x, k)[1:]


#: Loaded models kept in memory; the least recently used beyond this is released.
MAX_LOADED = 2
_loaded: "OrderedDict[tuple, Predictor]" = OrderedDict()
_loaded_lock = threading.Lock()  # held only to look up or store, never while loading
_loading: dict[tuple, threading.Lock] = {}


def load(sub, model: str = "default", epochs: Optional[int] = None, seed: int = 42,
         progress=None, *, allow_training: Optional[bool] = None, cancel=None) -> Predictor:
    """The trained model for these settings, training it first when none is cached.

    Loaded models are kept in memory (at most :data:`MAX_LOADED`, least
    recently used released first), so a second call is instant. Loading one
    model never blocks a caller whose model is already loaded: the shared lock
    guards the lookup only, and a per-model lock makes two callers of the same
    cold model load it once.

    Parameters
    ----------
    allow_training, cancel
        Passed to :func:`~core.classifier.training.train`.
    """
    info = train(sub, model, epochs, seed, progress=scaled(progress, 0.0, 0.95),
                 allow=allow_training, cancel=cancel)
    key = (info["model_file"], sub.cache_key())
    with _loaded_lock:
        predictor = _loaded.get(key)
        if predictor is not None:
            _loaded.move_to_end(key)
            return predictor
        per_model = _loading.setdefault(key, threading.Lock())
    with per_model:
        with _loaded_lock:
            predictor = _loaded.get(key)
        if predictor is None:
            path = cache.files_dir() / info["model_file"]
            if not path.exists():  # the file was deleted under its memoized metrics: retrain
                forget(sub, model, epochs, seed)
                info = train(sub, model, epochs, seed, progress=progress, allow=allow_training,
                             cancel=cancel)
                path = cache.files_dir() / info["model_file"]
            km = backend.keras().saving.load_model(path, compile=False)
            predictor = Predictor(sub, info, km, progress=scaled(progress, 0.95, 1.0))
    with _loaded_lock:
        _loaded[key] = predictor
        _loaded.move_to_end(key)
        while len(_loaded) > MAX_LOADED:
            _loaded.popitem(last=False)
        _loading.pop(key, None)
    return predictor


def trained_embedding(sub, whole: bool = True) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """The default model's embedding of the catalogue, when a model is trained; else None.

    The model trained on the whole dataset when there is one and ``whole`` (it
    has seen the most), else the one trained on ``sub``; nothing is trained
    here. The embedding is computed once, at training, and read back from the
    cache.

    Returns
    -------
    ids : numpy.ndarray of shape (n_samples,)
        Product ids of the rows the embedding covers (a superset of ``sub``'s).
    embedding : numpy.ndarray of float32, shape (n_samples, n_dims)
        Unit-length rows.
    """
    from ..subsample import Subsample

    candidates = [Subsample(sub.dataset, fraction=1.0, seed=sub.seed)] if whole else []
    for model_sub in candidates + [sub]:
        if is_trained(model_sub):
            info = train(model_sub, allow=False)
            rows = _rows(model_sub)
            emb = catalogue_embedding(rows, info, lambda: load(model_sub, allow_training=False).embedder)
            return rows.ids, emb
    return None


# ----------------------------------------------------------------------------
# Where an image lands on the PCA map
# ----------------------------------------------------------------------------
_projectors: dict = {}


def pca_position(sub, x: np.ndarray) -> Optional[np.ndarray]:
    """Coordinates of prepared images on the subsample's 2-D PCA map, or None.

    The images take the subsample's feature route (:func:`core.images.features_from_rgb`:
    grayscale or colour, resized to the subsample's image size with its filter),
    are standardized with the subsample's per-pixel mean and deviation and
    projected with :func:`core.pca.fit` of the subsample, so they land in the
    coordinates of :func:`core.pca.projection_2d`.

    Parameters
    ----------
    sub : core.subsample.Subsample
    x : numpy.ndarray of shape (n, 80, 60, 3)
        Images through :func:`~core.classifier.inputs.prepare`.

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
    from .. import images, pca

    fitted = pca.fit(sub, n_components=2)
    # The per-pixel scale of the notebook's standardization, as core.pca undoes it.
    scale = pca.pixel_scale(sub)
    components = np.asarray(fitted.components_, dtype=np.float64)[:2]
    center = np.asarray(fitted.mean_, dtype=np.float64)

    def project(x: np.ndarray) -> np.ndarray:
        rows = images.features_from_rgb(x, int(sub.image_size), bool(sub.color), str(sub.resample),
                                        sub.dataset.catalogue.fit)
        return (images.standardize(rows, scale) - center) @ components.T

    return project


# ----------------------------------------------------------------------------
# Classifying uploads
# ----------------------------------------------------------------------------
def _answer(proba: np.ndarray, classes, n_top: int = 3) -> dict:
    """``label``, ``confidence`` and the ``n_top`` most probable ``[name, probability]`` of one head."""
    order = np.argsort(-proba, kind="stable")[:n_top]
    top = [[classes[j], float(proba[j])] for j in order]
    return {"label": top[0][0], "confidence": top[0][1], "top": top}


def classify_arrays(predictor: Predictor, x: np.ndarray, k: int = 8, map_sub=None) -> list[dict]:
    """Classify prepared images ``(n, 80, 60, 3)``; see :func:`classify_images`."""
    if len(x) == 0:
        return []
    from threadpoolctl import threadpool_limits

    # A few images are small work: more BLAS threads only contend with
    # TensorFlow's own pool.
    with threadpool_limits(1 if len(x) <= 8 else None):
        probas, dist, nn_ids, nn_labels = predictor.analyse(x, k)
        pos = pca_position(map_sub if map_sub is not None else predictor.sub, x)
    threshold = predictor.info["ood"].get("nn_distance")
    primary = predictor.attributes[0].classes
    out = []
    for i in range(len(x)):
        tags = {a.column: _answer(p[i], a.classes) for a, p in zip(predictor.attributes, probas)}
        r = dict(tags[predictor.attributes[0].column])
        reasons = []
        if r["confidence"] < predictor.info["ood"].get("low_confidence", LOW_CONFIDENCE):
            reasons.append(f"low confidence ({r['confidence']:.0%})")
        if threshold is not None and len(dist[i]) and dist[i][0] > threshold:
            reasons.append("far from every catalogue product (nearest neighbour farther than for "
                           "99% of real products)")
        r.update(tags=tags,
                 neighbors=[{"id": int(a), "category": primary[int(b)], "distance": float(d)}
                            for a, b, d in zip(nn_ids[i], nn_labels[i], dist[i])],
                 pca=None if pos is None else [float(pos[i][0]), float(pos[i][1])],
                 out_of_distribution=bool(reasons))
        if reasons:
            r["warning"] = ("this does not look like a catalogue product: " + "; ".join(reasons)
                            + ". Treat the answer with caution.")
        out.append(r)
    return out


def classify_images(sub, images: Sequence[tuple[str, bytes]], model: str = "default",
                    progress=None, k: int = 8, map_sub=None, *,
                    allow_training: Optional[bool] = None, cancel=None) -> list[dict]:
    """Tag uploaded files with every attribute the model answers (the primary one as ``label``).

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
        One per file, in order: ``name``, ``input`` (the model's input, uint8
        of shape ``(80, 60, 3)``: what a page should preview), ``label``, ``confidence``, ``top``
        (three ``[label, probability]``) of the primary attribute, ``tags`` (each
        attribute's ``{label, confidence, top}``, the primary's included), ``neighbors`` (``id``, ``category``,
        ``distance``), ``pca`` (``[x, y]`` on the subsample's PCA map, or None),
        ``out_of_distribution`` and, when it is, a ``warning``; or ``name`` and
        ``error`` for a rejected file.

    Raises
    ------
    core.uploads.UploadError
        When the submission as a whole is over the limits of
        :func:`core.uploads.check_submission` (too many files, too many bytes).
    """
    images = list(images)
    uploads.check_submission([(name, len(data)) for name, data in images])
    prepared, results = [], []
    for name, data in images:
        try:
            prepared.append(uploads.model_input(data, name, (IMAGE_HEIGHT, IMAGE_WIDTH)))
            results.append({"name": name, "input": prepared[-1]})
        except uploads.UploadError as exc:
            results.append({"name": name, "error": str(exc)})
    if prepared:
        predictor = load(sub, model, progress=progress, allow_training=allow_training,
                         cancel=cancel)
        answers = iter(classify_arrays(predictor, np.stack(prepared), k, map_sub))
        for r in results:
            if "error" not in r:
                r.update(next(answers))
    return results
