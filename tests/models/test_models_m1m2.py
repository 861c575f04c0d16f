"""M1+M2: stages, freezing M1, and loading M1 from a checkpoint."""
from __future__ import annotations

import math

import pytest
import torch

from ssvae.config import ConfigError
from ssvae.models import build_model
from ssvae.models.base import Batch
from ssvae.nets import split_gaussian

from models_helpers import SHAPES, images, labels, tiny_config


def test_stages_and_freezing():
    torch.manual_seed(0)
    net = build_model(tiny_config(model="m1m2"), SHAPES["digits"], 3)
    assert [(s.name, s.select_on, s.uses_labels) for s in net.stages()] == [
        ("m1", "val_loss", False), ("m2", "val_acc", True)]
    assert net.stage == "m1"
    m1_ids = {id(p) for p in net.m1.parameters()}
    assert {id(p) for p in net.stage_parameters()} == m1_ids
    net.set_stage("m2")
    assert all(not p.requires_grad for p in net.m1.parameters())
    assert {id(p) for p in net.stage_parameters()} == {id(p) for p in net.m2.parameters()}
    net.train()
    assert not net.m1.training and net.m2.training
    before = [p.clone() for p in net.m1.parameters()]
    x = images(SHAPES["digits"], 4)
    net.step_loss(Batch(x, labels(4, 3), x)).loss.backward()
    assert all(p.grad is None for p in net.m1.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, net.m1.parameters()))
    with pytest.raises(ValueError, match="stages: m1, m2"):
        net.set_stage("vae")


@pytest.mark.parametrize("source", ["m1", "m1m2", "wrapped"])
def test_m1_checkpoint_skips_stage_m1(tmp_path, source):
    torch.manual_seed(0)
    donor = build_model(tiny_config(model="m1" if source == "m1" else "m1m2"), SHAPES["digits"], 3)
    state = donor.state_dict()
    path = tmp_path / "m1.pt"
    torch.save({"model": state, "epoch": 3} if source == "wrapped" else state, path)
    torch.manual_seed(1)
    net = build_model(tiny_config(model="m1m2", model_options={"m1_checkpoint": str(path)}),
                      SHAPES["digits"], 3)
    assert [s.name for s in net.stages()] == ["m2"] and net.stage == "m2"
    assert all(not p.requires_grad for p in net.m1.parameters())
    encoder = donor.encoder_z if source == "m1" else donor.m1.encoder_z
    for a, b in zip(encoder.parameters(), net.m1.encoder_z.parameters()):
        assert torch.equal(a, b)


def test_m1_checkpoint_errors(tmp_path):
    with pytest.raises(ConfigError, match="is not a file"):
        build_model(tiny_config(model="m1m2", model_options={"m1_checkpoint": str(tmp_path / "no.pt")}),
                    SHAPES["digits"], 3)
    torch.manual_seed(0)
    other = build_model(tiny_config(model="m1", latent_dim=7), SHAPES["digits"], 3)
    torch.save(other.state_dict(), tmp_path / "m1.pt")
    with pytest.raises(ConfigError, match="does not fit this M1"):
        build_model(tiny_config(model="m1m2", model_options={"m1_checkpoint": str(tmp_path / "m1.pt")}),
                    SHAPES["digits"], 3)


def test_image_classifier_does_not_apply_to_m1m2():
    with pytest.raises(ConfigError, match="does not apply to m1m2"):
        build_model(tiny_config(model="m1m2", classifier="conv"), SHAPES["digits"], 3)


def test_samples_decode_through_m1():
    torch.manual_seed(0)
    net = build_model(tiny_config(model="m1m2", network="conv"), SHAPES["rgb32"], 3)
    assert net.sample(2).shape == (6, 3, 32, 32)
    assert net.reconstruct(images(SHAPES["rgb32"], 2)).shape == (2, 3, 32, 32)


def test_z1_is_standardised_from_the_first_stage_m2_batch():
    torch.manual_seed(0)
    net = build_model(tiny_config(model="m1m2"), SHAPES["digits"], 3)
    x = images(SHAPES["digits"], 8)
    net.set_stage("m2")
    assert not bool(net.z1_stats_ready)
    net.step_loss(Batch(x[:3], labels(3, 3), x[3:]))
    assert bool(net.z1_stats_ready)
    z = net.z1(x)
    assert torch.allclose(z.mean(0), torch.zeros(4), atol=1e-5)
    assert torch.allclose(z.std(0), torch.ones(4), atol=1e-4)
    mean = net.z1_mean.clone()
    net.step_loss(Batch(x[:3], labels(3, 3), x[3:] * 0.5))   # measured once only
    assert torch.equal(net.z1_mean, mean)
    assert {"z1_mean", "z1_std", "z1_stats_ready"} <= set(net.state_dict())
    off = build_model(tiny_config(model="m1m2", model_options={"standardise_z1": False}),
                      SHAPES["digits"], 3)
    assert bool(off.z1_stats_ready) and torch.equal(off.z1_std, torch.ones(4))


