"""Ranking metrics of the positive super-class score: PR-AUC, ROC-AUC, recall at a precision.

``score`` [N] is P(positive super-class | x); ``positive`` [N] bool the truth; optional
``weight`` [N] re-weights images (evaluation at another positive rate, ``prior_shift.py``).
PR-AUC is scikit-learn's average precision, Σ_n (R_n - R_{n-1}) P_n over thresholds (no
interpolation); ROC-AUC scikit-learn's trapezoidal area. Where a value does not apply (one class
only) the functions return None, never NaN.
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score


def _inputs(score, positive, weight):
    score = np.asarray(score, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    if score.shape != positive.shape or score.ndim != 1:
        raise ValueError(f"score and positive must be [N] arrays of one length, got "
                         f"{score.shape} and {positive.shape}")
    if weight is not None:
        weight = np.asarray(weight, dtype=np.float64)
        if weight.shape != score.shape or (weight < 0).any():
            raise ValueError(f"weight must be [N] non-negative, got shape {weight.shape}")
    return score, positive, weight


def _both_classes(positive: np.ndarray) -> bool:
    return bool(positive.any() and (~positive).any())


def pr_auc(score, positive, weight=None) -> float | None:
    """Average precision of ``score`` for ``positive`` (None without positives or negatives)."""
    score, positive, weight = _inputs(score, positive, weight)
    if not _both_classes(positive):
        return None
    return float(average_precision_score(positive, score, sample_weight=weight))


def roc_auc(score, positive, weight=None) -> float | None:
    """Area under the ROC curve (None without positives or negatives)."""
    score, positive, weight = _inputs(score, positive, weight)
    if not _both_classes(positive):
        return None
    return float(roc_auc_score(positive, score, sample_weight=weight))


def recall_at_precision(score, positive, precision: float, weight=None) -> float | None:
    """The highest recall of a rule 'flag if score >= t' whose precision is >= ``precision``
    (0.0 when no threshold reaches it; None without positives)."""
    if not 0 < precision <= 1:
        raise ValueError(f"precision={precision!r} must be in (0, 1]")
    score, positive, weight = _inputs(score, positive, weight)
    if not positive.any():
        return None
    p, r, _ = precision_recall_curve(positive, score, sample_weight=weight)
    ok = p >= precision - 1e-12
    return float(r[ok].max()) if ok.any() else 0.0
