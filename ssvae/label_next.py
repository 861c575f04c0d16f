"""``python -m ssvae.label_next``: which unlabelled images to label next.

    python -m ssvae.label_next --checkpoint RUN/best [--checkpoint RUN2/best ...] \\
        --folder UNLABELLED_IMAGES --n 100 --out TO_LABEL [--rank-by entropy|margin|disagreement]

Every readable image under ``--folder`` is scored by each model's q(y|x) (``ssvae/active/
scores.py``): by default the uncertainty of the models' mean q(y|x) (entropy) with one
checkpoint, and the disagreement between the models with several. ``--out`` gets the ranking of
every image and a folder layout (``ssvae/active/layout.py``) holding copies of the ``--n`` best:
move each into its class folder and the folder data set reads the labels back.

Models trained on the same classes are compared on those (sub-classes for ``subclass`` models);
otherwise, or with ``--on superclasses``, on the super-classes, which must then be the same for
all. Unreadable files are skipped
and counted on the console.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ssvae.active import RANK_BY, acquisition_scores, rank, write_layout
from ssvae.deploy.bundle import Predictor, load_best, read_manifest, superclass_probs
from ssvae.checkpoint import CheckpointError
from ssvae.data import to_unit
from ssvae.predict import decoded_images

BATCH = 256


def class_space(predictors: Sequence[Predictor]) -> str:
    """``classes`` when every model predicts the same classes, else ``superclasses`` (an error
    when the super-classes differ too)."""
    names = [(p.config.label_mode, p.hierarchy.subclass_names if p.config.label_mode == "subclass"
              else p.hierarchy.superclass_names) for p in predictors]
    if all(n == names[0] for n in names):
        return "classes"
    supers = {p.hierarchy.superclass_names for p in predictors}
    if len(supers) > 1:
        raise ValueError(f"the checkpoints predict different super-classes "
                         f"({' vs '.join(map(str, sorted(supers)))}): they cannot be compared")
    return "superclasses"


@torch.no_grad()
def probabilities(predictor: Predictor, x: torch.Tensor, space: str) -> np.ndarray:
    """[B, K] probabilities of uint8 images ``x`` [B, C, H, W] in the class ``space``."""
    probs = predictor.model.classify(to_unit(x.to(predictor.device))).float().cpu()
    if space == "superclasses":
        probs = superclass_probs(probs, predictor.hierarchy, predictor.config.label_mode)
    return probs.numpy().astype(np.float64)


def score_folder(predictors: Sequence[Predictor], folder: Path, space: str
                 ) -> tuple[list[str], list[np.ndarray], list[tuple[str, str]]]:
    """(readable files relative to ``folder``, per model [N, K] probabilities, unreadable
    (file, reason)); each image decoded once per distinct model input shape."""
    shapes = sorted({p.image_shape for p in predictors})
    files: list[str] = []
    bad: list[tuple[str, str]] = []
    batches: dict[tuple, list[np.ndarray]] = {s: [] for s in shapes}
    out: list[list[np.ndarray]] = [[] for _ in predictors]

    def flush() -> None:
        if batches[shapes[0]]:
            x = {s: torch.from_numpy(np.stack(b)) for s, b in batches.items()}
            for m, p in enumerate(predictors):
                out[m].append(probabilities(p, x[p.image_shape], space))
            for b in batches.values():
                b.clear()

    for rel, decoded, reason in decoded_images(folder, shapes):
        if decoded is None:
            bad.append((rel, reason))
            continue
        files.append(rel)
        for s, arr in decoded.items():
            batches[s].append(arr)
        if len(batches[shapes[0]]) >= BATCH:
            flush()
    flush()
    k = len(predictors[0].hierarchy.superclass_names)
    return files, [np.concatenate(o) if o else np.zeros((0, k)) for o in out], bad


def guesses(predictors: Sequence[Predictor], probs: list[np.ndarray], space: str
            ) -> dict[str, list[str]]:
    """The models' mean guess per image: its super-class, and its sub-class where known."""
    h, mode = predictors[0].hierarchy, predictors[0].config.label_mode
    mean = np.mean(probs, axis=0)                                          # [N, K]
    if space == "superclasses" or mode == "binary":
        return {"guess_superclass": [h.superclass_names[i] for i in mean.argmax(1)]}
    sub = mean.argmax(1)
    return {"guess_superclass": [h.superclass_names[h.sub_to_super[i]] for i in sub],
            "guess_subclass": [h.subclass_names[i] for i in sub]}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ssvae.label_next",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, action="append", required=True,
                        help="a run's best/ folder; repeat for several models")
    parser.add_argument("--folder", type=Path, required=True,
                        help="the unlabelled images (searched recursively)")
    parser.add_argument("--n", type=int, required=True, help="how many images to label next")
    parser.add_argument("--out", type=Path, required=True,
                        help="a new (or empty) folder for the ranking and the layout to fill")
    parser.add_argument("--rank-by", choices=RANK_BY, default=None,
                        help="default: entropy with one checkpoint, disagreement with several")
    parser.add_argument("--on", choices=("classes", "superclasses"), default="classes",
                        help="score the classes the models were trained on (sub-classes for "
                             "subclass models), or only the super-class decision")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    return parser


def _check_inputs(args: argparse.Namespace) -> None:
    """Everything cheap to check, before the models load."""
    if args.n < 1:
        raise ValueError(f"--n={args.n} must be >= 1 (images to label next)")
    if not args.folder.is_dir():
        raise ValueError(f"--folder {args.folder} does not exist or is not a folder")
    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        raise FileExistsError(f"--out {args.out} exists and is not an empty folder; give a new one")
    if args.rank_by == "disagreement" and len(args.checkpoint) < 2:
        raise ValueError("--rank-by disagreement needs two --checkpoint or more (one model never "
                         "disagrees with itself); rank by entropy or margin instead")
    for folder in args.checkpoint:
        read_manifest(folder)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _check_inputs(args)
        from ssvae.training.environment import resolve_device

        device = resolve_device(args.device)
        predictors = [load_best(c, device) for c in args.checkpoint]
        space = class_space(predictors)          # checks the models can be compared at all
        if args.on == "superclasses":
            space = "superclasses"
        files, probs, bad = score_folder(predictors, args.folder, space)
        if not files:
            raise ValueError(f"--folder {args.folder} holds no readable image "
                             f"({len(bad)} unreadable)")
        by = args.rank_by or ("disagreement" if len(predictors) > 1 else "entropy")
        scores = acquisition_scores(probs)
        order = rank(scores, by, len(predictors))
        if len(predictors) == 1:
            del scores["disagreement"]                     # always 0 for one model
        write_layout(args.out, args.folder, files, order, args.n, scores,
                     guesses(predictors, probs, space), predictors[0].hierarchy)
    except (ValueError, KeyError, OSError, RuntimeError, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"ranked {len(files)} image(s) by {by} over {len(predictors)} model(s) ({space}); the "
          f"{min(args.n, len(files))} to label next are in {args.out / 'unlabelled'} "
          f"(instructions: {args.out / 'HOW_TO_LABEL.txt'})")
    for rel, why in bad[:10]:
        print(f"  unreadable: {rel} ({why})", file=sys.stderr)
    print(f"{len(bad)} unreadable file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
