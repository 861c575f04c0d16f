"""The study's figures: accuracy and rejection against eps per attack, and a grid of
adversarial images the rejection rule accepted beside ones it rejected."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd
import seaborn as sns
import torch

from ssvae.analysis.style import model_colours, model_name, new_figure, order_models, save, slide_style

PANELS = (("adv_acc_on_accepted", "accuracy on accepted"), ("adv_acc", "accuracy, no rejection"),
          ("adv_reject_rate", "rejection rate"), ("fooled_accepted", "fooled and accepted"))


def attack_label(row: pd.Series) -> str:
    """'FGSM' | 'PGD' | 'PGD aware' (| ' targeted')."""
    # CSV columns come back as bool, or as 0.0 / 1.0 beside the empty cells of noise rows
    aware = str(row["aware"]).lower() in ("true", "1", "1.0")
    text = row["attack"].upper() + (" aware" if aware else "")
    return text + (" targeted" if str(row.get("target", "")) not in ("", "nan") else "")


def with_clean_points(rows: pd.DataFrame) -> pd.DataFrame:
    """Add eps = 0 rows (the clean images: the same threshold, nothing fooled) per run and attack."""
    clean = rows.drop_duplicates(["run", "attack_label"]).copy()
    clean["eps"] = 0.0
    clean["adv_acc"], clean["adv_reject_rate"] = clean["clean_acc"], clean["clean_reject_rate"]
    clean["adv_acc_on_accepted"] = clean["clean_acc_on_accepted"]
    clean["fooled_accepted"] = float("nan")
    return pd.concat([clean, rows], ignore_index=True)


def plot_accuracy_rejection(rows: pd.DataFrame, out_dir: Path, stem: str = "accuracy_rejection"
                            ) -> list[Path]:
    """One column per attack, one row per ``PANELS`` metric, x = eps, one line per model (mean
    over runs, band ±1 sd). ``rows``: the attack rows of ``python -m ssvae.attack`` for all runs."""
    rows = rows[rows["attack"].isin(["fgsm", "pgd"])].copy()
    rows["attack_label"] = rows.apply(attack_label, axis=1)
    data = with_clean_points(rows)
    attacks = sorted(set(rows["attack_label"]), key=lambda a: (len(a.split()), a))  # FGSM, PGD, PGD aware
    models = order_models(data["model"])
    colours = model_colours(models)
    with slide_style():
        fig = new_figure(5.0 * len(attacks), 3.6 * len(PANELS))
        axes = fig.subplots(len(PANELS), len(attacks), sharex=True, sharey="row", squeeze=False)
        for j, attack in enumerate(attacks):
            for i, (metric, label) in enumerate(PANELS):
                ax = axes[i][j]
                sns.lineplot(data=data[data["attack_label"] == attack], x="eps", y=metric,
                             hue="model", hue_order=models, palette=colours, errorbar="sd",
                             marker="o", ax=ax, legend=(i == 0 and j == 0))
                ax.set_ylim(-0.03, 1.03)
                ax.set_ylabel(label if j == 0 else "")
                ax.set_title(attack if i == 0 else "")
                ax.set_xlabel("eps (L∞)" if i == len(PANELS) - 1 else "")
        legend = axes[0][0].get_legend()
        if legend is not None:
            for text in legend.get_texts():
                text.set_text(model_name(text.get_text()))
        return save(fig, out_dir, stem)


def accepted_rejected_grid(x_adv: torch.Tensor, pred: torch.Tensor, rejected: torch.Tensor,
                           y: torch.Tensor, names: Sequence[str], out: Path, title: str = "",
                           n: int = 8) -> Path:
    """PNG: top row, adversarial images the rule accepted (misclassified ones first); bottom row,
    ones it rejected; each titled 'true -> predicted'. ``x_adv`` [N, C, H, W] in [0, 1]."""
    accepted = (~rejected).nonzero().flatten()
    fooled = pred[accepted] != y[accepted]
    accepted = torch.cat([accepted[fooled], accepted[~fooled]])
    rows = [("accepted", accepted), ("rejected", rejected.nonzero().flatten())]
    fig = new_figure(1.3 * n, 3.4)
    axes = fig.subplots(2, n, squeeze=False)
    for r, (label, index) in enumerate(rows):
        for c in range(n):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < min(n, len(index)):
                i = int(index[c])
                image = x_adv[i].permute(1, 2, 0).numpy()
                ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray",
                          vmin=0, vmax=1)
                wrong = int(pred[i]) != int(y[i])
                ax.set_title(f"{names[int(y[i])]}→{names[int(pred[i])]}", fontsize=9,
                             color="crimson" if wrong else "black")
            else:
                for side in ax.spines.values():     # an empty cell; the row's label stays
                    side.set_visible(False)
            if c == 0:
                ax.set_ylabel(f"{label}\n{len(index)} of {len(rejected)}", fontsize=9)
    fig.suptitle(f"{title} (true→predicted; red: misclassified)", fontsize=10)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=150)
    return out
