"""Tests of core.classifier.models: the notebook's model's size, the default model, class weights."""
from __future__ import annotations

import numpy as np
import pytest

from core import classifier, config


def test_seed_model_has_the_notebooks_parameter_counts():
    model = classifier.build_seed_model()
    counts = classifier.parameter_counts(model)
    assert counts["total"] == 48_038_633
    assert counts["biases"] == 258
    assert model.input_shape == (None, 400, 400, 3)
    assert model.output_shape == (None, 8)


def test_default_model_is_small_and_native_size():
    model = classifier.build_default_model()
    counts = classifier.parameter_counts(model)
    assert counts["total"] < 1_000_000
    assert model.input_shape == (None, classifier.IMAGE_HEIGHT, classifier.IMAGE_WIDTH, 3)
    assert model.output_shape == (None, len(config.CATEGORIES))


def test_class_weights_favour_rare_classes_within_a_cap():
    y = np.array([0] * 900 + [1] * 90 + [2] * 1)
    w = classifier.class_weights(y, 4, power=0.5, cap=5.0)
    assert w[2] > w[1] > w[0]
    assert w[2] / w[0] == pytest.approx(5.0)
    assert w[y].mean() == pytest.approx(1.0)


def test_recipe_is_a_copy_with_the_epochs_given():
    r = classifier.models.recipe("default", epochs=3)
    assert r["epochs"] == 3 and classifier.DEFAULT_RECIPE["epochs"] == "auto"
    assert classifier.models.recipe("seed") == classifier.SEED_RECIPE
    with pytest.raises(ValueError, match="unknown model"):
        classifier.models.recipe("large")
    with pytest.raises(ValueError, match="at least 1"):
        classifier.models.recipe("default", epochs=0)


def test_epochs_are_20_on_the_ten_percent_sample_and_14_on_the_whole_catalogue():
    auto = classifier.auto_epochs
    assert auto(3_029) == 20  # the 10% subsample's fitting part (seed 42)
    assert auto(30_291) == 14  # the whole dataset's
    assert auto(50) == 20 and auto(10_000_000) == 8
    assert [auto(n) for n in (1_000, 10_000, 100_000, 1_000_000)] == sorted(
        [auto(n) for n in (1_000, 10_000, 100_000, 1_000_000)], reverse=True)


def test_the_moving_average_spans_at_most_the_last_fifth_of_a_training():
    from core.classifier.models import ema_momentum_for

    assert classifier.DEFAULT_RECIPE["ema_momentum"] == 0.99
    assert ema_momentum_for(0.99, 48 * 20) == 0.99  # 10%: 48 steps an epoch, 20 epochs
    assert ema_momentum_for(0.99, 474 * 14) == 0.99  # the whole catalogue
    assert ema_momentum_for(0.99, 50) == pytest.approx(0.9)  # a short run averages its last steps
    # so the first step's weights keep under 1% of the answer
    assert ema_momentum_for(0.99, 50) ** 50 < 0.01
    assert ema_momentum_for(0.99, 5) == 0.0 and ema_momentum_for(None, 1000) == 0.0
    assert ema_momentum_for(0.0, 1000) == 0.0
