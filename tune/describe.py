"""The dry run's view of a study: its cells, searches, final runs and a compute estimate."""
from __future__ import annotations

import sys
from typing import Any

from tune.cells import estimate, expand_cells, max_epochs
from tune.spec import AblationSpec
from tune.study_paths import StudyPaths


def describe(spec: AblationSpec, paths: StudyPaths | None = None, file=None, table: bool = True) -> dict[str, Any]:
    """Print the cells, the searches, the final runs and a compute estimate: with ``table`` one
    line per cell (the dry run), else a count (the start of a study, so its console stays short)."""
    file = file or sys.stdout
    cells = expand_cells(spec)
    est = estimate(spec, cells)
    p = lambda *a: print(*a, file=file)  # noqa: E731
    p(f"study {spec.name!r} ({spec.source or 'spec'}): data set {spec.dataset}"
      + (f", hierarchy {spec.hierarchy}" if spec.hierarchy else ""))
    if paths is not None:
        p(f"  results: {paths.study_dir}\n  storage: {paths.storage}")
    factors = ", ".join(f"{k}={list(v)}" for k, v in spec.grid)
    p(f"  grid: {factors}  -> {len(cells)} cells")
    sampler = (f"random search (trials {spec.search.trials} <= TPE n_startup_trials "
               f"{spec.search.n_startup_trials})" if est["random_search"] else
               f"TPE (first {spec.search.n_startup_trials} trials random)")
    asha = (f"ASHA grace {spec.asha.grace_period}, reduction {spec.asha.reduction_factor}"
            if spec.asha.enabled else "no early stopping by ASHA")
    p(f"  search: {spec.search.trials} trials per searched cell, metric {spec.search.metric} "
      f"({spec.search.direction}) on validation, {sampler}, {asha}")
    if spec.search.search_at:
        p(f"  searched once at {dict(spec.search.search_at)}; the best config is reused for the "
          f"other values")
    if table:
        p(f"  {'cell':<34} {'searched as':<34} {'trials':>6} {'epochs':>6} final runs")
    else:
        searched = sum(c.searched for c in cells)
        p(f"  cells: {searched} searched, {len(cells) - searched} reuse a search "
          f"(the table: --dry-run)")
    for cell in cells if table else ():
        n = spec.search.trials if spec.search_space.get(cell.model) else 0
        trials = str(n) if cell.searched else "reuse"
        if cell.searched and n == 0:
            trials = "none"
        p(f"  {cell.name:<34} {cell.search_cell:<34} {trials:>6} {max_epochs(spec, cell):>6} "
          f"{len(spec.evaluation.split_seeds) * len(spec.evaluation.seeds)}")
    p(f"  final evaluation: label draws (split_seed) {list(spec.evaluation.split_seeds)} x "
      f"seeds {[s if s is not None else 'follow draw' for s in spec.evaluation.seeds]}")
    p(f"  resources per trial: {spec.resources.cpus_per_trial} CPU, "
      f"{spec.resources.gpus_per_trial} GPU; torch threads {spec.resources.threads}; "
      f"max concurrent {spec.search.max_concurrent or 'all that fit'}")
    p(f"  estimate (upper bounds, early stopping only lowers them): {est['trials']} trials, "
      f"{est['search_epochs']} search epochs with ASHA ({est['search_epochs_no_asha']} without), "
      f"{est['final_runs']} final runs x epochs = {est['final_epochs']} epochs; total "
      f"{est['total_epochs']} epochs = {est['cpu_epochs']:g} CPU-epochs")
    return est
