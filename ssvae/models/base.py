"""The one contract every model follows, so one training loop (``ssvae.fit``) serves them all.

A model supplies its losses, never its own loop:

- ``labelled_loss(x, y)``   -> ``LossOutput`` for a labelled batch   (x: [B, C, H, W] in [0, 1], y: [B])
- ``unlabelled_loss(x)``    -> ``LossOutput`` for an unlabelled batch (``y=None`` in the math)
- ``step_loss(batch)``      -> the objective of one optimiser step (default: the sum of the two,
  each a batch mean; models whose paper weights the parts differently override it)
- ``classify(x)``           -> class probabilities [B, n_classes] (rows sum to 1)

Training runs in one or more ``Stage``s (M1 and M1+M2 first fit an unsupervised VAE, selected on
validation ELBO; then a stage or head that uses labels). Between stages and at the end, the loop
calls ``finish_stage`` with the labelled images, which M1 uses to fit its classifier on E[z|x].

``n_classes`` is the number of classes the model is *trained* on: super-classes in label mode
``binary``, sub-classes in ``subclass`` (the loop collapses sub-class probabilities to super-class
probabilities for the binary metric).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import torch
from torch import nn

if TYPE_CHECKING:
    from ssvae.config import TrainConfig



@dataclass(frozen=True)
class ModelSpec:
    """What a model is built from."""

    image_shape: tuple[int, int, int]   # (C, H, W)
    n_classes: int                      # classes trained on (depends on the label mode)
    config: TrainConfig
    options: Any                        # the model's own frozen options dataclass


@dataclass(frozen=True)
class Stage:
    """One phase of training. ``select_on``: 'val_acc' (maximised) or 'val_loss' (minimised)."""

    name: str
    select_on: str = "val_acc"
    uses_labels: bool = True
    uses_unlabelled: bool = True


class LossOutput(NamedTuple):
    loss: torch.Tensor                  # scalar to minimise
    terms: dict[str, torch.Tensor]      # scalar batch means to log, e.g. recon, kl, cls, elbo


class Batch(NamedTuple):
    """One optimiser step's data; floats in [0, 1]."""

    x_labelled: torch.Tensor            # [b_l, C, H, W]
    y_labelled: torch.Tensor            # [b_l] int64, in the label mode's class space
    x_unlabelled: torch.Tensor | None   # [b_u, C, H, W], None for supervised-only training


class SemiSupervisedModel(nn.Module):
    """Base class. Subclasses set ``options_cls`` and list p(.) and q(.) in their docstring."""

    options_cls: ClassVar[type]
    generative: ClassVar[bool] = True
    # Whether labelled images also belong to the unlabelled pool (DESIGN.md §3); say why per model.
    labelled_in_unlabelled_pool: ClassVar[bool] = True
    # Bump when a change to the model alters what an unchanged config computes: the version joins
    # the run_id (ssvae.config.TrainConfig.identity) of this model only, from version 2 on.
    identity_version: ClassVar[int] = 1

    @classmethod
    def identity_options(cls, options: dict) -> dict:
        """The model options as they enter the run's identity (``TrainConfig.identity``).
        A model whose options name files overrides this to identify them by content, so the
        same file under another path (or another machine's folder) gives the same run_id."""
        return options

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.spec = spec
        self.kl_weight = 1.0            # set by the loop each step (KL warm-up)
        self.data_sizes: tuple[int, int] | None = None   # (n_labelled, n_unlabelled), see below
        self.stage = self.stages()[0].name

    # --- training ----------------------------------------------------------------------------
    def set_data_sizes(self, n_labelled: int, n_unlabelled: int) -> None:
        """Told by the loop before training: the number of labelled images and the size of the
        unlabelled pool. M2 (and M1+M2) use them to scale α from the paper's per-example sums to
        batch means; other models ignore them."""
        self.data_sizes = (int(n_labelled), int(n_unlabelled))

    def stages(self) -> tuple[Stage, ...]:
        return (Stage("main"),)

    def set_stage(self, name: str) -> None:
        """Switch to a stage; models with several stages freeze or build parts here."""
        self.stage = name

    def stage_parameters(self) -> list[nn.Parameter]:
        """The parameters the optimiser updates in the current stage."""
        return [p for p in self.parameters() if p.requires_grad]

    def labelled_loss(self, x: torch.Tensor, y: torch.Tensor) -> LossOutput:
        raise NotImplementedError

    def unlabelled_loss(self, x: torch.Tensor) -> LossOutput:
        raise NotImplementedError

    def step_loss(self, batch: Batch) -> LossOutput:
        lab = self.labelled_loss(batch.x_labelled, batch.y_labelled)
        if batch.x_unlabelled is None or batch.x_unlabelled.shape[0] == 0:
            return lab
        unl = self.unlabelled_loss(batch.x_unlabelled)
        terms = {f"l_{k}": v for k, v in lab.terms.items()}
        terms.update({f"u_{k}": v for k, v in unl.terms.items()})
        return LossOutput(lab.loss + unl.loss, terms)

    def finish_stage(self, x_labelled: torch.Tensor, y_labelled: torch.Tensor) -> None:
        """Called after each stage with all labelled images (M1 fits its classifier here)."""

    # --- inference ---------------------------------------------------------------------------
    @torch.no_grad()
    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities [B, n_classes]."""
        raise NotImplementedError

    @torch.no_grad()
    def validation_loss(self, x: torch.Tensor) -> torch.Tensor:
        """Scalar mean loss over the batch for ``select_on='val_loss'`` stages (default: the
        unlabelled loss, i.e. the negative ELBO)."""
        return self.unlabelled_loss(x).loss

    # Generative models implement these for the reconstruction / sample grids.
    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def sample(self, n_per_class: int) -> torch.Tensor:
        """Images [n_classes * n_per_class, C, H, W] in [0, 1], class-major order."""
        raise NotImplementedError
