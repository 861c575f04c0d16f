"""Test accuracy against the number of labels (log x), one figure per data set and metric.

One panel per label mode (binary labels | sub-class labels), sharing the y axis, so each panel
holds one band per model instead of six overlapping ones; one colour per model. The line is the
mean over runs (label draws × seeds) and the band is ±1 standard deviation (seaborn
``errorbar="sd"``). Baselines (supervised, VGG16) are gray with square markers. Published
anchors (``anchors.py``) are hollow reference marks on the sub-class accuracy figure of the data
sets that have them, in the sub-class-labels panel (they were trained on all sub-classes).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, NullLocator

from ssvae.analysis.anchors import ANCHOR_METRIC, anchors_for
from ssvae.analysis.load import BASELINES
from ssvae.analysis.style import (dataset_name, label_mode_name, metric_name, model_colours,
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


def drawn_anchors(data: pd.DataFrame, ds: str, metric: str):
    """The published anchors a figure of ``metric`` on ``ds`` draws (none for most data sets)."""
    return anchors_for(ds) if metric == ANCHOR_METRIC else []


def _one_figure(data: pd.DataFrame, ds: str, hi: str, metric: str, out_dir: Path) -> list[Path]:
    data = data.assign(pct=100 * data[metric])
    models = order_models(data["model"])
    colours = model_colours(models)
    modes = [m for m in ("binary", "subclass") if m in set(data["label_mode"])] + sorted(
        set(data["label_mode"]) - {"binary", "subclass"})
    anchors = drawn_anchors(data, ds, metric)
    anchor_mode = "subclass" if "subclass" in modes else modes[-1]
    budgets = sorted(set(data["n_labels"]) | ({a.n_labels for a in anchors}))
    with slide_style():
        fig = new_figure(7.5 * len(modes) + 4.5, 8)
        axes = fig.subplots(1, len(modes), sharey=True, squeeze=False)[0]
        for ax, mode in zip(axes, modes):
            for m in models:
                base = m in BASELINES
                g = data[(data["model"] == m) & (data["label_mode"] == mode)]
                if g.empty:
                    continue
                sns.lineplot(data=g, x="n_labels", y="pct", errorbar="sd", ax=ax,
                             color=colours[m], marker="s" if base else "o",
                             markersize=9 if base else 8, linewidth=3.2 if base else 2.5,
                             err_kws={"alpha": 0.12}, legend=False)
            if mode == anchor_mode:
                _draw_anchors(ax, anchors, colours)
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(FixedLocator(budgets))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_xticks(budgets, [str(t) for t in budgets])
            ax.set_xlabel("Labelled images (count, log scale)")
            ax.set_title(label_mode_name(mode), fontsize=16)
        axes[0].set_ylabel(f"{metric_name(metric).capitalize()} (%)")
        handles = [Line2D([], [], color=colours[m], lw=3.2 if m in BASELINES else 2.5,
                          marker="s" if m in BASELINES else "o", markersize=9,
                          label=f"{model_name(m)}{' [baseline]' if m in BASELINES else ''}")
                   for m in models]
        handles += [h for h in axes[list(modes).index(anchor_mode)].collections
                    if str(h.get_label()).startswith("published")]
        sub = "" if metric.endswith("subclass_acc") else " (super-class)"
        fig.suptitle(f"{dataset_name(ds)}, hierarchy '{hi}': {metric_name(metric)}{sub}\n"
                     "line = mean over label draws × seeds, band = ±1 std", fontsize=17,
                     fontweight="bold")
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 4),
                   fontsize=12, frameon=False)
        return save(fig, out_dir, slug("accuracy_vs_labels", ds, hi, metric))


def _draw_anchors(ax, anchors, colours) -> None:
    for i, source in enumerate(dict.fromkeys(a.source for a in anchors)):
        pts = [a for a in anchors if a.source == source]
        colour = colours.get(pts[0].model, (0.35, 0.35, 0.35))
        ax.scatter([a.n_labels for a in pts], [100 * a.accuracy for a in pts], s=220,
                   marker=ANCHOR_MARKERS[i % len(ANCHOR_MARKERS)], facecolors="none",
                   edgecolors=[colour], linewidths=2, zorder=5, label=f"published: {source}")
