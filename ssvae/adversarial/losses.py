"""What an attack maximises, built on a model's ``AttackView`` (``differentiable``).

- untargeted: CE(logits, y), moves away from the true class;
- targeted: -CE(logits, y_t), moves towards the target;
- rejection-aware (the attacker knows the rule "reject if score > τ"):
  -CE(logits, y_t) - weight·max(0, s(x, y_t)/τ - margin), where s is the rejection score at the
  target class (for GMVAE: distance of E[z|x] to the target component plus the weighted
  reconstruction error). The hinge stops pushing once the score is a safe ``margin`` below the
  threshold, so the attack spends the rest of its budget on the class; dividing by τ makes
  ``weight`` mean the same for every model's score. Untargeted, y_t is the clean image's
  runner-up class (the nearest wrong component, for GMVAE).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ssvae.adversarial.differentiable import AttackView
from ssvae.adversarial.fgsm import Loss
from ssvae.models.base import SemiSupervisedModel

AWARE_MARGIN = 0.9


def untargeted(view: AttackView, model: SemiSupervisedModel, y: torch.Tensor) -> Loss:
    return lambda x: F.cross_entropy(view.logits(model, x), y, reduction="none")


def targeted(view: AttackView, model: SemiSupervisedModel, y_t: torch.Tensor) -> Loss:
    return lambda x: -F.cross_entropy(view.logits(model, x), y_t, reduction="none")


def runner_up(view: AttackView, model: SemiSupervisedModel, x: torch.Tensor,
              y: torch.Tensor) -> torch.Tensor:
    """[B] the most probable class other than the true one ``y``, on clean images ``x``."""
    with torch.no_grad():
        logits = view.logits(model, x).float()
    return logits.scatter(1, y[:, None], -torch.inf).argmax(-1)


def aware(view: AttackView, model: SemiSupervisedModel, y_t: torch.Tensor, threshold: float,
          weight: float = 1.0, margin: float = AWARE_MARGIN) -> Loss:
    """The rejection-aware targeted loss (module docstring); ``threshold`` τ > 0 and finite."""
    def loss(x: torch.Tensor) -> torch.Tensor:
        excess = F.relu(view.rejection(model, x, y_t) / threshold - margin)
        return -F.cross_entropy(view.logits(model, x), y_t, reduction="none") - weight * excess
    return loss
