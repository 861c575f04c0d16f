"""What Ray runs: the Tune function trainable of a search trial, and one final-evaluation run.

Both call ``ssvae.fit`` with a deterministic ``out_dir`` under the study's storage (a search
trial's is keyed by its proposal index and run_id, a final run's by its run_id) and
``resume=True``: a trial that Ray restarts (after a pause at a rung, a driver kill, a lost node)
or a final run re-submitted by the same command continues from its own last finished epoch in
``out_dir/last``, instead of from Tune's last experiment snapshot. A restarted search trial
first reports its finished epochs again, so the scheduler and searcher see its whole history.
Only validation metrics reach Tune; search trials never evaluate the test set.
"""
from __future__ import annotations

import fcntl
import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any, Mapping

from ray import tune

from ssvae.config import TrainConfig
from ssvae.training.resume import ResumeMismatch
from tune import faults
from tune.lagged_search import INDEX

# Keys of fit()'s per-epoch report that may reach Tune (validation and training only).
REPORT_KEYS = ("epoch", "stage", "val_binary_acc", "val_subclass_acc", "val_loss", "train_loss",
               "selection_metric")
OBJECTIVE = "objective"     # the searched metric's best value so far (what ASHA/Optuna see)
METRIC_EPOCH = "metric_epoch"   # epochs that reported the searched metric (ASHA's time axis)
META = "_ssvae"             # the study's constants in a trial's config (not searched)
LOCK_WAIT_S = 120.0         # how long a restarted trial waits for its old incarnation to go


