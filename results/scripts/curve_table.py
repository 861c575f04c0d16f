"""Validation 10-class accuracy (%) of runs at epoch marks, from the epoch history in their
metrics.json, beside each run's end (epochs, why it stopped, best validation and test accuracy).

    python results/scripts/curve_table.py FOLDER [FOLDER ...]

Each FOLDER holds <run>.metrics.json files, or runs/<run>/metrics.json. E.g. the GMVAE screen
(gmvae_sweep/table.md): python results/scripts/curve_table.py
results/mnist_anchor/gmvae_sweep/*/ results/mnist_gmvae_patience
"""
import json
import sys
from pathlib import Path

MARKS = [5, 10, 15, 20, 30, 40, 50, 60, 80, 100, 150, 200]


def runs(folder: Path) -> list[tuple[str, Path]]:
    beside = sorted(folder.glob("*.metrics.json"))
    if beside:
        return [(p.name.removesuffix(".metrics.json"), p) for p in beside]
    return [(p.parent.name, p) for p in sorted(folder.glob("runs/*/metrics.json"))]


def main(folders: list[Path]) -> None:
    print("| folder | run | " + " | ".join(f"ep {m}" for m in MARKS)
          + " | epochs | stopped by | best val | test |")
    print("|---|---|" + "---|" * (len(MARKS) + 4))
    for folder in folders:
        for name, path in runs(folder):
            metrics = json.loads(path.read_text())
            acc = {h["epoch"]: 100 * h["val_subclass_acc"] for h in metrics["history"]
                   if h.get("val_subclass_acc") is not None}      # None: a stage without labels
            cells = [f"{acc[m]:.1f}" if m in acc else "" for m in MARKS]
            best = f"{max(acc.values()):.1f}" if acc else "-"
            print(f"| {folder.name} | {name} | " + " | ".join(cells)
                  + f" | {metrics['epochs']} | {metrics['stopped_by']} | {best}"
                  + f" | {100 * metrics['test_subclass_acc']:.2f} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main([Path(a) for a in sys.argv[1:]])
