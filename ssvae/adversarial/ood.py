"""Rejection of inputs that are not of the model's data set: uniform noise and another data
set's test images (for an MNIST model, Fashion-MNIST, and the reverse). The thresholds are the
attacks' (clean validation); a good defence rejects nearly all of these."""
from __future__ import annotations

import math
from typing import Any

import torch

from ssvae.adversarial.evaluate import outcome
from ssvae.deploy.bundle import Predictor
from ssvae.data import to_unit


def noise_images(shape: tuple[int, int, int], n: int, seed: int = 0) -> torch.Tensor:
    """[n, C, H, W] uint8 images of independent uniform pixels (seeded)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8)


@torch.no_grad()
def rejection_row(predictor: Predictor, source: str, x_uint8: torch.Tensor, threshold: float,
                  batch_size: int = 500) -> dict[str, Any]:
    """A row naming ``source`` with the share of images ``x_uint8`` [N, C, H, W] rejected."""
    predictor.model.eval()
    rejected = torch.cat([outcome(predictor, to_unit(x_uint8[i:i + batch_size].to(predictor.device)),
                                  threshold).rejected for i in range(0, len(x_uint8), batch_size)])
    return {"attack": source, "n_images": len(x_uint8),
            "threshold": "" if math.isinf(threshold) else threshold,
            "adv_reject_rate": float(rejected.float().mean())}
