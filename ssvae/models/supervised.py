"""The supervised baseline: the classifier network trained on the labelled images only."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ssvae.validation import check_choice, check_float
from ssvae.models.base import Batch, LossOutput, ModelSpec, SemiSupervisedModel, Stage
from ssvae.nets import make_classifier

AUGMENTS = ("none", "shift", "shift_flip")


@dataclass(frozen=True)
class SupervisedOptions:
    dropout: float = 0.2                 # dropout after each hidden dense layer
    label_smoothing: float = 0.0         # cross-entropy label smoothing
    augment: str = "none"                # none | shift (random translation) | shift_flip (+ h-flip)
    max_shift: float = 0.1               # largest translation, as a fraction of the image side
    input_noise: float = 0.0             # std of Gaussian noise added to training inputs

    def __post_init__(self) -> None:
        check_float("model_options.dropout", self.dropout, 0.0, 0.95)
        check_float("model_options.label_smoothing", self.label_smoothing, 0.0, 0.5)
        check_choice("model_options.augment", self.augment, AUGMENTS)
        check_float("model_options.max_shift", self.max_shift, 0.0, 0.5)
        check_float("model_options.input_noise", self.input_noise, 0.0, 1.0)


def augment(x: torch.Tensor, mode: str, max_shift: float) -> torch.Tensor:
    """Random per-image translation (bilinear, zero padding) and optional horizontal flip."""
    b = x.shape[0]
    theta = torch.zeros(b, 2, 3, dtype=x.dtype, device=x.device)
    theta[:, 0, 0] = 1.0
    theta[:, 1, 1] = 1.0
    if mode == "shift_flip":
        theta[:, 0, 0] = torch.where(torch.rand(b, device=x.device) < 0.5, -1.0, 1.0)
    theta[:, :, 2] = (torch.rand(b, 2, device=x.device) * 2 - 1) * 2 * max_shift  # grid is [-1, 1]
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class Supervised(SemiSupervisedModel):
    """Discriminative baseline: q(y|x) only (no generative model), fitted by cross-entropy on the
    labelled images. ``classifier`` = q(y|x): the ``config.classifier`` net (mlp | conv | vgg16),
    the same net M2 uses as its q(y|x). Regularisation: dropout, label smoothing, input noise,
    augmentation (translation / flip), plus ``config.weight_decay``; tune them on validation.

    Unlabelled images are not used (``Stage("main", uses_unlabelled=False)``);
    ``labelled_in_unlabelled_pool`` is False (there is no unlabelled term to be in).
    """

    options_cls = SupervisedOptions
    generative = False
    labelled_in_unlabelled_pool = False
    classifier_name: str | None = None   # subclasses may pin the network (vgg16)

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        name = self.classifier_name or spec.config.classifier
        self.classifier = make_classifier(name, spec.config, spec.image_shape, spec.n_classes,
                                          dropout=spec.options.dropout)

    def stages(self) -> tuple[Stage, ...]:
        return (Stage("main", select_on="val_acc", uses_unlabelled=False),)

    def labelled_loss(self, x: torch.Tensor, y: torch.Tensor) -> LossOutput:
        opt = self.spec.options
        if self.training:
            if opt.augment != "none":
                x = augment(x, opt.augment, opt.max_shift)
            if opt.input_noise:
                x = x + opt.input_noise * torch.randn_like(x)
        logits = self.classifier(x)
        cls = F.cross_entropy(logits, y, label_smoothing=opt.label_smoothing)
        acc = (logits.argmax(-1) == y).float().mean()
        return LossOutput(cls, {"cls": cls.detach(), "acc": acc.detach()})

    def unlabelled_loss(self, x: torch.Tensor) -> LossOutput:
        """No unlabelled term: a zero loss (kept so a generic loop can call it)."""
        return LossOutput(x.new_zeros(()), {})

    def step_loss(self, batch: Batch) -> LossOutput:
        return self.labelled_loss(batch.x_labelled, batch.y_labelled)

    @torch.no_grad()
    def classify(self, x: torch.Tensor) -> torch.Tensor:
        return F.softmax(self.classifier(x), -1)
