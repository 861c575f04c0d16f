"""Published numbers to measure against (DESIGN.md §7), as accuracies (fractions).

All MNIST anchors are 10-class test accuracy, i.e. our ``test_subclass_acc`` (MNIST's classes are
its sub-classes); errors in % are converted with acc = 1 − err/100. They are drawn on the
sub-class accuracy figure only: the binary accuracy of a two-super-class task is not comparable.
"""
from __future__ import annotations

from typing import NamedTuple


class Anchor(NamedTuple):
    dataset: str          # lower-case data set name as in the results table
    model: str            # closest ssvae model (its colour), or "" for other methods
    source: str           # legend text
    n_labels: int
    accuracy: float       # fraction, 10-class test accuracy


def _from_error(dataset: str, model: str, source: str, errors_pct: dict[int, float]) -> list[Anchor]:
    return [Anchor(dataset, model, source, n, round(1 - e / 100, 6)) for n, e in errors_pct.items()]


ANCHORS: tuple[Anchor, ...] = tuple(
    _from_error("mnist", "m1", "Kingma 2014 M1+TSVM",
                {100: 11.82, 600: 5.72, 1000: 4.24, 3000: 3.49})
    + _from_error("mnist", "m2", "Kingma 2014 M2", {100: 11.97, 600: 4.94, 1000: 3.60, 3000: 3.92})
    + _from_error("mnist", "m1m2", "Kingma 2014 M1+M2",
                  {100: 3.33, 600: 2.59, 1000: 2.40, 3000: 2.18})
    + [Anchor("mnist", "m2", "Pyro SS-VAE", n, a)
       for n, a in {100: 0.9319, 600: 0.9437, 1000: 0.9487, 3000: 0.9582}.items()]
    + [Anchor("mnist", "m2", "re-implementation, 3000 epochs", 100, 0.9285),
       Anchor("mnist", "m1m2", "re-implementation, 3000 epochs", 100, 0.9720)]
    + _from_error("mnist", "", "ADGM (Maaløe 2016)", {100: 0.96})
    + [Anchor("cifar10", "m2", "conv M2 (approx.)", 1000, 0.42),
       Anchor("cifar10", "", "frozen ImageNet features + MLP (approx.)", 1000, 0.66)]
)

ANCHOR_METRIC = "test_subclass_acc"


def anchors_for(dataset: str) -> list[Anchor]:
    """Anchors of one data set (name matched case-insensitively, '-'/'_' ignored)."""
    key = dataset.lower().replace("-", "").replace("_", "")
    return [a for a in ANCHORS if a.dataset == key]