def test_sampled_z1_is_standardised_by_the_samples_spread():
    """With sample_z1 the scale is that of z1 ~ q(z1|x): Var(E[z1|x]) + E[Var(z1|x)] per unit, so
    a unit whose posterior is the prior (an inactive unit) keeps its prior noise at std ~1."""
    torch.manual_seed(0)
    net = build_model(tiny_config(model="m1m2", model_options={"sample_z1": True}),
                      SHAPES["digits"], 3)
    x = images(SHAPES["digits"], 400)
    net.set_stage("m2")
    net.fit_z1_stats(x)
    with torch.no_grad():
        mu, logvar = split_gaussian(net.m1.encoder_z(x))
    expected = (mu.var(0) + logvar.exp().mean(0)).sqrt()
    assert torch.allclose(net.z1_std, expected, rtol=1e-5)
    assert bool((net.z1_std > mu.std(0)).all())
    net.train()
    torch.manual_seed(1)
    samples = torch.cat([net.z1(x) for _ in range(20)])
    assert samples.std(0).sub(1).abs().max() < 0.1            # unit spread for what M2 trains on
    net.eval()
    assert torch.equal(net.z1(x), (mu - net.z1_mean) / net.z1_std)   # the mean at evaluation


def test_active_std_leaves_inactive_units_out_of_m2():
    x = images(SHAPES["digits"], 8)
    torch.manual_seed(0)
    probe = build_model(tiny_config(model="m1m2"), SHAPES["digits"], 3)
    with torch.no_grad():
        spread = split_gaussian(probe.m1.encoder_z(x))[0].std(0)
    threshold = spread.sort().values[1:3].mean().item()       # 2 units above it, 2 below
    torch.manual_seed(0)                                      # the same M1 weights as the probe
    net = build_model(tiny_config(model="m1m2", model_options={"active_std": threshold}),
                      SHAPES["digits"], 3)
    net.set_stage("m2")
    net.step_loss(Batch(x[:3], labels(3, 3), x[3:]))
    keep = (spread > threshold).float()
    assert keep.sum() == 2 and torch.equal(net.z1_active, keep)
    off = keep == 0
    assert bool((net.z1(x)[:, off] == 0).all()) and bool((net.z1(x)[:, ~off] != 0).all())
    # p(z1|y,z2) ignores the inactive units: moving them changes nothing, moving an active one does
    like, out = net.m2.likelihood, torch.randn(5, 4)
    z = torch.randn(5, 4)
    moved = z.clone()
    moved[:, off] += 3.0
    assert torch.equal(like.log_prob(out, z), like.log_prob(out, moved))
    moved[:, ~off] += 3.0
    assert not torch.equal(like.log_prob(out, z), like.log_prob(out, moved))
    assert "m2.likelihood.mask" in net.state_dict()
    plain = build_model(tiny_config(model="m1m2"), SHAPES["digits"], 3)
    assert net.state_dict().keys() - plain.state_dict().keys() == {"m2.likelihood.mask"}


@pytest.mark.parametrize("masked", [False, True])
def test_per_example_z1_variance(masked):
    options = {"z1_variance": "per_example"}
    if masked:
        options["active_std"] = 1e-9                          # masked likelihood, every unit kept
    torch.manual_seed(0)
    net = build_model(tiny_config(model="m1m2", model_options=options), SHAPES["digits"], 3)
    assert net.m2.decoder.shape == (2 * net.spec.config.latent_dim,)
    assert (net.m2.likelihood.mask is not None) == masked
    net.set_stage("m2")
    x = images(SHAPES["digits"], 6)
    loss = net.step_loss(Batch(x[:3], labels(3, 3), x[3:])).loss
    assert torch.isfinite(loss)
    loss.backward()
    assert all(p.grad is not None for p in net.m2.decoder.parameters())
    assert net.reconstruct(x).shape == x.shape and net.sample(2).shape == (6, *SHAPES["digits"])
    # the labelled bound uses the decoder's σ: log p(z1|y,z2) as a Normal with those parameters
    z1, y = net.z1(x[:3]), labels(3, 3)
    out = net.m2.decoder(torch.cat([torch.zeros(3, net.m2.latent_dim),
                                    torch.nn.functional.one_hot(y, 3).float()], -1))
    mean, log_sigma = out.chunk(2, -1)
    sigma = log_sigma.clamp(min=math.log(1e-3)).exp()                 # the likelihood's floor
    ref = torch.distributions.Normal(mean, sigma).log_prob(z1).sum(-1)
    assert torch.allclose(net.m2.likelihood.log_prob(out, z1), ref, atol=1e-3)


