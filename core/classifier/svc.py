"""The classical model: PCA + RBF SVC, as the default CNN's partner and as the baseline.

One class, :class:`PCASVC`, serves both:

* the partner (:func:`fit_partner`): fitted on grayscale pixels of the prepared
  80x60 photos (:func:`gray_pixels`), standardized on the training part; its
  probabilities are averaged with the CNN's (:func:`mix`) with a weight chosen
  on the tuning slice (:func:`choose_weight`): their mistakes differ, so the
  mixture beats both;
* :func:`baseline`: fitted on the notebook's standardized features of the
  subsample, on the same split, to show what the CNN earns for its cost.
"""
from __future__ import annotations

import time
from typing import Optional, Sequence

import numpy as np

from .. import cache, images, pca
from ..progress import report, scaled
from .inputs import IMAGE_HEIGHT, IMAGE_WIDTH, dataset_images, split
from .labels import MIN_COUNT, attributes, encode_all
from .metrics import evaluate

#: An RBF SVC's fit grows with the square of its rows: beyond this many the
#: partner is fitted on a seeded random sample of the training part (only the
#: whole dataset reaches it; bump ``core.classifier.training._MODEL_VERSION`` when
#: changing it).
SVC_MAX_ROWS = 10000
#: Validation rows standardized and predicted at once by :func:`baseline` on a large catalogue.
_PREDICT_BLOCK = 5000


