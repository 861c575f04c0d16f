"""Model selection on validation: a stage's score, and when a score counts as an improvement.

Both the training loop (early stopping, the ``best/`` model, learning-rate decays on a plateau)
and ``resume`` (replaying a finished stage's history to reopen it) use these two rules, so they
cannot drift apart.
"""
from __future__ import annotations

import math

from ssvae.models.base import Stage


def score(stage: Stage, val: dict) -> float:
    """Larger is better: the trained label space's accuracy, or the negative validation loss."""
    if stage.select_on == "val_loss":
        return -val["val_loss"]
    return val["val_acc"]


def improved(stage: Stage, score: float, best: float, loss_rel_tol: float) -> bool:
    """Accuracy: any gain. Loss (score = -loss): a gain of more than ``loss_rel_tol`` of the best
    loss, so a VAE creeping down by 0.01 % per epoch counts as converged."""
    if stage.select_on == "val_loss" and math.isfinite(best):
        return score > best + loss_rel_tol * abs(best)
    return score > best


def replay(stage: Stage, scores: list[float], loss_rel_tol: float) -> tuple[float, int]:
    """The best score and the epochs since it, after a stage's per-epoch ``scores``."""
    best, since = -math.inf, 0
    for value in scores:
        if improved(stage, value, best, loss_rel_tol):
            best, since = value, 0
        else:
            since += 1
    return best, since
