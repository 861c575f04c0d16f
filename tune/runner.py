"""Run a study: one Ray Tune ``Tuner`` per searched cell (Optuna TPE + ASHA), then the final
evaluation of every cell's best configuration for each (label draw, seed).

Folders (``<results-dir>/<name>/``)::

    spec.yaml             the validated spec that ran
    runs.csv              one row per final-evaluation run (the cache of finished work)
    superseded_runs.csv   rows of runs.csv that an edited spec or a changed model version no
                          longer produces, set aside once every cell has its configuration
    best_configs.json     per cell: the searched parameters, their validation score, the trials
    search_history.csv    one row per reported epoch per trial
    runs/<run_id>/        each final run's fit() output (best/, last/, metrics.json, grids)
    ray/<cell>-<digest>/  Tune's experiment of a cell (default --storage), and fit/<run_id>/
                          the search trials' own resumable folders

Re-running the same command resumes: a cell whose search finished (in ``best_configs.json``)
is skipped, an unfinished one is restored with ``Tuner.restore`` (its running trials continue
from their own last epoch, see ``tune.trainable``), and final runs already in ``runs.csv``
(by ``run_id``) are not run again.
"""
from __future__ import annotations

import logging
import os
from typing import Any

from tune import ray_session
from tune.cell_search import search_cell
from tune.cells import Cell, cell_digest, expand_cells, search_cells
from tune.describe import describe
from tune.failures import StudyInterrupted
from tune.final_runs import final_evaluation, set_aside_stale_rows
from tune.ray_start import ensure_ray, slots
from tune.spec import AblationSpec
from tune.stop_signals import SIGNAL_NAMES, DeferredStop, PlainStop
from tune.study_paths import StudyPaths, load_best, save_best, study_paths, write_spec_copy
from tune.study_state import check_results_table, check_storage


def run_study(spec: AblationSpec, results_dir: str | os.PathLike = "results",
              storage: str | None = None, command: str | None = None) -> dict[str, Any]:
    """Search every searched cell, then run the final evaluation. Raises StudyInterrupted on
    Ctrl+C (the caller prints how to resume)."""
    paths = study_paths(spec, results_dir, storage)
    cells = expand_cells(spec)
    check_results_table(paths)
    check_storage(paths, claim=True)
    write_spec_copy(spec, paths)
    describe(spec, paths)
    # Trials report `objective` only once the searched metric exists (M1's VAE stage has no
    # accuracy); ASHA and Optuna skip results without it, so Tune's strict check is relaxed.
    os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] = "1"
    # Ctrl+C and SIGTERM are handled by TunerStop (which asks Tune to stop through SIGUSR1).
    os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"
    # One line per cell and per final run, not Tune's tables: its classic output at verbose=0
    # prints nothing (the new one still prints a box per experiment), and no INFO records.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    logging.getLogger("ray.tune").setLevel(logging.WARNING)
    # ResultGrid warns about a trial that Tune stopped before its first result file; the search
    # is read from the trials' own folders (tune/trial_records.py), so that is not news.
    logging.getLogger("ray.tune.logger.logger").setLevel(logging.ERROR)
    stop = DeferredStop()
    try:
        with stop:
            started_ray = ensure_ray(paths.study_dir)
    except KeyboardInterrupt:
        import ray

        ray.shutdown()
        ray_session.forget(paths.study_dir)
        raise StudyInterrupted(f"{SIGNAL_NAMES.get(stop.signum)} while Ray was starting; "
                               f"nothing had run yet") from None
    import ray

    try:
        with PlainStop():           # after ray.init, which installs a SIGTERM handler of its own
            n_slots = slots(spec)
            counts, best = _search_and_evaluate(spec, cells, paths, n_slots)
    finally:
        if started_ray:
            ray.shutdown()
        ray_session.forget(paths.study_dir)
    return {"paths": paths, "counts": counts, "best": best, "command": command}


def _search_and_evaluate(spec: AblationSpec, cells: list[Cell], paths: StudyPaths,
                         n_slots: int) -> tuple[dict[str, int], dict[str, Any]]:
    best = load_best(paths)
    for cell in search_cells(cells):
        previous = best.get(cell.name)
        if (previous and previous.get("digest") == cell_digest(spec, cell)
                and previous.get("params") is not None):
            print(f"[tune] {cell.name}: search already finished, skipped", flush=True)
            continue
        try:
            entry = search_cell(spec, cell, paths, n_slots)
        except KeyboardInterrupt:
            raise StudyInterrupted(f"the search of {cell.name} was interrupted") from None
        best[cell.name] = entry
        if not spec.search_space.get(cell.model) and not entry.get("error"):
            print(f"[tune] {cell.name}: no search space for {cell.model}; its configured "
                  f"settings are used as they are", flush=True)
        else:
            value = entry.get("value")
            shown = (f"{100 * value:.1f} %" if value is not None and spec.search.metric != "val_loss"
                     else f"{value:.4g}" if value is not None else "-")
            note = entry.get("error") or f"best {spec.search.metric} {shown} ({entry['trial_id']})"
            print(f"[tune] {cell.name}: {entry.get('n_trials', 0)} trials "
                  f"({entry['sampler']}): {note}", flush=True)
        save_best(paths, best)
    for cell in cells:
        if not cell.searched:
            source = dict(best.get(cell.search_cell, {}))
            source["reused_from"] = cell.search_cell
            best[cell.name] = source
    for cell in cells:
        params = best.get(cell.name, {}).get("params")
        if params is not None:
            best[cell.name]["config_json"] = cell.config.replace(**params).to_json()
    save_best(paths, best)
    counts = final_evaluation(spec, cells, best, paths, n_slots)
    counts["set_aside"] = set_aside_stale_rows(spec, cells, best, paths)
    return counts, best
