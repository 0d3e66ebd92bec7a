"""Tests of core.classifier.svc: the one PCA + RBF SVC, as partner and as baseline."""
from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from core import classifier, config, images
from core.classifier import svc


def _blobs(rng, n_per_class=20, n_features=30):
    centres = rng.normal(0, 5, (3, n_features))
    X = np.concatenate([c + rng.normal(0, 1, (n_per_class, n_features)) for c in centres])
    return X.astype(np.float32), np.repeat([0, 1, 4], n_per_class)


def test_pca_svc_separates_blobs_with_probabilities():
    rng = np.random.default_rng(0)
    X, y = _blobs(rng)
    model = svc.PCASVC(n_components=5, C=10.0, random_state=0).fit(X, y, len(config.CATEGORIES))
    assert model.pca_.n_components_ == 5 and model.scale_ is None
    assert (model.predict(X) == y).all()
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), len(config.CATEGORIES))
    assert_allclose(proba.sum(1), 1.0, atol=1e-5)
    assert (proba.argmax(1) == y).all()


def test_standardize_learns_the_training_rows_scale():
    rng = np.random.default_rng(0)
    X, y = _blobs(rng)
    X = X * 100 + 7
    model = svc.PCASVC(n_components=5, random_state=0, standardize=True).fit(X, y)
    mean, std = images.column_scale(X)
    assert_allclose(model.scale_[0], mean, rtol=1e-6)
    assert_allclose(model.scale_[1], std, rtol=1e-6)
    assert_allclose(model.transform(X[:3]), model.pca_.transform(images.standardize(X[:3], (mean, std))),
                    rtol=1e-5, atol=1e-5)


def test_components_are_capped_by_the_rows():
    rng = np.random.default_rng(0)
    X, y = _blobs(rng, n_per_class=3)
    assert svc.PCASVC(n_components=100).fit(X, y).pca_.n_components_ == len(X) - 1


def test_one_class_gets_all_the_probability():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 4)).astype(np.float32)
    model = svc.PCASVC(n_components=2)
    model.fit(np.vstack([X, X + 10]), np.array([2] * 6 + [5] * 6))
    model.svc_.classes_ = np.array([2])  # what a one-class partner answers
    proba = model.predict_proba(X)
    assert (proba[:, 2] == 1).all()


def test_partner_reads_grayscale_pixels_of_prepared_images():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (4, classifier.IMAGE_HEIGHT, classifier.IMAGE_WIDTH, 3), dtype=np.uint8)
    f = svc.gray_pixels(x)
    assert f.shape == (4, classifier.IMAGE_HEIGHT * classifier.IMAGE_WIDTH) and f.dtype == np.float32
    assert svc.gray_pixels(x[:0]).shape == (0, f.shape[1])
    part = svc.fit_partner(x, np.array([0, 0, 1, 1]), n_components=2, C=1.0, random_state=0,
                           n_classes=len(config.CATEGORIES))
    assert svc.partner_proba(part, x).shape == (4, len(config.CATEGORIES))
    # without the count, as wide as the labels seen (classes 2..6 absent from this tiny fit)
    plain = svc.fit_partner(x, np.array([0, 0, 1, 1]), n_components=2, C=1.0, random_state=0)
    assert svc.partner_proba(plain, x).shape == (4, 2)
    assert svc.partner_proba(None, x) is None


def test_mix_and_weight_choice():
    p_cnn = np.array([[0.6, 0.4], [0.6, 0.4]])
    p_svc = np.array([[0.0, 1.0], [0.0, 1.0]])
    assert svc.mix(p_cnn, None, 0.5) is p_cnn
    assert_allclose(svc.mix(p_cnn, p_svc, 0.5), [[0.3, 0.7], [0.3, 0.7]])
    # The truth is class 1: more of the partner is better.
    assert svc.choose_weight(p_cnn, p_svc, np.array([1, 1]), (0.0, 0.2, 0.5)) == pytest.approx(0.5)
    assert svc.choose_weight(p_cnn, p_svc, np.array([], int), (0.0, 0.5)) == 0.0


def test_baseline_fits_the_training_part_and_reports_it(tiny_sub):
    out = svc.baseline(tiny_sub, n_components=5)
    fit, _, val = svc.split(len(tiny_sub.ids), random_state=42, tuning_fraction=0.0)
    assert out["n_fit"] == len(fit)
    assert np.asarray(out["evaluation"]["confusion"]).sum() == len(val)


def test_baseline_of_a_large_catalogue_samples_and_never_reads_the_whole_matrix(tiny_sub, monkeypatch):
    def whole_matrix(*args, **kwargs):
        raise AssertionError("the whole feature matrix was read")

    monkeypatch.setattr(type(tiny_sub), "features", whole_matrix)
    monkeypatch.setattr(svc, "SVC_MAX_ROWS", 12)
    monkeypatch.setattr(svc, "_PREDICT_BLOCK", 4)  # several validation blocks
    out = svc.baseline(tiny_sub, n_components=5)
    _, _, val = svc.split(len(tiny_sub.ids), random_state=42, tuning_fraction=0.0)
    assert out["n_fit"] == 12
    assert np.asarray(out["evaluation"]["confusion"]).sum() == len(val)  # every block predicted
