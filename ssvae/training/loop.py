"""``fit(config) -> metrics``: the one training function for every model, label mode and budget.

Pure: a config in, a flat metrics dict out (DESIGN.md §6 keys). Progress goes to a ``report``
callback once per epoch, with validation metrics only; ``tune/`` binds it to ``ray.tune.report``.
Model selection and early stopping use the validation part only (``ssvae/training/selection.py``; with
``lr_decays``, a plateau first sends training back to the best weights at a lower learning rate,
``ssvae/training/plateau.py``); the test set is evaluated once, at the end, with the selected model.

Checkpoints (when ``out_dir`` is given): ``out_dir/last`` holds the whole training state after
every finished epoch (written atomically), ``out_dir/best`` the selected model with its config,
hierarchy, preprocessing and validation scores (``ssvae/deploy/bundle.py``: self-contained, safe
loads). ``resume=True`` continues from ``out_dir/last`` when it exists; the batches and the
model's noise are seeded per epoch, so a resumed run computes exactly what an uninterrupted one
would have. A larger ``epochs`` continues a run that stopped at the epoch bound
(``ssvae/training/resume.py``).
"""
from __future__ import annotations

import contextlib
import copy
import json
import math
import time
from pathlib import Path
from typing import Any, Callable

import torch

from ssvae.training.averaging import ExponentialAverage
from ssvae.deploy.bundle import ValidationScores, model_scores, thresholds_by_superclass, write_best
from ssvae.checkpoint import save_state
from ssvae.config import TrainConfig
from ssvae.data import BatchSource, to_unit
from ssvae.training.evaluation import accuracies, mean_loss_terms, moderation
from ssvae.models import build_model
from ssvae.models.base import SemiSupervisedModel, Stage
from ssvae.training.plateau import new_optimiser
from ssvae.deploy.rejection import rejection_kind
from ssvae.training.progress import StageProgress, batch_images, selection_name
from ssvae.training.resume import TrainState, restore, resume_dir
from ssvae.training.environment import device_name, git_revision, resolve_device, versions
from ssvae.training.selection import improved as _improved, score as _score
from ssvae.deploy.thresholds import Goal
from ssvae.training.inputs import run_inputs, training_arrays

Report = Callable[[dict, "str | None"], None]


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


def _kl_weight(config: TrainConfig, step: int, steps_per_epoch: int) -> float:
    """Linear KL warm-up over ``kl_warmup_epochs``, counted per optimiser step (not per call)."""
    if config.kl_warmup_epochs == 0:
        return 1.0
    return min(1.0, (step + 1) / (config.kl_warmup_epochs * steps_per_epoch))


def compute_dtype(device: torch.device) -> torch.dtype:
    """The precision training computes in: bfloat16 on a GPU, float32 on the CPU."""
    return torch.bfloat16 if device.type == "cuda" else torch.float32


def autocast(device: torch.device):
    """Mixed precision where it helps (``compute_dtype``); on the CPU a no-op."""
    dtype = compute_dtype(device)
    return torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32)


def _train_epoch(model: SemiSupervisedModel, source: BatchSource, optimiser: torch.optim.Optimizer,
                 state: TrainState, config: TrainConfig, device: torch.device,
                 average: ExponentialAverage | None = None,
                 on_step: Callable[[int], None] | None = None) -> float:
    """One pass over ``source``; returns the mean training loss. ``on_step(images)`` after each
    optimiser step (the progress bar)."""
    model.train()
    total, count = 0.0, 0
    # The model's own noise (reparameterisation, dropout) is seeded per epoch: exact resume.
    torch.manual_seed(config.train_seed * 1_000_003 + state.global_epoch)
    for batch in source.epoch(state.global_epoch):
        model.kl_weight = _kl_weight(config, state.step, len(source))
        with autocast(device):
            out = model.step_loss(batch)
        if not torch.isfinite(out.loss):
            raise TrainingDiverged(
                f"loss became {out.loss.item()} at epoch {state.global_epoch + 1}, step "
                f"{state.step}; the last good checkpoint is kept. Try a lower lr "
                f"(now {config.lr}) or a longer kl_warmup_epochs (now {config.kl_warmup_epochs}).")
        optimiser.zero_grad(set_to_none=True)
        out.loss.backward()
        optimiser.step()
        if average is not None:
            average.update()
        state.step += 1
        total += out.loss.item()
        count += 1
        if on_step is not None:
            on_step(batch_images(batch))
    return total / max(count, 1)


