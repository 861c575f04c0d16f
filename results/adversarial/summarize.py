"""Tabulate and plot the adversarial study: results/adversarial/attacks/*.csv (written by
attack.sh) and runs/*/metrics.json -> attacks.csv, summary.csv, summary.md, figures/.

    python results/adversarial/summarize.py

Every cell of summary.md is mean ± sample std over the label draws (n in its own column).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from ssvae.adversarial.plots import attack_label, plot_accuracy_rejection

HERE = Path(__file__).resolve().parent
METRICS = ("clean_acc", "adv_acc", "adv_acc_on_accepted", "clean_reject_rate", "adv_reject_rate",
           "fooled_accepted", "clean_subclass_acc", "adv_subclass_acc")


def load_rows() -> pd.DataFrame:
    rows = pd.concat([pd.read_csv(p, keep_default_na=False, na_values=[""])
                      for p in sorted((HERE / "attacks").glob("*.csv"))], ignore_index=True)
    rows["run"] = rows["run"].map(lambda r: Path(r).name)
    rows["draw"] = rows["run"].map(lambda r: int(re.search(r"-s(\d+)$", r).group(1)))
    return rows


def runs_table() -> pd.DataFrame:
    out = []
    for path in sorted((HERE / "runs").glob("*/metrics.json")):
        m = json.loads(path.read_text())
        out.append({"run": path.parent.name, "dataset": m["dataset"], "model": m["model"],
                    "draw": m["split_seed"], "epochs": m["epochs"], "stopped_by": m["stopped_by"],
                    "wall_s": round(m["wall_s"]), "test_binary_acc": m["test_binary_acc"],
                    "test_subclass_acc": m["test_subclass_acc"],
                    "val_subclass_acc": m["val_subclass_acc"]})
    return pd.DataFrame(out)


def pm(values: pd.Series, scale: float = 100.0) -> str:
    """'mean ± std' in percent (std over draws; '' for one draw)."""
    v = values.dropna() * scale
    if v.empty:
        return ""
    return f"{v.mean():.1f}" + (f" ± {v.std(ddof=1):.1f}" if len(v) > 1 else "")


def main() -> None:
    rows = load_rows()
    rows.to_csv(HERE / "attacks.csv", index=False)
    runs = runs_table()
    runs.to_csv(HERE / "runs.csv", index=False)
    attacks = rows[rows["attack"].isin(["fgsm", "pgd"])].copy()
    attacks["attack_label"] = attacks.apply(attack_label, axis=1)
    order = {"gmvae": 0, "m2": 1, "supervised": 2}
    attacks = attacks.sort_values(["model", "attack_label", "eps"], key=lambda c: c.map(
        lambda v: (order.get(v, 9), v) if c.name == "model" else (len(v.split()), v)
        if c.name == "attack_label" else v), kind="stable")
    summary = (attacks.groupby(["model", "attack_label", "eps"])[list(METRICS)]
               .agg(["mean", "std", "count"]))
    summary.columns = [f"{a}_{b}" for a, b in summary.columns]
    summary.reset_index().to_csv(HERE / "summary.csv", index=False)
    lines = ["## Runs (full 10,000-image test set)", "",
             "| model | data set | draws | epochs | test binary acc % | test 10-class acc % |",
             "|---|---|---|---|---|---|"]
    for (ds, model), g in runs.groupby(["dataset", "model"], sort=False):
        lines.append(f"| {model} | {ds} | {len(g)} | {', '.join(map(str, g['epochs']))} | "
                     f"{pm(g['test_binary_acc'])} | {pm(g['test_subclass_acc'])} |")
    lines += ["", "## Attacks (first 500 MNIST test images; threshold: 5 % of clean validation "
              "images rejected)", "",
              "| model | attack | eps | clean acc % | adv acc % | adv acc on accepted % | "
              "clean reject % | adv reject % | fooled and accepted % | adv 10-class acc % |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for (model, label, eps), g in attacks.groupby(["model", "attack_label", "eps"], sort=False):
        lines.append(f"| {model} | {label} | {eps:g} | {pm(g['clean_acc'])} | {pm(g['adv_acc'])} | "
                     f"{pm(g['adv_acc_on_accepted'])} | {pm(g['clean_reject_rate'])} | "
                     f"{pm(g['adv_reject_rate'])} | {pm(g['fooled_accepted'])} | "
                     f"{pm(g['adv_subclass_acc'])} |")
    ood = rows[~rows["attack"].isin(["fgsm", "pgd"])]
    lines += ["", "## Noise and the other data set (rejection rate %, same thresholds)", "",
              "| model trained on | model | input | draws | rejected % |", "|---|---|---|---|---|"]
    for (ds, model, source), g in ood.groupby(["dataset", "model", "attack"], sort=False):
        lines.append(f"| {ds} | {model} | {source} | {len(g)} | {pm(g['adv_reject_rate'])} |")
    (HERE / "summary.md").write_text("\n".join(lines) + "\n")
    untargeted = attacks[~attacks["attack_label"].str.endswith("targeted")]   # one draw, one eps
    plot_accuracy_rejection(untargeted.drop(columns="attack_label"), HERE / "figures")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
