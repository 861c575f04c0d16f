"""The active-labelling study (issue 26): labels chosen by ``ssvae.active`` vs random labels.

    PYTHONPATH=$PWD nice -n 10 python results/active_labelling/study.py \\
        --data-root /work/shared/data --out results/active_labelling

Fashion-MNIST, ``mixed`` hierarchy. Per label draw d (split_seed d): the balanced 100-label
split of d; then ``--rounds`` rounds of ``--step`` labels each, in every arm:
- ``random``: drawn uniformly from the images not yet labelled (local RNG seeded by d);
- ``entropy``: the images the current model is least sure of (entropy of q(y|x));
- ``disagreement``: where two models (training seeds d and d + 1000) disagree most;
- ``entropy_super``: the least sure super-class decision (entropy of the summed q(y|x)).
The labels of chosen images are the data set's true labels (a simulated labeller). After every
round each arm's model is retrained from scratch on its labels, with the same training seed in
every arm. Judged on binary test accuracy (the full 10,000 test images), selected on validation.
Every finished run is appended to ``runs.csv`` at once; a rerun skips what is there.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ssvae.active import acquisition_scores, rank
from ssvae.active.simulate import with_labels
from ssvae.deploy.bundle import load_best
from ssvae.config import TrainConfig
from ssvae.data import load_dataset
from ssvae.data.registry import DATASETS
from ssvae.data.split import make_split, validation_indices
from ssvae.training.evaluation import class_probabilities
from ssvae.training.loop import fit

COLUMNS = ("draw", "arm", "round", "n_labels", "test_binary_acc", "test_subclass_acc",
           "val_binary_acc", "epochs", "wall_s", "labels_per_subclass")
# The supervised MLP as tuned for sub-class labels in results/fashion_supervised_budgets_cpu.
MODEL = dict(model="supervised", label_mode="subclass", network="mlp", classifier="mlp",
             hidden_dim=256, latent_dim=32, epochs=100, patience=8, select_on="binary",
             lr=0.00015648578129030217, model_options={"dropout": 0.5140654034842376},
             progress=False, threads=1, device="cpu")


def train(base, labelled, pool, val, seed: int, tag: str, work: Path):
    """Train on exactly ``labelled``; returns (metrics, the selected model)."""
    unlabelled = np.setdiff1d(pool, labelled)
    name = f"al_{tag}"
    data = with_labels(base, labelled, unlabelled, val, name)
    DATASETS.register(name)(lambda **_: data)
    config = TrainConfig(dataset=name, hierarchy="mixed", n_labels=None, label_fraction=1.0,
                         split_seed=0, seed=seed, **MODEL)
    metrics = fit(config, out_dir=str(work / tag))
    return metrics, load_best(work / tag / "best").model


def choose(models, base, candidates: np.ndarray, n: int, arm: str) -> np.ndarray:
    """The ``n`` candidates ranked first for ``arm`` (``*_super``: on the super-class
    probabilities, as ``python -m ssvae.label_next --on superclasses``)."""
    by, _, on = arm.partition("_")
    hierarchy = base.hierarchies["mixed"]
    probs = []
    for m in models:
        p = class_probabilities(m, base.train_x[torch.from_numpy(candidates)], torch.device("cpu"))
        probs.append((hierarchy.collapse_probs(p) if on == "super" else p).numpy())
    return candidates[rank(acquisition_scores(probs), by, len(models))[:n]]


def done_rows(path: Path) -> dict[tuple, dict]:
    if not path.exists():
        return {}
    with open(path, newline="") as handle:
        return {(int(r["draw"]), r["arm"], int(r["round"])): r for r in csv.DictReader(handle)}


def append(path: Path, row: dict) -> None:
    new = not path.exists()
    with open(path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow(row)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--step", type=int, default=100)
    parser.add_argument("--arms", nargs="+", default=["random", "entropy", "disagreement"],
                        choices=["random", "entropy", "margin", "disagreement", "entropy_super",
                                 "margin_super"])
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    table = args.out / "runs.csv"
    done = done_rows(table)
    base = load_dataset("fashion_mnist", root=args.data_root)
    val = validation_indices(base)
    pool = np.setdiff1d(np.arange(len(base.train_y)), val)
    y = base.train_y.numpy()
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="active_labelling_") as tmp:
        work = Path(tmp)
        split_dir = work / "splits"
        for d in range(args.draws):
            first = make_split(base, n_labels=100, split_seed=d, cache_dir=split_dir)
            labels = {arm: first.labelled_idx.numpy() for arm in args.arms}
            rng = np.random.default_rng(1000 + d)
            models: dict[str, list] = {}
            for r in range(args.rounds + 1):
                for arm in args.arms:
                    if r > 0:                                # this round's new labels
                        rest = np.setdiff1d(pool, labels[arm])
                        new = (rng.choice(rest, args.step, replace=False) if arm == "random"
                               else choose(models[arm], base, rest, args.step, arm))
                        labels[arm] = np.sort(np.concatenate([labels[arm], new]))
                    key = (d, arm, r)
                    need_models = r < args.rounds and arm != "random"
                    if key in done and not need_models:
                        continue
                    if r == 0 and "r0" in models:            # one shared first model per draw
                        metrics, models[arm] = models["r0"]
                    else:
                        tag = f"d{d}_{arm}_r{r}"
                        t0 = time.time()
                        metrics, model = train(base, labels[arm], pool, val, d, tag, work)
                        models[arm] = [model]
                        if "disagreement" in args.arms and r < args.rounds and (
                                arm == "disagreement" or r == 0):
                            models[arm].append(train(base, labels[arm], pool, val, d + 1000,
                                                     tag + "_b", work)[1])
                        metrics = {**metrics, "wall_s": round(time.time() - t0, 1)}
                        if r == 0:
                            models["r0"] = (metrics, models[arm])
                    if arm.startswith(("entropy", "margin")):
                        models[arm] = models[arm][:1]        # one model: its own uncertainty
                    if key not in done:
                        counts = np.bincount(y[labels[arm]], minlength=base.n_subclasses)
                        append(table, {"draw": d, "arm": arm, "round": r,
                                       "n_labels": len(labels[arm]),
                                       "test_binary_acc": metrics["test_binary_acc"],
                                       "test_subclass_acc": metrics["test_subclass_acc"],
                                       "val_binary_acc": metrics["val_binary_acc"],
                                       "epochs": metrics["epochs"], "wall_s": metrics["wall_s"],
                                       "labels_per_subclass": json.dumps(counts.tolist())})
                    print(f"draw {d} {arm} round {r}: {len(labels[arm])} labels, test binary acc "
                          f"{metrics['test_binary_acc']:.4f} ({time.time() - started:.0f} s)",
                          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