def check_config(config: TrainConfig) -> None:
    """Cheap checks that need the registries: names and model options (before any data loads)."""
    from ssvae.data import DATASETS
    from ssvae.models import MODELS, model_options

    DATASETS.get(config.dataset)
    MODELS.get(config.model)
    model_options(config.model, config.model_options)


def flushing_denormals() -> bool:
    """Whether this thread's CPU float mode turns subnormal floats into 0 (FTZ/DAZ)."""
    return (torch.tensor([1e-39]) * 1.0).item() == 0.0


@contextlib.contextmanager
def cpu_float_mode(flush_denormal: bool):
    """Subnormal floats flushed to zero (or not) inside, the caller's mode restored after."""
    before = flushing_denormals()
    torch.set_flush_denormal(flush_denormal)             # a no-op where the CPU cannot
    try:
        yield
    finally:
        torch.set_flush_denormal(before)


@contextlib.contextmanager
def torch_threads(threads: int | None):
    """Torch's intra-op thread count set to ``threads`` inside (None: left as it is), the
    caller's count restored after."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def fit(config: TrainConfig, report: Report | None = None, resume: bool | str | None = None,
        out_dir: str | None = None, goal: Goal | None = None,
        evaluate_test: bool = True) -> dict[str, Any]:
    """Train one run and return its metrics (see the module docstring). ``goal`` (default: a
    review budget of 0.05) sets the decision thresholds recorded in ``metrics["thresholds"]``.
    ``evaluate_test=False`` (search trials) never touches the test set: no test metrics, no
    grids of test images."""
    check_config(config)
    with cpu_float_mode(config.flush_denormal), torch_threads(config.threads):
        return _fit(config, report, resume, out_dir, goal or Goal(), evaluate_test)


def _fit(config: TrainConfig, report: Report | None, resume: bool | str | None,
         out_dir: str | None, goal: Goal, evaluate_test: bool = True) -> dict[str, Any]:
    started = time.time()
    device = resolve_device(config.device)
    out = Path(out_dir) if out_dir is not None else None

    data, hierarchy, split = run_inputs(config)
    binary = config.label_mode == "binary"
    n_classes = hierarchy.n_classes(config.label_mode)

    torch.manual_seed(config.train_seed)
    model = build_model(config, data.image_shape, n_classes).to(device)
    arrays = training_arrays(model, data, split, hierarchy, config.label_mode)
    x_lab, y_lab, x_unl = arrays.x_labelled, arrays.y_labelled, arrays.x_unlabelled
    x_val, y_val = arrays.x_val, arrays.y_val

    state, optimiser_state = TrainState(), None
    checkpoint_dir = resume_dir(resume, out)
    if checkpoint_dir is not None:
        state, optimiser_state = restore(checkpoint_dir, model, config)

    stages = model.stages()
    for stage_index in range(state.stage_index, len(stages)):
        stage = stages[stage_index]
        model.set_stage(stage.name)
        model.to(device)
        optimiser = new_optimiser(model.stage_parameters(), config, state.lr_decays_done)
        if optimiser_state is not None:
            optimiser.load_state_dict(optimiser_state)       # with its learning rate
            optimiser_state = None
        average = _average(model, config, state, stage_index, state.average)
        source = BatchSource(x_lab, y_lab, x_unl if stage.uses_unlabelled else None,
                             config.batch_size, config.labelled_batch_size,
                             seed=config.train_seed, device=device,
                             min_steps=config.min_steps_per_epoch)
        progress = (StageProgress(config.model, stage,
                                  selection_name(stage, binary, config.select_on), len(source))
                    if config.progress else None)
        epochs = range(state.stage_epoch, config.epochs)
        for _ in progress.epochs(epochs) if progress is not None else epochs:
            if state.epochs_since_best >= config.patience:
                if state.lr_decays_done >= config.lr_decays:
                    break                               # early stopping on validation
                optimiser, average = _decay_lr(model, config, state, stage_index)
            if config.max_stage_s is not None and state.stage_wall_s >= config.max_stage_s:
                state.time_limited = True               # the stage's wall-clock bound
                break
            epoch_start = time.time()
            if progress is not None:
                progress.start_epoch(state.global_epoch + 1)
            train_loss = _train_epoch(model, source, optimiser, state, config, device, average,
                                      on_step=progress.step if progress is not None else None)
            with average.applied() if average is not None else contextlib.nullcontext():
                # M1's head is fitted after its VAE stage: accuracy exists only in stages with
                # labels. With ema_decay, validation and the selected model are the average's.
                val = _validate(model, x_val, y_val, hierarchy, binary, device, stage,
                                config.select_on, with_accuracy=stage.uses_labels)
                score = _score(stage, val)
                improved = _improved(stage, score, state.best_score, config.loss_rel_tol)
                if improved:
                    state.best_model = copy.deepcopy(model.state_dict())
            state.stage_epoch += 1
            state.global_epoch += 1
            if improved:
                state.best_score, state.epochs_since_best = score, 0
            else:
                state.epochs_since_best += 1
            elapsed = time.time() - epoch_start
            state.wall_s += elapsed
            state.stage_wall_s += elapsed
            metrics = {"epoch": state.global_epoch, "stage": stage.name, "train_loss": train_loss,
                       "lr": optimiser.param_groups[0]["lr"],
                       **{k: v for k, v in val.items() if k != "val_acc"},
                       "selection_metric": score, "wall_s": state.wall_s}
            state.history.append(metrics)
            checkpoint = _save_last(out, model, optimiser, state, config)
            if progress is not None:
                progress.end_epoch(metrics, state.best_score)
            if report is not None:
                report(metrics, checkpoint)
        if progress is not None:
            progress.close()
        state.end_stage(stage.name, config.patience, stage_index == len(stages) - 1, model,
                        optimiser, decays_left=state.lr_decays_done < config.lr_decays)
        model.load_state_dict(state.best_model)
        model.finish_stage(to_unit(x_lab.to(device)), y_lab.to(device))
        state.best_model = copy.deepcopy(model.state_dict())
        state.stage_index, state.stage_epoch = stage_index + 1, 0
        state.best_score, state.epochs_since_best = -math.inf, 0
        state.stage_wall_s, state.time_limited, state.average = 0.0, False, None
        state.lr_decays_done = 0
        _save_last(out, model, None, state, config)

    return _finish(config, model, data, split, x_val, y_val, hierarchy, binary, device, state, out,
                   started, goal, evaluate_test)


def _average(model: SemiSupervisedModel, config: TrainConfig, state: TrainState,
             stage_index: int, stored: dict | None) -> ExponentialAverage | None:
    """The stage's weight average (``ema_decay`` > 0), continued from ``stored`` when given
    (None: from the current weights); ``state.average`` holds it for the checkpoints."""
    average = None
    if config.ema_decay > 0:
        average = ExponentialAverage(model.stage_parameters(), config.ema_decay, stage_index,
                                     stored)
    state.average = None if average is None else average.stored
    return average


def _decay_lr(model: SemiSupervisedModel, config: TrainConfig, state: TrainState,
              stage_index: int) -> tuple[torch.optim.Optimizer, ExponentialAverage | None]:
    """Patience ran out with a decay left (``ssvae/training/plateau.py``): back to the stage's best
    weights, a fresh Adam at the next learning rate, a fresh weight average, patience anew."""
    model.load_state_dict(state.best_model)
    state.lr_decays_done += 1
    state.epochs_since_best = 0
    average = _average(model, config, state, stage_index, None)
    return new_optimiser(model.stage_parameters(), config, state.lr_decays_done), average


def _validate(model: SemiSupervisedModel, x_val: torch.Tensor, y_val: torch.Tensor, hierarchy,
              binary: bool, device: torch.device, stage: Stage, select_on: str,
              with_accuracy: bool = True) -> dict:
    model.eval()
    val: dict[str, Any] = {"val_binary_acc": None, "val_subclass_acc": None, "val_acc": None,
                           "val_loss": None}
    if with_accuracy:
        acc = accuracies(model, x_val, y_val, hierarchy, binary, device)
        val["val_binary_acc"], val["val_subclass_acc"] = acc["binary_acc"], acc["subclass_acc"]
        val["val_acc"] = acc["binary_acc"] if binary or select_on == "binary" else acc["subclass_acc"]
    if stage.select_on == "val_loss" or model.generative:
        val["val_loss"] = mean_loss_terms(model, x_val, device, validation=True)["loss"]
    return val


def _finish(config, model, data, split, x_val, y_val, hierarchy, binary, device, state, out,
            started, goal: Goal, evaluate_test: bool = True) -> dict:
    """Evaluate the selected model once on validation and (``evaluate_test``) test; write
    metrics.json, grids and ``best/`` (``ssvae/deploy/bundle.py``). Decision thresholds come from
    validation scores only."""
    model.eval()
    val = accuracies(model, x_val, y_val, hierarchy, binary, device)
    test = (accuracies(model, data.test_x, data.test_y, hierarchy, binary, device)
            if evaluate_test else {"binary_acc": None, "subclass_acc": None})
    metrics: dict[str, Any] = {
        "run_id": config.run_id, "dataset": config.dataset, "hierarchy": hierarchy.name,
        "model": config.model, "model_version": int(model.identity_version),
        "label_mode": config.label_mode,
        "n_labels": int(split.labelled_idx.numel()), "split_seed": config.split_seed,
        "seed": config.train_seed, "split_hash": split.hash,
        "val_binary_acc": val["binary_acc"], "val_subclass_acc": val["subclass_acc"],
        "test_binary_acc": test["binary_acc"], "test_subclass_acc": test["subclass_acc"],
    }
    if model.generative and evaluate_test:
        terms = mean_loss_terms(model, data.test_x, device)
        metrics.update({f"test_{k}": v for k, v in terms.items() if k in ("elbo", "recon", "kl")})
    if evaluate_test:                        # issue 26; search trials stay on validation
        metrics.update(moderation(model, data.test_x, data.test_y, hierarchy, config.label_mode,
                                  device, out))
    metrics.update({
        "epochs": state.global_epoch, "wall_s": state.wall_s,
        # How the final stage ended: patience (converged on validation), epoch_bound, time_limit.
        "stopped_by": state.stage_ends[-1].get("stopped_by") if state.stage_ends else None,
        "stage_ends": state.stage_ends, "device": device_name(device),
        "versions": versions(), "git_rev": git_revision(), "config_json": config.to_json(),
        "checkpoint": str(out) if out is not None else None,
        "history": state.history,
    })
    probs_val, rejection_val = model_scores(model, x_val, device)
    validation = ValidationScores(probs_val, y_val, rejection_val)
    metrics["thresholds"] = {"goal": goal.to_dict(), "rejection": rejection_kind(model),
                             "by_positive": thresholds_by_superclass(
                                 validation, hierarchy, config.label_mode, goal)}
    if out is not None:
        _write_outputs(out, model, metrics, data, device, config, hierarchy, validation,
                       grids=evaluate_test)
    metrics["total_s"] = time.time() - started
    return metrics


def _write_outputs(out: Path, model: SemiSupervisedModel, metrics: dict, data, device,
                   config: TrainConfig, hierarchy, validation: ValidationScores,
                   grids: bool = True) -> None:
    from ssvae.training.grids import save_grids

    write_best(out / "best", model, config, hierarchy, validation)   # self-contained, safe
    if model.generative and grids:
        save_grids(model, data.test_x[:8], out, device)
    with open(out / "metrics.json", "w") as handle:
        json.dump(metrics, handle, indent=2, sort_keys=True, default=str)


def _save_last(out: Path | None, model, optimiser, state: TrainState, config: TrainConfig) -> str | None:
    if out is None:
        return None
    return str(save_state(out / "last", model=model.state_dict(),
                          optimiser=None if optimiser is None else optimiser.state_dict(),
                          state=state.__dict__, config=config.to_dict()))
