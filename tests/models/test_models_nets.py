"""Shared blocks: conv sizing for many image shapes, likelihoods, shape errors."""
from __future__ import annotations


import pytest
import torch

from ssvae.config import ConfigError
from ssvae.models import build_model
from ssvae.nets import (BernoulliLikelihood, Decoder, GaussianLikelihood,
                        PerExampleGaussianLikelihood, make_classifier, make_encoder,
                        resolve_likelihood)
from ssvae.nets.blocks import _conv_plan

from models_helpers import tiny_config


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32), (3, 64, 64), (4, 5, 9),
                                   (1, 31, 17)])
def test_conv_encoder_decoder_fit_any_image_shape(shape):
    enc = make_encoder("conv", shape, 16, 6, cond_dim=3)
    dec = Decoder("conv", 6, shape, 16)
    x = torch.rand(2, *shape)
    h = enc(x, torch.eye(3)[:2])
    assert h.shape == (2, 6)
    assert dec(h).shape == (2, *shape)
    convs = [m for m in enc.trunk if isinstance(m, torch.nn.Conv2d)]
    dense = [m for m in enc.modules() if isinstance(m, torch.nn.Linear) and m is not enc.cond]
    assert len(convs) == 4 and len(dense) == 2
    tconvs = [m for m in dec.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert len(tconvs) == 4


def test_conv_plan_halves_while_larger_than_four():
    assert _conv_plan(8) == [8, 4, 4, 4, 4]
    assert _conv_plan(28) == [28, 14, 7, 4, 4]
    assert _conv_plan(64) == [64, 32, 16, 8, 4]


def test_forward_all_y_matches_per_label_calls():
    enc = make_encoder("mlp", (1, 8, 8), 16, 6, cond_dim=3)
    x = torch.rand(4, 1, 8, 8)
    all_y = enc.forward_all_y(x)
    assert all_y.shape == (3, 4, 6)
    for k in range(3):
        assert torch.allclose(all_y[k], enc(x, torch.eye(3)[k].expand(4, 3)), atol=1e-6)


@pytest.mark.parametrize("shape,family", [((1, 2, 2), "conv"), ((8, 8), "conv"), ((1, 3, 40), "conv")])
def test_shape_errors_name_the_shape(shape, family):
    with pytest.raises(ConfigError, match=r"cannot take the shape .*H, W >= 4"):
        make_encoder(family, shape, 16, 4)


def test_build_model_rejects_non_image_shapes():
    with pytest.raises(ConfigError, match=r"image_shape=\(8, 8\)"):
        build_model(tiny_config(), (8, 8), 3)
    with pytest.raises(ConfigError, match="n_classes=1"):
        build_model(tiny_config(), (1, 8, 8), 1)
    with pytest.raises(ConfigError, match="cannot take the shape"):
        build_model(tiny_config(network="conv"), (1, 2, 2), 3)


def test_likelihood_auto_and_values():
    assert resolve_likelihood(tiny_config(), (1, 8, 8)) == "bernoulli"
    assert resolve_likelihood(tiny_config(), (3, 32, 32)) == "gaussian"
    assert resolve_likelihood(tiny_config(likelihood="bernoulli"), (3, 32, 32)) == "bernoulli"
    x = torch.rand(2, 1, 4, 4)
    logits = torch.randn(2, 1, 4, 4)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum((1, 2, 3))
    assert torch.allclose(BernoulliLikelihood((1, 4, 4)).log_prob(logits, x), -bce, atol=1e-5)
    fixed = GaussianLikelihood((1, 4, 4), sigma=0.5)
    ref = torch.distributions.Normal(logits, 0.5).log_prob(x).sum((1, 2, 3))
    assert torch.allclose(fixed.log_prob(logits, x), ref, atol=1e-4)
    assert not list(fixed.parameters())
    learned = GaussianLikelihood((3, 4, 4))
    assert learned.log_sigma.shape == (3, 1, 1) and learned.log_sigma.requires_grad
    assert learned.log_prob(torch.zeros(5, 2, 3, 4, 4), torch.rand(2, 3, 4, 4)).shape == (5, 2)


@pytest.mark.parametrize("shape", [(6,), (3, 4, 4)])
def test_per_example_gaussian_likelihood(shape):
    torch.manual_seed(0)
    like = PerExampleGaussianLikelihood(shape)
    assert like.out_shape == (2 * shape[0], *shape[1:]) and not list(like.parameters())
    mean, log_sigma = torch.randn(2, *shape), torch.randn(2, *shape).clamp(-2, 2)
    out, x = torch.cat([mean, log_sigma], 1), torch.randn(2, *shape)
    ref = torch.distributions.Normal(mean, log_sigma.exp()).log_prob(x).flatten(1).sum(-1)
    assert torch.allclose(like.log_prob(out, x), ref, atol=1e-4)
    assert torch.equal(like.mean(out), mean)
    # [K, B, 2C, ...] decoder outputs against x [B, C, ...] broadcast as in M2's sum over y
    assert like.log_prob(torch.stack([out, out, out]), x).shape == (3, 2)
    tiny = torch.cat([mean, torch.full_like(log_sigma, -50.0)], 1)    # σ clamped at 1e-3
    assert torch.isfinite(like.log_prob(tiny, x)).all()


@pytest.mark.parametrize("name", ["mlp", "conv"])
def test_classifier_nets(name):
    net = make_classifier(name, tiny_config(), (3, 32, 32), 5, dropout=0.3)
    assert net(torch.rand(2, 3, 32, 32)).shape == (2, 5)
    assert any(isinstance(m, torch.nn.Dropout) for m in net.modules())
    with pytest.raises(ConfigError, match="classifier='resnet'"):
        make_classifier("resnet", tiny_config(), (3, 32, 32), 5)


@pytest.mark.parametrize("mlp_layers", [1, 2, 3])
def test_mlp_layers_sets_the_hidden_layers(mlp_layers):
    def linears(net):
        return [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    enc = make_encoder("mlp", (1, 8, 8), 16, 6, cond_dim=3, mlp_layers=mlp_layers)
    dec = Decoder("mlp", 5, (1, 8, 8), 16, mlp_layers=mlp_layers)
    # encoder: trunk + (layers - 1) hidden + output, plus the label embedding
    assert len(linears(enc)) == mlp_layers + 1 + 1 and len(linears(dec)) == mlp_layers + 1
    assert enc(torch.rand(4, 1, 8, 8), torch.eye(3)[torch.tensor([0, 1, 2, 0])]).shape == (4, 6)
    assert dec(torch.rand(4, 5)).shape == (4, 1, 8, 8)
    assert enc.forward_all_y(torch.rand(4, 1, 8, 8)).shape == (3, 4, 6)


@pytest.mark.parametrize("bad", [0, 9, 1.5, True])
def test_mlp_layers_bad_values(bad):
    with pytest.raises(ConfigError, match=f"mlp_layers={bad!r} is not valid.*from 1 to 8"):
        make_encoder("mlp", (1, 8, 8), 16, 6, mlp_layers=bad)
    with pytest.raises(ConfigError, match="from 1 to 8"):
        Decoder("mlp", 5, (1, 8, 8), 16, mlp_layers=bad)
