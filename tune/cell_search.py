"""The search of one cell: a Ray Tune ``Tuner`` (or its restore) with Optuna TPE proposals in
trial order (``tune/lagged_search.py``) and ASHA's rule in trial order (``tune/rungs.py``), and
the cell's search history and best configuration, read from the trials' own folders."""
from __future__ import annotations

import csv
import hashlib
import json
import os
import time
from typing import Any

from tune import trial_records
from tune.cells import Cell, cell_digest, max_epochs
from tune.failures import NODE_LOSS_RETRIES, StudyInterrupted, error_text
from tune.spec import AblationSpec
from tune.stop_signals import SIGNAL_NAMES, TunerStop
from tune.study_paths import StudyPaths
from tune.trainable import META, METRIC_EPOCH, OBJECTIVE, saved_history, train_trial

HISTORY_COLUMNS = ("cell", "model", "label_mode", "n_labels", "trial_id", "iteration", "epoch",
                   "stage", "time_s", "val_metric", "metric", "objective", "params_json",
                   "stopped_early", "status", "error")


# With folder storage each trial's own out_dir/last is its per-epoch checkpoint; Tune's copy of
# it (used only when a trial moves to a node that cannot see the folder) is kept this often.
TUNE_CHECKPOINT_EVERY_S = 60.0


def search_lag(spec: AblationSpec) -> int:
    """Proposal k of a search sees exactly the results of trials 0..k-lag (tune/lagged_search):
    the spec's max_concurrent, else TPE's random start-up count (whose proposals ignore results
    anyway). A constant of the spec, never of the machine, so the answer is the machine's too."""
    return max(1, spec.search.max_concurrent or spec.search.n_startup_trials)


def trial_dirname(trial) -> str:
    """Short trial folder names (Tune's default embeds the whole config)."""
    return trial.trial_id


def rung_scheduler(spec: AblationSpec, cell: Cell):
    """ASHA's rule decided in trial order (``tune/rungs.py``), or FIFO without ASHA."""
    from ray.tune.schedulers import FIFOScheduler

    from tune.rungs import OrderedRungs, rung_values
    from tune.trainable import trial_dir
    from tune.trial_records import mark_stopped

    if not spec.asha.enabled:
        return FIFOScheduler()
    mode = spec.search.direction
    # Time axis: epochs that reported the metric (a multi-stage model's unsupervised stage has
    # no accuracy to compare, so it is not cut there). Ray's ASHAScheduler decides in arrival
    # order and forgets its rungs on restore. A trial that had ended before a restore gives
    # its rung values from its folder.
    return OrderedRungs(time_attr=METRIC_EPOCH, metric=OBJECTIVE, mode=mode,
                        max_t=max_epochs(spec, cell), grace_period=spec.asha.grace_period,
                        reduction_factor=spec.asha.reduction_factor,
                        ended=lambda trial: rung_values(saved_history(trial_dir(trial.config)),
                                                        spec.search.metric, mode),
                        on_stop=lambda trial, rung: mark_stopped(trial.config, rung))


def _tuner(spec: AblationSpec, cell: Cell, paths: StudyPaths, experiment: str, n_slots: int):
    import optuna
    from ray import tune
    from ray.tune.search.optuna import OptunaSearch

    from tune.lagged_search import LaggedSearch

    mode = spec.search.direction
    trainable = tune.with_resources(train_trial, {"cpu": spec.resources.cpus_per_trial,
                                                  "gpu": spec.resources.gpus_per_trial})
    path = paths.experiment(experiment)
    if tune.Tuner.can_restore(path):
        print(f"[tune] {cell.name}: restoring the unfinished search in {path}", flush=True)
        return tune.Tuner.restore(path, trainable=trainable, resume_unfinished=True,
                                  resume_errored=False, restart_errored=False)
    space = {p.name: p.distribution() for p in spec.search_space[cell.model]}
    # One seeded sampler per cell, so two cells do not draw the same sequence.
    seed = spec.search.seed + int(hashlib.sha256(cell.name.encode()).hexdigest()[:8], 16) % 100_000
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=spec.search.n_startup_trials)
    searcher = LaggedSearch(OptunaSearch(space=space, metric=OBJECTIVE, mode=mode, sampler=sampler),
                            lag=search_lag(spec), metric=OBJECTIVE, mode=mode)
    scheduler = rung_scheduler(spec, cell)
    meta = {"base": cell.config.replace(epochs=max_epochs(spec, cell)).to_json(),
            "cell": cell.name, "metric": spec.search.metric, "mode": mode,
            "threads": spec.resources.threads, "work_root": str(paths.trial_work_root(experiment)),
            "split_dir": paths.split_dir,
            "checkpoint_every_s": 0 if paths.remote_storage else TUNE_CHECKPOINT_EVERY_S,
            "max_failures": spec.search.max_failures}
    return tune.Tuner(
        trainable,
        param_space={META: meta},
        tune_config=tune.TuneConfig(
            search_alg=searcher, scheduler=scheduler, num_samples=spec.search.trials,
            max_concurrent_trials=min(n_slots, spec.search.trials), reuse_actors=True,
            trial_dirname_creator=trial_dirname),
        run_config=tune.RunConfig(
            name=experiment, storage_path=paths.storage, verbose=0,
            # A trial lost with its worker or node is retried up to NODE_LOSS_RETRIES times on
            # top of the spec's max_failures; the trial's own exceptions are counted in its
            # folder and stop being retried after max_failures (tune.trainable).
            failure_config=tune.FailureConfig(
                max_failures=spec.search.max_failures + NODE_LOSS_RETRIES),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=2)),
    )


