"""PGD on known cases: the L∞ ball's corner for a linear loss, projection, the default step."""
from __future__ import annotations

import torch

from ssvae.adversarial.pgd import default_step_size, pgd


def test_a_linear_loss_ends_at_the_corner_eps_sign_w():
    g = torch.Generator().manual_seed(1)
    w = torch.randn(2, 1, 5, 5, generator=g)
    x = torch.rand(2, 1, 5, 5, generator=g) * 0.4 + 0.3          # far enough from 0 and 1
    x_adv = pgd(lambda v: (v * w).flatten(1).sum(-1), x, eps=0.1, steps=10)
    assert torch.allclose(x_adv, x + 0.1 * w.sign(), atol=1e-6)


def test_every_iterate_stays_in_the_ball_and_the_pixel_range_even_with_huge_steps():
    g = torch.Generator().manual_seed(2)
    x = torch.rand(4, 1, 3, 3, generator=g)
    w = torch.randn(4, 1, 3, 3, generator=g)
    x_adv = pgd(lambda v: (v * w).flatten(1).sum(-1), x, eps=0.05, steps=3, step_size=10.0)
    assert (x_adv - x).abs().max() <= 0.05 + 1e-6
    assert x_adv.min() >= 0 and x_adv.max() <= 1


def test_a_concave_loss_is_climbed_to_its_peak_inside_the_ball():
    """-(x - c)² with c inside the ball: PGD reaches c to within one step."""
    x = torch.full((1, 1, 2, 2), 0.5)
    c = torch.tensor([0.55, 0.45, 0.52, 0.5]).view(1, 1, 2, 2)
    x_adv = pgd(lambda v: -(v - c).pow(2).flatten(1).sum(-1), x, eps=0.1, steps=100,
                step_size=0.005)
    assert (x_adv - c).abs().max() <= 0.005 + 1e-6


def test_the_default_step_crosses_the_ball():
    assert default_step_size(0.1, 40) * 40 == 2.5 * 0.1
