"""Class prior shift: labels are balanced, real positives are rare.

- ``prevalence_weights``: weights that make a test set's positive share ``rate``: positives
  weigh rate/π_test, negatives (1 − rate)/(1 − π_test) (π_test: their share in the test set).
  Precision, recall and PR-AUC on the weighted set are their values at that prevalence (recall
  does not depend on it; precision and PR-AUC do).
- ``correct_prior``: Bayes' rule for a known deployment prior (Saerens, Latinne & Decaestecker
  2002): p'(pos|x) ∝ p(pos|x)·π'/π against (1 − p(pos|x))·(1 − π')/(1 − π), with π the positive
  share the model was trained on.
- ``training_prior``: that π. Labelled images balanced by sub-class (``n_labels``) give
  π = (positive sub-classes)/(sub-classes); a ``label_fraction`` keeps the data's proportions,
  whose share the (stratified) validation part shows.
"""
from __future__ import annotations

import math

import numpy as np


def check_rate(name: str, rate: float) -> float:
    """``rate`` as a float in (0, 1), else an error naming ``name``."""
    ok = isinstance(rate, (int, float)) and not isinstance(rate, bool) and math.isfinite(rate)
    if not ok or not 0 < rate < 1:
        raise ValueError(f"{name}={rate!r} must be a positive rate strictly between 0 and 1, "
                         f"e.g. 0.01")
    return float(rate)


def prevalence_weights(positive, rate: float) -> np.ndarray:
    """[N] weights giving the positives a share ``rate`` of the total weight (mean weight 1)."""
    rate = check_rate("positive rate", rate)
    positive = np.asarray(positive, dtype=bool)
    share = positive.mean() if len(positive) else 0.0
    if not 0 < share < 1:
        raise ValueError(f"re-weighting to a positive rate needs positives and negatives; the "
                         f"set has a positive share of {share:g}")
    return np.where(positive, rate / share, (1 - rate) / (1 - share))


def weighted_precision_recall(flag, positive, weight) -> tuple[float | None, float | None]:
    """(precision, recall) of the decisions ``flag`` [N] bool with image weights [N]."""
    flag, positive = np.asarray(flag, dtype=bool), np.asarray(positive, dtype=bool)
    weight = np.asarray(weight, dtype=np.float64)
    tp = weight[flag & positive].sum()
    flagged, positives = weight[flag].sum(), weight[positive].sum()
    return (float(tp / flagged) if flagged > 0 else None,
            float(tp / positives) if positives > 0 else None)


def correct_prior(score, prior: float, trained_prior: float) -> np.ndarray:
    """P(positive|x) [N] of a model trained at positive share ``trained_prior``, corrected to a
    deployment prior ``prior`` (module docstring)."""
    prior = check_rate("prior", prior)
    trained_prior = check_rate("training prior", trained_prior)
    p = np.clip(np.asarray(score, dtype=np.float64), 0.0, 1.0)
    pos = p * (prior / trained_prior)
    neg = (1.0 - p) * ((1.0 - prior) / (1.0 - trained_prior))
    return pos / (pos + neg)


def training_prior(sub_to_super, positive: int, balanced_by_subclass: bool,
                   val_super_labels=None) -> float:
    """The positive share the model's labels had (module docstring)."""
    table = np.asarray(sub_to_super)
    if balanced_by_subclass:
        return float((table == positive).mean())
    if val_super_labels is None or not len(val_super_labels):
        raise ValueError("a label_fraction split needs the validation labels to give its prior")
    return float((np.asarray(val_super_labels) == positive).mean())
