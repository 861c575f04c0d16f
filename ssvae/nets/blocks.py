"""Shared network blocks: MLP and conv encoders/decoders, classifier nets, latent helpers.

Two families, picked by ``config.network`` (encoders/decoders) and ``config.classifier`` (q(y|x)):

- ``mlp``: flatten -> Linear(D, H) -> act -> Linear(H, H) -> act -> Linear(H, out); softplus as in
  Kingma et al. 2014 (2 hidden layers, H = ``hidden_dim``, 500 in the paper). ``mlp_layers``
  sets the number of hidden layers (M2 in M1+M2 of Kingma et al.'s code: 1 layer of 300 units
  at 100 labels, of 500 at more).
- ``conv``: 4 conv layers (3x3, channels 32-32-64-64, ReLU; stride 2 while a spatial side is
  larger than 4, then stride 1, so 8x8 -> 4x4, 28x28 -> 4x4, 32x32 -> 4x4, 64x64 -> 4x4) + 2 dense
  layers. The decoder mirrors it: 2 dense layers + 4 transposed convs whose output padding is
  chosen per layer, so the output is exactly C x H x W for any size (odd sizes included).

No BatchNorm anywhere: M2 and GMVAE pass labelled and unlabelled batches separately, which would
bias BatchNorm's statistics (DESIGN.md §4 pitfalls).

Conditioning on a label y (M2's q(z|x,y)) enters as an embedding added to the first dense
pre-activation: W[x; y] = W_x x + W_y y. The x-path runs once per image, so enumerating all K
labels (``Encoder.forward_all_y``) shares every FLOP that does not depend on y.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import torch
from torch import nn

from ssvae.validation import ConfigError
from ssvae.nets.softplus import Softplus, softplus

if TYPE_CHECKING:
    from ssvae.config import TrainConfig

CONV_CHANNELS = (32, 32, 64, 64)
MAX_MLP_LAYERS = 8
MIN_CONV_SIDE = 4


# --- latent helpers ------------------------------------------------------------------------------
def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """z = mu + sigma * eps, eps ~ N(0, I)."""
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor, prior_mu: torch.Tensor | None = None) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(prior_mu, I)) summed over the last dim -> [...]."""
    diff = mu if prior_mu is None else mu - prior_mu
    return 0.5 * (logvar.exp() + diff.pow(2) - 1.0 - logvar).sum(-1)


