"""The model registry (``MODELS``), ``build_model`` and ``model_options``.

Every model is one file with its frozen options dataclass (validated at construction) and its
``SemiSupervisedModel`` subclass; ``config.model_options`` is checked against that dataclass:
an unknown key is an error with a did-you-mean, a bad value names the value and the valid range.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ssvae.validation import ConfigError
from ssvae.models.base import SemiSupervisedModel, ModelSpec
from ssvae.models.gmvae import GMVAE
from ssvae.models.m1 import M1
from ssvae.models.m1m2 import M1M2
from ssvae.models.m2 import M2
from ssvae.models.supervised import Supervised
from ssvae.models.vgg16 import VGG16
from ssvae.registry import Registry, did_you_mean

if TYPE_CHECKING:
    from ssvae.config import TrainConfig

MODELS: Registry[type[SemiSupervisedModel]] = Registry("model")
for _name, _cls in (("m1", M1), ("m2", M2), ("m1m2", M1M2), ("gmvae", GMVAE),
                    ("supervised", Supervised), ("vgg16", VGG16)):
    MODELS.register(_name)(_cls)


def model_options(name: str, mapping: Mapping[str, Any] | None = None) -> Any:
    """``config.model_options`` -> the model's frozen options dataclass (validated)."""
    cls = MODELS.get(name).options_cls
    known = tuple(f.name for f in dataclasses.fields(cls))
    mapping = dict(mapping or {})
    for key in mapping:
        if key not in known:
            raise ConfigError(
                f"unknown model option {key!r} for model {name!r}.{did_you_mean(key, known)} "
                f"Known options: {', '.join(known) or '(none)'}")
    return cls(**mapping)


def build_model(config: TrainConfig, image_shape: Sequence[int], n_classes: int) -> SemiSupervisedModel:
    """Build ``config.model`` for images of ``image_shape`` (C, H, W) and ``n_classes`` classes."""
    cls = MODELS.get(config.model)
    shape = tuple(image_shape)
    if len(shape) != 3 or not all(isinstance(s, int) and s >= 1 for s in shape):
        raise ConfigError(f"image_shape={shape!r} is not valid; models take images (C, H, W) "
                          "with positive integer sizes")
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
        raise ConfigError(f"n_classes={n_classes!r} must be an integer >= 2")
    options = model_options(config.model, config.model_options)
    return cls(ModelSpec(image_shape=shape, n_classes=n_classes, config=config, options=options))


__all__ = ["MODELS", "build_model", "model_options", "ModelSpec", "SemiSupervisedModel",
           "M1", "M2", "M1M2", "GMVAE", "Supervised", "VGG16"]
