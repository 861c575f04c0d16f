"""Each model's classification path and rejection score, with gradients, for white-box attacks.

``classify`` and ``rejection_score`` of the models run under ``torch.no_grad`` and return
probabilities; an attack needs logits (the log of a saturated softmax has no gradient) and the
gradient of the very score the defence thresholds. ``VIEWS`` maps a model name to its
``AttackView``; the rejection term mirrors ``ssvae.deploy.rejection`` for that model family, evaluated
at the attack's target class y_t:

- GMVAE: logits = log p(k | E[z|x]); rejection = ||E[z|x] - μ_{y_t}|| + w·MSE(x̂(E[z|x]), x),
  an upper bound on the model's score (which takes the nearest component), equal to it once
  the image is classified as y_t;
- M2: logits of q(y|x); rejection = MSE of the reconstruction through p(x|y_t, E[z|x,y_t]),
  the model's score once q(y|x) puts y_t first;
- supervised / VGG16: logits of q(y|x); rejection = the entropy of q(y|x).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from ssvae.models.base import SemiSupervisedModel
from ssvae.nets import per_pixel_mse, split_gaussian
from ssvae.registry import Registry


@dataclass(frozen=True)
class AttackView:
    """``logits(model, x)`` -> [B, K]; ``rejection(model, x, y_t)`` -> [B] (differentiable)."""

    logits: Callable[[SemiSupervisedModel, torch.Tensor], torch.Tensor]
    rejection: Callable[[SemiSupervisedModel, torch.Tensor, torch.Tensor], torch.Tensor]


VIEWS: Registry[AttackView] = Registry("model with an attack view")


def _gmvae_logits(model, x):
    mu, _ = split_gaussian(model.encoder_z(x))
    return model.responsibilities(mu)


def _gmvae_rejection(model, x, y_t):
    mu, _ = split_gaussian(model.encoder_z(x))
    distance = (mu - model.prior_means[y_t]).norm(dim=-1)
    recon = model.likelihood.mean(model.decoder(mu))
    return distance + model.spec.options.rejection_recon_weight * per_pixel_mse(recon, x)


def _m2_rejection(model, x, y_t):
    y1 = F.one_hot(y_t, model.n_classes).to(x.dtype)
    mu, _ = split_gaussian(model.encoder_z(x, y1))
    recon = model.likelihood.mean(model.decoder(torch.cat([mu, y1], -1)))
    return per_pixel_mse(recon.clamp(0, 1), x)           # as M2.reconstruct shows it


def _entropy(model, x, y_t):
    log_q = F.log_softmax(model.classifier(x), -1)
    return -(log_q.exp() * log_q).sum(-1)


VIEWS.register("gmvae")(AttackView(_gmvae_logits, _gmvae_rejection))
VIEWS.register("m2")(AttackView(lambda model, x: model.encoder_y(x), _m2_rejection))
for _name in ("supervised", "vgg16"):
    VIEWS.register(_name)(AttackView(lambda model, x: model.classifier(x), _entropy))
