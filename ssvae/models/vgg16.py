"""The VGG16 baseline: torchvision's VGG16 (ImageNet weights when available) fine-tuned on the
labelled images only."""
from __future__ import annotations

from dataclasses import dataclass

from ssvae.validation import check_float
from ssvae.models.supervised import Supervised, SupervisedOptions


@dataclass(frozen=True)
class VGG16Options(SupervisedOptions):
    dropout: float = 0.5                 # dropout in the new head (as in VGG's own head)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_float("model_options.dropout", self.dropout, 0.0, 0.95)


class VGG16(Supervised):
    """q(y|x) = VGG16 features (ImageNet weights from ``config.vgg16_weights`` or torchvision's
    cache; ``vgg16_missing`` says what to do without them) + a small head on the 512-d pooled
    features, input adapted (gray -> RGB, upsampled to >= 32 px, ImageNet normalisation); see
    ``ssvae.nets.vgg16``. ``config.classifier`` is ignored: this model is always VGG16.
    Trained by cross-entropy on the labelled images only, with the supervised options.
    """

    options_cls = VGG16Options
    classifier_name = "vgg16"
