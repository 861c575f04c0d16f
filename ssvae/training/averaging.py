"""Polyak averaging of a stage's parameters: an exponential moving average of the weights.

With ``ema_decay`` = d > 0, after optimiser step t the average θ̄ is updated as

    θ̄_t = β_t θ̄_{t-1} + (1 - β_t) θ_t,    β_t = min(d, (1 + t) / (10 + t)),

(t counted from 1 within the stage; the ramp keeps the first steps' random weights from
dominating an average over ~1 / (1 - d) steps). Validation, model selection, the ``best/``
checkpoint and the final test see θ̄; training continues from θ. Averaging a semi-supervised
classifier's weights smooths the epoch-to-epoch swings that a few labels cause (Polyak & Juditsky
1992; Tarvainen & Valpola 2017 use the same average as their "teacher").

The average lives in ``TrainState.average`` (a plain dict of tensors), so ``last/`` checkpoints
carry it and a resumed run averages exactly as an uninterrupted one. Only parameters are
averaged: the networks have no BatchNorm statistics (``ssvae/nets/blocks.py``).
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch


class ExponentialAverage:
    """θ̄ for ``parameters``; ``stored`` is the dict kept in the training state (or None)."""

    def __init__(self, parameters, decay: float, stage_index: int, stored: dict | None = None):
        self.parameters = list(parameters)
        self.decay = decay
        if stored is not None and stored["stage_index"] == stage_index:
            if len(stored["shadow"]) != len(self.parameters):
                raise ValueError(f"the checkpoint's weight average holds {len(stored['shadow'])} "
                                 f"tensors; this stage has {len(self.parameters)} parameters")
            stored["shadow"] = [s.to(p.device) for s, p in zip(stored["shadow"], self.parameters)]
            self.stored = stored
        else:
            self.stored = {"stage_index": stage_index, "updates": 0,
                           "shadow": [p.detach().clone() for p in self.parameters]}

    @property
    def shadow(self) -> list[torch.Tensor]:
        return self.stored["shadow"]

    def weight(self) -> float:
        """β_t for the next update."""
        t = self.stored["updates"] + 1
        return min(self.decay, (1.0 + t) / (10.0 + t))

    @torch.no_grad()
    def update(self) -> None:
        if not self.parameters:
            return
        beta = self.weight()
        torch._foreach_lerp_(self.shadow, [p.detach() for p in self.parameters], 1.0 - beta)
        self.stored["updates"] += 1

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        """Inside: the parameters hold θ̄; after: θ again (bit for bit)."""
        with torch.no_grad():
            trained = [p.detach().clone() for p in self.parameters]
            for parameter, average in zip(self.parameters, self.shadow):
                parameter.copy_(average)
        try:
            yield
        finally:
            with torch.no_grad():
                for parameter, weights in zip(self.parameters, trained):
                    parameter.copy_(weights)
