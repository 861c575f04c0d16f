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

import csv
import hashlib
import json
import logging
import os
import posixpath
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ssvae.results import append_row, finished_run_ids, metrics_to_row, set_aside_rows
from tune.cells import (Cell, cell_digest, estimate, expand_cells, final_configs, max_epochs,
                        search_cells)
from tune.spec import AblationSpec, spec_to_yaml
from tune import faults, ray_session, trial_records
from tune.stop_signals import SIGNAL_NAMES, DeferredStop, PlainStop, TunerStop
from tune.trainable import (META, METRIC_EPOCH, OBJECTIVE, evaluate_run, saved_history,
                            train_trial)

HISTORY_COLUMNS = ("cell", "model", "label_mode", "n_labels", "trial_id", "iteration", "epoch",
                   "stage", "time_s", "val_metric", "metric", "objective", "params_json",
                   "stopped_early", "status", "error")


# With folder storage each trial's own out_dir/last is its per-epoch checkpoint; Tune's copy of
# it (used only when a trial moves to a node that cannot see the folder) is kept this often.
TUNE_CHECKPOINT_EVERY_S = 60.0
NODE_LOSS_RETRIES = 5     # retries of a trial or final run whose worker or node died


class StudyInterrupted(Exception):
    """Ctrl+C (or a stopped Tuner): the study stopped cleanly and can be resumed."""


class StudyError(RuntimeError):
    """The study could not go on (e.g. Ray could not start)."""


@dataclass(frozen=True)
class StudyPaths:
    study_dir: Path
    storage: str                 # Tune's storage_path: an absolute folder or a URI

    @property
    def runs_csv(self) -> Path:
        return self.study_dir / "runs.csv"

    @property
    def superseded_csv(self) -> Path:
        return self.study_dir / "superseded_runs.csv"

    @property
    def best_json(self) -> Path:
        return self.study_dir / "best_configs.json"

    @property
    def history_csv(self) -> Path:
        return self.study_dir / "search_history.csv"

    @property
    def spec_copy(self) -> Path:
        return self.study_dir / "spec.yaml"

    @property
    def remote_storage(self) -> bool:
        return "://" in self.storage

    def experiment(self, name: str) -> str:
        return posixpath.join(self.storage, name) if self.remote_storage else str(Path(self.storage) / name)

    def trial_work_root(self, experiment: str) -> Path:
        """Where search trials keep their fit() folders: next to Tune's experiment when the
        storage is a folder (local or NFS), under the study folder for s3:// storage."""
        if self.remote_storage:
            return self.study_dir / "fit" / experiment
        return Path(self.storage) / experiment / "fit"

    @property
    def split_dir(self) -> str:
        """Split index files: $SSVAE_SPLIT_DIR when the driver has it, else the study's."""
        return os.environ.get("SSVAE_SPLIT_DIR") or str(self.study_dir / "splits")

    def final_run_dir(self, run_id: str) -> Path:
        return self.study_dir / "runs" / run_id


def study_paths(spec: AblationSpec, results_dir: str | os.PathLike, storage: str | None) -> StudyPaths:
    study_dir = Path(results_dir).expanduser().resolve() / spec.name
    if storage is None:
        storage = str(study_dir / "ray")
    elif "://" not in storage:
        storage = str(Path(storage).expanduser().resolve())
    return StudyPaths(study_dir, storage)


# --------------------------------------------------------------------------------------------
# printing
# --------------------------------------------------------------------------------------------
def describe(spec: AblationSpec, paths: StudyPaths | None = None, file=None) -> dict[str, Any]:
    """Print the cells, the searches, the final runs and a compute estimate (the dry run)."""
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
    p(f"  {'cell':<34} {'searched as':<34} {'trials':>6} {'epochs':>6} final runs")
    for cell in cells:
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


# --------------------------------------------------------------------------------------------
# Ray
# --------------------------------------------------------------------------------------------
def ensure_ray(study_dir: Path | None = None) -> bool:
    """Join ``$RAY_ADDRESS`` when set, else start Ray locally; True when this call started it.
    With ``study_dir``, first stop what a killed earlier driver of the study left running, and
    refuse a second live driver (``tune.ray_session``)."""
    import ray

    if study_dir is not None:
        try:
            ray_session.clean_up(study_dir)
        except ray_session.SecondDriver as err:
            raise StudyError(str(err)) from err
    if ray.is_initialized():
        if study_dir is not None:
            ray_session.record(study_dir, None)
        return False
    address = os.environ.get("RAY_ADDRESS") or None
    kwargs: dict[str, Any] = {} if address else {"include_dashboard": False}
    if not address and os.environ.get("RAY_TMPDIR"):
        kwargs["_temp_dir"] = os.environ["RAY_TMPDIR"]
    if faults.env_vars():                   # fault injection reaches the workers (tests)
        kwargs["runtime_env"] = {"env_vars": faults.env_vars()}
    try:
        # Workers' output stays in Ray's log files (the console says where): the study prints
        # one line per cell and per final run instead.
        context = ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING,
                           **kwargs)
    except Exception as err:  # noqa: BLE001 - say what to check, then stop
        where = f"the cluster at RAY_ADDRESS={address}" if address else "a local Ray"
        raise StudyError(f"could not start or join {where}: {err}. For a cluster, check the "
                         f"address and that RAY_AUTH_MODE/the token are the same as the "
                         f"head's (tune/cluster/README.md).") from err
    if study_dir is not None:
        ray_session.record(study_dir, None if address else context.address_info["session_dir"])
    print(f"[tune] Ray's logs (workers' output included): "
          f"{context.address_info.get('session_dir') or 'on the cluster head'}/logs", flush=True)
    return True


