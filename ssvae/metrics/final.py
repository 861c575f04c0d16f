"""The moderation metrics of a final run's test part (issue 26; DESIGN.md §9).

The positive super-class is the hierarchy's first (``mixed``: target; MNIST: low; a folder
tree: the first super-class folder in sorted order); its score is P(positive | x), summed over
its sub-classes for models trained on sub-classes. Keys (``METRIC_KEYS``; None where a value
does not apply, never NaN):

- ``pr_auc``, ``roc_auc``: of the positive score (``moderation.py``);
- ``recall_at_p90``, ``recall_at_p95``: the most recall at precision >= 0.90 / 0.95;
- ``ece``: top-label ECE of the super-class probabilities, 15 bins (``calibration.py``);
- ``acc_at_cov80``, ``acc_at_cov95``: binary accuracy on the 80 % / 95 % of images with the
  lowest rejection score (``selective.py``);
- ``subclass_recall``: per sub-class, the share of its images put in their true super-class
  ({name: fraction}, a JSON cell in runs.csv).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ssvae.metrics.calibration import expected_calibration_error
from ssvae.metrics.moderation import pr_auc, recall_at_precision, roc_auc
from ssvae.metrics.selective import accuracy_at_coverage

if TYPE_CHECKING:             # tensors come in; the analysis imports this module without torch
    import torch

METRIC_KEYS = ("pr_auc", "roc_auc", "recall_at_p90", "recall_at_p95", "ece", "acc_at_cov80",
               "acc_at_cov95", "subclass_recall")
POSITIVE = 0          # index of the positive super-class


def subclass_recall(correct: np.ndarray, y_sub: np.ndarray, names) -> dict[str, float | None]:
    """{sub-class name: share of its images whose super-class is predicted right}."""
    out: dict[str, float | None] = {}
    for k, name in enumerate(names):
        mine = y_sub == k
        out[name] = float(correct[mine].mean()) if mine.any() else None
    return out


def moderation_metrics(p_super: torch.Tensor, y_sub: torch.Tensor, rejection: torch.Tensor,
                       hierarchy, prefix: str = "test_") -> dict[str, Any]:
    """The keys of ``METRIC_KEYS`` (with ``prefix``) from super-class probabilities
    [N, n_super], sub-class labels [N] and rejection scores [N]."""
    p = p_super.double().numpy()
    y_super = hierarchy.collapse(y_sub.long()).numpy()
    y_sub = y_sub.long().numpy()
    correct = p.argmax(1) == y_super
    score, positive = p[:, POSITIVE], y_super == POSITIVE
    reject = rejection.double().numpy()
    values = {
        "pr_auc": pr_auc(score, positive), "roc_auc": roc_auc(score, positive),
        "recall_at_p90": recall_at_precision(score, positive, 0.90),
        "recall_at_p95": recall_at_precision(score, positive, 0.95),
        "ece": expected_calibration_error(p, y_super),
        "acc_at_cov80": accuracy_at_coverage(correct, reject, 0.80),
        "acc_at_cov95": accuracy_at_coverage(correct, reject, 0.95),
        "subclass_recall": subclass_recall(correct, y_sub, hierarchy.subclass_names),
    }
    return {prefix + k: v for k, v in values.items()}