def validation_only(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of a per-epoch report that may reach the searcher; never a test metric."""
    # REPORT_KEYS holds no test key (tests/tune/test_tune_trainable.py checks it), so this filter
    # is the whole guard.
    return {k: metrics[k] for k in REPORT_KEYS if k in metrics}


def trial_params(trial_config: Mapping[str, Any]) -> dict[str, Any]:
    """The searched parameters of a trial (dotted config paths)."""
    return {k: v for k, v in trial_config.items() if k not in (META, INDEX)}


def _lock(path: Path, owner: str, wait_s: float = 0.0):
    """An exclusive lock on ``path`` (its text names the owner), or None when another live
    process holds it. A lock held by an earlier incarnation of the same trial (whose actor Ray
    is still tearing down after a driver kill) is waited for up to ``wait_s``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.time() + wait_s
    while True:
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            if holder == owner and time.time() < deadline:
                time.sleep(0.5)
                continue
            return None
        handle.seek(0)
        handle.truncate()
        handle.write(owner)
        handle.flush()
        return handle


def train_config_of(trial_config: Mapping[str, Any]) -> TrainConfig:
    """The TrainConfig of a search trial: the cell's base config with the searched values."""
    meta = trial_config[META]
    return TrainConfig.from_dict(json.loads(meta["base"])).replace(
        **trial_params(trial_config), threads=int(meta["threads"]), progress=False)


def trial_dir(trial_config_: Mapping[str, Any]) -> Path:
    """A search trial's fit() folder, keyed by its proposal index and run_id: the trial that
    Tune restores or re-creates after an interruption finds the epochs it had finished."""
    index = int(trial_config_[INDEX])
    return Path(trial_config_[META]["work_root"]) / f"t{index:03d}-{train_config_of(trial_config_).run_id}"


class TrialBusy(RuntimeError):
    """Another live process trains this trial's folder (a second driver on the same study)."""


def _recover_last(out_dir: Path) -> None:
    """Killed between the two renames of an atomic save: the previous epoch is in last.old."""
    last, old = out_dir / "last", out_dir / "last.old"
    if not (last / "state.pt").exists() and (old / "state.pt").exists():
        shutil.rmtree(last, ignore_errors=True)
        old.rename(last)


def saved_history(out_dir: Path) -> list[dict[str, Any]]:
    """The per-epoch reports of the epochs a run has finished: from ``metrics.json`` once it
    ended, else from its ``last/`` checkpoint (saved before each epoch is reported)."""
    finished = out_dir / "metrics.json"
    if finished.exists():
        return list(json.loads(finished.read_text()).get("history") or [])
    if not (out_dir / "last" / "state.pt").exists():
        return []
    from ssvae.checkpoint import load_state

    return list(load_state(out_dir / "last")["state"].get("history") or [])


def _fit_resuming(config: TrainConfig, out_dir: Path, report=None,
                  evaluate_test: bool = True) -> dict:
    """``fit(resume=True)``; a ``last/`` that belongs to another run (``ResumeMismatch``:
    written with other settings) is moved aside and the run starts again."""
    from ssvae import fit

    _recover_last(out_dir)
    try:
        return fit(config, report=report, resume=True, out_dir=str(out_dir),
                   evaluate_test=evaluate_test)
    except ResumeMismatch as err:
        aside = out_dir / f"last.stale-{int(time.time())}"
        shutil.move(str(out_dir / "last"), aside)
        print(f"[ssvae.tune] {err}; moved it to {aside} and started again", flush=True)
        return fit(config, report=report, resume=True, out_dir=str(out_dir),
                   evaluate_test=evaluate_test)


def train_trial(trial_config_: dict) -> None:
    """Ray Tune function trainable: one search trial of one cell.

    A restarted trial (after a pause at a rung, a restore, a retry) first reports again every
    epoch it had finished, from its own checkpoint, then trains on from there: the scheduler
    and the searcher see the same history as in an uninterrupted study (``tune.rungs``), and at
    most the epoch that was running is computed again. The test set is never evaluated.
    """
    meta = trial_config_[META]
    index = int(trial_config_[INDEX])
    _use_split_dir(meta.get("split_dir"))
    os.environ["OMP_NUM_THREADS"] = str(meta["threads"])   # what Ray sets too; for children
    config = train_config_of(trial_config_)
    out_dir = trial_dir(trial_config_)
    # An earlier incarnation of this trial (its actor torn down after a driver kill) may still
    # hold the folder for a moment: wait for it; a live second driver is an error.
    lock = _lock(out_dir.parent / f"{out_dir.name}.lock", f"trial {index}", wait_s=LOCK_WAIT_S)
    if lock is None:
        raise TrialBusy(f"{out_dir} is being trained by another process: is a second driver "
                        f"running this study?")
    try:
        _give_up_after_own_failures(out_dir, int(meta.get("max_failures", 0)))
        try:
            _train_trial(config, out_dir, meta, index)
        except Exception as err:
            _count_own_failure(out_dir, err)
            raise
    finally:
        lock.close()


class TrialFailed(RuntimeError):
    """A trial whose own exceptions used up the spec's max_failures (its message is theirs)."""


FAILURES = "failures.json"


def _give_up_after_own_failures(out_dir: Path, max_failures: int) -> None:
    """Tune retries a trial max_failures + NODE_LOSS_RETRIES times, whatever the cause; the
    trial's own exceptions are allowed max_failures retries only: after that it fails at once."""
    path = out_dir / FAILURES
    if path.exists():
        saved = json.loads(path.read_text())
        if saved["count"] > max_failures:
            raise TrialFailed(saved["error"])


def _count_own_failure(out_dir: Path, err: Exception) -> None:
    path = out_dir / FAILURES
    count = json.loads(path.read_text())["count"] if path.exists() else 0
    out_dir.mkdir(parents=True, exist_ok=True)
    text = str(err) if isinstance(err, TrialFailed) else f"{type(err).__name__}: {err}"
    path.write_text(json.dumps({"count": count + 1, "error": text[:2000]}))


def _train_trial(config: TrainConfig, out_dir: Path, meta: dict, index: int) -> None:
    """The body of ``train_trial``: replay, then train on (see its docstring)."""
    metric, mode = meta["metric"], meta["mode"]
    _recover_last(out_dir)                  # before a Tune checkpoint could be taken for lost
    last = out_dir / "last"
    if not (last / "state.pt").exists() and not (out_dir / "metrics.json").exists():
        checkpoint = tune.get_checkpoint()   # a restore onto a node without the folder
        if checkpoint is not None:
            with checkpoint.as_directory() as src:
                if (Path(src) / "state.pt").exists():
                    shutil.copytree(src, last, dirs_exist_ok=True)
    objective = Objective(metric, mode)
    started = time.time()
    # fit() keeps out_dir/last every epoch, and out_dir lies in the study's storage; a Tune
    # checkpoint (a copy to Tune's storage, e.g. s3://) is attached every epoch only when
    # that storage is remote, else at most every `checkpoint_every_s` (it costs a copy and
    # can force an experiment snapshot).
    every_s = float(meta.get("checkpoint_every_s", 0))
    last_ckpt = [-math.inf]

    def report(metrics: dict, checkpoint_dir: str | None = None, fresh: bool = True) -> None:
        if fresh:
            faults.reached("report")     # checkpoint saved, not yet reported (tests)
            faults.slow(index)
        clean = validation_only(metrics)
        objective.update(clean.get(metric))
        ckpt = None
        if checkpoint_dir and time.time() - last_ckpt[0] >= every_s:
            ckpt = tune.Checkpoint.from_directory(checkpoint_dir)
            last_ckpt[0] = time.time()
        tune.report({**clean, **objective.fields(), **_runtime(out_dir, started)},
                    checkpoint=ckpt)

    for entry in saved_history(out_dir):    # the finished epochs, again (see docstring)
        report(entry, fresh=False)
    finished = out_dir / "metrics.json"
    if finished.exists():
        final = json.loads(finished.read_text())
    else:
        final = _fit_resuming(config, out_dir, report=report, evaluate_test=False)
    if objective.best is None and final.get(metric) is not None:
        # M1's accuracy exists only once its head is fitted, after the last epoch: report
        # the selected model's VALIDATION value once (never a test metric).
        objective.update(final[metric])
        tune.report({"epoch": len(final.get("history") or []), "stage": "final",
                     metric: final[metric], **objective.fields(),
                     **_runtime(out_dir, started)})


class Objective:
    """The searched metric's best value so far and the number of epochs that reported it
    (ASHA's time axis: M1+M2's unsupervised stage does not count), from the reports in order.
    The one definition of the objective: the trainable reports it, the scheduler rebuilds a
    restored trial's rungs with it (``tune.rungs.rung_values``), and the search history and
    best trial are read with it (``tune.trial_records``)."""

    def __init__(self, metric: str, mode: str) -> None:
        self.metric, self.mode = metric, mode
        self.best: float | None = None
        self.metric_epoch = 0

    def update(self, value: Any) -> bool:
        """Count ``value`` (None or not finite: an epoch without the metric); True if counted."""
        if value is None or not math.isfinite(float(value)):
            return False
        value = float(value)
        self.metric_epoch += 1
        if self.best is None or (value > self.best if self.mode == "max" else value < self.best):
            self.best = value
        return True

    def fields(self) -> dict[str, Any]:
        if self.best is None:          # the scheduler and Optuna skip a result without it
            return {}
        return {OBJECTIVE: self.best, METRIC_EPOCH: self.metric_epoch}


def _runtime(out_dir: Path, started: float) -> dict[str, Any]:
    import torch

    return {"run_dir": out_dir.name, "torch_threads": torch.get_num_threads(),
            "omp_threads": os.environ.get("OMP_NUM_THREADS"), "trial_started": started}


def _use_split_dir(split_dir: str | None) -> None:
    """Split index files go to the study's folder (shared storage on a cluster), not to the
    worker's working directory (Tune makes that the trial folder)."""
    if split_dir:
        os.environ["SSVAE_SPLIT_DIR"] = split_dir


def evaluate_run(config_json: str, out_dir: str, split_dir: str | None = None) -> dict:
    """One final-evaluation run (a Ray task): trains the best config with one (label draw, seed)
    and returns fit's metrics (test metrics included: these go to the results table, never to a
    searcher) plus the Ray node that ran it."""
    import ray

    _use_split_dir(split_dir)
    config = TrainConfig.from_dict(json.loads(config_json))
    if config.threads is not None:
        os.environ["OMP_NUM_THREADS"] = str(config.threads)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics = _fit_resuming(config, out)
    faults.reached("final_run")             # trained, metrics not yet returned (tests)
    metrics.pop("history", None)
    try:
        metrics["node_id"] = ray.get_runtime_context().get_node_id()
    except Exception:            # not inside Ray (a direct call): no node to name
        metrics["node_id"] = None
    return metrics
