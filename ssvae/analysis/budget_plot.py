"""The labels-needed figure: test error against the number of labels, on log–log axes.

One panel per (data set, hierarchy). Per model and label mode: every run as a dot, the fitted
power law of ``budget.py`` as a line, and the 95 % band of its bootstrap refits (pointwise
percentiles). The line runs past the measured budgets (faint there) to the budget the fit needs
for ``--target`` when one is given, capped at 100× the largest measured budget; the target error
is a horizontal line. Everything right of the largest measured budget is EXTRAPOLATION, and the
figure shades it and says so.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

from ssvae.analysis.budget import BudgetFit
from ssvae.analysis.load import BASELINES
from ssvae.analysis.style import (LEGEND_HANDLE_LENGTH, LINESTYLES, dataset_name,
                                  label_mode_name, metric_name, model_colours, model_name,
                                  new_figure, order_models, save, slide_style, slug)

MAX_EXTRAPOLATION = 100.0      # draw fits at most this factor beyond the largest measured budget


def plot_budget_fits(runs: pd.DataFrame, fits: list[BudgetFit], out_dir: Path,
                     metric: str) -> list[Path]:
    """Write ``labels_needed_<dataset>_<hierarchy>_<metric>.{png,svg}``; return the paths.

    Only (data set, hierarchy) groups with at least one fitted model get a figure.
    """
    paths: list[Path] = []
    for (ds, hi), group in runs.groupby(["dataset", "hierarchy"], sort=True):
        mine = [f for f in fits if f.dataset == ds and f.hierarchy == hi and f.fit is not None]
        if mine:
            paths += _one_figure(group.dropna(subset=[metric]), mine, ds, hi, metric, out_dir)
    return paths


def _percent(value: float, _pos) -> str:
    return f"{value:.3g}"


def _count(value: float, _pos) -> str:
    return f"{value:,.0f}"


def _x_ticks(fits: list[BudgetFit], lo: float, hi: float) -> list[float]:
    """The measured budgets, plus the powers of ten in range that are not crowded by one."""
    budgets = sorted({b for f in fits for b in f.budgets})
    decades = [10.0 ** k for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
               if lo <= 10.0 ** k <= hi]
    return budgets + [d for d in decades if all(abs(math.log10(d / b)) > 0.2 for b in budgets)]


def _reach(f: BudgetFit, cap: float) -> float | None:
    """How far right a fit with a finite labels-needed estimate is drawn (None: no estimate)."""
    if f.n_needed is None or not math.isfinite(f.n_needed):
        return None
    return min(f.n_needed * 1.3, cap)


def _x_range(fits: list[BudgetFit]) -> tuple[float, float, float]:
    lo = min(f.budgets[0] for f in fits)
    measured_hi = max(f.budgets[-1] for f in fits)
    reaches = [r for f in fits if (r := _reach(f, measured_hi * MAX_EXTRAPOLATION)) is not None]
    return lo, measured_hi, max([measured_hi] + reaches)


def _one_figure(data: pd.DataFrame, fits: list[BudgetFit], ds: str, hi_name: str, metric: str,
                out_dir: Path) -> list[Path]:
    models = order_models({f.model for f in fits})
    colours = model_colours(models)
    lo, measured_hi, hi = _x_range(fits)
    with slide_style():
        fig = new_figure(14, 8)
        ax = fig.subplots()
        for f in sorted(fits, key=lambda f: (models.index(f.model), f.label_mode)):
            colour = colours[f.model]
            style = LINESTYLES.get(f.label_mode, ":")
            label = f"{model_name(f.model)}{' [baseline]' if f.model in BASELINES else ''}, " \
                    f"{label_mode_name(f.label_mode)}"
            own = data[(data["model"] == f.model) & (data["label_mode"] == f.label_mode)]
            ax.scatter(own["n_labels"], 100 * (1 - own[metric]), s=36, color=colour, alpha=0.55,
                       marker="s" if f.model in BASELINES else "o", zorder=4)
            reach = _reach(f, measured_hi * MAX_EXTRAPOLATION)
            end = hi if reach is None else max(f.budgets[-1], reach)
            inside = np.geomspace(f.budgets[0], f.budgets[-1], 60)
            ax.plot(inside, 100 * f.fit.error(inside), color=colour, linestyle=style, linewidth=2.6,
                    label=label)
            if end > f.budgets[-1]:
                beyond = np.geomspace(f.budgets[-1], end, 40)
                ax.plot(beyond, 100 * f.fit.error(beyond), color=colour, linestyle=style,
                        linewidth=1.8, alpha=0.55)
            if f.boot:
                grid = np.geomspace(f.budgets[0], end, 80)
                curves = np.array([b.error(grid) for b in f.boot])
                low, high = np.percentile(curves, [2.5, 97.5], axis=0)
                ax.fill_between(grid, 100 * low, 100 * high, color=colour, alpha=0.12, linewidth=0)
        targets = {f.target for f in fits if f.target is not None}
        for t in sorted(targets):
            ax.axhline(100 * (1 - t), color="#b2182b", linewidth=1.6, linestyle="-.",
                       label=f"target {100 * t:g} % accuracy")
        if hi > measured_hi:
            ax.axvspan(measured_hi, hi, color="#999999", alpha=0.08, linewidth=0)
            ax.text(measured_hi * 1.05, 0.98, "EXTRAPOLATION", transform=ax.get_xaxis_transform(),
                    va="top", ha="left", fontsize=12, color="#555555")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo / 1.3, hi * 1.1)
        ax.set_xlabel("Labelled images (count, log scale)")
        # one plain number format on both axes, minor ticks included (matplotlib's log axes
        # would label short ranges' minor ticks as 4×10¹ beside a major 100)
        ax.yaxis.set_major_formatter(FuncFormatter(_percent))
        ax.yaxis.set_minor_formatter(FuncFormatter(_percent))
        ax.xaxis.set_major_locator(FixedLocator(_x_ticks(fits, lo / 1.3, hi * 1.1)))
        ax.xaxis.set_major_formatter(FuncFormatter(_count))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_ylabel("Error (%, log scale)")
        ax.set_title(f"{dataset_name(ds)}, '{hi_name}': labels needed; error = 100 − "
                     f"{metric_name(metric)}\n"
                     "dots = runs, line = power-law fit, band = 95 % bootstrap", fontsize=16)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=12, frameon=False,
                  handlelength=LEGEND_HANDLE_LENGTH)
        return save(fig, out_dir, slug("labels_needed", ds, hi_name, metric))
