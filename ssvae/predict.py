"""``python -m ssvae.predict``: classify and triage new images with a trained run's ``best/``.

    python -m ssvae.predict --checkpoint RUN/best --folder NEW_IMAGES --positive SUPERCLASS \\
        --out predictions.csv [--target-precision P | --target-recall R | --review-budget F]

One CSV row per readable image: ``path``, ``score`` (probability of the positive super-class),
``superclass`` (the most probable one), for models trained on sub-classes ``subclass`` and the
top-3 sub-classes with their probabilities, ``rejection`` (``ssvae/deploy/rejection.py``) and
``decision`` (flag / pass / review, ``ssvae/deploy/thresholds.py``). The thresholds are chosen on the
validation scores stored in ``best/`` for the stated goal (default: review budget 0.05) and
printed with the validation precision and recall they give; the test set plays no part.

Images are decoded exactly as folder data is for training (``ssvae.data.images.decode_image``)
at the model's size and channels, in batches: memory does not grow with the folder. Unreadable
files are skipped, listed in ``<out stem>.unreadable.csv`` next to ``--out``, and counted on the
console (``N unreadable file(s)``, also when N is 0). ``--dataset NAME`` predicts the test part of
a built-in data set instead (rows named ``NAME:test/<index>``, with the true labels).

``--prior P`` corrects the scores to a known deployment share P of positives (Bayes' rule,
``ssvae/metrics/prior_shift.py``) from the share the model's labels had; the thresholds are then
chosen on the validation scores corrected the same way (a monotone change: the same decisions,
the thresholds in corrected units).
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from ssvae.deploy.bundle import Predictor, load_best, positive_index, read_manifest, superclass_probs
from ssvae.checkpoint import CheckpointError
from ssvae.data import to_unit
from ssvae.data.images import IMAGE_EXTENSIONS, decode_image, is_hidden
from ssvae.deploy.prior_correction import Correction, corrected_thresholds, prior_correction
from ssvae.deploy.rejection import rejection_scores
from ssvae.deploy.thresholds import DEFAULT_REJECT_FRACTION, Thresholds, add_goal_flags, goal_from_args
from ssvae.metrics.prior_shift import check_rate
from ssvae.partial_csv import partial_csv, partial_path

TOP_K = 3


def iter_images(folder: Path) -> Iterator[Path]:
    """Image files under ``folder``, walked lazily in sorted order (hidden ones left out)."""
    def fail(err: OSError) -> None:
        raise OSError(f"cannot read folder {err.filename}: {err.strerror}")

    for here, dirs, files in os.walk(folder, onerror=fail):
        dirs[:] = sorted(d for d in dirs if not is_hidden(d))
        for name in sorted(files):
            if not is_hidden(name) and Path(name).suffix.lower() in IMAGE_EXTENSIONS:
                yield Path(here, name)


def decoded_images(folder: Path, shapes: Sequence[tuple[int, int, int]]
                   ) -> Iterator[tuple[str, dict | None, str | None]]:
    """For each image under ``folder`` (``iter_images``): its path relative to ``folder``, and
    either its uint8 arrays decoded as in training for each model input shape (C, H, W) of
    ``shapes`` ({shape: [C, H, W]}, reason None) or, for a file that cannot be read, None and
    the reason. Broken files raise many kinds of errors and all are reported; a missing image
    library (ImportError) is not a broken file and stops the command."""
    for path in iter_images(folder):
        rel = path.relative_to(folder).as_posix()
        try:
            arrays = {s: decode_image(path, s[1], s[0]) for s in shapes}
        except Exception as err:  # noqa: BLE001 - see the docstring
            if isinstance(err, ImportError):
                raise
            yield rel, None, f"{type(err).__name__}: {err}"
            continue
        yield rel, arrays, None


def unreadable_path(out: Path) -> Path:
    """The side file listing unreadable images, next to ``out``."""
    return out.with_name(out.stem + ".unreadable.csv")


def _columns(predictor: Predictor, labelled: bool) -> list[str]:
    cols = ["path", "score", "superclass"]
    if predictor.config.label_mode == "subclass":
        cols.append("subclass")
        for i in range(1, min(TOP_K, predictor.hierarchy.n_sub) + 1):
            cols += [f"subclass_{i}", f"p_subclass_{i}"]
    cols += ["rejection", "decision"]
    return cols + (["true_superclass", "true_subclass"] if labelled else [])


@torch.no_grad()
def _rows(predictor: Predictor, x: torch.Tensor, names: list[str], positive: int,
          thresholds: Thresholds, correct: Correction | None = None) -> list[dict]:
    """CSV rows of uint8 images ``x`` [B, C, H, W]."""
    xb = to_unit(x.to(predictor.device))                         # [B, C, H, W] in [0, 1]
    probs = predictor.model.classify(xb).float()
    rejection = rejection_scores(predictor.model, xb, probs).cpu().numpy()
    probs = probs.cpu()
    h, mode = predictor.hierarchy, predictor.config.label_mode
    p_super = superclass_probs(probs, h, mode)
    score = p_super[:, positive].numpy()
    if correct is not None:                                      # --prior
        score = correct(score.astype(np.float64))
    decision = thresholds.decide(score.astype(np.float64), rejection.astype(np.float64))
    rows = []
    for i, name in enumerate(names):
        row = {"path": name, "score": f"{score[i]:.6f}",
               "superclass": h.superclass_names[int(p_super[i].argmax())],
               "rejection": f"{rejection[i]:.6g}", "decision": decision[i]}
        if mode == "subclass":
            top = probs[i].topk(min(TOP_K, h.n_sub))
            row["subclass"] = h.subclass_names[int(top.indices[0])]
            for j, (p, k) in enumerate(zip(top.values.tolist(), top.indices.tolist()), 1):
                row[f"subclass_{j}"], row[f"p_subclass_{j}"] = h.subclass_names[k], f"{p:.6f}"
        rows.append(row)
    return rows


def _progress(total: int, show: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="img", desc="predict", disable=not show, file=sys.stderr)


def predict_folder(predictor: Predictor, folder: Path, out: Path, positive: str,
                   thresholds: Thresholds, batch_size: int = 256, progress: bool = True,
                   correct: Correction | None = None) -> dict[str, int]:
    """Write ``out`` (and its unreadable side file) for every image under ``folder``; returns
    counts of rows, unreadable files and each decision."""
    k = positive_index(predictor.hierarchy, positive)
    counts = {"rows": 0, "unreadable": 0, "flag": 0, "pass": 0, "review": 0}
    total = sum(1 for _ in iter_images(folder))
    with partial_csv(out, _columns(predictor, labelled=False)) as write, \
            open(unreadable_path(out), "w", newline="") as bad_handle, \
            _progress(total, progress) as bar:
        bad = csv.writer(bad_handle)
        bad.writerow(["path", "reason"])
        batch: list[np.ndarray] = []
        names: list[str] = []

        def flush() -> None:
            if batch:
                rows = _rows(predictor, torch.from_numpy(np.stack(batch)), names, k, thresholds,
                             correct)
                write(rows)
                counts["rows"] += len(rows)
                for row in rows:
                    counts[row["decision"]] += 1
                bar.update(len(rows))
                batch.clear()
                names.clear()

        for rel, arrays, reason in decoded_images(folder, [predictor.image_shape]):
            if arrays is None:
                bad.writerow([rel, reason])
                counts["unreadable"] += 1
                bar.update(1)
            else:
                batch.append(arrays[predictor.image_shape])    # the training preprocessing
                names.append(rel)
            if len(batch) >= batch_size:
                flush()
        flush()
    return counts


def predict_dataset(predictor: Predictor, name: str, data_root: str | None, out: Path,
                    positive: str, thresholds: Thresholds, batch_size: int = 256,
                    progress: bool = True, correct: Correction | None = None) -> dict[str, int]:
    """Like ``predict_folder`` for the test part of a built-in data set (with its labels)."""
    from ssvae.data import load_dataset

    c, size, _ = predictor.image_shape
    data = load_dataset(name, root=data_root, image_size=size, channels=c)
    h = predictor.hierarchy
    if data.subclass_names != h.subclass_names:
        raise ValueError(f"data set {name!r} has sub-classes {list(data.subclass_names)}, the model "
                         f"was trained on {list(h.subclass_names)}")
    k = positive_index(h, positive)
    counts = {"rows": 0, "unreadable": 0, "flag": 0, "pass": 0, "review": 0}
    unreadable_path(out).write_text("path,reason\n")     # a built-in set has no unreadable files
    with partial_csv(out, _columns(predictor, labelled=True)) as write, \
            _progress(len(data.test_y), progress) as bar:
        for start in range(0, len(data.test_y), batch_size):
            y = data.test_y[start:start + batch_size]
            names = [f"{name}:test/{i}" for i in range(start, start + len(y))]
            rows = _rows(predictor, data.test_x[start:start + batch_size], names, k, thresholds,
                         correct)
            for row, label in zip(rows, y.tolist()):
                row["true_subclass"] = h.subclass_names[label]
                row["true_superclass"] = h.superclass_names[h.sub_to_super[label]]
                counts[row["decision"]] += 1
            write(rows)
            counts["rows"] += len(rows)
            bar.update(len(rows))
    return counts


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ssvae.predict",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="a run's best/ folder")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--folder", type=Path, help="images to classify (searched recursively)")
    source.add_argument("--dataset", help="predict the test part of this built-in data set")
    parser.add_argument("--data-root", help="where --dataset's files lie ($SSVAE_DATA_ROOT)")
    parser.add_argument("--positive", required=True,
                        help="the super-class to flag (one of the model's super-classes)")
    parser.add_argument("--out", type=Path, required=True, help="the CSV file to write")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    add_goal_flags(parser)
    parser.add_argument("--reject-fraction", type=float, default=DEFAULT_REJECT_FRACTION,
                        help="share of validation images with the highest rejection score; "
                             "images scoring above them always go to review (0: never)")
    parser.add_argument("--prior", type=float, metavar="P",
                        help="the share of positives where the model is used, e.g. 0.01: scores "
                             "are corrected from the share its labels had (default: no correction)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True)
    return parser


def _check_inputs(args: argparse.Namespace) -> None:
    """Everything cheap to check, before the model loads."""
    if args.prior is not None:
        check_rate("--prior", args.prior)
    if args.batch_size < 1:
        raise ValueError(f"--batch-size={args.batch_size} must be >= 1")
    if args.folder is not None and not args.folder.is_dir():
        raise ValueError(f"--folder {args.folder} does not exist or is not a folder")
    if args.out.is_dir():
        raise ValueError(f"--out {args.out} is a folder; give a CSV file name")
    if args.out.exists() and not args.overwrite:
        raise FileExistsError(f"--out {args.out} exists; pass --overwrite to replace it")
    if not args.out.parent.is_dir():
        raise ValueError(f"--out {args.out}: folder {args.out.parent} does not exist")
    if not os.access(args.out.parent, os.W_OK):
        raise PermissionError(f"cannot write to {args.out.parent}")
    manifest = read_manifest(args.checkpoint)
    supers = manifest["hierarchy"]["superclass_names"]
    if args.positive not in supers:
        raise ValueError(f"--positive {args.positive!r} is not one of this model's super-classes: "
                         f"{', '.join(supers)}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        goal = goal_from_args(args)
        _check_inputs(args)
        from ssvae.training.environment import resolve_device

        predictor = load_best(args.checkpoint, resolve_device(args.device))
        correct = None
        if args.prior is None:
            thresholds = predictor.thresholds(args.positive, goal)
        else:
            correct, trained = prior_correction(predictor, args.positive, args.prior)
            thresholds = corrected_thresholds(predictor, args.positive, goal, correct)
            print(f"scores corrected to a share {args.prior:g} of {args.positive} (the model's "
                  f"labels had {trained:g})")
        print(thresholds.describe())
        kwargs = dict(positive=args.positive, thresholds=thresholds, batch_size=args.batch_size,
                      progress=args.progress, correct=correct)
        if args.folder is not None:
            counts = predict_folder(predictor, args.folder, args.out, **kwargs)
        else:
            counts = predict_dataset(predictor, args.dataset, args.data_root, args.out, **kwargs)
    except KeyboardInterrupt:
        print(f"\ninterrupted; the rows so far are in {partial_path(args.out)}", file=sys.stderr)
        return 130
    except (ValueError, KeyError, OSError, RuntimeError, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {counts['rows']} row(s) to {args.out}: flag {counts['flag']}, review "
          f"{counts['review']}, pass {counts['pass']}")
    print(f"{counts['unreadable']} unreadable file(s) (listed in {unreadable_path(args.out)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