class PCASVC:
    """PCA then an RBF support vector machine, in scikit-learn's vocabulary.

    Parameters
    ----------
    n_components : int, default 100
        PCA components, capped by the training rows and the features.
    C : float, default 10.0
        SVC regularisation.
    random_state : int, default 42
        Seed of the randomized PCA and of the SVC.
    standardize : bool, default False
        Standardize each feature with the training rows' mean and deviation
        (:func:`core.images.column_scale`) before the PCA. Off for inputs that
        are standardized already, such as :meth:`core.subsample.Subsample.features`.

    Attributes
    ----------
    scale_ : (mean, std) or None
        The standardization learnt by :meth:`fit`. A constant feature gets a
        deviation of 1 (``column_scale``'s guard); no pixel of the catalogue's
        photos is constant over a real training part (the smallest grayscale
        deviation over 3,000 photos is about 8 grey levels), so no further
        epsilon is needed.
    pca_ : sklearn.decomposition.PCA
    svc_ : sklearn.svm.SVC
    """

    def __init__(self, n_components: int = 100, C: float = 10.0, random_state: int = 42,
                 standardize: bool = False):
        self.n_components = n_components
        self.C = C
        self.random_state = random_state
        self.standardize = standardize

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: Optional[int] = None) -> "PCASVC":
        """Fit the standardization, the PCA and the SVC on ``X`` of shape (n_samples, n_features).

        ``n_classes`` is the width of :meth:`predict_proba`'s output (labels
        ``0..n_classes-1``); default one past the largest label seen, which is
        short when the last classes are absent from ``y``.
        """
        from sklearn.svm import SVC

        y = np.asarray(y)
        self.n_classes_ = int(n_classes) if n_classes is not None else int(y.max()) + 1
        X = np.asarray(X, dtype=np.float32)
        self.scale_ = images.column_scale(X) if self.standardize else None
        z = self._standardized(X)
        self.pca_ = _pca(z, self.n_components, self.random_state)
        self.svc_ = SVC(C=self.C, kernel="rbf", gamma="scale", random_state=self.random_state)
        self.svc_.fit(self.pca_.transform(z), y)
        return self

    def _standardized(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        return X if self.scale_ is None else images.standardize(X, self.scale_)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Principal component scores of ``X``: the SVC's input."""
        return self.pca_.transform(self._standardized(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted labels of shape ``(n_samples,)``."""
        return self.svc_.predict(self.transform(X))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Pseudo-probabilities ``(n_samples, n_classes_)``: a softmax of the one-vs-rest decision values."""
        out = np.zeros((len(X), self.n_classes_), np.float32)
        if len(X) == 0:
            return out
        classes = self.svc_.classes_
        if len(classes) == 1:
            out[:, classes[0]] = 1.0
            return out
        dec = np.asarray(self.svc_.decision_function(self.transform(X)), dtype=np.float64).reshape(len(X), -1)
        if dec.shape[1] == 1:  # two classes: one signed margin
            dec = np.hstack([-dec, dec])
        e = np.exp(2.0 * (dec - dec.max(1, keepdims=True)))
        out[:, classes] = e / e.sum(1, keepdims=True)
        return out


def _pca(z: np.ndarray, n_components: int, random_state: int):
    """A randomized PCA of standardized rows, its components capped by the rows and features."""
    from sklearn.decomposition import PCA

    n = int(min(n_components, len(z) - 1, z.shape[1]))
    return PCA(n, svd_solver="randomized", random_state=random_state).fit(z)


# ----------------------------------------------------------------------------
# The default CNN's partner
# ----------------------------------------------------------------------------
def gray_pixels(x: np.ndarray) -> np.ndarray:
    """Grayscale pixels of prepared images ``(n, 80, 60, 3)``, flattened: the partner's input.

    Returns
    -------
    numpy.ndarray of float32, shape (n, 4800)
    """
    import cv2

    x = np.asarray(x, dtype=np.uint8)
    if len(x) == 0:
        return np.zeros((0, IMAGE_HEIGHT * IMAGE_WIDTH), np.float32)
    gray = np.stack([cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) for img in x])
    return gray.reshape(len(x), -1).astype(np.float32)


def fit_partner(x: np.ndarray, y: np.ndarray, n_components: int, C: float, random_state: int,
                n_classes: Optional[int] = None) -> PCASVC:
    """The partner of the default CNN, fitted on prepared images of the training part.

    At most :data:`SVC_MAX_ROWS` rows, sampled with ``random_state``;
    ``n_classes`` is the primary label's number of classes.
    """
    rows = np.arange(len(y))
    if len(rows) > SVC_MAX_ROWS:
        rows = np.sort(np.random.default_rng(random_state).choice(rows, SVC_MAX_ROWS, replace=False))
    part = PCASVC(n_components, C, random_state, standardize=True)
    return part.fit(gray_pixels(x[rows]), np.asarray(y)[rows], n_classes)


def partner_proba(part: Optional[PCASVC], x: np.ndarray) -> Optional[np.ndarray]:
    """The partner's probabilities for prepared images, or None without a partner."""
    return None if part is None else part.predict_proba(gray_pixels(x))


def mix(p_cnn: np.ndarray, p_svc: Optional[np.ndarray], weight: float) -> np.ndarray:
    """``(1 - weight) * p_cnn + weight * p_svc``; ``p_cnn`` alone without a partner."""
    if p_svc is None or weight <= 0:
        return p_cnn
    return (1.0 - weight) * p_cnn + weight * p_svc


def choose_weight(p_cnn: np.ndarray, p_svc: np.ndarray, y: np.ndarray, weights: Sequence[float]) -> float:
    """The partner's weight among ``weights`` with the lowest log-loss on the tuning slice."""
    if len(y) == 0:
        return 0.0
    losses = [-np.mean(np.log(np.clip(mix(p_cnn, p_svc, w)[np.arange(len(y)), y], 1e-7, 1)))
              for w in weights]
    return float(weights[int(np.argmin(losses))])


# ----------------------------------------------------------------------------
# The classical baseline
# ----------------------------------------------------------------------------
@cache.memoize("classifier.baseline", version=2)
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
        (see :func:`~core.classifier.metrics.evaluate`), ``n_components``,
        ``n_fit`` (training rows fitted: the training part, or a sample of
        :data:`SVC_MAX_ROWS` of it on a large catalogue, whose features are
        then read row by row and never as a whole matrix).
    """
    y = sub.labels()
    fit, _, val = split(len(y), random_state=random_state, tuning_fraction=0.0)
    n_classes = len(sub.categories)
    if len(fit) <= SVC_MAX_ROWS:
        X = np.asarray(sub.features(progress=scaled(progress, 0.0, 0.7)), dtype=np.float32)
        report(progress, 0.75, "fitting PCA + SVC")
        t0 = time.perf_counter()
        model = PCASVC(n_components, C, random_state).fit(X[fit], y[fit], n_classes)
        seconds = time.perf_counter() - t0
        predicted = model.predict(X[val])
    else:
        # A large catalogue: an RBF SVC costs the square of its rows, and the whole
        # feature matrix may not fit a server (8 GB at 200,000 images of 100x100).
        # Fit on a sample of the training part, read only the rows used, and
        # predict the validation part block by block.
        fit = np.sort(np.random.default_rng(random_state).choice(fit, SVC_MAX_ROWS, replace=False))
        scale = pca.pixel_scale(sub)
        X = images.standardize(pca.raw_pixels(sub, fit, progress=scaled(progress, 0.0, 0.4)),
                               scale=scale)
        report(progress, 0.45, f"fitting PCA + SVC on {len(fit):,} sampled training rows")
        t0 = time.perf_counter()
        model = PCASVC(n_components, C, random_state).fit(X, y[fit], n_classes)
        seconds = time.perf_counter() - t0
        del X
        predicted = np.empty(len(val), dtype=np.int64)
        for start in range(0, len(val), _PREDICT_BLOCK):
            rows = val[start:start + _PREDICT_BLOCK]
            block = images.standardize(pca.raw_pixels(sub, rows), scale=scale)
            predicted[start:start + len(rows)] = model.predict(block)
            report(progress, 0.5 + 0.5 * min(1.0, (start + len(rows)) / len(val)),
                   f"baseline: {start + len(rows):,} of {len(val):,} validation rows")
    proba = np.eye(n_classes)[predicted]
    evaluation = evaluate(y[val], proba, sub.ids[val], classes=sub.categories)
    report(progress, 1.0, f"baseline: {evaluation['accuracy']:.1%}")
    return {"model": "PCA + RBF SVC", "n_components": int(model.pca_.n_components_), "C": float(C),
            "n_fit": int(len(fit)), "seconds": float(seconds), "val_accuracy": evaluation["accuracy"], "evaluation": evaluation}


@cache.memoize("classifier.baseline_tags", version=1)
def baseline_tags(sub, n_components: int = 100, C: float = 10.0, random_state: int = 42,
                  min_count: int = MIN_COUNT, progress=None) -> dict:
    """PCA + RBF SVC for every attribute the tagger answers, on the same split and label mappings.

    The classical partner's route (grayscale pixels of the classifier's 80x60
    photos, standardized, one PCA) with one SVC per attribute, each fitted on
    at most :data:`SVC_MAX_ROWS` rows of the training part: what the tagger
    earns per attribute, measured on the same validation part.

    Returns
    -------
    dict
        ``seconds`` (PCA and every SVC's fit), ``n_fit`` and, per attribute
        column, ``val_accuracy`` and ``majority_rate``.
    """
    x = np.asarray(dataset_images(sub, progress=scaled(progress, 0.0, 0.3)))
    frame = sub.frame()
    fit, tune, val = split(len(frame), random_state=random_state)
    train_rows = np.concatenate([fit, tune])
    attrs = attributes(frame, sub.label_columns, sub.categories, train_rows, min_count)
    ys = encode_all(frame, attrs, sub.labels())
    rows = train_rows
    if len(rows) > SVC_MAX_ROWS:
        rows = np.sort(np.random.default_rng(random_state).choice(rows, SVC_MAX_ROWS, replace=False))
    t0 = time.perf_counter()
    report(progress, 0.3, "PCA of the training photos")
    from sklearn.svm import SVC

    reducer = PCASVC(n_components, C, random_state, standardize=True)
    gray = gray_pixels(x[rows])
    reducer.scale_ = images.column_scale(gray)
    reducer.pca_ = _pca(reducer._standardized(gray), n_components, random_state)
    z_fit, z_val = reducer.transform(gray), reducer.transform(gray_pixels(x[val]))
    out = {"model": "PCA + RBF SVC per attribute", "n_fit": int(len(rows)), "attributes": {}}
    for i, (a, y) in enumerate(zip(attrs, ys)):
        report(progress, 0.3 + 0.7 * i / len(attrs), f"fitting the SVC for {a.column}")
        majority = int(np.bincount(y[train_rows], minlength=a.n_classes).argmax())
        if len(np.unique(y[rows])) < 2:
            pred = np.full(len(val), majority)
        else:
            pred = SVC(C=C, kernel="rbf", gamma="scale", random_state=random_state).fit(z_fit, y[rows]).predict(z_val)
        out["attributes"][a.column] = {"val_accuracy": float(np.mean(pred == y[val])),
                                       "majority_rate": float(np.mean(y[val] == majority))}
    out["seconds"] = time.perf_counter() - t0
    report(progress, 1.0, "baseline per attribute done")
    return out
