"""The tagger: one CNN tags a photo with every label attribute; the notebook's CNN; a classical baseline.

Three models answer on the notebook's split (80/20, ``random_state=42``) of a
subsample:

* ``seed``: exactly the notebook's Keras model (two convolutions on a 400x400x3
  input, 48,038,633 parameters), kept to measure what it cost;
* ``default``: the tagger, a small batch-normalised CNN on the catalogue's
  native 80 high by 60 wide colour photos with one softmax head per label
  attribute (:attr:`core.subsample.Subsample.label_columns`: for the Kaggle
  catalogue masterCategory, subCategory, articleType, gender, baseColour),
  rare values grouped as "other" (:mod:`.labels`), with cheap augmentation,
  label smoothing, rare classes weighed up (square root, capped), AdamW on a
  warm-up + cosine schedule and mirror test-time augmentation; its
  probabilities are averaged with a PCA + RBF SVC partner on the same photos
  in grayscale, with a weight chosen on the tuning slice;
* ``seed`` and ``baseline`` answer the primary attribute (masterCategory) only;
  ``baseline``: PCA + RBF SVC on the notebook's standardized grayscale features,
  :func:`baseline_tags` the same classical model for every attribute.

Data flows one way through the package, one concern per module:

* :mod:`.backend`: Keras and TensorFlow, imported quietly;
* :mod:`.inputs`: the model's input: :func:`prepare` (the one preprocessing of
  training photos and uploads), upload checks, the photos of a subsample,
  :func:`split`, the seed model's 400x400 upscaling;
* :mod:`.models`: the Keras architectures, their training recipes, and what is
  read from a trained model (probabilities, embedding, parameter counts);
* :mod:`.labels`: each attribute's label mapping and its "other" group;
* :mod:`.metrics`: :func:`evaluate` (accuracy, top-5, majority rate, confusion,
  most confused pairs, per-class figures);
* :mod:`.check`: the catalogue check, confident learning on out-of-sample
  predictions (:func:`label_issues`);
* :mod:`.svc`: the one PCA + RBF SVC, as the default CNN's partner and as the
  :func:`baseline`;
* :mod:`.training`: the training loop, its steps, :func:`train` and :func:`is_trained`;
* :mod:`.predict`: :class:`Predictor`, :func:`load`, classifying uploads,
  :func:`pca_position`.

Figures of a trained model live in :mod:`core.figures.model`, the CLI's
output in :mod:`core.__main__`. Early stopping, the out-of-distribution
threshold and every other tuning use a slice of the training part
(:func:`split`), never the reported validation set. Trained models are saved as
``.keras`` files in the disk cache, keyed by the dataset's fingerprint and every
parameter, and their metrics are memoized.
"""
from .inputs import (IMAGE_HEIGHT, IMAGE_WIDTH, SEED_SIZE,
                     TUNING_FRACTION, dataset_images,
                     prepare, seed_input, split)
from .check import label_issues
from .labels import MIN_COUNT, OTHER, Attribute, attributes
from .metrics import evaluate
from .models import (DEFAULT_RECIPE, MODELS, SEED_RECIPE, auto_epochs, build_default_model,
                     build_seed_model, class_weights, head_probas, parameter_counts)
from .predict import (Predictor, catalogue_embedding, classify_arrays, classify_images, load,
                      pca_position)
from .svc import PCASVC, baseline, baseline_tags
from .training import (ALLOW_TRAINING_ENV, LOW_CONFIDENCE, TrainingNotAllowed, best_trained,
                       is_trained, train, train_summary, training_allowed)

__all__ = [
    "IMAGE_HEIGHT", "IMAGE_WIDTH", "SEED_SIZE",
    "TUNING_FRACTION", "dataset_images",
    "prepare", "seed_input", "split",
    "label_issues", "MIN_COUNT", "OTHER", "Attribute", "attributes",
    "evaluate",
    "DEFAULT_RECIPE", "MODELS", "SEED_RECIPE", "auto_epochs", "build_default_model",
    "build_seed_model", "class_weights", "head_probas", "parameter_counts",
    "Predictor", "catalogue_embedding", "classify_arrays", "classify_images", "load", "pca_position",
    "PCASVC", "baseline", "baseline_tags",
    "ALLOW_TRAINING_ENV", "LOW_CONFIDENCE", "TrainingNotAllowed", "best_trained", "is_trained", "train",
    "train_summary", "training_allowed",
]
