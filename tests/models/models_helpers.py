"""Helpers for the model tests: tiny configs and random images (imported as `models_helpers`)."""
from __future__ import annotations

import torch

from ssvae.config import TrainConfig
from ssvae.models.base import Batch

SHAPES = {"digits": (1, 8, 8), "rgb32": (3, 32, 32)}


def tiny_config(**changes) -> TrainConfig:
    """Small nets so the whole suite stays fast on 2 shared CPU cores."""
    values = dict(latent_dim=4, hidden_dim=16, vgg16_missing="scratch")
    values.update(changes)
    return TrainConfig(**values)


def images(shape, n: int = 6, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, *shape, generator=g)


def labels(n: int, k: int, seed: int = 0) -> torch.Tensor:
    # every class present at least once (when n >= k)
    g = torch.Generator().manual_seed(seed)
    return torch.cat([torch.arange(k), torch.randint(0, k, (max(n - k, 0),), generator=g)])[:n]


def separable_problem(n_per_class: int, seed: int):
    """3 classes of 8x8 images: a bright 4x4 block in a different corner per class, plus noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(3).repeat_interleave(n_per_class)
    x = 0.15 * torch.rand(len(y), 1, 8, 8, generator=g)
    corners = [(0, 0), (0, 4), (4, 2)]
    for k, (r, c) in enumerate(corners):
        x[y == k, :, r:r + 4, c:c + 4] += 0.8
    perm = torch.randperm(len(y), generator=g)
    return x[perm].clamp(0, 1), y[perm]


def train_steps(net, x_l, y_l, x_u, steps: int, seed: int = 0):
    torch.manual_seed(seed)
    opt = torch.optim.Adam(net.stage_parameters(), lr=3e-3)
    net.train()
    for _ in range(steps):
        iu = torch.randint(0, len(x_u), (32,))
        loss = net.step_loss(Batch(x_l, y_l, x_u[iu])).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()


def accuracy(net, x, y) -> float:
    return (net.classify(x).argmax(-1) == y).float().mean().item()
