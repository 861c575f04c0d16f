"""What scheduling through Ray Tune costs: the same N short trainings run directly (``ssvae.fit``
in this process, one after the other) and through ``tune/search.py`` (one cell, N trials, one at
a time, actors reused), then the compute ASHA saves against running every trial to its budget.

    python bench/tune_overhead.py                       # N=4 trials of ~30 s (digits, M2)
    python bench/tune_overhead.py --n 6 --trial-seconds 10

Prints: Ray start, trial start latency (first trial: cold actor; later: reused actor), the total
overhead as a ratio of the direct time, and ASHA's savings (epochs and wall time).
Run it alone on the machine: other load changes the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402

from ssvae.config import TrainConfig  # noqa: E402

FIXED = {"hidden_dim": 256, "latent_dim": 16, "batch_size": 32, "labelled_batch_size": 16,
         "n_labels": 100, "label_mode": "subclass"}


def spec(name: str, epochs: int, n: int, asha: bool, lr: tuple[float, float]) -> dict:
    return {
        "name": name, "data": {"dataset": "digits"},
        "grid": {"model": ["m2"]},
        "fixed": {**FIXED, "epochs": epochs, "patience": epochs},   # only ASHA stops trials
        "search_space": {"m2": {"lr": {"type": "float", "low": lr[0], "high": lr[1], "log": True}}},
        "search": {"trials": n, "max_concurrent": 1, "max_failures": 0},
        "asha": {"enabled": asha, "grace_period": 1, "reduction_factor": 2},
        "evaluation": {"split_seeds": [0]},
        "resources": {"cpus_per_trial": 1},
    }


def trial_results(study: Path) -> list[list[dict]]:
    """Per trial, its reported results (Tune's result.json), ordered by start."""
    out = []
    for path in (study / "ray").glob("*/*/result.json"):
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        if rows:
            out.append(rows)
    return sorted(out, key=lambda rows: rows[0]["trial_started"])


def run_study(raw: dict, root: Path) -> tuple[float, Path, dict]:
    from tune.search import main

    path = root / f"{raw['name']}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    start = time.time()
    rc = main([str(path), "--results-dir", str(root / "results")])
    if rc != 0:
        raise SystemExit(f"the study {raw['name']} failed (exit {rc})")
    study = root / "results" / raw["name"]
    best = json.loads((study / "best_configs.json").read_text())
    return start, study, best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=4, help="trainings (trials)")
    p.add_argument("--trial-seconds", type=float, default=30.0, help="target length of one training")
    p.add_argument("--epochs", type=int, default=None, help="epochs per training (default: from --trial-seconds)")
    p.add_argument("--no-asha", action="store_true", help="skip the ASHA comparison")
    args = p.parse_args()
    os.environ.setdefault("TUNE_DISABLE_STRICT_METRIC_CHECKING", "1")
    root = Path(tempfile.mkdtemp(prefix="tune_overhead_"))
    os.environ["SSVAE_SPLIT_DIR"] = str(root / "splits")
    from ssvae import fit

    base = TrainConfig(dataset="digits", model="m2", lr=1e-3, threads=1, progress=False, **FIXED)
    import torch

    torch.set_num_threads(1)
    # Calibrate: one warm epoch (data loaded, torch imported) -> epochs for the target length.
    fit(base.replace(epochs=1))
    t = time.time()
    fit(base.replace(epochs=2))
    epoch_s = (time.time() - t) / 2
    epochs = args.epochs or max(2, round(args.trial_seconds / epoch_s))
    print(f"one epoch ~{epoch_s:.2f} s -> {epochs} epochs per training (~{epochs * epoch_s:.0f} s)")

    # 1. Directly: N trainings one after the other, writing checkpoints like a trial does.
    direct = []
    for i in range(args.n):
        t = time.time()
        fit(base.replace(epochs=epochs, patience=epochs), out_dir=str(root / "direct" / str(i)))
        direct.append(time.time() - t)
    direct_total = sum(direct)
    print(f"direct: {args.n} trainings x {epochs} epochs: {direct_total:.1f} s "
          f"({statistics.mean(direct):.1f} s each)")

    # 2. Through tune/search.py, same trainings (lr in a negligible range), ASHA off.
    import ray

    t = time.time()
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=80 * 1024 ** 2,
             _temp_dir=tempfile.mkdtemp(prefix="rb", dir="/tmp"), log_to_driver=False)
    ray_init_s = time.time() - t
    start, study, best = run_study(spec("overhead", epochs, args.n, False, (1e-3, 1.001e-3)), root)
    search_s = best["m2"]["search_s"]
    trials = trial_results(study)
    cold = trials[0][0]["trial_started"] - start
    warm = []
    for prev, cur in zip(trials, trials[1:]):
        prev_end = prev[-1]["trial_started"] + prev[-1]["time_total_s"]
        warm.append(cur[0]["trial_started"] - prev_end)
    per_trial = [rows[-1]["time_total_s"] for rows in trials]
    print(f"ray.init: {ray_init_s:.1f} s (once per study)")
    print(f"tune: search phase (one Tuner, {args.n} trials): {search_s:.1f} s; trials' own time "
          f"{sum(per_trial):.1f} s")
    print(f"trial start latency: first trial (cold actor, imports, data) {cold:.1f} s after the "
          f"command started; later trials (reused actor) median "
          f"{statistics.median(warm) if warm else float('nan'):.2f} s, max "
          f"{max(warm) if warm else float('nan'):.2f} s")
    overhead = (search_s - direct_total) / direct_total
    in_trial = sum(per_trial) / direct_total - 1
    print(f"overhead: search phase vs direct = {overhead:+.1%} (cold start, Tuner setup and "
          f"gaps included); inside the trials (reporting, checkpoints) = {in_trial:+.1%}; "
          f"between trials {cold + sum(warm):.1f} s in all")

    if args.no_asha:
        ray.shutdown()
        print(f"(work folder: {root})")
        return
    # 3. ASHA: the same N trials over a real lr range, with and without ASHA.
    _, study_a, best_a = run_study(spec("asha", epochs, args.n, True, (1e-4, 3e-2)), root)
    _, study_f, best_f = run_study(spec("full", epochs, args.n, False, (1e-4, 3e-2)), root)
    run_a = sum(rows[-1]["epoch"] for rows in trial_results(study_a))
    run_f = sum(rows[-1]["epoch"] for rows in trial_results(study_f))
    print(f"ASHA (grace 1, reduction 2): {run_a} of {args.n * epochs} trial-epochs trained "
          f"(saved {1 - run_a / (args.n * epochs):.0%}); search wall {best_a['m2']['search_s']:.1f} s "
          f"vs {best_f['m2']['search_s']:.1f} s without ASHA ({run_f} epochs); best val_binary_acc "
          f"{best_a['m2']['value']:.3f} with vs {best_f['m2']['value']:.3f} without")
    ray.shutdown()
    print(f"(work folder: {root})")


if __name__ == "__main__":
    main()
