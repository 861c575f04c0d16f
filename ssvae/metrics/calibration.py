"""Calibration: expected calibration error (ECE) and the reliability diagram's bins.

Top-label ECE (Guo et al. 2017, "On Calibration of Modern Neural Networks"): each image's
confidence is its largest class probability; images fall into ``n_bins`` equal-width bins of
confidence (bin b holds (b/B, (b+1)/B], the first also 0); ECE = Σ_b |B_b|/N · |acc(B_b) −
conf(B_b)|, with acc the share of correct argmax predictions in the bin.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_BINS = 15


@dataclass(frozen=True)
class ReliabilityBins:
    """Per bin [n_bins]: its edges, image count, mean confidence and accuracy (NaN when empty)."""

    edges: np.ndarray           # [n_bins + 1]
    count: np.ndarray           # [n_bins] int
    confidence: np.ndarray      # [n_bins]
    accuracy: np.ndarray        # [n_bins]


def reliability_bins(probs, y, n_bins: int = N_BINS) -> ReliabilityBins:
    """Bins of the top-label confidence of ``probs`` [N, K] against labels ``y`` [N]."""
    probs = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y)
    if probs.ndim != 2 or y.shape != probs.shape[:1]:
        raise ValueError(f"probs must be [N, K] and y [N], got {probs.shape} and {y.shape}")
    if not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins={n_bins!r} must be a positive integer")
    confidence = probs.max(1)
    correct = probs.argmax(1) == y
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # right-closed bins: (edges[b], edges[b+1]]; a confidence of exactly 0 goes to bin 0
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.bincount(which, confidence, n_bins) / count
        acc = np.bincount(which, correct.astype(np.float64), n_bins) / count
    return ReliabilityBins(edges, count, conf, acc)


def expected_calibration_error(probs, y, n_bins: int = N_BINS) -> float | None:
    """Top-label ECE of ``probs`` [N, K] for labels ``y`` [N] (None for no images)."""
    bins = reliability_bins(probs, y, n_bins)
    n = bins.count.sum()
    if n == 0:
        return None
    filled = bins.count > 0
    gap = np.abs(bins.accuracy[filled] - bins.confidence[filled])
    return float((bins.count[filled] / n * gap).sum())
