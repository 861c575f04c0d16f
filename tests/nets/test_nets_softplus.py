"""The vectorised CPU softplus (ssvae/nets/softplus.py) against torch's."""
import torch
import torch.nn.functional as F

from ssvae.nets.softplus import Softplus, softplus


def _inputs(dtype=torch.float32):
    wide = torch.linspace(-60, 60, 4001, dtype=dtype)
    near_zero = torch.linspace(-1e-3, 1e-3, 101, dtype=dtype)
    return torch.cat([wide, near_zero, torch.tensor([-1e4, 1e4, 0.0], dtype=dtype)])


def test_values_match_torch_within_float32_rounding():
    x = _inputs()
    ours, ref = softplus(x), F.softplus(x.double()).float()
    assert torch.isfinite(ours).all()
    assert (ours - ref).abs().max() < 2e-6
    assert ((ours - ref).abs() / ref.clamp(min=1.0)).max() < 2e-7   # relative, for large x


def test_gradient_is_the_sigmoid_and_passes_gradcheck():
    x = _inputs().requires_grad_()
    softplus(x).sum().backward()
    assert torch.allclose(x.grad, torch.sigmoid(x.detach()), atol=1e-7)
    small = torch.randn(20, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(softplus, (small,))


def test_layer_keeps_shape_and_broadcast_use():
    h = torch.randn(3, 5, 7)
    assert torch.equal(Softplus()(h), softplus(h))
    assert Softplus()(h).shape == h.shape
