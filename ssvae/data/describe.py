"""``python -m ssvae.data describe``: the parts of a data set, its hierarchy and a label draw.

Prints the image shape, the size of every part, the sub-classes per super-class with their
counts in each part, and — with ``--n-labels`` or ``--label-fraction`` — the labelled subset
(size, per sub-class, hash, index file). Errors go to stderr with exit code 2.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from typing import Sequence, TextIO

import numpy as np

from ssvae.data.errors import DataError, DataWarning
from ssvae.data.registry import DATASETS, load_dataset
from ssvae.data.hierarchy import LabelHierarchy
from ssvae.data.split import Split, make_split, validation_indices
from ssvae.registry import UnknownNameError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ssvae.data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("describe", help="show a data set, its hierarchy and a label draw")
    p.add_argument("--dataset", required=True, help=f"one of {', '.join(DATASETS.names())}")
    p.add_argument("--data-root", default=None, help="data folder (default: $SSVAE_DATA_ROOT)")
    p.add_argument("--download", action="store_true", help="fetch missing files (torchvision)")
    p.add_argument("--hierarchy", default=None, help="hierarchy name (default: the data set's)")
    p.add_argument("--hierarchy-file", default=None, help="YAML/JSON file with a hierarchy")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--n-labels", type=int, default=None)
    budget.add_argument("--label-fraction", type=float, default=None)
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--val-size", type=int, default=None,
                   help="drawn validation size (default: the data set's standard part)")
    p.add_argument("--split-dir", default=None, help="index files (default: $SSVAE_SPLIT_DIR "
                   "or ./splits)")
    p.add_argument("--image-size", type=int, default=None)
    p.add_argument("--channels", type=int, default=None, choices=(1, 3))
    return parser


def _class_table(h: LabelHierarchy, cols: dict[str, np.ndarray], out: TextIO) -> None:
    """One row per super-class (sums) and per sub-class; one column per part."""
    width = max(len(n) for n in (*h.subclass_names, *h.superclass_names)) + 4
    print(f"  {'class':<{width}}" + "".join(f"{k:>10}" for k in cols), file=out)
    for k, sup in enumerate(h.superclass_names):
        members = [i for i in range(h.n_sub) if h.sub_to_super[i] == k]
        print(f"  {sup:<{width}}" + "".join(f"{v[members].sum():>10}" for v in cols.values()),
              file=out)
        for i in members:
            print(f"    {h.subclass_names[i]:<{width - 2}}"
                  + "".join(f"{v[i]:>10}" for v in cols.values()), file=out)


def _split_lines(split: Split, per_class: np.ndarray, out: TextIO) -> None:
    budget = (f"n_labels={split.n_labels}" if split.n_labels is not None
              else f"label_fraction={split.label_fraction}")
    same = (f"{per_class[0]} per sub-class" if (per_class == per_class[0]).all()
            else "per sub-class: see the table")
    print(f"\nlabelled subset   {len(split.labelled_idx)} ({budget}, split_seed="
          f"{split.split_seed}; {same})", file=out)
    print(f"split hash        {split.hash}", file=out)
    state = "reloaded and verified" if split.reloaded else "written"
    print(f"index file        {split.path} ({state})", file=out)


def describe(args: argparse.Namespace, out: TextIO | None = None) -> None:
    """Print the description for parsed ``args`` to ``out`` (default: stdout)."""
    out = sys.stdout if out is None else out
    start = time.perf_counter()
    data = load_dataset(args.dataset, root=args.data_root, download=args.download,
                        image_size=args.image_size, channels=args.channels,
                        hierarchy_file=args.hierarchy_file)
    seconds = time.perf_counter() - start
    h = data.hierarchy(args.hierarchy)
    val = validation_indices(data, args.val_size)
    split = None
    if args.n_labels is not None or args.label_fraction is not None:
        split = make_split(data, n_labels=args.n_labels, label_fraction=args.label_fraction,
                           split_seed=args.split_seed, val_size=args.val_size,
                           cache_dir=args.split_dir)
    y = data.train_y.numpy()                                          # [N] sub-class ids
    train = np.setdiff1d(np.arange(len(y)), val)
    extra = 0 if data.extra_unlabelled_x is None else len(data.extra_unlabelled_x)
    skipped = data.skipped_files
    lines = [f"data set          {data.name}  (from {data.source}; loaded in {seconds:.2f} s)",
             "image shape       {} x {} x {}  (C x H x W)".format(*data.image_shape),
             *(f"note              {note}" for note in data.notes)]
    if skipped:
        lines.append(f"skipped files     {len(skipped)} unreadable: {', '.join(skipped[:5])}"
                     f"{' ...' if len(skipped) > 5 else ''}")
    lines.append(f"train             {len(train)}")
    if split is not None:
        lines += [f"  labelled        {len(split.labelled_idx)}",
                  f"  unlabelled      {len(split.unlabelled_idx)}"]
    kind = "standard: last images of train" if args.val_size is None else "drawn"
    lines += [f"validation        {len(val)}  ({kind})", f"test              {len(data.test_y)}",
              f"extra unlabelled  {extra}",
              f"\nhierarchy {h.name!r} ({h.n_super} super-classes, {h.n_sub} sub-classes; "
              f"known: {', '.join(data.hierarchies)})"]
    print("\n".join(lines), file=out)

    n_sub = data.n_subclasses
    cols = {"train": np.bincount(y[train], minlength=n_sub),
            "val": np.bincount(y[val], minlength=n_sub),
            "test": np.bincount(data.test_y.numpy(), minlength=n_sub)}
    if split is not None:
        cols["labelled"] = np.bincount(y[split.labelled_idx.numpy()], minlength=n_sub)
    _class_table(h, cols, out)
    if split is not None:
        _split_lines(split, cols["labelled"], out)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        try:
            describe(args)
        except (DataError, UnknownNameError) as err:
            error = err
    for w in caught:  # one line each, without Python's source-line decoration
        print(f"warning: {w.message}", file=sys.stderr)
    if error is not None:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
