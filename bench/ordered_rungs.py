"""What deterministic search decisions cost in wall time: the searches of a study run with the
engine's ordered decisions (``tune/lagged_search.py`` + ``tune/rungs.py``: proposals from a
fixed set of earlier results, ASHA's rungs decided in trial order, a trial paused at a rung
until the lower-numbered ones have passed it) and with arrival-order decisions (Ray's
``ASHAScheduler``, proposals from whatever has finished), alternating, side by side.

    python bench/ordered_rungs.py                     # the quickstart's searches, 1 round
    python bench/ordered_rungs.py --smoke --rounds 2

Prints per round and variant the search wall time and the trials stopped at a rung, then the
ratio ordered / arrival (medians). Run it alone on the machine.
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tune.cell_search as cell_search  # noqa: E402
from tune.failures import StudyInterrupted  # noqa: E402
from tune.ray_start import ensure_ray, slots  # noqa: E402
from tune.study_paths import study_paths  # noqa: E402
from tune.cells import expand_cells, max_epochs, search_cells  # noqa: E402
from tune.spec import load_spec  # noqa: E402
from tune.trainable import METRIC_EPOCH, OBJECTIVE  # noqa: E402


def _arrival_scheduler(spec, cell):
    """The old engine's scheduler: Ray's ASHA, deciding each rung in arrival order."""
    from ray.tune.schedulers import ASHAScheduler

    return ASHAScheduler(time_attr=METRIC_EPOCH, metric=OBJECTIVE, mode=spec.search.direction,
                         max_t=max_epochs(spec, cell), grace_period=spec.asha.grace_period,
                         reduction_factor=spec.asha.reduction_factor)


def run_searches(spec, variant: str, root: Path) -> dict:
    ordered = (cell_search.rung_scheduler, cell_search.search_lag)
    if variant == "arrival":
        cell_search.rung_scheduler = _arrival_scheduler
        cell_search.search_lag = lambda s: s.search.trials       # proposals never wait
    paths = study_paths(spec, root, None)
    cells = expand_cells(spec)
    start = time.time()
    trials = 0
    try:
        n_slots = slots(spec)
        for cell in search_cells(cells):
            if not spec.search_space.get(cell.model):
                continue
            try:
                entry = cell_search.search_cell(spec, cell, paths, n_slots)
                trials += entry.get("n_trials", 0)
            except StudyInterrupted:
                # Ray's ASHA does not mark the trials it stops in their folders, so the
                # engine's check takes them for unfinished: expected here, the search ended.
                if variant != "arrival":
                    raise
                trials += spec.search.trials
        wall = time.time() - start
    finally:
        cell_search.rung_scheduler, cell_search.search_lag = ordered
    early = set()
    if paths.history_csv.exists():
        with open(paths.history_csv, newline="") as handle:
            early = {(r["cell"], r["trial_id"]) for r in csv.DictReader(handle)
                     if r["stopped_early"] == "True"}
    return {"wall_s": wall, "trials": trials, "stopped_early": len(early)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", nargs="?", default="quickstart")
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--rounds", type=int, default=1)
    args = p.parse_args(argv)
    spec = load_spec(args.spec)
    if args.smoke:
        spec = spec.smoked()
    os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] = "1"
    ensure_ray()
    times: dict[str, list[float]] = {"ordered": [], "arrival": []}
    for r in range(args.rounds):
        for variant in (("ordered", "arrival") if r % 2 == 0 else ("arrival", "ordered")):
            with tempfile.TemporaryDirectory(prefix=f"bench-{variant}-") as tmp:
                out = run_searches(spec, variant, Path(tmp))
            times[variant].append(out["wall_s"])
            stopped = out["stopped_early"] if variant == "ordered" else "(not recorded)"
            print(f"round {r + 1} {variant:>8}: searches {out['wall_s']:.1f} s, "
                  f"{out['trials']} trials, stopped at a rung: {stopped}", flush=True)
    o, a = statistics.median(times["ordered"]), statistics.median(times["arrival"])
    print(f"median search wall time: ordered {o:.1f} s, arrival order {a:.1f} s, "
          f"ratio {o / a:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
