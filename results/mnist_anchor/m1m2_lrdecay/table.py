"""The learning-rate decay runs against the same runs without decay, from their metrics.json.

    python results/mnist_anchor/m1m2_lrdecay/table.py

Reads ``dec<K>_s<draw>_metrics.json`` here (runs with ``--lr-decays K``) and the runs they were
reopened from, ``../m1_seed_screen/m1seed1_s<draw>_metrics.json``. Validation and test figures
are 10-class accuracies in %; "phase k" is the part of a run trained after k decays.
"""
import json
import statistics
from pathlib import Path

HERE = Path(__file__).parent
BASE = HERE.parent / "m1_seed_screen"


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def phases(history: list[dict]) -> list[list[dict]]:
    """The history split where the learning rate changes (runs before lr existed: one phase)."""
    out: list[list[dict]] = []
    for h in history:
        if not out or h.get("lr", out[-1][-1].get("lr")) != out[-1][-1].get("lr"):
            out.append([])
        out[-1].append(h)
    return out


def best(entries: list[dict]) -> str:
    top = max(entries, key=lambda h: h["selection_metric"])   # the first of equal scores
    return f"{100 * top['selection_metric']:.2f} ({top['epoch']})"


print("| lr decays | draw | epochs | best val per phase (epoch) | test 10-class | test binary "
      "| without decay (test) | wall |")
print("|---|---|---|---|---|---|---|---|")
for k in (1, 2, 3):
    tests = []
    for draw in (0, 1, 2):
        path = HERE / f"dec{k}_s{draw}_metrics.json"
        if not path.exists():
            continue
        m, base = load(path), load(BASE / f"m1seed1_s{draw}_metrics.json")
        tests.append(100 * m["test_subclass_acc"])
        split = phases(m["history"])
        print(f"| {k} | {draw} | {m['epochs']} ({m['stopped_by']}) | "
              f"{' → '.join(best(p) for p in split)} | **{100 * m['test_subclass_acc']:.2f}** | "
              f"{100 * m['test_binary_acc']:.2f} | {100 * base['test_subclass_acc']:.2f} | "
              f"{m['wall_s']:,.0f} s |")
    if len(tests) == 3:
        print(f"| {k} | mean ± std | | | **{statistics.mean(tests):.2f} ± "
              f"{statistics.stdev(tests):.2f}** | | | |")
