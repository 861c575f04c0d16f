"""Summarise the active-labelling study's ``runs.csv``: mean ± std over draws per (arm, labels),
the paired difference chosen − random per draw (same first 100 labels, same training seed),
and a figure.

    PYTHONPATH=$PWD python results/active_labelling/summarise.py results/active_labelling
"""
from __future__ import annotations

import sys
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from scipy import stats

from ssvae.analysis.style import new_figure, save, slide_style

matplotlib.use("Agg")
METRICS = ("test_binary_acc", "test_subclass_acc")
ARMS = ("random", "entropy", "margin", "disagreement", "entropy_super", "margin_super")


def summarise(folder: Path) -> str:
    # the main run's table, and those of arms run later into sub-folders
    runs = pd.concat([pd.read_csv(p) for p in [folder / "runs.csv", *sorted(folder.glob("*/runs.csv"))]],
                     ignore_index=True).drop_duplicates(["draw", "arm", "round"])
    table = (runs.groupby(["arm", "n_labels"])[list(METRICS)]
             .agg(["mean", "std", "count"]).reset_index())
    table.columns = ["_".join(c).strip("_") for c in table.columns]
    table.to_csv(folder / "summary.csv", index=False, float_format="%.5f")
    wide = runs.pivot_table(index=["draw", "n_labels"], columns="arm", values="test_binary_acc")
    lines = ["| arm | " + " | ".join(f"{n} labels" for n in sorted(runs["n_labels"].unique()))
             + " |", "|---|" + "---|" * runs["n_labels"].nunique()]
    for arm in ARMS:
        if arm not in set(runs["arm"]):
            continue
        cells = []
        for n in sorted(runs["n_labels"].unique()):
            v = runs[(runs["arm"] == arm) & (runs["n_labels"] == n)]["test_binary_acc"] * 100
            cells.append(f"{v.mean():.2f} ± {v.std(ddof=1):.2f} ({len(v)})" if len(v) > 1
                         else f"{v.mean():.2f} ({len(v)})")
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    lines += ["", "Paired difference in test binary accuracy, chosen − random (pp), per draw; "
              "mean with a 95 % t-interval over draws:", "",
              "| arm | labels | per draw | mean | 95 % CI |", "|---|---|---|---|---|"]
    paired = []
    for arm in [a for a in ARMS[1:] if a in wide.columns]:
        for n in sorted(runs["n_labels"].unique())[1:]:
            d = (wide.xs(n, level="n_labels")[arm] - wide.xs(n, level="n_labels")["random"]).dropna()
            d = 100 * d.to_numpy()
            if len(d) < 2:
                continue
            half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
            paired.append({"arm": arm, "n_labels": n, "n_draws": len(d), "mean_pp": d.mean(),
                           "ci95_low_pp": d.mean() - half, "ci95_high_pp": d.mean() + half})
            lines.append(f"| {arm} | {n} | {', '.join(f'{x:+.2f}' for x in d)} | {d.mean():+.2f} "
                         f"| {d.mean() - half:+.2f} to {d.mean() + half:+.2f} |")
    pd.DataFrame(paired).to_csv(folder / "paired_chosen_minus_random.csv", index=False,
                                float_format="%.4f")
    _plot(runs, folder)
    return "\n".join(lines)


def _plot(runs: pd.DataFrame, folder: Path) -> None:
    colours = {"random": "0.25", "entropy": "#0173b2", "margin": "#029e73",
               "disagreement": "#de8f05", "entropy_super": "#cc78bc", "margin_super": "#ca9161"}
    with slide_style():
        fig = new_figure(14, 7)
        axes = fig.subplots(1, 2)
        for ax, metric, name in zip(axes, METRICS, ("binary (super-class)", "sub-class")):
            for arm, g in runs.groupby("arm"):
                s = g.groupby("n_labels")[metric].agg(["mean", "std"]) * 100
                ax.plot(s.index, s["mean"], marker="o", lw=2.5, color=colours.get(arm),
                        label=arm, linestyle="--" if arm == "random" else "-")
                ax.fill_between(s.index, s["mean"] - s["std"], s["mean"] + s["std"],
                                color=colours.get(arm), alpha=0.12)
            ax.set_xlabel("Labelled images")
            ax.set_ylabel(f"Test {name} accuracy (%)")
            ax.set_xticks(sorted(runs["n_labels"].unique()))
        axes[0].legend(fontsize=13)
        fig.suptitle("Fashion-MNIST 'mixed': labels chosen by the model vs random labels\n"
                     f"supervised MLP; line = mean over {runs['draw'].nunique()} draws, "
                     "band = ±1 std", fontsize=15, fontweight="bold")
        save(fig, folder / "figures", "chosen_vs_random")


if __name__ == "__main__":
    print(summarise(Path(sys.argv[1] if len(sys.argv) > 1 else "results/active_labelling")))
