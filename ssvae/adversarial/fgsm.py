"""Fast gradient sign method (Goodfellow et al. 2015): one L∞ step of size eps up the loss."""
from __future__ import annotations

from typing import Callable

import torch

Loss = Callable[[torch.Tensor], torch.Tensor]   # images [B, C, H, W] -> [B] losses to maximise


def input_gradient(loss: Loss, x: torch.Tensor) -> torch.Tensor:
    """d Σ_b loss(x)_b / dx [B, C, H, W] (gradients of the images only, none of the weights)."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(loss(x).sum(), x)
    return grad


def fgsm(loss: Loss, x: torch.Tensor, eps: float) -> torch.Tensor:
    """x + eps·sign(∇_x loss), clipped to the pixel range [0, 1]."""
    return (x + eps * input_gradient(loss, x).sign()).clamp(0, 1).detach()
