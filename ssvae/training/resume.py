"""Continuing a run from its ``last/`` checkpoint: the training state, and longer epoch bounds.

``TrainState`` is everything the loop needs to continue exactly. ``restore`` loads a checkpoint
into a freshly built model after checking that the config describes the same run: only the
runtime fields (threads, device, data location) may differ, and the stage bounds ``epochs`` and
``max_stage_s`` may grow (``max_stage_s`` may also be removed).

A larger ``epochs`` (the per-stage bound) continues a run that stopped *at the bound* as if it
had been started with the larger bound, which is exact because nothing in training depends on
the bound itself (batches, noise and KL warm-up are seeded or counted per epoch and step):
- a checkpoint in the middle of a stage simply trains on;
- a finished run whose last stage ended at the bound is reopened: the finished checkpoint keeps
  the last epoch's weights, optimiser and early-stopping counters for this (``TrainState.reopen``);
- a stage that ended by early stopping (patience) stays finished: a longer bound changes nothing;
- an earlier stage that ended at the bound cannot be extended (a longer bound would have trained
  it longer, and the later stages on top of it): that is an error, start a new run.
A smaller ``epochs`` is an error. The same holds for the time bound ``max_stage_s``: a stage it
ended is reopened by a larger one (or none), with the stage's seconds so far counted; unlike the
epoch bound, where a time bound falls depends on the machine, so such a continuation is exact
only in the sense that it continues the same state. The result is stored under the new config's
``run_id``.

A larger ``lr_decays`` (learning-rate decays on a validation plateau, ``ssvae/training/plateau.py``)
reopens a finished run whose final stage ended by patience, just before the decay it would
have made: the selected weights are in the checkpoint, and the scores and patience counter are
replayed from the stage's history. That is exact too, because a decay restarts from the best
weights with a fresh optimiser. An earlier stage that ended by patience would have decayed as
well, under the later stages: an error. A checkpoint in the middle of a stage trains on with the
larger count; a smaller count is an error.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ssvae.checkpoint import load_state
from ssvae.config import TrainConfig
from ssvae.models.base import SemiSupervisedModel
from ssvae.training.selection import replay

BOUNDS = ("epochs", "max_stage_s")   # per-stage bounds: a resume may raise them
GROWABLE = BOUNDS + ("lr_decays",)   # ... and the number of learning-rate decays on a plateau


@dataclass
class TrainState:
    """Everything needed to continue a run exactly (saved in ``last/``)."""

    stage_index: int = 0
    stage_epoch: int = 0            # epochs finished in the current stage
    global_epoch: int = 0           # epochs finished over all stages (seeds the batches)
    step: int = 0                   # optimiser steps over all stages (KL warm-up counts these)
    best_score: float = -math.inf
    epochs_since_best: int = 0
    best_model: dict | None = None  # state dict of the selected model of the current stage
    history: list = field(default_factory=list)
    wall_s: float = 0.0
    stage_wall_s: float = 0.0       # training seconds of the current stage (``max_stage_s``)
    time_limited: bool = False      # the current stage reached ``max_stage_s``
    stage_ends: list = field(default_factory=list)  # per finished stage: name, epochs, capped
    reopen: dict | None = None      # the final stage as it was before finishing, when capped
    average: dict | None = None     # the current stage's weight average (``ema_decay`` > 0)
    lr_decays_done: int = 0         # learning-rate decays so far in the current stage

    def end_stage(self, name: str, patience: int, final: bool, model: SemiSupervisedModel,
                  optimiser: torch.optim.Optimizer, decays_left: bool = False) -> None:
        """Record how the current stage ended; keep what reopening it needs (final stage only,
        and only when it ended at the epoch bound rather than by early stopping). A stage whose
        patience ran out on its last allowed epoch with a learning-rate decay left was ended by
        the bound, not by patience."""
        capped = self.epochs_since_best < patience or decays_left
        self.stage_ends.append({"stage": name, "epochs": self.stage_epoch, "capped": capped,
                                "stopped_by": ("time_limit" if self.time_limited else
                                               "epoch_bound" if capped else "patience"),
                                "lr_decays": self.lr_decays_done, "wall_s": self.stage_wall_s})
        if final and capped:
            self.reopen = {"model": copy.deepcopy(model.state_dict()),
                           "optimiser": copy.deepcopy(optimiser.state_dict()),
                           "stage_epoch": self.stage_epoch, "best_score": self.best_score,
                           "epochs_since_best": self.epochs_since_best,
                           "stage_wall_s": self.stage_wall_s,
                           "best_model": self.best_model,
                           "average": copy.deepcopy(self.average),
                           "lr_decays_done": self.lr_decays_done}


class ResumeMismatch(ValueError):
    """A checkpoint that belongs to another run (its config differs in what changes the result,
    or a bound shrank): it cannot be continued, only replaced by a fresh start."""


def resume_dir(resume: bool | str | None, out: Path | None) -> Path | None:
    """The checkpoint folder to continue from, or None for a fresh start."""
    if resume in (None, False):
        return None
    if resume is True:
        if out is None:
            raise ValueError("resume=True needs out_dir (it resumes from out_dir/last)")
        last = out / "last"
        return last if (last / "state.pt").exists() else None
    path = Path(resume)
    if not (path / "state.pt").exists():
        raise FileNotFoundError(f"no checkpoint to resume from in {path} (expected {path/'state.pt'})")
    return path


def restore(path: Path, model: SemiSupervisedModel,
            config: TrainConfig) -> tuple[TrainState, dict | None]:
    """Load ``path`` into ``model``; return the state and the optimiser state (None between
    stages). Raises ResumeMismatch when the checkpoint belongs to another run."""
    saved = load_state(path)
    old = TrainConfig.from_dict(saved["config"])
    before, now = old.identity(), config.identity()
    changed = sorted(k for k in before.keys() | now.keys()
                     if k not in GROWABLE and before.get(k) != now.get(k))
    if changed:
        raise ResumeMismatch(f"cannot resume from {path}: the config differs in {changed}")
    state = TrainState(**saved["state"])
    weights, optimiser = saved["model"], saved.get("optimiser")
    stages = model.stages()
    if any(getattr(config, b) != getattr(old, b) for b in GROWABLE):
        _check_growth(path, old, config)
        weights, optimiser = _extend(path, state, stages, weights, optimiser, old, config)
    for done in stages[:state.stage_index]:
        model.set_stage(done.name)
    model.set_stage(stages[min(state.stage_index, len(stages) - 1)].name)
    model.load_state_dict(weights)
    return state, optimiser


def _check_growth(path: Path, old: TrainConfig, new: TrainConfig) -> None:
    """Each stage bound may grow (``max_stage_s`` may also be removed), never shrink."""
    if new.epochs < old.epochs:
        raise ResumeMismatch(f"cannot resume from {path} with epochs={new.epochs}: it was started with "
                         f"epochs={old.epochs}; the bound can only grow (or start a new run)")
    if new.max_stage_s is not None and (old.max_stage_s is None
                                        or new.max_stage_s < old.max_stage_s):
        raise ResumeMismatch(f"cannot resume from {path} with max_stage_s={new.max_stage_s}: it was "
                         f"started with max_stage_s={old.max_stage_s}; the bound can only grow or "
                         f"be removed (or start a new run)")
    if new.lr_decays < old.lr_decays:
        raise ResumeMismatch(f"cannot resume from {path} with lr_decays={new.lr_decays}: it was "
                         f"started with lr_decays={old.lr_decays}; the count can only grow (or "
                         f"start a new run)")


def _extend(path: Path, state: TrainState, stages, weights, optimiser,
            old: TrainConfig | None = None, new: TrainConfig | None = None):
    """Apply larger stage bounds (``epochs``, ``max_stage_s``) or more learning-rate decays
    (``lr_decays``) to a restored state (``old`` / ``new``: the two configs; None: bounds only)."""
    bounds_grew = old is None or any(getattr(new, b) != getattr(old, b) for b in BOUNDS)
    more_decays = old is not None and new.lr_decays > old.lr_decays
    if len(state.stage_ends) < state.stage_index:       # every finished stage records its end
        raise ValueError(f"cannot extend {path}: it was written before stage ends were recorded, "
                         f"so whether a stage ended at a bound is unknown; a new run is needed")
    final_done = state.stage_index >= len(stages)
    earlier = state.stage_ends[:len(stages) - 1] if final_done else state.stage_ends
    cut = [e["stage"] for e in earlier if e["capped"]] if bounds_grew else []
    if cut:
        raise ValueError(f"cannot extend {path}: stage(s) {cut} ended at the epoch bound or the "
                         f"time bound (max_stage_s) and later stages trained on top of them; a new "
                         f"run with the larger bound is needed")
    stopped = [e["stage"] for e in earlier if e["stopped_by"] == "patience"] if more_decays else []
    if stopped:
        raise ValueError(f"cannot give {path} more learning-rate decays: stage(s) {stopped} ended "
                         f"by patience and later stages trained on top of them; a new run with "
                         f"lr_decays={new.lr_decays} is needed")
    if not final_done:
        return weights, optimiser
    final = state.stage_ends[-1]
    if final["capped"] and bounds_grew and state.reopen is not None:
        r = state.reopen                       # reopen the final stage where it stopped
        state.stage_index, state.stage_epoch = len(stages) - 1, r["stage_epoch"]
        state.best_score, state.epochs_since_best = r["best_score"], r["epochs_since_best"]
        state.best_model, state.reopen = r["best_model"], None
        state.stage_wall_s = r.get("stage_wall_s", 0.0)     # absent before max_stage_s existed
        state.average = r.get("average")                     # absent before ema_decay existed
        state.lr_decays_done = r.get("lr_decays_done", 0)   # absent before lr_decays existed
        state.stage_ends = state.stage_ends[:-1]
        return r["model"], r["optimiser"]
    if final["stopped_by"] == "patience" and more_decays:
        return _reopen_plateau(path, state, stages, new), None
    return weights, optimiser


def _reopen_plateau(path: Path, state: TrainState, stages, config: TrainConfig) -> dict:
    """Reopen a final stage that ended by patience, just before its next learning-rate decay.

    The finished checkpoint holds the stage's selected weights (``best_model``); the scores
    and the patience counter are replayed from the stage's history with the selection rule of
    the training loop, so the continuation is the run that ``lr_decays`` would have made from
    the start. Returns the weights to load."""
    end, stage = state.stage_ends[-1], stages[-1]
    history = state.history[len(state.history) - end["epochs"]:]
    if end["epochs"] == 0 or any(h.get("stage") != stage.name for h in history):
        raise ValueError(f"cannot reopen {path}: its history does not hold the {end['epochs']} "
                         f"epochs of stage {stage.name!r}")
    best, since = replay(stage, [h["selection_metric"] for h in history], config.loss_rel_tol)
    if since < config.patience:
        raise ValueError(f"cannot reopen {path}: replaying its history gives {since} epochs "
                         f"since the best, fewer than patience={config.patience}")
    wall = end.get("wall_s")                # absent before lr_decays existed
    if wall is None:
        if len(stages) > 1:
            raise ValueError(f"cannot reopen {path}: the checkpoint predates per-stage wall "
                             f"times and has {len(stages)} stages; a new run is needed")
        wall = state.wall_s
    state.stage_index, state.stage_epoch = len(stages) - 1, end["epochs"]
    state.best_score, state.epochs_since_best = best, since
    state.stage_wall_s, state.time_limited, state.average = wall, False, None
    state.lr_decays_done = end.get("lr_decays", 0)
    state.stage_ends = state.stage_ends[:-1]
    return state.best_model
