"""Test accuracy against the number of labels (log x), one figure per data set and metric.

One colour per model, one line style per label mode; the line is the mean over runs (label
draws × seeds) and the band is ±1 standard deviation (seaborn ``errorbar="sd"``). Baselines
(supervised, VGG16) are gray with square markers. Published anchors (``anchors.py``) are
reference marks on the sub-class accuracy figure of the data sets that have them.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import seaborn as sns
from matplotlib.ticker import FixedLocator, NullLocator

from ssvae.analysis.anchors import ANCHOR_METRIC, anchors_for
from ssvae.analysis.load import BASELINES
from ssvae.analysis.style import (LINESTYLES, dataset_name, metric_name, model_colours,
                                  model_name, new_figure, order_models, save, slide_style, slug)

ANCHOR_MARKERS = ("*", "P", "X", "^", "v", "h", "<", ">")


def plot_accuracy_curves(runs: pd.DataFrame, out_dir: Path, metrics=("test_binary_acc",
                         "test_subclass_acc")) -> list[Path]:
    """Write ``accuracy_vs_labels_<dataset>_<hierarchy>_<metric>.{png,svg}``; return paths."""
    paths: list[Path] = []
    for (ds, hi), group in runs.groupby(["dataset", "hierarchy"], sort=True):
        for metric in metrics:
            data = group.dropna(subset=[metric])
            if data.empty:
                continue
            paths += _one_figure(data, ds, hi, metric, out_dir)
    return paths


def _one_figure(data: pd.DataFrame, ds: str, hi: str, metric: str, out_dir: Path) -> list[Path]:
    data = data.assign(pct=100 * data[metric])
    models = order_models(data["model"])
    colours = model_colours(models)
    with slide_style():
        fig = new_figure(14, 8)
        ax = fig.subplots()
        for m in models:
            base = m in BASELINES
            for mode in sorted(data.loc[data["model"] == m, "label_mode"].unique()):
                g = data[(data["model"] == m) & (data["label_mode"] == mode)]
                sns.lineplot(data=g, x="n_labels", y="pct", errorbar="sd", ax=ax,
                             color=colours[m], linestyle=LINESTYLES.get(mode, ":"),
                             marker="s" if base else "o", markersize=9 if base else 8,
                             linewidth=3.2 if base else 2.5, err_kws={"alpha": 0.12 if base else 0.2},
                             label=f"{model_name(m)}{' [baseline]' if base else ''}, {mode} labels")
        budgets = sorted(data["n_labels"].unique())
        anchors = anchors_for(ds) if metric == ANCHOR_METRIC else []
        for i, source in enumerate(dict.fromkeys(a.source for a in anchors)):
            pts = [a for a in anchors if a.source == source]
            colour = colours.get(pts[0].model, (0.35, 0.35, 0.35))
            ax.scatter([a.n_labels for a in pts], [100 * a.accuracy for a in pts], s=220,
                       marker=ANCHOR_MARKERS[i % len(ANCHOR_MARKERS)], facecolors="none",
                       edgecolors=[colour], linewidths=2, zorder=5, label=f"published: {source}")
            budgets += [a.n_labels for a in pts]
        ax.set_xscale("log")
        ticks = sorted(set(budgets))
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.set_xlabel("Labelled images (count, log scale)")
        ax.set_ylabel(f"{metric_name(metric).capitalize()} (%)")
        sub = "10-class" if metric == "test_subclass_acc" else "super-class"
        ax.set_title(f"{dataset_name(ds)}, hierarchy '{hi}': {metric_name(metric)} ({sub})\n"
                     "line = mean over label draws × seeds, band = ±1 std", fontsize=17)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=12, frameon=False)
        return save(fig, out_dir, slug("accuracy_vs_labels", ds, hi, metric))
