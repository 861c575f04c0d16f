"""The labels-needed figure (ssvae/analysis/budget_plot.py) on synthetic power-law runs."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ssvae.analysis.budget import fit_budgets
from ssvae.analysis.budget_plot import _x_range, plot_budget_fits


def _runs(budgets, models=("m2", "supervised"), seeds=3):
    rng = np.random.default_rng(0)
    return pd.DataFrame([dict(dataset="mnist", hierarchy="low_high", model=m, label_mode=mode,
                              n_labels=n, test_binary_acc=1 - (1.5 if m == "m2" else 3.0)
                              * n ** -0.5 * math.exp(rng.normal(0, 0.03)))
                         for m in models for mode in ("binary", "subclass")
                         for n in budgets for _ in range(seeds)])


def test_one_figure_per_dataset_with_a_fit(tmp_path):
    runs = _runs([100, 300, 1000])
    fits = fit_budgets(runs, "test_binary_acc", target=0.99, n_boot=20)
    assert all(f.boot for f in fits)                    # bootstrap refits are kept for the band
    paths = plot_budget_fits(runs, fits, tmp_path, "test_binary_acc")
    assert sorted(p.name for p in paths) == ["labels_needed_mnist_low_high_test_binary_acc.png",
                                             "labels_needed_mnist_low_high_test_binary_acc.svg"]
    assert all(p.stat().st_size > 1000 for p in paths)
    assert "EXTRAPOLATION" in paths[1].read_text()      # the SVG says where the data ends


def test_no_figure_without_two_budgets(tmp_path):
    runs = _runs([500])
    fits = fit_budgets(runs, "test_binary_acc", n_boot=5)
    assert fits and all(f.fit is None for f in fits)
    assert plot_budget_fits(runs, fits, tmp_path, "test_binary_acc") == []


def test_x_range_reaches_the_needed_budget_but_is_capped():
    runs = _runs([100, 300, 1000])
    near = fit_budgets(runs, "test_binary_acc", target=0.95, n_boot=5)     # ~900 / ~3,600
    lo, measured_hi, hi = _x_range(near)
    assert (lo, measured_hi) == (100, 1000)
    needed = max(f.n_needed for f in near)
    assert hi >= needed and hi <= 1.3 * needed + 1e-6
    far = fit_budgets(runs, "test_binary_acc", target=0.9999, n_boot=5)    # ~10^8 labels
    assert _x_range(far)[2] == 1000 * 100                 # capped at 100x the largest budget
