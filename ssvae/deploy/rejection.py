"""Rejection scores: how little a trained model should be trusted on an image (larger = less).

One score per model family (issue 25):
- GMVAE: its own ``rejection_score`` (distance from E[z|x] to the nearest component mean plus
  the weighted per-pixel reconstruction error; Ghosh et al. 2019's selective classifier);
- the other generative models (M1, M2, M1+M2): the per-pixel mean squared error of the
  reconstruction through their decoder, E_pixels[(x̂ - x)²], since an image unlike the training
  images reconstructs badly;
- models without a decoder (supervised, VGG16): the entropy of q(y|x), H = -Σ_y q log q.
"""
from __future__ import annotations

import torch

from ssvae.models.base import SemiSupervisedModel
from ssvae.nets import per_pixel_mse

KINDS = ("distance+reconstruction", "reconstruction_error", "entropy")


def rejection_kind(model: SemiSupervisedModel) -> str:
    """Which score ``rejection_scores`` gives for ``model`` (one of ``KINDS``)."""
    if hasattr(model, "rejection_score"):
        return "distance+reconstruction"
    return "reconstruction_error" if model.generative else "entropy"


@torch.no_grad()
def rejection_scores(model: SemiSupervisedModel, x: torch.Tensor,
                     probs: torch.Tensor | None = None) -> torch.Tensor:
    """[B] float32 scores for images ``x`` [B, C, H, W] in [0, 1]; ``probs`` [B, K] (the model's
    class probabilities of ``x``) saves a pass for the entropy."""
    kind = rejection_kind(model)
    if kind == "distance+reconstruction":
        return model.rejection_score(x).float()
    if kind == "reconstruction_error":
        return per_pixel_mse(model.reconstruct(x).float(), x.float())
    q = model.classify(x).float() if probs is None else probs.float()
    return -(q * q.clamp_min(1e-12).log()).sum(-1)      # 0·log 0 = 0