def per_pixel_mse(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """[B] mean squared error per pixel of images [B, ...]: E_pixels[(x̂ - x)²], the
    reconstruction error that rejection scores use."""
    return (x_hat - x).pow(2).flatten(1).mean(-1)


def split_gaussian(h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """[..., 2Z] -> mu, logvar (clamped: exp(logvar) stays in a finite, trainable range), in
    float32 even under bfloat16 autocast: the bound's terms are sums over many dimensions."""
    mu, logvar = h.float().chunk(2, dim=-1)
    return mu, logvar.clamp(-12.0, 8.0)


# --- shape checks --------------------------------------------------------------------------------
def check_image_shape(shape: Sequence[int], family: str, who: str = "model") -> tuple[int, ...]:
    shape = tuple(int(s) for s in shape)
    if family == "mlp":
        if len(shape) == 0 or any(s < 1 for s in shape):
            raise ConfigError(f"{who}: data shape {shape} is not valid; the mlp network takes any "
                              "shape of positive sizes, e.g. (C, H, W) or (D,)")
        return shape
    if len(shape) != 3 or any(s < 1 for s in shape) or min(shape[1:]) < MIN_CONV_SIDE:
        raise ConfigError(
            f"{who}: the {family} network cannot take the shape {shape}; it needs images "
            f"(C, H, W) with H, W >= {MIN_CONV_SIDE} (any C); use network='mlp' otherwise")
    return shape


def _conv_plan(side: int) -> list[int]:
    """Spatial sizes through the 4 conv layers: halve (ceil) while the side is > 4."""
    sizes = [side]
    for _ in CONV_CHANNELS:
        sizes.append(math.ceil(sizes[-1] / 2) if sizes[-1] > MIN_CONV_SIDE else sizes[-1])
    return sizes


# --- encoders ------------------------------------------------------------------------------------
class Encoder(nn.Module):
    """x [B, *shape] (and optionally one-hot y [B, K]) -> [B, out_dim].

    ``trunk`` maps x to the first dense pre-activation [B, H]; ``cond`` (W_y) adds y's embedding;
    ``tail`` is act -> (Linear -> act) * extra -> Linear(H, out).
    """

    def __init__(self, trunk: nn.Module, hidden: int, out_dim: int, cond_dim: int = 0,
                 extra_layers: int = 1, act: type[nn.Module] = Softplus, dropout: float = 0.0):
        super().__init__()
        self.trunk = trunk
        self.cond = nn.Linear(cond_dim, hidden, bias=False) if cond_dim else None
        layers: list[nn.Module] = [act()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        for _ in range(extra_layers):
            layers += [nn.Linear(hidden, hidden), act()]
            if dropout:
                layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(hidden, out_dim))
        self.tail = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.trunk(x)                                   # [B, H]
        if y is not None:
            h = h + self.cond(y)
        return self.tail(h)

    def forward_all_y(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs for every label at once: [K, B, out]; the trunk runs once per image."""
        h = self.trunk(x)                                   # [B, H]
        emb = self.cond.weight.t()                          # [K, H]: W_y e_k for every k
        return self.tail(h.unsqueeze(0) + emb.unsqueeze(1))  # [K, B, out]


def _conv_trunk(shape: tuple[int, int, int], hidden: int) -> nn.Sequential:
    c, h, w = shape
    hs, ws = _conv_plan(h), _conv_plan(w)
    layers: list[nn.Module] = []
    cin = c
    for i, cout in enumerate(CONV_CHANNELS):
        stride = (2 if hs[i + 1] != hs[i] else 1, 2 if ws[i + 1] != ws[i] else 1)
        layers += [nn.Conv2d(cin, cout, 3, stride=stride, padding=1), nn.ReLU()]
        cin = cout
    layers += [nn.Flatten(), nn.Linear(cin * hs[-1] * ws[-1], hidden)]
    return nn.Sequential(*layers)


def check_mlp_layers(mlp_layers: int, who: str = "mlp_layers") -> int:
    """``mlp_layers`` if it is a valid number of hidden layers, else a ConfigError naming ``who``."""
    if isinstance(mlp_layers, bool) or not isinstance(mlp_layers, int) or not 1 <= mlp_layers <= MAX_MLP_LAYERS:
        raise ConfigError(f"{who}={mlp_layers!r} is not valid; give a whole number of hidden layers "
                          f"from 1 to {MAX_MLP_LAYERS} (2: the default mlp family)")
    return mlp_layers


def make_encoder(network: str, shape: Sequence[int], hidden: int, out_dim: int,
                 cond_dim: int = 0, dropout: float = 0.0, mlp_layers: int = 2) -> Encoder:
    """The ``network`` family's encoder: ``mlp_layers`` hidden dense layers (mlp; 2 by default)
    or 4 conv + 2 dense (conv; ``mlp_layers`` does not apply)."""
    shape = check_image_shape(shape, network)
    if network == "mlp":
        trunk = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(shape), hidden))
        return Encoder(trunk, hidden, out_dim, cond_dim, check_mlp_layers(mlp_layers) - 1, Softplus, dropout)
    if network == "conv":
        return Encoder(_conv_trunk(shape, hidden), hidden, out_dim, cond_dim, 0, nn.ReLU, dropout)
    raise ConfigError(f"network={network!r} is not valid; choose mlp or conv")


# --- decoders ------------------------------------------------------------------------------------
class Decoder(nn.Module):
    """[..., in_dim] -> distribution parameters [..., *shape] (leading dims are flattened)."""

    def __init__(self, network: str, in_dim: int, shape: Sequence[int], hidden: int,
                 mlp_layers: int = 2):
        super().__init__()
        self.shape = check_image_shape(shape, network)
        if network == "mlp":
            layers = [nn.Linear(in_dim, hidden), Softplus()]
            for _ in range(check_mlp_layers(mlp_layers) - 1):
                layers += [nn.Linear(hidden, hidden), Softplus()]
            self.net = nn.Sequential(*layers, nn.Linear(hidden, math.prod(self.shape)))
        elif network == "conv":
            c, h, w = self.shape
            hs, ws = _conv_plan(h)[::-1], _conv_plan(w)[::-1]   # small -> large
            chans = CONV_CHANNELS[::-1]                           # 64, 64, 32, 32
            layers: list[nn.Module] = [
                nn.Linear(in_dim, hidden), nn.ReLU(),
                nn.Linear(hidden, chans[0] * hs[0] * ws[0]), nn.ReLU(),
                nn.Unflatten(1, (chans[0], hs[0], ws[0]))]
            for i in range(4):
                cout = chans[i + 1] if i < 3 else c
                stride, outpad = [], []
                for sizes in (hs, ws):
                    up = sizes[i + 1] != sizes[i]
                    stride.append(2 if up else 1)
                    # ConvTranspose(k=3, p=1): out = s*(n-1) + 1 + output_padding
                    outpad.append(sizes[i + 1] - (2 * (sizes[i] - 1) + 1) if up else 0)
                layers.append(nn.ConvTranspose2d(chans[i], cout, 3, stride=tuple(stride), padding=1,
                                                 output_padding=tuple(outpad)))
                if i < 3:
                    layers.append(nn.ReLU())
            self.net = nn.Sequential(*layers)
        else:
            raise ConfigError(f"network={network!r} is not valid; choose mlp or conv")

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        lead = z.shape[:-1]
        out = self.net(z.reshape(-1, z.shape[-1]))
        return out.reshape(*lead, *self.shape)


# --- likelihoods p(x | .) --------------------------------------------------------------------------
def resolve_likelihood(config: TrainConfig, shape: Sequence[int]) -> str:
    """``auto``: Bernoulli for 1-channel images in [0, 1] (BCE on intensities, the usual MNIST
    choice), Gaussian for colour images (Bernoulli is a poor model of RGB intensities)."""
    if config.likelihood != "auto":
        return config.likelihood
    return "bernoulli" if len(shape) == 3 and shape[0] == 1 else "gaussian"


class BernoulliLikelihood(nn.Module):
    """log p(x|logits) = x log s + (1 - x) log(1 - s), s = sigmoid(logits); x in [0, 1]."""

    def __init__(self, shape: Sequence[int]):
        super().__init__()
        self.event_dims = len(shape)

    def log_prob(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        # Σ x·logit − softplus(logit) == −BCE(logit, x); x [B, ...] broadcasts vs out [K, B, ...].
        # float32: under bfloat16 autocast a sum over ~10^3 pixels would lose the small ELBO
        # differences between labels that M2's q(y|x) learns from.
        out = out.float()
        lp = x * out - softplus(out)
        return lp.flatten(-self.event_dims).sum(-1)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out)


def _gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor, log_sigma: torch.Tensor,
                       mask: torch.Tensor | None, event_dims: int) -> torch.Tensor:
    """Σ over the event dims (those where ``mask`` is 1) of log N(x; mean, exp(log_sigma)²)."""
    lp = -0.5 * ((x - mean) * torch.exp(-log_sigma)).pow(2) - log_sigma - 0.5 * math.log(2 * math.pi)
    if mask is not None:
        lp = lp * mask
    return lp.flatten(-event_dims).sum(-1)


class GaussianLikelihood(nn.Module):
    """log N(x; mean, sigma^2): sigma learned per channel (``sigma=None``) or fixed.

    ``masked=True`` adds a 0/1 buffer ``mask`` of the channels' shape (all 1 at first): the log
    density sums over the channels marked 1 only (M1+M2 leaves M1's inactive units out this way).
    """

    def __init__(self, shape: Sequence[int], sigma: float | None = None, masked: bool = False):
        super().__init__()
        self.event_dims = len(shape)
        size = (shape[0],) + (1,) * (len(shape) - 1)
        if sigma is None:
            self.log_sigma = nn.Parameter(torch.zeros(size))
        else:
            self.register_buffer("log_sigma", torch.full(size, math.log(sigma)))
        self.mask: torch.Tensor | None
        self.register_buffer("mask", torch.ones(size) if masked else None)

    def log_prob(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        log_sigma = self.log_sigma.clamp(min=math.log(1e-3))
        out = out.float()                                 # see BernoulliLikelihood.log_prob
        return _gaussian_log_prob(x, out, log_sigma, self.mask, self.event_dims)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        return out


class PerExampleGaussianLikelihood(nn.Module):
    """log N(x; mean, sigma^2) with mean and log sigma both from the decoder (a "Gaussian MLP"
    of Kingma & Welling 2014): the decoder's output has twice the channels of x, the means first,
    then log sigma (clamped below at log 1e-3). ``masked`` as in ``GaussianLikelihood``.
    """

    def __init__(self, shape: Sequence[int], masked: bool = False):
        super().__init__()
        self.event_dims = len(shape)
        self.out_shape = (2 * shape[0], *shape[1:])   # what the decoder must give
        size = (shape[0],) + (1,) * (len(shape) - 1)
        self.mask: torch.Tensor | None
        self.register_buffer("mask", torch.ones(size) if masked else None)

    def split(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[..., 2C, ...] -> mean, log sigma [..., C, ...]."""
        mean, log_sigma = out.float().chunk(2, dim=-self.event_dims)
        return mean, log_sigma.clamp(min=math.log(1e-3))

    def log_prob(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        mean, log_sigma = self.split(out)
        return _gaussian_log_prob(x, mean, log_sigma, self.mask, self.event_dims)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        return self.split(out)[0]


def make_likelihood(kind: str, shape: Sequence[int], sigma: float | None = None) -> nn.Module:
    if kind == "bernoulli":
        return BernoulliLikelihood(shape)
    if kind == "gaussian":
        return GaussianLikelihood(shape, sigma)
    raise ConfigError(f"likelihood={kind!r} is not valid; choose bernoulli or gaussian")


# --- classifiers q(y|x) ----------------------------------------------------------------------------
def make_classifier(name: str, config: TrainConfig, shape: Sequence[int], n_classes: int,
                    dropout: float = 0.0, mlp_layers: int = 2) -> nn.Module:
    """x -> logits [B, n_classes]: ``mlp`` (``mlp_layers`` hidden layers, 2 by default),
    ``conv`` (4 conv + 2 dense) or ``vgg16`` (ImageNet VGG16 features + a small head; see
    ``ssvae.nets.vgg16``)."""
    if name in ("mlp", "conv"):
        return make_encoder(name, shape, config.hidden_dim, n_classes, dropout=dropout,
                            mlp_layers=mlp_layers)
    if name == "vgg16":
        from ssvae.nets.vgg16 import VGG16Classifier
        return VGG16Classifier(config, shape, n_classes, dropout=dropout)
    raise ConfigError(f"classifier={name!r} is not valid; choose mlp, conv or vgg16")
