"""Projected gradient descent (Madry et al. 2018) in the L∞ ball of radius eps, no random start."""
from __future__ import annotations

import torch

from ssvae.adversarial.fgsm import Loss, input_gradient


def default_step_size(eps: float, steps: int) -> float:
    """2.5·eps/steps: enough to cross the ball (2·eps) and back within the steps."""
    return 2.5 * eps / steps


def pgd(loss: Loss, x: torch.Tensor, eps: float, steps: int = 40,
        step_size: float | None = None) -> torch.Tensor:
    """``steps`` signed-gradient steps up ``loss``, each followed by projection onto
    {x' : ||x' - x||∞ <= eps} ∩ [0, 1]; returns the last iterate."""
    alpha = default_step_size(eps, steps) if step_size is None else step_size
    x0 = x.detach()
    x_adv = x0.clone()
    for _ in range(steps):
        x_adv = x_adv + alpha * input_gradient(loss, x_adv).sign()
        x_adv = torch.min(torch.max(x_adv, x0 - eps), x0 + eps).clamp(0, 1)
    return x_adv.detach()
