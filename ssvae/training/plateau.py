"""Learning-rate decay on a validation plateau, restarting from the stage's best weights.

With ``lr_decays`` = K > 0, a stage does not end the first time its patience runs out. Up to K
times, training goes back to the stage's selected (best) weights, the learning rate becomes

    lr_k = lr · lr_decay_factor^k        (k = decays so far, 1 … K),

Adam's moment estimates restart (their scale belongs to the old step size), the patience
counter restarts, and training goes on; the best score is kept, so a decayed phase is selected
only if it beats the plateau it started from. The stage ends when patience runs out with no
decay left, or at its epoch or time bound. This is the step schedule of "reduce on plateau"
with a restore of the best weights, a common last step for a classifier that has stopped
improving at its first learning rate.

Decays are counted per stage in ``TrainState.lr_decays_done`` (saved in ``last/``), the
batches and noise are seeded per epoch, and a decay needs nothing from the optimiser it
replaces: so a resumed run decays exactly as an uninterrupted one, and a run that ended by
patience can be reopened with a larger ``lr_decays`` (``ssvae/training/resume.py``).
"""
from __future__ import annotations

import torch

from ssvae.config import TrainConfig


def stage_lr(config: TrainConfig, decays_done: int) -> float:
    """The learning rate after ``decays_done`` decays in the current stage."""
    return config.lr * config.lr_decay_factor ** decays_done


def new_optimiser(parameters, config: TrainConfig, decays_done: int) -> torch.optim.Adam:
    """A fresh Adam at the stage's current learning rate."""
    return torch.optim.Adam(parameters, lr=stage_lr(config, decays_done),
                            weight_decay=config.weight_decay)

