"""Keras and TensorFlow, imported quietly and on the TensorFlow backend.

Importing TensorFlow costs seconds and prints C++ log lines, so the rest of
the package imports it only inside the functions that need it, through here:
the environment is set before the first import, whichever function comes first.
"""
from __future__ import annotations

import os


def keras():
    """The ``keras`` module, on the TensorFlow backend, with TensorFlow's info logs silenced."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras as _keras

    return _keras


def tensorflow():
    """The ``tensorflow`` module, imported after :func:`keras` has set the environment."""
    keras()
    import tensorflow as tf

    return tf
