"""Validation 10-class accuracy of the M1+M2 runs at epoch marks, from their --log-epochs logs.

    python results/mnist_anchor/m1m2_logs/curves.py            # the runs on the anchor's M1, here
    python results/mnist_anchor/m1m2_logs/curves.py FOLDER     # every FOLDER/<name>_s<draw>.log
"""
import re
import sys
from pathlib import Path

HERE = Path(__file__).parent
RUNS = [("per unit (default)", "per_unit"), ("one shared scale (rejected)", "shared_scale"),
        ("sampled z1 (stopped at 13)", "sampled"), ("active units only (stopped at 13)", "active"),
        ("on the warm-up M1 (H200, 465-s bound)", "warm"),
        ("classifier dropout 0.5 (1,500-s bound, then run on)", "dropout50"),
        ("per-example σ of p(z1|y,z2) (stopped at 24)", "per_example"),
        ("labelled batch 100 (stopped by session 8's end, then run on)", "lb100"),
        ("Kingma et al.'s recipe: active units, sampled z1, per-example σ (stopped at 7)", "kingma"),
        ("the same with a per-unit σ (stopped at 7)", "kingma_unit"),
        ("the same as the recipe, unlabelled batch 500 (stopped at 7)", "kingma_b500"),
        ("the recipe on the warm-up M1 (19 active units; stopped at 6)", "kingma_warm"),
        ("M2 of 1 hidden layer of 300 units (stopped at 56)", "m2h300"),
        ("dropout 0.5 + labelled batch 100 (H200, converged)", "drop50lb100")]
MARKS = [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 60, 80]

if len(sys.argv) > 1:
    HERE = Path(sys.argv[1])
    RUNS = [(stem, stem) for stem in sorted({p.name.rsplit("_s", 1)[0] for p in HERE.glob("*_s[0-9].log")})]

print("| M2 input | draw | " + " | ".join(f"ep {m}" for m in MARKS) + " | best (epoch) | epochs run |")
print("|---|---|" + "---|" * (len(MARKS) + 2))
for name, stem in RUNS:
    for draw in (0, 1, 2):
        acc = {}
        log = HERE / f"{stem}_s{draw}.log"
        if not log.exists():
            continue
        for line in log.read_text().splitlines():
            m = re.search(r"epoch\s+(\d+).*val_subclass_acc ([\d.]+)", line)
            if m:
                acc[int(m.group(1))] = float(m.group(2))
        best = max(acc, key=lambda e: (acc[e], -e))
        cells = [f"{100 * acc[m]:.1f}" if m in acc else "" for m in MARKS]
        print(f"| {name} | {draw} | " + " | ".join(cells) + f" | {100 * acc[best]:.1f} ({best}) | {max(acc)} |")
