"""M2: the exact sum over y against a slow reference, the α scale, and a learning check."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import ssvae.models.m2 as m2_module
from ssvae.config import ConfigError
from ssvae.models import build_model
from ssvae.models.m2 import sum_over_y

from models_helpers import (SHAPES, accuracy, images, labels, separable_problem,
                                  tiny_config, train_steps)


def _no_noise(mu, logvar):
    return mu


@pytest.mark.parametrize("network,shape_name,kl_weight", [("mlp", "digits", 1.0),
                                                           ("conv", "rgb32", 0.3)])
def test_unlabelled_loss_equals_slow_reference(monkeypatch, network, shape_name, kl_weight):
    """-U(x) = Σ_y q(y|x)(-L(x,y)) + H(q(y|x)), computed label by label in a Python loop."""
    monkeypatch.setattr(m2_module, "reparameterize", _no_noise)     # same z in both paths
    torch.manual_seed(0)
    k = 4
    net = build_model(tiny_config(model="m2", network=network), SHAPES[shape_name], k).eval()
    net.kl_weight = kl_weight
    x = images(SHAPES[shape_name], 5)
    fast = net.unlabelled_loss(x).loss

    q = F.softmax(net.encoder_y(x), -1)
    per_example = torch.zeros(x.shape[0])
    for b in range(x.shape[0]):
        xb = x[b:b + 1]
        total = 0.0
        for y in range(k):
            y1 = F.one_hot(torch.tensor([y]), k).float()
            mu, logvar = net.encoder_z(xb, y1).chunk(2, -1)
            logvar = logvar.clamp(-12, 8)
            out = net.decoder(torch.cat([mu, y1], -1))
            recon = net.likelihood.log_prob(out, xb)
            kl = 0.5 * (logvar.exp() + mu ** 2 - 1 - logvar).sum()
            neg_l = recon + math.log(1 / k) - kl_weight * kl            # -L(x, y)
            total = total + q[b, y] * neg_l.squeeze()
        entropy = -sum(q[b, y] * torch.log(q[b, y]) for y in range(k))
        per_example[b] = total + entropy                                 # -U(x)
    assert torch.allclose(fast, -per_example.mean(), rtol=1e-5, atol=1e-4)


def test_sum_over_y_has_no_nan_when_q_is_one_hot():
    log_q = F.log_softmax(torch.tensor([[1e4, 0.0, -1e4]]), -1)        # q = (1, 0, 0)
    elbo = torch.tensor([[-3.0], [-5.0], [-7.0]])
    out = sum_over_y(log_q, elbo)
    assert torch.isfinite(out).all() and torch.allclose(out, torch.tensor([-3.0]))


def test_labelled_loss_includes_alpha_weighted_classification_term():
    x, y = images(SHAPES["digits"], 6), labels(6, 3)
    out = {}
    for alpha in (0.0, 2.0):
        torch.manual_seed(0)                                   # same weights for both
        cfg = tiny_config(model="m2", model_options={"alpha": alpha, "alpha_scale": "none"})
        net = build_model(cfg, SHAPES["digits"], 3)
        torch.manual_seed(1)                                   # same noise for both
        out[alpha] = net.labelled_loss(x, y)
    assert torch.allclose(out[2.0].loss - out[0.0].loss, 2.0 * out[2.0].terms["cls"], atol=1e-4)


@pytest.mark.parametrize("scale,sizes,fraction,expected", [
    ("paper", (100, 49900), None, 0.1 * 50000 / 49900),
    ("labelled", (100, 49900), None, 0.1 * 50000 / 100),
    ("none", (100, 49900), None, 0.1),
    ("paper", None, None, 0.1),
    ("labelled", None, 0.01, 10.0),
])
def test_alpha_effective(scale, sizes, fraction, expected):
    cfg = tiny_config(model="m2", model_options={"alpha_scale": scale},
                      n_labels=None if fraction else 100, label_fraction=fraction)
    net = build_model(cfg, SHAPES["digits"], 3)
    if sizes:
        net.set_data_sizes(*sizes)
    assert net.alpha_effective() == pytest.approx(expected)


def test_alpha_labelled_scale_without_sizes_is_a_clear_error():
    net = build_model(tiny_config(model="m2", model_options={"alpha_scale": "labelled"}),
                      SHAPES["digits"], 3)
    with pytest.raises(ConfigError, match="set_data_sizes"):
        net.labelled_loss(images(SHAPES["digits"], 3), labels(3, 3))


def test_vgg16_can_be_q_y_x():
    torch.manual_seed(0)
    net = build_model(tiny_config(model="m2", classifier="vgg16"), SHAPES["digits"], 3)
    assert type(net.encoder_y).__name__ == "VGG16Classifier"
    assert net.classify(images(SHAPES["digits"], 2)).shape == (2, 3)


def test_m2_learns_a_separable_problem():
    x_l, y_l = separable_problem(2, seed=0)
    x_u, _ = separable_problem(100, seed=1)
    x_t, y_t = separable_problem(50, seed=2)
    torch.manual_seed(0)
    net = build_model(tiny_config(model="m2"), SHAPES["digits"], 3)
    net.set_data_sizes(len(x_l), len(x_u))
    before = accuracy(net, x_t, y_t)
    train_steps(net, x_l, y_l, x_u, 300)
    after = accuracy(net, x_t, y_t)
    assert after >= 0.9 and after > before


def test_default_alpha_scale_is_labelled_and_m1m2_keeps_paper():
    net = build_model(tiny_config(model="m2"), SHAPES["digits"], 3)
    net.set_data_sizes(100, 49900)
    assert net.alpha_effective() == pytest.approx(0.1 * 50000 / 100)
    both = build_model(tiny_config(model="m1m2"), SHAPES["digits"], 3)
    both.set_data_sizes(100, 50000)
    assert both.m2.alpha_effective() == pytest.approx(0.1)


def test_hidden_layers_sizes_the_mlp_nets_and_refuses_conv():
    torch.manual_seed(0)
    net = build_model(tiny_config(model="m2", model_options={"hidden_layers": 1}), SHAPES["digits"], 3)
    for part in (net.encoder_y, net.encoder_z, net.decoder):
        assert len([m for m in part.modules() if isinstance(m, torch.nn.Linear)]) == 2 + (part is net.encoder_z)
    net.set_data_sizes(4, 4)
    x = images(SHAPES["digits"], 4)
    assert torch.isfinite(net.labelled_loss(x, labels(4, 3)).loss + net.unlabelled_loss(x).loss)
    with pytest.raises(ConfigError, match="hidden_layers=3 sizes the mlp nets, but network='conv'"):
        build_model(tiny_config(model="m2", network="conv", model_options={"hidden_layers": 3}),
                    SHAPES["rgb32"], 3)


def test_a_given_likelihood_sizes_the_decoder():
    """M1+M2 hands M2 its p(z1|y,z2); with a per-example σ the one decoder gives 2C channels."""
    from ssvae.models.base import ModelSpec
    from ssvae.models.m2 import M2, M2Options
    from ssvae.nets import PerExampleGaussianLikelihood
    config = tiny_config(model="m2", likelihood="gaussian")
    likelihood = PerExampleGaussianLikelihood((7,))
    net = M2(ModelSpec((7,), 3, config, M2Options()), likelihood=likelihood)
    assert net.likelihood is likelihood and net.decoder.shape == (14,)
    net.set_data_sizes(4, 4)
    x = torch.randn(4, 7)
    loss = net.labelled_loss(x, labels(4, 3)).loss + net.unlabelled_loss(x).loss
    assert torch.isfinite(loss)
    plain = M2(ModelSpec((7,), 3, config, M2Options()))
    assert plain.decoder.shape == (7,) and not hasattr(plain.likelihood, "out_shape")
