"""What Ray runs: the Tune function trainable of a search trial, and one final-evaluation run.

Both call ``ssvae.fit`` with a deterministic ``out_dir`` under the study's storage, keyed by the
run's ``run_id``, and ``resume=True``: a trial that Ray restarts after a driver kill (or a final
run re-submitted by the same command) continues from its own last finished epoch in
``out_dir/last``, instead of from Tune's last experiment snapshot. Only validation metrics reach
Tune (and so the searcher and ASHA); ``fit``'s return value, which holds the test metrics, does
not.
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

# Keys of fit()'s per-epoch report that may reach Tune (validation and training only).
REPORT_KEYS = ("epoch", "stage", "val_binary_acc", "val_subclass_acc", "val_loss", "train_loss",
               "selection_metric")
OBJECTIVE = "objective"     # the searched metric's best value so far (what ASHA/Optuna see)
METRIC_EPOCH = "metric_epoch"   # epochs that reported the searched metric (ASHA's time axis)
META = "_ssvae"             # the study's constants in a trial's config (not searched)


def validation_only(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of a per-epoch report that may reach the searcher; never a test metric."""
    out = {k: metrics[k] for k in REPORT_KEYS if k in metrics}
    leaked = [k for k in out if k.startswith("test")]
    assert not leaked, f"test metrics must never reach the searcher: {leaked}"
    return out


def trial_params(trial_config: Mapping[str, Any]) -> dict[str, Any]:
    """The searched parameters of a trial (dotted config paths)."""
    return {k: v for k, v in trial_config.items() if k != META}


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


def claim_run_dir(root: str | os.PathLike, run_id: str, owner: str,
                  wait_s: float = 60.0) -> tuple[Path, Any]:
    """``root/run_id``, locked for this trial; a second concurrent trial with the very same
    config (possible with categorical spaces) gets ``root/run_id-owner`` instead."""
    root = Path(root)
    handle = _lock(root / f"{run_id}.lock", owner, wait_s)
    if handle is not None:
        return root / run_id, handle
    other = f"{run_id}-{owner}"
    return root / other, _lock(root / f"{other}.lock", owner, wait_s)


def _fit_resuming(config: TrainConfig, out_dir: Path, report=None) -> dict:
    """``fit(resume=True)``; a ``last/`` that cannot be resumed (written with other runtime
    settings, e.g. another --cpus-per-trial) is moved aside and the run starts again."""
    from ssvae import fit

    last, old = out_dir / "last", out_dir / "last.old"
    if not (last / "state.pt").exists() and (old / "state.pt").exists():
        # Killed between the two renames of an atomic save: the previous epoch is in last.old.
        shutil.rmtree(last, ignore_errors=True)
        old.rename(last)
    try:
        return fit(config, report=report, resume=True, out_dir=str(out_dir))
    except ValueError as err:
        if "cannot resume" not in str(err):
            raise
        aside = out_dir / f"last.stale-{int(time.time())}"
        shutil.move(str(out_dir / "last"), aside)
        print(f"[ssvae.tune] {err}; moved it to {aside} and started again", flush=True)
        return fit(config, report=report, resume=True, out_dir=str(out_dir))


def train_trial(trial_config: dict) -> None:
    """Ray Tune function trainable: one search trial of one cell."""
    meta = trial_config[META]
    params = trial_params(trial_config)
    _use_split_dir(meta.get("split_dir"))
    threads = int(meta["threads"])
    os.environ["OMP_NUM_THREADS"] = str(threads)   # what Ray sets too; for child processes
    config = TrainConfig.from_dict(json.loads(meta["base"])).replace(**params, threads=threads,
                                                                       progress=False)
    metric, mode = meta["metric"], meta["mode"]
    trial_id = tune.get_context().get_trial_id() or "local"
    out_dir, lock = claim_run_dir(meta["work_root"], config.run_id, trial_id)
    try:
        last = out_dir / "last"
        if not (last / "state.pt").exists():
            checkpoint = tune.get_checkpoint()   # a restore onto a node without the folder
            if checkpoint is not None:
                with checkpoint.as_directory() as src:
                    if (Path(src) / "state.pt").exists():
                        shutil.copytree(src, last, dirs_exist_ok=True)
        progress = _Progress(out_dir / "tune_progress.json", metric, mode)
        started = time.time()
        # fit() keeps out_dir/last every epoch, and out_dir lies in the study's storage; a Tune
        # checkpoint (a copy to Tune's storage, e.g. s3://) is attached every epoch only when
        # that storage is remote, else at most every `checkpoint_every_s` (it costs a copy and
        # can force an experiment snapshot).
        every_s = float(meta.get("checkpoint_every_s", 0))
        last_ckpt = [-math.inf]

        def report(metrics: dict, checkpoint_dir: str | None = None) -> None:
            clean = validation_only(metrics)
            progress.update(clean.get(metric), int(clean.get("epoch") or 0))
            ckpt = None
            if checkpoint_dir and time.time() - last_ckpt[0] >= every_s:
                ckpt = tune.Checkpoint.from_directory(checkpoint_dir)
                last_ckpt[0] = time.time()
            tune.report({**clean, **progress.fields(), **_runtime(out_dir, started)}, checkpoint=ckpt)

        final = _fit_resuming(config, out_dir, report=report)
        if progress.best is None and final.get(metric) is not None:
            # M1's accuracy exists only once its head is fitted, after the last epoch: report
            # the selected model's VALIDATION value once (never a test metric).
            progress.update(final[metric], progress.epoch)
            tune.report({"epoch": progress.epoch, "stage": "final", metric: final[metric],
                         **progress.fields(), **_runtime(out_dir, started)})
    finally:
        if lock is not None:
            lock.close()


class _Progress:
    """The searched metric's best value so far and the number of epochs that reported it
    (ASHA's time axis: M1+M2's unsupervised stage does not count), kept in the run folder so
    a resumed trial goes on with the same values."""

    def __init__(self, path: Path, metric: str, mode: str) -> None:
        self.path, self.metric, self.mode = path, metric, mode
        saved = json.loads(path.read_text()) if path.exists() else {}
        self.best: float | None = saved.get("best")
        self.metric_epoch: int = int(saved.get("metric_epoch", 0))
        self.epoch: int = int(saved.get("epoch", 0))

    def update(self, value: Any, epoch: int) -> None:
        self.epoch = max(self.epoch, epoch)
        if value is None or not math.isfinite(value):
            self._save()
            return
        self.metric_epoch += 1
        if self.best is None or (value > self.best if self.mode == "max" else value < self.best):
            self.best = float(value)
        self._save()

    def fields(self) -> dict[str, Any]:
        if self.best is None:          # ASHA and Optuna skip a result without the objective
            return {}
        return {OBJECTIVE: self.best, METRIC_EPOCH: self.metric_epoch}

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"best": self.best, "metric_epoch": self.metric_epoch,
                                   "epoch": self.epoch}))
        os.replace(tmp, self.path)


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
    metrics.pop("history", None)
    try:
        metrics["node_id"] = ray.get_runtime_context().get_node_id()
    except Exception:            # not inside Ray (a direct call): no node to name
        metrics["node_id"] = None
    return metrics
