"""``python -m ssvae.attack``: white-box L∞ attacks on a trained run, and the rejection defence.

    python -m ssvae.attack RUN --attack fgsm|pgd --eps E [E ...] --out FILE.csv \\
        [--steps 40] [--step-size S] [--target CLASS] [--aware] [--clean-reject 0.05]
    python -m ssvae.attack RUN --attack noise|dataset [--other-dataset NAME] --out FILE.csv

It attacks the run's best model (``RUN/best``) on its data set's test part (the first
``--n-images``), through the model's own classification path (``ssvae.adversarial``), and writes
one row per (attack, eps): the attack's parameters, the rejection threshold, clean and adversarial
accuracy (super-class; sub-class too for sub-class runs), and the rejection rates of clean and
adversarial images. The threshold rejects ``--clean-reject`` of the clean validation images
(``ssvae.deploy.thresholds``, on the scores stored in ``best/``), never anything of the test set.
``--attack noise`` and ``--attack dataset`` write the rejection rate of uniform noise and of
another data set's test images instead. ``--grid FILE.png`` shows adversarial images at the
largest eps that the rule accepted beside ones it rejected.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from ssvae.adversarial.differentiable import VIEWS
from ssvae.adversarial.evaluate import (ATTACKS, AttackError, AttackSpec, evaluate_attack,
                                      labels_in_model_space)
from ssvae.adversarial.ood import noise_images, rejection_row
from ssvae.deploy.bundle import Predictor, load_best, read_manifest
from ssvae.checkpoint import CheckpointError
from ssvae.deploy.thresholds import Goal
from ssvae.partial_csv import partial_csv, partial_path

SOURCES = ("noise", "dataset")
COLUMNS = ("model", "run", "dataset", "label_mode", "attack", "eps", "steps", "step_size",
           "target", "aware", "aware_weight", "n_images", "clean_reject", "threshold",
           "clean_acc", "adv_acc", "clean_subclass_acc", "adv_subclass_acc",
           "clean_reject_rate", "adv_reject_rate", "clean_acc_on_accepted", "adv_acc_on_accepted",
           "adv_subclass_acc_on_accepted", "fooled_accepted", "target_rate", "max_linf")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ssvae.attack",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a run folder (holding best/) or its best/ folder")
    parser.add_argument("--attack", required=True, choices=ATTACKS + SOURCES,
                        help="fgsm | pgd; or noise | dataset: the rejection rate of uniform noise "
                             "or of --other-dataset's test images")
    parser.add_argument("--eps", type=float, nargs="+",
                        help="L∞ radius (pixels in [0, 1]); several give one row each")
    parser.add_argument("--steps", type=int, default=40, help="PGD steps (default: 40)")
    parser.add_argument("--step-size", type=float,
                        help="PGD step (default: 2.5·eps/steps)")
    parser.add_argument("--target", help="target class (a name or index of the model's classes); "
                                         "default: untargeted")
    parser.add_argument("--aware", action="store_true",
                        help="the rejection-aware attack (ssvae.adversarial.losses)")
    parser.add_argument("--aware-weight", type=float, default=1.0,
                        help="weight of the aware attack's rejection term (default: 1)")
    parser.add_argument("--clean-reject", type=float, default=0.05,
                        help="share of clean validation images the threshold rejects (default: 0.05)")
    parser.add_argument("--other-dataset", help="--attack dataset: the data set whose test images "
                                                "are shown to the model (at its size and channels)")
    parser.add_argument("--n-images", type=int, default=500,
                        help="attack the first N test images (0: all; default: 500)")
    parser.add_argument("--data-root", help="where the data sets lie (default: the run's)")
    parser.add_argument("--out", type=Path, required=True, help="the CSV file to write")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.add_argument("--grid", type=Path, help="PNG of accepted and rejected adversarial images "
                                                  "at the largest eps")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    return parser


def _best_folder(run: Path) -> Path:
    return run if (run / "predictor.json").is_file() else run / "best"


def _class_names(manifest: dict[str, Any]) -> list[str]:
    h = manifest["hierarchy"]
    return h["subclass_names"] if manifest["label_mode"] == "subclass" else h["superclass_names"]


def _target_index(target: str | None, names: list[str]) -> int | None:
    if target is None:
        return None
    if target in names:
        return names.index(target)
    if target.isdigit() and int(target) < len(names):
        return int(target)
    raise AttackError(f"--target {target!r} is not one of the model's classes: {', '.join(names)} "
                      f"(or an index 0..{len(names) - 1})")


def _check_inputs(args: argparse.Namespace) -> tuple[dict[str, Any], list[AttackSpec]]:
    """Everything cheap to check, before the model and the data load."""
    manifest = read_manifest(_best_folder(args.run))
    if not 0 <= args.clean_reject < 1:
        raise AttackError(f"--clean-reject={args.clean_reject} must be in [0, 1)")
    for name in ("n_images", "batch_size"):
        low = 0 if name == "n_images" else 1
        if getattr(args, name) < low:
            raise AttackError(f"--{name.replace('_', '-')}={getattr(args, name)} must be >= {low}")
    if args.out.exists() and not args.overwrite:
        raise FileExistsError(f"--out {args.out} exists; pass --overwrite to replace it")
    for flag, path in (("--out", args.out), ("--grid", args.grid)):
        if path is not None and not path.parent.is_dir():
            raise AttackError(f"{flag} {path}: folder {path.parent} does not exist")
    if args.attack in SOURCES:
        if args.attack == "dataset" and not args.other_dataset:
            raise AttackError("--attack dataset needs --other-dataset NAME")
        return manifest, []
    if not args.eps:
        raise AttackError(f"--attack {args.attack} needs --eps (one or more radii in (0, 1])")
    if args.aware and args.clean_reject == 0:
        raise AttackError("--aware attacks the rejection rule: give --clean-reject above 0")
    VIEWS.get(manifest["model"])            # a model the attacks can differentiate, or an error
    target = _target_index(args.target, _class_names(manifest))
    specs = [AttackSpec(args.attack, eps, args.steps, args.step_size, target, args.aware,
                        args.aware_weight) for eps in args.eps]
    return manifest, specs


def _test_images(predictor: Predictor, name: str, root: str | None, n: int):
    from ssvae.data import load_dataset

    c, size, _ = predictor.image_shape
    data = load_dataset(name, root=root, image_size=size, channels=c,
                        hierarchy_file=predictor.config.hierarchy_file
                        if name == predictor.config.dataset else None)
    n = len(data.test_y) if n == 0 else min(n, len(data.test_y))
    return data, data.test_x[:n], data.test_y[:n]


def run_attacks(args: argparse.Namespace, specs: list[AttackSpec],
                emit: Callable[[dict[str, Any]], None]) -> None:
    """Run the attacks (or the rejection of noise or another data set); ``emit`` each row."""
    from ssvae.training.environment import resolve_device

    if args.threads:
        torch.set_num_threads(args.threads)
    predictor = load_best(_best_folder(args.run), resolve_device(args.device))
    positive = predictor.hierarchy.superclass_names[0]      # the rejection rule is the same for both
    goal = Goal(review_budget=args.clean_reject, reject_fraction=args.clean_reject)
    threshold = predictor.thresholds(positive, goal).review_above
    root = args.data_root or predictor.config.data_root
    cfg = predictor.config
    base = {"model": cfg.model, "run": str(args.run), "dataset": cfg.dataset,
            "label_mode": cfg.label_mode, "clean_reject": args.clean_reject}
    if args.attack == "noise":
        x = noise_images(predictor.image_shape, args.n_images or 10_000)
        return emit({**base, **rejection_row(predictor, "noise", x, threshold, args.batch_size)})
    if args.attack == "dataset":
        _, x, _ = _test_images(predictor, args.other_dataset, root, args.n_images)
        return emit({**base, **rejection_row(predictor, f"dataset:{args.other_dataset}", x,
                                             threshold, args.batch_size)})
    data, x, y = _test_images(predictor, cfg.dataset, root, args.n_images)
    if data.subclass_names != predictor.hierarchy.subclass_names:
        raise AttackError(f"data set {cfg.dataset!r} has sub-classes {list(data.subclass_names)}, "
                          f"the model was trained on {list(predictor.hierarchy.subclass_names)}")
    last = None
    for spec in specs:
        row, x_adv, adv = evaluate_attack(predictor, x, y, spec, threshold, args.batch_size)
        emit({**base, **row})
        print(f"{spec.attack}{' aware' if spec.aware else ''} eps {spec.eps:g}: adv_acc "
              f"{row['adv_acc']:.3f}, adv_reject_rate {row['adv_reject_rate']:.3f}, "
              f"fooled and accepted {row['fooled_accepted']:.3f}", file=sys.stderr)
        if last is None or spec.eps >= last[0].eps:
            last = (spec, x_adv, adv)
    if args.grid is not None:
        from ssvae.adversarial.plots import accepted_rejected_grid

        spec, x_adv, adv = last
        y_model = labels_in_model_space(predictor, y)
        keep = slice(None) if spec.target is None else y_model != spec.target
        names = _class_names(predictor.manifest)
        accepted_rejected_grid(x_adv, adv.pred, adv.rejected, y_model[keep], names, args.grid,
                               title=f"{cfg.model}, {spec.attack}{' aware' if spec.aware else ''}"
                                     f"{'' if spec.target is None else ' to ' + names[spec.target]}"
                                     f", eps {spec.eps:g}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _, specs = _check_inputs(args)
        rows: list[dict[str, Any]] = []
        with partial_csv(args.out, COLUMNS) as write:

            def emit(row: dict[str, Any]) -> None:
                write([row])                    # each finished row survives an interruption
                rows.append(row)

            run_attacks(args, specs, emit)
    except KeyboardInterrupt:
        print(f"\ninterrupted; the rows so far are in {partial_path(args.out)}", file=sys.stderr)
        return 130
    except (ValueError, KeyError, OSError, RuntimeError, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {len(rows)} row(s) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
