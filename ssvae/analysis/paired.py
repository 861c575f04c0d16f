"""Binary vs sub-class labels: the paired difference in binary test accuracy.

Runs are matched on (dataset, hierarchy, model, n_labels, split_seed, seed, split_hash): the same
labelled images and the same training seed, so the difference isolates the label mode. Only
runs present in both modes enter; the others are counted as unmatched. Difference = subclass −
binary; its mean per (model, budget) has a 95 % t-interval (none with fewer than 2 pairs).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from ssvae.analysis.style import (model_colours, model_name, new_figure, order_models, save,
                                  slide_style, slug, dataset_name)

PAIR_KEY = ["dataset", "hierarchy", "model", "n_labels", "split_seed", "seed", "split_hash"]


def paired_differences(runs: pd.DataFrame, metric: str = "test_binary_acc"
                       ) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Return (pairs, summary, n_unmatched).

    pairs: one row per matched key with ``binary``, ``subclass`` and ``diff`` (subclass − binary).
    summary: per (dataset, hierarchy, model, n_labels): n, mean, ci_low, ci_high (95 % t;
    empty with n < 2). Several runs with one key in one mode (another factor varied) are averaged.
    """
    data = runs.dropna(subset=[metric])
    data = data[data["label_mode"].isin(("binary", "subclass"))]
    wide = data.pivot_table(index=PAIR_KEY, columns="label_mode", values=metric, aggfunc="mean")
    for mode in ("binary", "subclass"):
        if mode not in wide.columns:
            wide[mode] = np.nan
    both = wide["binary"].notna() & wide["subclass"].notna()
    n_unmatched = int(data.set_index(PAIR_KEY).index.isin(wide.index[~both]).sum())
    pairs = wide[both].reset_index()[PAIR_KEY + ["binary", "subclass"]]
    pairs["diff"] = pairs["subclass"] - pairs["binary"]
    rows = []
    for key, g in pairs.groupby(["dataset", "hierarchy", "model", "n_labels"], sort=True):
        d = g["diff"].to_numpy(float)
        mean = d.mean()
        lo = hi = np.nan
        if len(d) >= 2:
            half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
            lo, hi = mean - half, mean + half
        rows.append(dict(zip(["dataset", "hierarchy", "model", "n_labels"], key),
                         n_pairs=len(d), mean_diff=mean, ci95_low=lo, ci95_high=hi))
    summary = pd.DataFrame(rows, columns=["dataset", "hierarchy", "model", "n_labels", "n_pairs",
                                          "mean_diff", "ci95_low", "ci95_high"])
    return pairs, summary, n_unmatched


def plot_paired(summary: pd.DataFrame, out_dir, metric: str = "test_binary_acc") -> list:
    """One figure per (dataset, hierarchy): mean paired difference (pp) per model and budget."""
    paths = []
    for (ds, hi), g in summary.groupby(["dataset", "hierarchy"]):
        models = order_models(g["model"])
        colours = model_colours(models)
        budgets = sorted(g["n_labels"].unique())
        with slide_style():
            fig = new_figure()
            ax = fig.subplots()
            width = 0.8 / max(len(models), 1)
            named: set[str] = set()
            for i, m in enumerate(models):
                gm = g[g["model"] == m].set_index("n_labels")
                for j, n in enumerate(budgets):
                    if n not in gm.index:
                        continue
                    r = gm.loc[n]
                    x = j - 0.4 + width * (i + 0.5)
                    y = 100 * r["mean_diff"]
                    has_ci = r["n_pairs"] >= 2
                    label = None if m in named else model_name(m)
                    named.add(m)
                    if has_ci:
                        err = [[y - 100 * r["ci95_low"]], [100 * r["ci95_high"] - y]]
                        ax.errorbar(x, y, yerr=err, fmt="o", color=colours[m], capsize=6,
                                    markersize=10, lw=2.5, label=label)
                    else:
                        ax.plot(x, y, "D", mfc="white", color=colours[m], markersize=10,
                                label=label)
                    ax.annotate(f"n={int(r['n_pairs'])}" + ("" if has_ci else "\nno CI"),
                                (x, y), textcoords="offset points", xytext=(8, -4), fontsize=11)
            ax.axhline(0, color="black", lw=1.2)
            ax.set_xticks(range(len(budgets)), [str(b) for b in budgets])
            ax.set_xlim(-0.5, len(budgets) - 0.5)
            for j in range(1, len(budgets)):
                ax.axvline(j - 0.5, color="0.75", lw=1)
            ax.grid(axis="x", visible=False)
            ax.set_xlabel("Labelled images (count)")
            ax.set_ylabel("Sub-class − binary labels\n(test binary accuracy, pp)")
            hollow = (g["n_pairs"] < 2).any()
            ax.set_title(f"{dataset_name(ds)}, hierarchy '{hi}': does labelling sub-classes help?\n"
                         "paired difference, mean with 95 % t-interval"
                         + (" (hollow: 1 pair, no CI)" if hollow else ""), fontsize=16)
            handles, labels = ax.get_legend_handles_labels()
            uniq = dict(zip(labels, handles))
            ax.legend(uniq.values(), uniq.keys(), loc="best", fontsize=12)
            paths += save(fig, out_dir, slug("paired_subclass_minus_binary", ds, hi))
    return paths
