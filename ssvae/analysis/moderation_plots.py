"""Moderation curves per model: accuracy against coverage, reliability diagram, PR curves.

One figure of each kind per (data set, hierarchy), one panel per label budget; a line per
(model, label mode): colour = model, dashes = sub-class labels. Each curve pools the test images
of the cell's runs (label draws × seeds) from their ``test_scores.npz``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from sklearn.metrics import precision_recall_curve

from ssvae.analysis.moderation import TestScores
from ssvae.analysis.style import (LEGEND_HANDLE_LENGTH, LINESTYLES, dataset_name,
                                  label_mode_name, model_colours, model_name, new_figure,
                                  order_models, save, slide_style, slug)
from ssvae.metrics.calibration import reliability_bins
from ssvae.metrics.selective import accuracy_coverage_curve

KINDS = ("accuracy_coverage", "reliability", "pr_curves")
MIN_COVERAGE = 0.05


def _pooled(runs: pd.DataFrame, scores: dict[int, TestScores], rows) -> TestScores:
    parts = [scores[i] for i in rows if i in scores]
    return TestScores(np.concatenate([p.p_super for p in parts]),
                      np.concatenate([p.y_super for p in parts]),
                      np.concatenate([p.rejection for p in parts]), parts[0].positive_name)


def _curve(kind: str, s: TestScores) -> tuple[np.ndarray, np.ndarray]:
    if kind == "accuracy_coverage":
        coverage, accuracy = accuracy_coverage_curve(s.correct, s.rejection)
        keep = coverage >= MIN_COVERAGE        # a handful of images: noise, not a trend
        return coverage[keep], accuracy[keep]
    if kind == "reliability":
        bins = reliability_bins(s.p_super, s.y_super)
        filled = bins.count > 0
        return bins.confidence[filled], bins.accuracy[filled]
    precision, recall, _ = precision_recall_curve(s.positive, s.score)
    return recall, precision


AXES = {"accuracy_coverage": ("Coverage: test images kept (%)", "Binary accuracy (%)"),
        "reliability": ("Mean confidence in bin (%)", "Accuracy in bin (%)"),
        "pr_curves": ("Recall of {pos} (%)", "Precision (%)")}
TITLES = {"accuracy_coverage": "accuracy against coverage (the rest goes to review)",
          "reliability": "reliability diagram (15 confidence bins)",
          "pr_curves": "precision–recall of the positive super-class"}


def plot_moderation(runs: pd.DataFrame, scores: dict[int, TestScores], out_dir: Path
                    ) -> list[Path]:
    """Write ``<kind>_<dataset>_<hierarchy>.{png,svg}`` for each kind; return the paths."""
    paths: list[Path] = []
    have = runs.loc[[i for i in runs.index if i in scores]]
    for (ds, hi), group in have.groupby(["dataset", "hierarchy"], sort=True):
        for kind in KINDS:
            paths += _figure(kind, group, scores, ds, hi, out_dir)
    return paths


def _figure(kind, group, scores, ds, hi, out_dir) -> list[Path]:
    budgets = sorted(group["n_labels"].unique())
    models = order_models(group["model"])
    colours = model_colours(models)
    positive = scores[group.index[0]].positive_name
    with slide_style():
        fig = new_figure(max(10.0, 6.5 * len(budgets) + 2), 7.5)
        axes = fig.subplots(1, len(budgets), sharey=True, squeeze=False)[0]
        for ax, n in zip(axes, budgets):
            for (m, mode), cell in group[group["n_labels"] == n].groupby(["model", "label_mode"]):
                x, y = _curve(kind, _pooled(group, scores, cell.index))
                ax.plot(100 * x, 100 * y, lw=2.5,
                        color=colours[m], linestyle=LINESTYLES.get(mode, "-"),
                        marker="o" if kind == "reliability" else None)
            if kind == "reliability":
                ax.plot([0, 100], [0, 100], color="0.6", lw=1.5, linestyle=":")
            ax.set_title(f"{n} labels", fontsize=16)
            xlabel, ylabel = AXES[kind]
            ax.set_xlabel(xlabel.format(pos=positive))
        axes[0].set_ylabel(AXES[kind][1])
        handles = [Line2D([], [], color=colours[m], lw=2.5, label=model_name(m)) for m in models]
        handles += [Line2D([], [], color="0.3", lw=2.5, linestyle=LINESTYLES.get(mode, "-"),
                           label=label_mode_name(mode))
                    for mode in sorted(group["label_mode"].unique())]
        fig.suptitle(f"{dataset_name(ds)}, hierarchy '{hi}': {TITLES[kind]}\n"
                     f"(test images of each cell's runs pooled)", fontsize=15, fontweight="bold")
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 5),
                   fontsize=12, frameon=False, handlelength=LEGEND_HANDLE_LENGTH)
        return save(fig, out_dir, slug(kind, ds, hi))
