"""Reconstruction and class-conditional sample grids of a generative model (PNG files)."""
from __future__ import annotations

from pathlib import Path

import torch
from torchvision.utils import save_image

from ssvae.data import to_unit


@torch.no_grad()
def save_grids(model, x_uint8: torch.Tensor, out: Path, device: torch.device,
               n_per_class: int = 8) -> dict[str, Path]:
    """``reconstructions.png``: originals (top row) over reconstructions; ``samples.png``: one
    row per class (for models whose sampling is class-conditional)."""
    model.eval()
    written: dict[str, Path] = {}
    x = to_unit(x_uint8.to(device))                               # [n, C, H, W]
    try:
        x_hat = model.reconstruct(x).float().clamp(0, 1)
        save_image(torch.cat([x, x_hat]).cpu(), out / "reconstructions.png", nrow=x.shape[0])
        written["reconstructions"] = out / "reconstructions.png"
    except NotImplementedError:
        pass
    try:
        samples = model.sample(n_per_class).float().clamp(0, 1)     # [K * n, C, H, W]
        save_image(samples.cpu(), out / "samples.png", nrow=n_per_class)
        written["samples"] = out / "samples.png"
    except NotImplementedError:
        pass
    return written