def _write_history(paths: StudyPaths, cell_name: str, rows: list[dict[str, Any]]) -> None:
    """Replace the cell's rows (a cell's history is written once, when its search ends)."""
    kept: list[dict[str, Any]] = []
    if paths.history_csv.exists():
        with open(paths.history_csv, newline="") as handle:
            kept = [r for r in csv.DictReader(handle) if r.get("cell") != cell_name]
    tmp = paths.history_csv.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HISTORY_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for r in kept + rows:
            writer.writerow({c: ("" if r.get(c) is None else r.get(c)) for c in HISTORY_COLUMNS})
    os.replace(tmp, paths.history_csv)


def search_cell(spec: AblationSpec, cell: Cell, paths: StudyPaths, n_slots: int) -> dict[str, Any]:
    """Run (or resume) the search of one cell; returns its best_configs.json entry."""
    digest = cell_digest(spec, cell)
    random_search = spec.search.trials <= spec.search.n_startup_trials
    entry: dict[str, Any] = {
        "search_cell": cell.name, "digest": digest, "metric": spec.search.metric,
        "mode": spec.search.direction, "model": cell.model,
        "sampler": ("random search: trials <= TPE n_startup_trials" if random_search
                    else "TPE (Optuna), seeded"),
        "n_startup_trials": spec.search.n_startup_trials,
    }
    if not spec.search_space.get(cell.model):
        entry.update(params={}, value=None, n_trials=0, n_errors=0, trial_id=None,
                     note="nothing to search for this model: the spec's fixed settings are used")
        return entry
    experiment = f"{cell.name}-{digest}"
    started = time.time()
    tuner = _tuner(spec, cell, paths, experiment, n_slots)
    with TunerStop() as interrupt:
        grid = tuner.fit()
    # A trial stopped before its first report has no result (and no config) in the grid.
    recs = trial_records.records((r.config, error_text(r.error)) for r in grid if r.config)
    unfinished = [r for r in recs if not r.done]
    if interrupt.signal or unfinished or len(recs) < spec.search.trials:
        raise StudyInterrupted(_interrupted_search(cell, recs, spec.search.trials,
                                                   paths.experiment(experiment), interrupt.signal))
    metric, mode = spec.search.metric, spec.search.direction
    base = {"cell": cell.name, "model": cell.model, "label_mode": cell.config.label_mode,
            "n_labels": cell.config.n_labels}
    _write_history(paths, cell.name, trial_records.history_rows(recs, base, metric, mode))
    entry.update(n_trials=len(recs), n_errors=sum(bool(r.error) for r in recs),
                 experiment=paths.experiment(experiment), search_s=round(time.time() - started, 1))
    top = trial_records.best(recs, metric, mode)
    if top is None:
        errors = [r.error for r in recs if r.error]
        entry.update(params=None, value=None,
                     error=f"no trial of {cell.name} reported {metric}"
                           + (f"; first error: {errors[0]}" if errors else ""))
        return entry
    epochs = [e.get("epoch") for e in top.history if e.get("epoch") is not None]
    entry.update(params=top.params, value=top.objective(metric, mode),
                 trial_id=f"{cell.name}/{top.name}",
                 epochs_reached=max(epochs) if epochs else None)
    return entry


def _interrupted_search(cell: Cell, recs: list, n_trials: int, experiment: str,
                        signum: int | None) -> str:
    """What was running when a search stopped, and what the same command will do."""
    how = SIGNAL_NAMES.get(signum, "a stop")
    lines = [f"the search of {cell.name} was stopped by {how}; "
             f"{sum(r.done for r in recs)} of {n_trials} trials had ended"]
    for r in recs:
        if not r.done:
            lines.append(f"    trial {r.name} {json.dumps(r.params, sort_keys=True)}: "
                         f"{len(r.history)} epoch(s) finished; it resumes from there")
    if len(recs) < n_trials:
        lines.append(f"    {n_trials - len(recs)} trial(s) not started yet")
    lines.append(f"    Tune's state of the search: {experiment}")
    return "\n".join(lines)
