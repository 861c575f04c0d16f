"""FGSM on known cases: for a linear loss w·x the best L∞ step is eps·sign(w)."""
from __future__ import annotations

import torch

from ssvae.adversarial.fgsm import fgsm, input_gradient


def _linear(w: torch.Tensor):
    return lambda x: (x * w).flatten(1).sum(-1)


def test_a_linear_loss_moves_every_pixel_by_eps_along_the_sign_of_its_weight():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(3, 1, 4, 4, generator=g)
    x = torch.full((3, 1, 4, 4), 0.5)
    x_adv = fgsm(_linear(w), x, 0.1)
    assert torch.allclose(x_adv, x + 0.1 * w.sign())
    assert _linear(w)(x_adv).gt(_linear(w)(x)).all()


def test_the_step_is_clipped_to_the_pixel_range():
    w = torch.tensor([1.0, -1.0, 1.0, -1.0]).view(1, 1, 2, 2)
    x = torch.tensor([0.95, 0.05, 0.5, 0.5]).view(1, 1, 2, 2)
    x_adv = fgsm(_linear(w), x, 0.2)
    assert torch.allclose(x_adv.flatten(), torch.tensor([1.0, 0.0, 0.7, 0.3]))


def test_only_the_images_get_gradients_and_the_input_is_left_alone():
    net = torch.nn.Linear(4, 1)
    x = torch.rand(2, 4)
    before = x.clone()
    grad = input_gradient(lambda v: net(v).squeeze(-1), x)
    assert torch.allclose(grad, net.weight.detach().expand(2, 4))
    assert net.weight.grad is None and torch.equal(x, before) and not x.requires_grad
