"""``BatchSource``: seeded labelled + unlabelled batches from uint8 tensors held once.

An epoch is one pass over the unlabelled images (DESIGN.md §3); the labelled images are
cycled — reshuffled at each pass — so every step gets ``labelled_batch_size`` of them (all of
them if there are fewer). Without unlabelled images an epoch is one pass over the labelled ones,
or ``min_steps`` steps of cycled labelled images when that is more (a few labels would otherwise
make an epoch two or three steps long), and batches carry ``x_unlabelled=None``. Indices come from a local ``torch.Generator`` seeded by
(seed, epoch), so epoch ``e`` is the same whether or not epochs before it were run (exact
resume). Images become float32 in [0, 1] per batch, on ``device``; no per-image Python work.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Iterator

import numpy as np
import torch

if TYPE_CHECKING:
    from ssvae.models.base import Batch


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """uint8 images [..., C, H, W] -> float32 in [0, 1] (the one place pixels are normalised)."""
    return x.float().div_(255.0)


class BatchSource:
    """Yields ``Batch(x_labelled, y_labelled, x_unlabelled)`` for one epoch at a time."""

    def __init__(self, x_labelled: torch.Tensor, y_labelled: torch.Tensor,
                 x_unlabelled: torch.Tensor | None, batch_size: int, labelled_batch_size: int,
                 seed: int, device: str | torch.device = "cpu", min_steps: int = 1) -> None:
        for name, value in (("batch_size", batch_size),
                            ("labelled_batch_size", labelled_batch_size), ("min_steps", min_steps)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive integer")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed={seed!r} must be a non-negative integer")
        if x_unlabelled is not None and len(x_unlabelled) == 0:
            x_unlabelled = None
        for name, x in (("x_labelled", x_labelled), ("x_unlabelled", x_unlabelled)):
            if x is not None and (x.dtype != torch.uint8 or x.dim() != 4):
                raise ValueError(f"{name} must be uint8 [N, C, H, W], got {x.dtype} "
                                 f"{tuple(x.shape)}")
        if y_labelled.dim() != 1 or len(y_labelled) != len(x_labelled):
            raise ValueError(f"y_labelled {tuple(y_labelled.shape)} must be [{len(x_labelled)}]")
        if x_unlabelled is not None and x_unlabelled.shape[1:] != x_labelled.shape[1:]:
            raise ValueError(f"image shapes differ: labelled {tuple(x_labelled.shape[1:])}, "
                             f"unlabelled {tuple(x_unlabelled.shape[1:])}")
        if len(x_labelled) == 0 and x_unlabelled is None:
            raise ValueError("BatchSource needs labelled or unlabelled images; both are empty")
        self.device = torch.device(device)
        # Held once (on the device when it is a GPU: ~47 MB for MNIST), indexed per batch.
        self.x_labelled = x_labelled.to(self.device)                   # [L, C, H, W] uint8
        self.y_labelled = y_labelled.to(self.device, torch.int64)       # [L]
        self.x_unlabelled = None if x_unlabelled is None else x_unlabelled.to(self.device)
        self.batch_size = batch_size
        self.labelled_batch_size = min(labelled_batch_size, len(x_labelled))
        self.seed = seed
        self.min_steps = min_steps

    @property
    def n_labelled(self) -> int:
        return len(self.x_labelled)

    @property
    def n_unlabelled(self) -> int:
        return 0 if self.x_unlabelled is None else len(self.x_unlabelled)

    def __len__(self) -> int:
        """Steps per epoch."""
        if self.x_unlabelled is not None:
            return math.ceil(self.n_unlabelled / self.batch_size)
        return max(math.ceil(self.n_labelled / self.labelled_batch_size), self.min_steps)

    def _generator(self, epoch: int) -> torch.Generator:
        # (seed, epoch) -> a well-mixed 63-bit seed; independent of how many epochs ran before.
        state = np.random.SeedSequence([self.seed, epoch]).generate_state(2, np.uint32)
        return torch.Generator().manual_seed((int(state[0]) << 31) ^ int(state[1]))

    def _labelled_order(self, steps: int, per_step: int, g: torch.Generator) -> torch.Tensor:
        """[steps * per_step] labelled indices: consecutive reshuffled passes over all of them."""
        if self.n_labelled == 0:
            return torch.zeros(0, dtype=torch.int64)
        passes = math.ceil(steps * per_step / self.n_labelled)
        return torch.cat([torch.randperm(self.n_labelled, generator=g) for _ in range(passes)])

    def _floats(self, x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        return to_unit(x[idx])                             # [b, C, H, W] float32 in [0, 1]

    def epoch(self, epoch: int) -> Iterator["Batch"]:
        """The batches of epoch ``epoch`` (deterministic in (seed, epoch))."""
        # Imported here: `ssvae.models` imports every model (and torchvision); data-only users
        # (describe, loaders) should not pay for that.
        from ssvae.models.base import Batch

        g = self._generator(epoch)
        steps, b_l, b_u = len(self), self.labelled_batch_size, self.batch_size
        if self.x_unlabelled is None:  # passes over the labelled images; last batch may be short
            if steps == math.ceil(self.n_labelled / b_l):          # one pass
                l_order = torch.randperm(self.n_labelled, generator=g).to(self.device)
            else:
                l_order = self._labelled_order(steps, b_l, g).to(self.device)
            for step in range(steps):
                li = l_order[step * b_l:(step + 1) * b_l]
                yield Batch(self._floats(self.x_labelled, li), self.y_labelled[li], None)
            return
        u_order = torch.randperm(self.n_unlabelled, generator=g).to(self.device)
        l_order = self._labelled_order(steps, b_l, g).to(self.device)
        for step in range(steps):
            li = l_order[step * b_l:(step + 1) * b_l]
            ui = u_order[step * b_u:(step + 1) * b_u]
            yield Batch(self._floats(self.x_labelled, li), self.y_labelled[li],
                        self._floats(self.x_unlabelled, ui))