def slots(spec: AblationSpec) -> int:
    """Concurrent trials: --max-concurrent, else what the cluster's CPUs (and GPUs) allow."""
    if spec.search.max_concurrent:
        return spec.search.max_concurrent
    import ray

    res = ray.cluster_resources()
    n = int(res.get("CPU", 1) // spec.resources.cpus_per_trial)
    if spec.resources.gpus_per_trial:
        n = min(n, int(res.get("GPU", 0) // spec.resources.gpus_per_trial))
    return max(1, n)


def search_lag(spec: AblationSpec) -> int:
    """Proposal k of a search sees exactly the results of trials 0..k-lag (tune/lagged_search):
    the spec's max_concurrent, else TPE's random start-up count (whose proposals ignore results
    anyway). A constant of the spec, never of the machine, so the answer is the machine's too."""
    return max(1, spec.search.max_concurrent or spec.search.n_startup_trials)


def trial_dirname(trial) -> str:
    """Short trial folder names (Tune's default embeds the whole config)."""
    return trial.trial_id


# --------------------------------------------------------------------------------------------
# search
# --------------------------------------------------------------------------------------------
def _load_best(paths: StudyPaths) -> dict[str, Any]:
    if paths.best_json.exists():
        return json.loads(paths.best_json.read_text())
    return {}


def _save_best(paths: StudyPaths, best: dict[str, Any]) -> None:
    tmp = paths.best_json.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(best, indent=2, sort_keys=True, default=str))
    os.replace(tmp, paths.best_json)


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


def _error_text(err: Any) -> str:
    if err is None:
        return ""
    cause = getattr(err, "cause", None) or err
    text = f"{type(cause).__name__}: {cause}".strip().splitlines()
    # A Ray error carries the remote traceback; keep its last line (the exception itself).
    last = [line for line in text if line.strip()]
    return (last[-1] if last else str(err))[:500]


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
    recs = trial_records.records((r.config, _error_text(r.error)) for r in grid if r.config)
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


# --------------------------------------------------------------------------------------------
# final evaluation
# --------------------------------------------------------------------------------------------
def _error_rows(path: Path) -> set[tuple[str, str]]:
    if not path.exists():
        return set()
    with open(path, newline="") as handle:
        return {(r["run_id"], r["error"]) for r in csv.DictReader(handle) if r.get("error")}


def _id_row(spec: AblationSpec, config) -> dict[str, Any]:
    return {"ablation": spec.name, "run_id": config.run_id, "dataset": config.dataset,
            "hierarchy": config.hierarchy, "model": config.model, "label_mode": config.label_mode,
            "n_labels": config.n_labels, "split_seed": config.split_seed, "seed": config.train_seed,
            "config_json": config.to_json()}


def final_evaluation(spec: AblationSpec, cells: list[Cell], best: dict[str, Any],
                     paths: StudyPaths, n_slots: int) -> dict[str, int]:
    """Train each cell's best config for every (label draw, seed); append each row to runs.csv
    as soon as its run ends; skip runs already there."""
    import ray

    done = finished_run_ids(paths.runs_csv)
    old_errors = _error_rows(paths.runs_csv)
    counts: dict[str, Any] = {"skipped": 0, "ok": 0, "failed": 0}
    failures: list[str] = []
    counts["failures"] = failures
    todo: list[tuple[Cell, Any]] = []
    for cell in cells:
        entry = best.get(cell.name, {})
        configs_ok = entry.get("params") is not None
        params = entry.get("params") or {}
        for config in final_configs(spec, cell, params):
            if config.run_id in done:
                counts["skipped"] += 1
            elif not configs_ok:
                error = f"search failed: {entry.get('error', 'no best configuration')}"[:500]
                if (config.run_id, error) not in old_errors:
                    append_row(paths.runs_csv, {**_id_row(spec, config), "error": error})
                counts["failed"] += 1
                failures.append(f"{cell.name} split_seed={config.split_seed}: {error}")
            else:
                todo.append((cell, config))
    if not todo:
        return counts
    # A run lost with its worker or node is a system failure: Ray retries it (max_retries,
    # NODE_LOSS_RETRIES), whatever the spec allows for the run's own errors. Ray counts its
    # exception retries against the same max_retries, so those are re-submitted here instead,
    # up to the spec's evaluation.max_failures.
    remote = ray.remote(evaluate_run).options(
        num_cpus=spec.resources.cpus_per_trial, num_gpus=spec.resources.gpus_per_trial,
        max_retries=NODE_LOSS_RETRIES, retry_exceptions=False)
    attempts: dict[str, int] = {}
    print(f"[tune] final evaluation: {len(todo)} runs ({counts['skipped']} already in "
          f"{paths.runs_csv.name}), {n_slots} at a time", flush=True)
    pending: dict[Any, Any] = {}
    queue = list(todo)
    try:
        while queue or pending:
            while queue and len(pending) < n_slots:
                cell, config = queue.pop(0)
                ref = remote.remote(config.to_json(), str(paths.final_run_dir(config.run_id)),
                                    paths.split_dir)
                pending[ref] = (cell, config)
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                cell, config = pending.pop(ref)
                try:
                    metrics = ray.get(ref)
                except Exception as err:  # noqa: BLE001 - recorded in the row; the study goes on
                    own = isinstance(err, ray.exceptions.RayTaskError)   # not a lost node
                    if own:
                        attempts[config.run_id] = attempts.get(config.run_id, 0) + 1
                    if own and attempts[config.run_id] <= spec.evaluation.max_failures:
                        print(f"[tune] final run {cell.name} split_seed={config.split_seed} "
                              f"failed ({_error_text(err)}); retry {attempts[config.run_id]} of "
                              f"{spec.evaluation.max_failures}", flush=True)
                        queue.insert(0, (cell, config))
                        continue
                    error = _error_text(err)
                    append_row(paths.runs_csv, {**_id_row(spec, config), "error": error})
                    counts["failed"] += 1
                    failures.append(f"{cell.name} split_seed={config.split_seed} "
                                    f"seed={config.train_seed}: {error}")
                    print(f"[tune] final run {cell.name} split_seed={config.split_seed} "
                          f"FAILED: {error}", flush=True)
                    continue
                append_row(paths.runs_csv, metrics_to_row(metrics, ablation=spec.name,
                                                          error=None))
                counts["ok"] += 1
                acc = metrics.get("test_binary_acc")
                print(f"[tune] final run {cell.name} split_seed={config.split_seed} "
                      f"seed={config.train_seed}: test binary accuracy "
                      f"{'-' if acc is None else f'{100 * acc:.1f} %'}", flush=True)
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref, force=True)
        how = SIGNAL_NAMES.get(PlainStop.signum, "Ctrl+C (SIGINT)")
        lines = [f"the final evaluation was stopped by {how}: {counts['ok']} run(s) finished "
                 f"now, {len(pending)} running, {len(queue)} not started"]
        for cell, config in pending.values():
            done = len(saved_history(paths.final_run_dir(config.run_id)))
            lines.append(f"    {cell.name} split_seed={config.split_seed} seed={config.train_seed}:"
                         f" {done} epoch(s) finished; it resumes from there")
        raise StudyInterrupted("\n".join(lines)) from None
    return counts


def set_aside_stale_rows(spec: AblationSpec, cells: list[Cell], best: dict[str, Any],
                         paths: StudyPaths) -> int:
    """Once every cell has its best configuration, move the rows of runs.csv that are not runs of
    this spec (an edited spec, or a model whose ``identity_version`` changed, gives new run_ids)
    to ``superseded_runs.csv``, so the analysis does not average them with the current runs."""
    if any(best.get(cell.name, {}).get("params") is None for cell in cells):
        return 0
    current = {config.run_id for cell in cells
               for config in final_configs(spec, cell, best[cell.name]["params"])}
    moved = set_aside_rows(paths.runs_csv, current, paths.superseded_csv)
    if moved:
        print(f"[tune] {moved} row(s) of {paths.runs_csv.name} are not runs of this spec (made "
              f"by an earlier spec or model version): moved to {paths.superseded_csv.name}",
              flush=True)
    return moved


# --------------------------------------------------------------------------------------------
# the study
# --------------------------------------------------------------------------------------------
def _write_spec_copy(spec: AblationSpec, paths: StudyPaths) -> None:
    paths.study_dir.mkdir(parents=True, exist_ok=True)
    text = f"# {spec.name}: the spec this study ran (from {spec.source})\n" + spec_to_yaml(spec)
    paths.spec_copy.write_text(text)


def run_study(spec: AblationSpec, results_dir: str | os.PathLike = "results",
              storage: str | None = None, command: str | None = None) -> dict[str, Any]:
    """Search every searched cell, then run the final evaluation. Raises StudyInterrupted on
    Ctrl+C (the caller prints how to resume)."""
    paths = study_paths(spec, results_dir, storage)
    cells = expand_cells(spec)
    _write_spec_copy(spec, paths)
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
    best = _load_best(paths)
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
        _save_best(paths, best)
    for cell in cells:
        if not cell.searched:
            source = dict(best.get(cell.search_cell, {}))
            source["reused_from"] = cell.search_cell
            best[cell.name] = source
    for cell in cells:
        params = best.get(cell.name, {}).get("params")
        if params is not None:
            best[cell.name]["config_json"] = cell.config.replace(**params).to_json()
    _save_best(paths, best)
    counts = final_evaluation(spec, cells, best, paths, n_slots)
    counts["set_aside"] = set_aside_stale_rows(spec, cells, best, paths)
    return counts, best
