"""``ssvae.predict --prior``: a trained model's scores corrected to a known deployment prior.

The model's training prior is the share of positives its labels had (``training_prior`` in
``ssvae/metrics/prior_shift.py``); Bayes' rule moves P(positive | x) from it to the deployment
prior. Thresholds follow the validation scores corrected the same way.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ssvae.deploy.bundle import Predictor, positive_index
from ssvae.metrics.prior_shift import correct_prior, training_prior
from ssvae.deploy.thresholds import Goal, Thresholds, choose

Correction = Callable[[np.ndarray], np.ndarray]


def prior_correction(predictor: Predictor, positive: str, prior: float) -> tuple[Correction, float]:
    """(score -> score corrected to deployment prior ``prior``, the training prior)."""
    h, k = predictor.hierarchy, positive_index(predictor.hierarchy, positive)
    trained = training_prior(h.sub_to_super, k, predictor.config.n_labels is not None,
                             h.collapse(predictor.validation.y_sub).numpy())
    return (lambda score: correct_prior(score, prior, trained)), trained


def corrected_thresholds(predictor: Predictor, positive: str, goal: Goal,
                         correct: Correction) -> Thresholds:
    """Thresholds for ``goal`` on the stored validation scores after ``correct``."""
    score, is_positive, rejection = predictor.validation.for_positive(
        predictor.hierarchy, predictor.config.label_mode, positive)
    return choose(correct(score), is_positive, rejection, goal, positive)
