"""Acquisition scores: how much a label for each unlabelled image would help.

For M models with class probabilities p_m = q_m(y|x) [N, K] and their mean p̄:

- ``entropy``      H(p̄) = -Σ_y p̄ log p̄: the (ensemble's) uncertainty of q(y|x);
- ``margin``       1 - (p̄₍₁₎ - p̄₍₂₎): one minus the gap between the two most probable classes;
- ``disagreement`` H(p̄) - (1/M) Σ_m H(p_m): the generalised Jensen-Shannon divergence between
  the models (the mutual information between the label and the model, as in BALD); 0 for one
  model, so it needs two checkpoints or more.

Larger = more worth labelling. ``rank`` orders by the chosen score, ties broken by entropy,
then by position (stable), so the same inputs always give the same list.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

RANK_BY = ("entropy", "margin", "disagreement")


def _entropy(p: np.ndarray) -> np.ndarray:
    """[..., K] -> [...]; 0·log 0 = 0."""
    return -(p * np.log(np.clip(p, 1e-12, None))).sum(-1)


def acquisition_scores(probs: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """Every score of ``RANK_BY`` ([N] float64 each) from M arrays of class probabilities [N, K]
    (one per model, rows summing to 1)."""
    if not len(probs):
        raise ValueError("acquisition_scores needs the class probabilities of at least one model")
    stack = np.stack([np.asarray(p, dtype=np.float64) for p in probs])      # [M, N, K]
    if stack.ndim != 3 or stack.shape[2] < 2:
        raise ValueError(f"class probabilities must be [N, K] arrays with K >= 2 of one shape, "
                         f"got shape {stack.shape[1:]}")
    mean = stack.mean(0)                                                    # [N, K]
    top2 = np.sort(mean, axis=1)[:, -2:]                                    # [N, 2] ascending
    h_mean = _entropy(mean)
    return {"entropy": h_mean,
            "margin": 1.0 - (top2[:, 1] - top2[:, 0]),
            "disagreement": np.clip(h_mean - _entropy(stack).mean(0), 0.0, None)}


def rank(scores: dict[str, np.ndarray], by: str, n_models: int) -> np.ndarray:
    """Positions [N] int64, most worth labelling first, by score ``by`` (see the docstring)."""
    if by not in RANK_BY:
        raise ValueError(f"rank by {by!r} is not known; choose one of {', '.join(RANK_BY)}")
    if by == "disagreement" and n_models < 2:
        raise ValueError("ranking by disagreement needs two checkpoints or more (one model "
                         "never disagrees with itself); give more --checkpoint or rank by entropy")
    # np.lexsort sorts by the last key first; negate for descending order; position ascending.
    n = len(scores[by])
    return np.lexsort((np.arange(n), -scores["entropy"], -scores[by])).astype(np.int64)
