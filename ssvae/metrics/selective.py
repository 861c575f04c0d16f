"""The selective classifier: accuracy when the model may send its least trusted images to a
person (Geifman & El-Yaniv 2017, "Selective Classification for Deep Neural Networks").

At coverage c the model keeps the ⌈c·N⌉ images with the lowest rejection score (larger = less
trusted, ``ssvae/deploy/rejection.py``; ties broken by position) and is judged on those only.
"""
from __future__ import annotations

import math

import numpy as np


def _kept_order(correct, rejection) -> np.ndarray:
    """``correct`` [N] ordered from the most to the least trusted image."""
    correct = np.asarray(correct, dtype=bool)
    rejection = np.asarray(rejection, dtype=np.float64)
    if correct.shape != rejection.shape or correct.ndim != 1:
        raise ValueError(f"correct and rejection must be [N] arrays of one length, got "
                         f"{correct.shape} and {rejection.shape}")
    return correct[np.argsort(rejection, kind="stable")]


def accuracy_at_coverage(correct, rejection, coverage: float) -> float | None:
    """Accuracy on the ⌈coverage·N⌉ most trusted images (None for no images)."""
    if not 0 < coverage <= 1:
        raise ValueError(f"coverage={coverage!r} must be in (0, 1]")
    ordered = _kept_order(correct, rejection)
    if not len(ordered):
        return None
    k = max(1, math.ceil(coverage * len(ordered) - 1e-9))
    return float(ordered[:k].mean())


def accuracy_coverage_curve(correct, rejection) -> tuple[np.ndarray, np.ndarray]:
    """(coverage [N], accuracy [N]): keeping the k most trusted images, k = 1..N."""
    ordered = _kept_order(correct, rejection)
    k = np.arange(1, len(ordered) + 1)
    return k / len(ordered), np.cumsum(ordered) / k
