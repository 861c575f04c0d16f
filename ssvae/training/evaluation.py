"""Accuracies and mean loss terms over a whole data part, in batches (no gradients)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ssvae.data import to_unit

EVAL_BATCH = 1000


def _batches(x: torch.Tensor, device: torch.device):
    for start in range(0, x.shape[0], EVAL_BATCH):
        yield to_unit(x[start:start + EVAL_BATCH].to(device))   # [b, C, H, W] in [0, 1]


@torch.no_grad()
def class_probabilities(model, x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """[N, K] float32 class probabilities ``model.classify`` gives the images ``x`` (uint8), on
    the CPU."""
    model.eval()
    return torch.cat([model.classify(xb).float().cpu() for xb in _batches(x, device)])


@torch.no_grad()
def accuracies(model, x: torch.Tensor, y_sub: torch.Tensor, hierarchy, binary: bool,
               device: torch.device) -> dict[str, Any]:
    """Binary accuracy always; sub-class accuracy when the model predicts sub-classes.

    In label mode ``subclass`` the super-class prediction sums the sub-class probabilities.
    """
    probs = class_probabilities(model, x, device)
    y_super = hierarchy.collapse(y_sub)
    if binary:                                   # probs: [N, n_super]
        return {"binary_acc": (probs.argmax(1) == y_super).float().mean().item(),
                "subclass_acc": None}
    p_super = hierarchy.collapse_probs(probs)    # [N, n_sub] -> [N, n_super]
    return {"binary_acc": (p_super.argmax(1) == y_super).float().mean().item(),
            "subclass_acc": (probs.argmax(1) == y_sub).float().mean().item()}


@torch.no_grad()
def mean_loss_terms(model, x: torch.Tensor, device: torch.device,
                    validation: bool = False) -> dict[str, float]:
    """Example-weighted means of the unlabelled loss and its terms (or the validation loss).

    Always the bound itself: the KL weight is 1 here whatever KL warm-up has set for training
    (a warm-up weight < 1 would make early epochs' validation loss look better than later ones',
    and model selection on it would keep a warm-up epoch). The training weight is restored."""
    model.eval()
    sums: dict[str, float] = {}
    n = 0
    training_weight, model.kl_weight = model.kl_weight, 1.0
    try:
        for xb in _batches(x, device):
            if validation:
                terms = {"loss": model.validation_loss(xb)}
            else:
                out = model.unlabelled_loss(xb)
                terms = {"loss": out.loss, **out.terms}
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + float(value) * xb.shape[0]
            n += xb.shape[0]
    finally:
        model.kl_weight = training_weight
    return {k: v / n for k, v in sums.items()}


TEST_SCORES = "test_scores.npz"


def moderation(model, x: torch.Tensor, y_sub: torch.Tensor, hierarchy, label_mode: str,
               device: torch.device, out=None) -> dict[str, Any]:
    """The moderation metrics of images ``x`` (uint8) with sub-class labels ``y_sub``
    (``ssvae/metrics/final.py``: PR/ROC-AUC, recall at precision, ECE, accuracy at coverage,
    per-sub-class recall), keys prefixed ``test_``. With ``out`` (a run folder), the per-image
    super-class probabilities, labels and rejection scores go to ``out/test_scores.npz``, so the
    analysis can draw its curves without the model."""
    import numpy as np

    from ssvae.deploy.bundle import model_scores, superclass_probs
    from ssvae.metrics import moderation_metrics

    probs, rejection = model_scores(model, x, device)
    p_super = superclass_probs(probs, hierarchy, label_mode)          # [N, n_super]
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        np.savez_compressed(Path(out) / TEST_SCORES, p_super=p_super.numpy(),
                            y_sub=y_sub.numpy(), rejection=rejection.numpy(),
                            superclass_names=np.array(hierarchy.superclass_names),
                            subclass_names=np.array(hierarchy.subclass_names),
                            sub_to_super=np.array(hierarchy.sub_to_super))
    return moderation_metrics(p_super, y_sub, rejection, hierarchy)
