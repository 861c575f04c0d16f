"""VGG16 as a classifier for any image shape, with ImageNet weights from a local file only.

Input adaptation: gray images are repeated to 3 channels, images smaller than 32 px are
upsampled (bilinear) so the short side is 32 (5 max-pools: 32 -> 1), then ImageNet
normalisation. The 25088-wide fully connected head of torchvision's VGG16 is replaced by a small
head on the 512-d globally pooled features: Linear(512, H) -> ReLU -> Dropout -> Linear(H, K).

The convolutional ``features`` are built with torchvision's own VGG16 layer list
(``torchvision.models.vgg.make_layers(cfgs["D"])``, the exact module ``vgg16(weights=None)``
constructs) and torchvision's init, without allocating the 120M-parameter head we discard.

Weights: ``config.vgg16_weights`` (a state dict of a full torchvision VGG16, or of its
``features`` only), else torchvision's cache file ``<torch.hub.get_dir()>/checkpoints/
vgg16-397923af.pth``. Never downloads. Without a file: ``vgg16_missing='error'`` raises
``VGG16WeightsMissing``; ``'scratch'`` warns and keeps the random init.
"""
from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import vgg as tv_vgg

from ssvae.validation import ConfigError

if TYPE_CHECKING:
    from ssvae.config import TrainConfig

VGG16_CACHE_NAME = "vgg16-397923af.pth"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MIN_SIDE = 32


class VGG16WeightsMissing(FileNotFoundError):
    """No ImageNet VGG16 weights where ssvae looked; the message says how to provide them."""


def default_weights_path() -> str:
    return os.path.join(torch.hub.get_dir(), "checkpoints", VGG16_CACHE_NAME)


def features_state(state: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """The ``features`` part of a VGG16 state dict: keys ``features.N.weight`` (full model) or
    ``N.weight`` (features only); other keys (the ImageNet head) are dropped."""
    for key in ("state_dict", "model"):
        if key in state and isinstance(state[key], Mapping):
            state = state[key]
    if any(k.startswith("features.") for k in state):
        return {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    return dict(state)


def build_features() -> nn.Sequential:
    features = tv_vgg.make_layers(tv_vgg.cfgs["D"], batch_norm=False)
    for m in features.modules():       # torchvision VGG's init for conv layers
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return features


def load_imagenet_features(features: nn.Sequential, config: TrainConfig) -> str | None:
    """Load ImageNet weights into ``features``; returns the path used, or None (scratch)."""
    path = config.vgg16_weights or default_weights_path()
    if not os.path.isfile(path):
        where = (f"vgg16_weights={config.vgg16_weights!r}" if config.vgg16_weights
                 else f"torchvision's cache {path}")
        msg = (f"No ImageNet VGG16 weights found (looked at {where}); ssvae never downloads. "
               "Download them once on a machine with internet, e.g. "
               "`python -c \"import torchvision; torchvision.models.vgg16(weights='IMAGENET1K_V1')\"` "
               f"(writes {VGG16_CACHE_NAME} under torch.hub.get_dir()/checkpoints), copy that file "
               "here and pass --vgg16-weights PATH (or put it in torchvision's cache); "
               "or set vgg16_missing='scratch' to train VGG16 from random init.")
        if config.vgg16_missing == "error":
            raise VGG16WeightsMissing(msg)
        warnings.warn(msg + " Training VGG16 from scratch (vgg16_missing='scratch').", stacklevel=3)
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    try:
        features.load_state_dict(features_state(state), strict=True)
    except RuntimeError as err:
        raise ConfigError(f"{path} is not a VGG16 state dict (full model or features only): {err}") from None
    return path


class VGG16Classifier(nn.Module):
    """x [B, C, H, W] in [0, 1] (C = 1 or 3) -> logits [B, n_classes]."""

    def __init__(self, config: TrainConfig, shape: Sequence[int], n_classes: int,
                 dropout: float = 0.5, head_hidden: int | None = None, load_weights: bool = True):
        super().__init__()
        shape = tuple(shape)
        if len(shape) != 3 or shape[0] not in (1, 3):
            raise ConfigError(f"vgg16 cannot take the shape {shape}; it needs images (C, H, W) "
                              "with C = 1 (gray, repeated to RGB) or 3")
        self.in_channels = shape[0]
        self.features = build_features()
        self.weights_path = load_imagenet_features(self.features, config) if load_weights else None
        hidden = head_hidden or min(config.hidden_dim, 512)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(512, hidden), nn.ReLU(),
                                  nn.Dropout(dropout), nn.Linear(hidden, n_classes))
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def adapt(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        side = min(x.shape[-2:])
        if side < MIN_SIDE:
            size = tuple(round(s * MIN_SIDE / side) for s in x.shape[-2:])
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        return (x - self.mean) / self.std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(self.adapt(x))                  # [B, 512, h, w]
        return self.head(F.adaptive_avg_pool2d(h, 1))
