"""``python -m ssvae.analysis RESULTS_DIR [RESULTS_DIR ...] [--out DIR] [--target 0.95]
[--metric test_binary_acc] [--positive-rate 0.01]``: plots, summary.csv and report.md from what a search wrote."""
from __future__ import annotations

import argparse
import shlex
import sys
from typing import Sequence

from ssvae.analysis import AnalysisError, analyse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ssvae.analysis", description=__doc__)
    p.add_argument("results_dirs", nargs="+", metavar="RESULTS_DIR",
                   help="folders holding runs.csv (and search_history.csv); several are merged")
    p.add_argument("--out", default=None, help="output folder (default: the first RESULTS_DIR)")
    p.add_argument("--target", type=float, default=None,
                   help="accuracy fraction to reach, e.g. 0.95: prints the labels needed")
    p.add_argument("--metric", default="test_binary_acc",
                   help="accuracy column for the winner and labels-needed fits")
    p.add_argument("--bootstrap", type=int, default=400, help="bootstrap resamples for the fits")
    p.add_argument("--positive-rate", type=float, default=None, metavar="R",
                   help="also evaluate precision, recall and PR-AUC at this share of positives, "
                        "e.g. 0.01 (test images re-weighted; default: not evaluated)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    command = "python -m ssvae.analysis " + " ".join(shlex.quote(a) for a in argv)
    try:
        analyse(args.results_dirs, out=args.out, target=args.target, command=command,
                metric=args.metric, n_boot=args.bootstrap, positive_rate=args.positive_rate)
    except AnalysisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
