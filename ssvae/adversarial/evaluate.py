"""One (attack, eps) row: accuracy and rejection rates of clean and adversarial test images.

Accuracies are super-class (binary) accuracy, plus sub-class accuracy for sub-class runs;
``adv_acc`` ignores rejection, ``adv_acc_on_accepted`` counts only the adversarial images the
rejection rule accepts (score <= the threshold set on clean validation images). ``fooled_accepted``
is the attack's real success against the defence: the share of all attacked images that are
accepted and misclassified (in the classes the model was trained on).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

from ssvae.adversarial import losses
from ssvae.adversarial.differentiable import VIEWS
from ssvae.adversarial.fgsm import fgsm
from ssvae.adversarial.pgd import default_step_size, pgd
from ssvae.deploy.bundle import Predictor, superclass_probs
from ssvae.data import to_unit
from ssvae.deploy.rejection import rejection_scores

ATTACKS = ("fgsm", "pgd")


class AttackError(ValueError):
    """An attack that cannot be run as asked."""


@dataclass(frozen=True)
class AttackSpec:
    """An L∞ attack: ``eps`` relative to the pixel range [0, 1]; ``target`` a class index of
    the model's classes (None: untargeted); ``aware``: the rejection-aware loss."""

    attack: str
    eps: float
    steps: int = 40                     # PGD only
    step_size: float | None = None      # PGD only; None: 2.5·eps/steps
    target: int | None = None
    aware: bool = False
    aware_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.attack not in ATTACKS:
            raise AttackError(f"attack={self.attack!r} is not valid; choose {', '.join(ATTACKS)}")
        if not (isinstance(self.eps, (int, float)) and 0 < self.eps <= 1):
            raise AttackError(f"eps={self.eps!r} must be in (0, 1] (the pixel range is [0, 1])")
        if not (isinstance(self.steps, int) and self.steps >= 1):
            raise AttackError(f"steps={self.steps!r} must be an integer >= 1")
        if self.step_size is not None and not (math.isfinite(self.step_size) and self.step_size > 0):
            raise AttackError(f"step_size={self.step_size!r} must be a positive number")
        if not (math.isfinite(self.aware_weight) and self.aware_weight >= 0):
            raise AttackError(f"aware_weight={self.aware_weight!r} must be a number >= 0")

    def params(self) -> dict[str, Any]:
        """The row's attack columns (empty where they do not apply)."""
        pgd_ = self.attack == "pgd"
        return {"attack": self.attack, "eps": self.eps, "steps": self.steps if pgd_ else "",
                "step_size": (self.step_size or default_step_size(self.eps, self.steps)) if pgd_
                else "", "target": "" if self.target is None else self.target,
                "aware": self.aware, "aware_weight": self.aware_weight if self.aware else ""}


def attack_batch(predictor: Predictor, x: torch.Tensor, y: torch.Tensor, spec: AttackSpec,
                 threshold: float) -> torch.Tensor:
    """Adversarial images [B, C, H, W] for images ``x`` in [0, 1] with labels ``y`` (the model's
    classes)."""
    model = predictor.model
    view = VIEWS.get(predictor.config.model)
    if spec.target is not None:
        y_t = torch.full_like(y, spec.target)
    else:
        y_t = losses.runner_up(view, model, x, y)
    if spec.aware:
        if not math.isfinite(threshold):
            raise AttackError("the rejection-aware attack needs a finite threshold: "
                              "set --clean-reject above 0")
        loss = losses.aware(view, model, y_t, threshold, spec.aware_weight)
    elif spec.target is not None:
        loss = losses.targeted(view, model, y_t)
    else:
        loss = losses.untargeted(view, model, y)
    if spec.attack == "fgsm":
        return fgsm(loss, x, spec.eps)
    return pgd(loss, x, spec.eps, spec.steps, spec.step_size)


class Outcome(NamedTuple):
    """Per image: predicted class [N], super-class [N], rejected [N] bool (on the CPU)."""

    pred: torch.Tensor
    pred_super: torch.Tensor
    rejected: torch.Tensor