def test_per_example_z1_variance_with_a_fixed_sigma_is_an_error():
    with pytest.raises(ConfigError, match="z1_sigma=0.5 fixes σ"):
        build_model(tiny_config(model="m1m2", model_options={"z1_variance": "per_example",
                                                             "z1_sigma": 0.5}), SHAPES["digits"], 3)


def test_active_std_that_leaves_no_unit_is_an_error():
    net = build_model(tiny_config(model="m1m2", model_options={"active_std": 100.0}),
                      SHAPES["digits"], 3)
    net.set_stage("m2")
    x = images(SHAPES["digits"], 8)
    with pytest.raises(ConfigError, match="active_std=100.0 leaves no unit"):
        net.step_loss(Batch(x[:3], labels(3, 3), x[3:]))


@pytest.mark.parametrize("stage", ["m1", "m2"])
def test_kl_warm_up_reaches_both_parts(stage):
    torch.manual_seed(0)
    net = build_model(tiny_config(model="m1m2"), SHAPES["digits"], 3)
    net.set_stage(stage)
    x = images(SHAPES["digits"], 4)
    net.kl_weight = 0.0
    torch.manual_seed(1)
    zero = net.unlabelled_loss(x)
    net.kl_weight = 1.0
    torch.manual_seed(1)
    one = net.unlabelled_loss(x)
    assert torch.allclose(one.loss - zero.loss, one.terms["kl"], rtol=1e-4, atol=1e-4)


def test_alpha_scale_knows_the_pool_holds_labelled_images():
    net = build_model(tiny_config(model="m1m2"), SHAPES["digits"], 3)
    net.set_data_sizes(100, 50000)          # pool of 50,000 includes the 100 labelled images
    assert net.m2.alpha_effective() == pytest.approx(0.1)


def test_m1_checkpoint_is_identified_by_content(tmp_path, monkeypatch):
    torch.manual_seed(0)
    donor = build_model(tiny_config(model="m1"), SHAPES["digits"], 3)
    (tmp_path / "a").mkdir()
    torch.save(donor.state_dict(), tmp_path / "a" / "m1.pt")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "copy.pt").write_bytes((tmp_path / "a" / "m1.pt").read_bytes())

    def run_id(path: str) -> str:
        return tiny_config(model="m1m2", model_options={"m1_checkpoint": path}).run_id

    absolute = run_id(str(tmp_path / "a" / "m1.pt"))
    monkeypatch.chdir(tmp_path)
    assert run_id("a/m1.pt") == absolute                    # relative path, same file
    assert run_id("b/copy.pt") == absolute                  # another path, same bytes
    torch.manual_seed(1)
    other = build_model(tiny_config(model="m1"), SHAPES["digits"], 3)
    torch.save(other.state_dict(), tmp_path / "b" / "other.pt")
    assert run_id("b/other.pt") != absolute                 # another M1
    options = tiny_config(model="m1m2", model_options={"m1_checkpoint": "a/m1.pt"}).identity()
    assert options["model_options"]["m1_checkpoint"].startswith("sha256:")


@pytest.mark.parametrize("z1_variance", ["per_unit", "per_example"])
def test_m2_size_is_its_own(tmp_path, z1_variance):
    """m2_hidden_dim / m2_hidden_layers size M2's nets only; an M1 of the default size loads."""
    torch.manual_seed(0)
    donor = build_model(tiny_config(model="m1"), SHAPES["digits"], 3)
    path = tmp_path / "m1.pt"
    torch.save(donor.state_dict(), path)
    options = {"m1_checkpoint": str(path), "m2_hidden_dim": 7, "m2_hidden_layers": 1,
               "z1_variance": z1_variance}
    net = build_model(tiny_config(model="m1m2", model_options=options), SHAPES["digits"], 3)
    hidden = net.spec.config.hidden_dim
    assert hidden != 7
    for part in (net.m2.encoder_y, net.m2.encoder_z, net.m2.decoder):
        widths = [m.out_features for m in part.modules() if isinstance(m, torch.nn.Linear)]
        assert widths[:-1] and set(widths[:-1]) == {7}           # one hidden layer of 7 units
    assert len([m for m in net.m2.decoder.modules() if isinstance(m, torch.nn.Linear)]) == 2
    assert {m.out_features for m in net.m1.encoder_z.modules()
            if isinstance(m, torch.nn.Linear)} >= {hidden}
    x = images(SHAPES["digits"], 6)
    loss = net.step_loss(Batch(x[:3], labels(3, 3), x[3:])).loss
    assert torch.isfinite(loss)
    loss.backward()
    assert all(p.grad is not None for p in net.m2.parameters())
