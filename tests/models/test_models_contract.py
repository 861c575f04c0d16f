"""Contract tests, parametrised over the model registry, on digits-shaped 8x8x1 and 32x32x3
random images: shapes, finite losses, gradients, seeded determinism, state_dict round trip."""
from __future__ import annotations

import io

import pytest
import torch

from ssvae.models import MODELS, build_model
from ssvae.models.base import Batch

from models_helpers import SHAPES, images, labels, tiny_config

K = 3
CASES = [(m, s) for m in MODELS.names() for s in SHAPES]


def make(model: str, shape_name: str, seed: int = 0, **changes):
    torch.manual_seed(seed)
    network = "conv" if shape_name == "rgb32" else "mlp"
    net = build_model(tiny_config(model=model, network=network, **changes), SHAPES[shape_name], K)
    net.set_data_sizes(4, 5)                 # the sizes of batch()'s parts, as the trainer sets them
    return net


def batch(shape_name: str) -> Batch:
    shape = SHAPES[shape_name]
    return Batch(images(shape, 4, seed=1), labels(4, K), images(shape, 5, seed=2))


@pytest.mark.parametrize("model,shape_name", CASES)
def test_losses_gradients_and_outputs(model, shape_name):
    net = make(model, shape_name)
    b = batch(shape_name)
    net.train()
    for stage in net.stages():
        net.set_stage(stage.name)
        net.zero_grad(set_to_none=True)
        out = net.step_loss(b if stage.uses_unlabelled else b._replace(x_unlabelled=None))
        assert out.loss.dim() == 0 and torch.isfinite(out.loss), stage
        assert all(torch.isfinite(v) for v in out.terms.values())
        out.loss.backward()
        params = net.stage_parameters()
        assert params
        for name, p in net.named_parameters():
            if any(p is q for q in params):
                assert p.grad is not None, f"stage {stage.name}: no gradient reaches {name}"
                assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
            else:    # not trained in this stage: frozen, no gradient
                assert p.grad is None or p.grad.abs().sum() == 0, name
        net.finish_stage(b.x_labelled, b.y_labelled)
    net.eval()
    x = b.x_unlabelled
    probs = net.classify(x)
    assert probs.shape == (x.shape[0], K)
    assert torch.allclose(probs.sum(-1), torch.ones(x.shape[0]), atol=1e-5)
    assert (probs >= 0).all()
    assert torch.isfinite(net.validation_loss(x))
    if net.generative:
        rec = net.reconstruct(x)
        assert rec.shape == x.shape and rec.min() >= 0 and rec.max() <= 1
        samples = net.sample(2)
        assert samples.shape == (2 * K, *SHAPES[shape_name])
        assert torch.isfinite(samples).all()


@pytest.mark.parametrize("model,shape_name", CASES)
def test_seeded_determinism(model, shape_name):
    b = batch(shape_name)
    losses = []
    for _ in range(2):
        net = make(model, shape_name, seed=3)
        torch.manual_seed(4)
        losses.append(net.step_loss(b).loss.item())
    assert losses[0] == losses[1]
    other = make(model, shape_name, seed=5)
    torch.manual_seed(4)
    assert other.step_loss(b).loss.item() != losses[0]


@pytest.mark.parametrize("model,shape_name", CASES)
def test_state_dict_round_trip(model, shape_name):
    b = batch(shape_name)
    a = make(model, shape_name, seed=0)
    for stage in a.stages():          # fit M1's head too
        a.set_stage(stage.name)
        a.finish_stage(b.x_labelled, b.y_labelled)
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)   # no pickled objects outside tensors
    fresh = make(model, shape_name, seed=1)
    fresh.set_stage(a.stage)
    fresh.load_state_dict(state)
    a.eval(), fresh.eval()
    x = b.x_unlabelled
    assert torch.allclose(a.classify(x), fresh.classify(x), atol=1e-6)
    if a.generative:
        assert torch.allclose(a.reconstruct(x), fresh.reconstruct(x), atol=1e-6)


def test_binary_collapse_of_subclass_probabilities():
    """Label mode subclass: the super-class probability is the sum over its sub-classes."""
    sub_to_super = torch.tensor([0, 1, 0, 1, 1])              # 5 sub-classes, 2 super-classes
    torch.manual_seed(0)
    net = build_model(tiny_config(model="m2"), SHAPES["digits"], 5)
    p_sub = net.classify(images(SHAPES["digits"], 7))
    p_super = torch.zeros(7, 2).index_add_(1, sub_to_super, p_sub)
    assert torch.allclose(p_super.sum(-1), torch.ones(7), atol=1e-5)
    assert torch.allclose(p_super[:, 0], p_sub[:, [0, 2]].sum(-1))
    assert torch.allclose(p_super[:, 1], p_sub[:, [1, 3, 4]].sum(-1))


@pytest.mark.parametrize("model", MODELS.names())
def test_every_model_says_whether_labelled_images_stay_unlabelled(model):
    cls = MODELS.get(model)
    assert isinstance(cls.labelled_in_unlabelled_pool, bool)
    assert "pool" in (cls.__doc__ or "")


@pytest.mark.parametrize("model", [m for m in MODELS.names() if m != "vgg16"])
def test_bfloat16_autocast_keeps_the_bound_in_float32(model):
    """The loop trains under bfloat16 autocast on GPUs; the ELBO terms must stay float32."""
    net = make(model, "digits")
    b = batch("digits")
    stage = net.stages()[-1]
    net.set_stage(stage.name)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net.step_loss(b if stage.uses_unlabelled else b._replace(x_unlabelled=None))
    assert torch.isfinite(out.loss)
    if net.generative:
        assert out.loss.dtype == torch.float32