@torch.no_grad()
def outcome(predictor: Predictor, x: torch.Tensor, threshold: float) -> Outcome:
    """What the model and the rejection rule do with images ``x`` in [0, 1]."""
    probs = predictor.model.classify(x).float()
    rejected = rejection_scores(predictor.model, x, probs) > threshold
    p_super = superclass_probs(probs, predictor.hierarchy, predictor.config.label_mode)
    return Outcome(probs.argmax(-1).cpu(), p_super.argmax(-1).cpu(), rejected.cpu())


def _share(flags: torch.Tensor) -> float | str:
    return float(flags.float().mean()) if flags.numel() else ""


def labels_in_model_space(predictor: Predictor, y_sub: torch.Tensor) -> torch.Tensor:
    """Sub-class labels [N] -> the classes the model was trained on (super-classes in binary mode)."""
    return y_sub if predictor.config.label_mode == "subclass" else predictor.hierarchy.collapse(y_sub)


def evaluate_attack(predictor: Predictor, x_uint8: torch.Tensor, y_sub: torch.Tensor,
                    spec: AttackSpec, threshold: float, batch_size: int = 500
                    ) -> tuple[dict[str, Any], torch.Tensor, Outcome]:
    """(row, adversarial images [N, C, H, W] in [0, 1] on the CPU, their ``Outcome``) for test
    images ``x_uint8`` [N, C, H, W] with sub-class labels ``y_sub`` [N]. A targeted attack leaves
    out the images already of the target class."""
    y_model = labels_in_model_space(predictor, y_sub)
    if spec.target is not None:
        keep = y_model != spec.target
        x_uint8, y_sub, y_model = x_uint8[keep], y_sub[keep], y_model[keep]
    if not len(y_sub):
        raise AttackError("no test image to attack (every image is of the target class)")
    predictor.model.eval()
    clean, adv, adv_x = [], [], []
    for start in range(0, len(y_sub), batch_size):
        x = to_unit(x_uint8[start:start + batch_size].to(predictor.device))
        y = y_model[start:start + batch_size].to(predictor.device)
        x_adv = attack_batch(predictor, x, y, spec, threshold)
        clean.append(outcome(predictor, x, threshold))
        adv.append(outcome(predictor, x_adv, threshold))
        adv_x.append(x_adv.cpu())
    cat = lambda parts: Outcome(*(torch.cat(t) for t in zip(*parts)))   # noqa: E731
    clean_o, adv_o = cat(clean), cat(adv)
    x_adv_all = torch.cat(adv_x)
    y_super = predictor.hierarchy.collapse(y_sub)
    ok_clean, ok_adv = clean_o.pred_super == y_super, adv_o.pred_super == y_super
    accepted = ~adv_o.rejected
    row: dict[str, Any] = {
        **spec.params(), "n_images": len(y_sub),
        "threshold": "" if math.isinf(threshold) else threshold,
        "clean_acc": _share(ok_clean), "adv_acc": _share(ok_adv),
        "clean_reject_rate": _share(clean_o.rejected), "adv_reject_rate": _share(adv_o.rejected),
        "clean_acc_on_accepted": _share(ok_clean[~clean_o.rejected]),
        "adv_acc_on_accepted": _share(ok_adv[accepted]),
        "fooled_accepted": _share(accepted & (adv_o.pred != y_model)),
        "target_rate": "" if spec.target is None else _share(adv_o.pred == spec.target),
        "max_linf": float((x_adv_all - to_unit(x_uint8)).abs().amax()),
    }
    if predictor.config.label_mode == "subclass":
        sub_clean, sub_adv = clean_o.pred == y_sub, adv_o.pred == y_sub
        row.update({"clean_subclass_acc": _share(sub_clean), "adv_subclass_acc": _share(sub_adv),
                    "adv_subclass_acc_on_accepted": _share(sub_adv[accepted])})
    return row, x_adv_all, adv_o
