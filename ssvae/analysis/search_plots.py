"""The search itself: the validation metric of every trial per cell, ASHA stops marked.

Reads the search history (one row per reported iteration of a trial). x is the trial's own
``epoch`` when the history has it, else ``iteration`` or ``time_s``: trials of a cell start at
different times, so a wall-time axis left most of each panel empty. Trials stopped early by
ASHA are dashed and end in a red ×; trials that ran to the end end in a dot; the best trial of
each cell is thicker.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D

from ssvae.analysis.style import metric_name, new_figure, save, slide_style

STOP_COLOUR = "#d62728"


def history_metric(history: pd.DataFrame) -> str:
    for col in ("metric", "metric_name"):
        if col in history.columns:
            names = [n for n in history[col].dropna().astype(str).unique() if n]
            if names:
                return " / ".join(names)
    return "validation metric"


PLOT_X = ("epoch", "iteration", "time_s")      # preference for the x axis


def history_x(history: pd.DataFrame) -> str:
    for col in PLOT_X:
        if col in history.columns and history[col].notna().any():
            return col
    raise ValueError("search history has no time_s, iteration or epoch values")


def minimised(history: pd.DataFrame) -> bool:
    """Whether the search minimised its metric: a ``mode`` column says 'min', or the metric is a
    loss (``val_loss``); accuracies are maximised."""
    if "mode" in history.columns and history["mode"].astype(str).str.lower().eq("min").any():
        return True
    return "loss" in history_metric(history).lower()


def _best(series: pd.Series, history: pd.DataFrame):
    return series.idxmin() if minimised(history) else series.idxmax()


def search_summary(history: pd.DataFrame) -> pd.DataFrame:
    """Per cell: trials, how many ASHA stopped, best validation metric and its trial."""
    rows = []
    for cell, g in history.groupby("cell", sort=True):
        last = g.groupby("trial_id")
        stopped = last["stopped_early"].any()
        best = last["val_metric"].min() if minimised(history) else last["val_metric"].max()
        top = _best(best, history)
        errored = (g.groupby("trial_id")["status"].agg(lambda s: (s == "ERROR").any()).sum()
                   if "status" in g.columns else 0)
        rows.append({"cell": cell, "trials": int(best.size), "asha_stopped": int(stopped.sum()),
                     "errored": int(errored),
                     "best_val_metric": float(best[top]), "best_trial": str(top)})
    return pd.DataFrame(rows)


def plot_search(history: pd.DataFrame, out_dir: Path, title: str = "") -> list[Path]:
    xcol = history_x(history)
    metric = history_metric(history)
    cells = sorted(history["cell"].astype(str).unique())
    scale = 100.0 if history["val_metric"].between(0, 1).all() else 1.0   # fractions -> %
    ncol = min(3, len(cells))
    nrow = math.ceil(len(cells) / ncol)
    with slide_style():
        fig = new_figure(6.5 * ncol, 4.8 * nrow + 1.2)
        axes = np.atleast_1d(fig.subplots(nrow, ncol, sharey=True, squeeze=False)).ravel()
        for ax, cell in zip(axes, cells):
            g = history[history["cell"].astype(str) == cell].sort_values(xcol)
            trials = list(dict.fromkeys(g["trial_id"]))
            palette = sns.color_palette("viridis", max(len(trials), 1))
            per_trial = g.groupby("trial_id")["val_metric"]
            best = _best(per_trial.min() if minimised(history) else per_trial.max(), history)
            for colour, trial in zip(palette, trials):
                t = g[g["trial_id"] == trial]
                stopped = bool(t["stopped_early"].any())
                ax.plot(t[xcol], scale * t["val_metric"], color=colour, lw=3.5 if trial == best else 1.6,
                        ls="--" if stopped else "-", alpha=0.9)
                ax.plot(t[xcol].iloc[-1], scale * t["val_metric"].iloc[-1], "X" if stopped else "o", ms=11 if stopped else 7,
                        color=STOP_COLOUR if stopped else colour, zorder=4)
            n_stop = int(g.groupby("trial_id")["stopped_early"].any().sum())
            ax.set_title(f"{cell}\n{len(trials)} trials, {n_stop} stopped by ASHA", fontsize=13)
            ax.set_xlabel({"time_s": "Wall time (s)", "iteration": "Iteration (reports)",
                           "epoch": "Epoch of the trial"}[xcol], fontsize=13)
            ax.set_ylabel(metric_name(metric) + (" (%)" if scale == 100 else ""), fontsize=13)
        for ax in axes[len(cells):]:
            ax.set_visible(False)
        handles = [Line2D([], [], color="gray", lw=1.6, marker="o", label="trial ran to the end"),
                   Line2D([], [], color="gray", lw=1.6, ls="--", marker="X", mfc=STOP_COLOUR,
                          mec=STOP_COLOUR, ms=10, label="stopped early by ASHA"),
                   Line2D([], [], color="gray", lw=3.5, label="best trial of the cell")]
        fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=13, frameon=False)
        fig.suptitle(f"Search history{': ' + title if title else ''}\n{metric_name(metric)} of every "
                     "trial per cell (validation data only)", fontsize=17, fontweight="bold")
        return save(fig, out_dir, "search_history")
