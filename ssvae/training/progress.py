"""``fit()``'s progress display: a bar over a stage's epochs and one over the epoch's steps.

An MNIST epoch of M2 takes minutes on a small CPU, so a bar that counts epochs alone looks stuck.
The step bar shows steps done, images per second and the epoch's ETA; the epoch bar names its
metrics as ``metrics.json`` and ``--log-epochs`` do (``train_loss``, ``val_binary_acc``, ...) and
which one selects the model (``best <name>``). Only used with ``config.progress``; batch jobs use
``--no-progress --log-epochs`` instead (``ssvae.train.epoch_logger``).
"""
from __future__ import annotations

import time
from typing import Iterable

from ssvae.models.base import Batch, Stage

SHOWN = ("train_loss", "val_loss", "val_binary_acc", "val_subclass_acc")
REFRESH_S = 0.1         # the bars redraw at most this often (tqdm's mininterval)


def selection_name(stage: Stage, binary: bool, select_on: str) -> str:
    """The metric that selects the model in ``stage`` (``ssvae.training.selection.score``'s choice)."""
    if stage.select_on == "val_loss":
        return "val_loss"
    return "val_binary_acc" if binary or select_on == "binary" else "val_subclass_acc"


def batch_images(batch: Batch) -> int:
    """Images in one optimiser step: labelled plus unlabelled."""
    unlabelled = 0 if batch.x_unlabelled is None else len(batch.x_unlabelled)
    return len(batch.x_labelled) + unlabelled


class StageProgress:
    """The two bars of one training stage (tqdm, on stderr)."""

    def __init__(self, model: str, stage: Stage, selects_on: str, steps_per_epoch: int) -> None:
        from tqdm.auto import tqdm

        self._tqdm = tqdm
        self.selects_on = selects_on
        self.steps_per_epoch = steps_per_epoch
        self.desc = f"{model}/{stage.name}"
        self.bar = None
        self.steps = None
        self._images, self._started = 0, 0.0

    def epochs(self, epochs: range) -> Iterable[int]:
        self.bar = self._tqdm(epochs, desc=f"{self.desc} epochs", unit="epoch", leave=True,
                              mininterval=REFRESH_S)
        return self.bar

    def start_epoch(self, epoch: int) -> None:
        """Open the step bar of (1-based) ``epoch``."""
        self.steps = self._tqdm(total=self.steps_per_epoch, desc=f"  epoch {epoch} steps",
                                unit="step", leave=False, mininterval=REFRESH_S)
        self._images, self._started = 0, time.perf_counter()

    def step(self, images: int) -> None:
        self._images += images
        elapsed = time.perf_counter() - self._started
        self.steps.set_postfix_str(f"{self._images / max(elapsed, 1e-9):,.0f} images/s",
                                   refresh=False)
        self.steps.update(1)

    def end_epoch(self, metrics: dict, best: float) -> None:
        """Close the step bar; show the epoch's named metrics and the best selection score."""
        if self.steps is not None:
            self.steps.close()
            self.steps = None
        shown = {k: f"{metrics[k]:.4g}" for k in SHOWN if metrics.get(k) is not None}
        # selection's score is -val_loss for loss stages: show the loss itself
        best_value = -best if self.selects_on == "val_loss" else best
        shown[f"best {self.selects_on}"] = f"{best_value:.4g}"
        self.bar.set_postfix(shown, refresh=False)      # shown with the bar's next step

    def close(self) -> None:
        if self.steps is not None:
            self.steps.close()
        if self.bar is not None:
            self.bar.close()
