"""Validation 10-class accuracy (%) of GMVAE runs at epoch marks, from their --log-epochs logs,
beside each run's end (epochs, why it stopped, best validation and test accuracy).

    python results/mnist_anchor/gmvae_sweep/table.py [FOLDER ...]

Each FOLDER holds <run>.log and <run>.metrics.json, or <run>.log with the metrics in
FOLDER/../runs/<run>/metrics.json (default: every sub-folder of this one, then the patience-30
runs of results/mnist_gmvae_patience/logs).
"""
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).parent
MARKS = [5, 10, 20, 30, 40, 50, 60, 80, 100, 150, 200]


def val_curve(log: Path) -> dict[int, float]:
    acc = {}
    for line in log.read_text().splitlines():
        m = re.search(r"^epoch\s+(\d+).*val_subclass_acc ([\d.]+)", line)
        if m:
            acc[int(m.group(1))] = 100 * float(m.group(2))
    return acc


def main(folders: list[Path]) -> None:
    print("| folder | run | " + " | ".join(f"ep {m}" for m in MARKS)
          + " | epochs | stopped by | best val | test |")
    print("|---|---|" + "---|" * (len(MARKS) + 4))
    for folder in folders:
        for log in sorted(folder.glob("*.log")):
            acc = val_curve(log)
            beside = log.with_suffix(".metrics.json")
            path = beside if beside.exists() else folder.parent / "runs" / log.stem / "metrics.json"
            metrics = json.loads(path.read_text())
            cells = [f"{acc[m]:.1f}" if m in acc else "" for m in MARKS]
            print(f"| {folder.name} | {log.stem} | " + " | ".join(cells)
                  + f" | {metrics['epochs']} | {metrics['stopped_by']} | {max(acc.values()):.1f}"
                  + f" | {100 * metrics['test_subclass_acc']:.2f} |")


if __name__ == "__main__":
    main([Path(a) for a in sys.argv[1:]]
         or sorted(p for p in HERE.iterdir() if p.is_dir())
         + [HERE.parent.parent / "mnist_gmvae_patience" / "logs"])
