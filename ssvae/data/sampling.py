"""Reproducible stratified draws with a local RNG (never numpy's or torch's global state)."""
from __future__ import annotations

import numpy as np


def proportional_counts(class_sizes: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` over classes in proportion to their sizes (largest remainder; ties go
    to the lower class index). Returns int64 [n_classes], each <= its class size."""
    sizes = np.asarray(class_sizes, dtype=np.int64)
    if not 0 <= total <= sizes.sum():
        raise ValueError(f"cannot draw {total} of {sizes.sum()} items")
    if total == 0:
        return np.zeros_like(sizes)
    exact = sizes * total / sizes.sum()
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def stratified_pick(y: np.ndarray, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positions into ``y`` [N]: ``counts[c]`` drawn without replacement from class ``c``.

    Classes are visited in order and each is permuted in full, so the draw of class ``c`` does
    not depend on ``counts`` — a smaller budget with the same seed picks a subset of a larger
    one. Returns sorted int64 positions."""
    y = np.asarray(y)
    picked = []
    for c, k in enumerate(np.asarray(counts)):
        members = np.flatnonzero(y == c)
        perm = rng.permutation(len(members))
        picked.append(members[perm[:k]])
    return np.sort(np.concatenate(picked)).astype(np.int64) if picked else np.zeros(0, np.int64)


def carve(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split positions of ``y`` into (rest, carved) with ``round(fraction * N)`` carved,
    stratified by class, from a fixed seed. Both sorted int64."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"fraction={fraction!r} must be in [0, 1)")
    y = np.asarray(y)
    n_classes = int(y.max()) + 1 if len(y) else 0
    counts = proportional_counts(np.bincount(y, minlength=n_classes), round(fraction * len(y)))
    carved = stratified_pick(y, counts, np.random.default_rng(seed))
    rest = np.setdiff1d(np.arange(len(y)), carved).astype(np.int64)
    return rest, carved
