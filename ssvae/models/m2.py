"""M2 of Kingma, Rezende, Mohamed & Welling 2014, "Semi-supervised learning with deep generative
models": the label is a latent variable, summed out exactly for unlabelled images.

α scale (paper: α = 0.1·N with per-example sums; here: batch means). The paper minimises

    J^α = Σ_{(x,y)∈labelled} L(x,y) + Σ_{x∈unlabelled} U(x) + α · E_{labelled}[-log q(y|x)],

α = 0.1·N, N = N_l + N_u the whole training set. Our step (the shared loop) is
``mean_l[L + α_eff·CE] + mean_u[U]``. Only U and the CE term reach q(y|x) (L does not depend on
it), so what α sets is the ratio of the CE term to the unlabelled term. Multiplying our step by
N_u turns it into an unbiased estimate of Σ_u U + (N_u/N_l)·Σ_l L + α_eff·N_u·E_l[CE]; equating the
CE coefficient with the paper's 0.1·N gives

    α_eff = alpha · N / N_u = alpha · (N_l + N_u) / N_u            (alpha_scale="paper", alpha=0.1)

which is ≈ alpha when N_l ≪ N_u (0.1002 for 100 labels of 50,000). (The labelled ELBO is weighted
N_u/N_l times more than in the paper, because the loop cycles the labelled images; this changes
the generative fit, not the classifier's signal.) Cross-check: Pyro's SS-VAE example (93.2 %
at 100 labels) sums per example, visits each labelled image once per epoch and weights its
cross-entropy by 46: α = 46·N_l = 4,600 ≈ 0.1·N = 5,000, i.e. α_eff ≈ 46·N_l/N_u ≈ 0.09 on our
scale. ``alpha_scale="labelled"`` instead keeps the paper's per-labelled-example ratio of CE to
L(x,y): α_eff = alpha·N/N_l (0.1·500 = 50 for 100 labels of 50,000), the choice of several
re-implementations and much stronger; ``alpha_scale="none"`` uses α_eff = alpha. N_l and N_u
come from ``set_data_sizes``; without them "paper" uses N/N_u = 1 and "labelled" uses
1/label_fraction (an error when only n_labels is known).

"labelled" is the default (``identity_version`` 2; before it, the default was "paper"): with
"paper" M2 at 100 MNIST labels peaks after an epoch or two and then collapses, and M1+M2 keeps
"paper" because on M1's features "labelled" did worse. The measurements behind this choice, with
their commands, are in ``results/mnist_m2_alpha/README.md``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ssvae.validation import ConfigError, check_choice, check_float
from ssvae.models.base import LossOutput, ModelSpec, SemiSupervisedModel
from ssvae.nets import (Decoder, gaussian_kl, make_classifier, make_encoder, make_likelihood,
                        reparameterize, resolve_likelihood, split_gaussian)
from ssvae.nets.blocks import check_mlp_layers

ALPHA_SCALES = ("paper", "labelled", "none")


@dataclass(frozen=True)
class M2Options:
    alpha: float = 0.1                   # the paper's α / N (α = 0.1·N)
    alpha_scale: str = "labelled"        # paper | labelled | none (see the module docstring)
    gaussian_sigma: float | None = None  # Gaussian likelihood: None = learned per channel
    classifier_dropout: float = 0.0      # dropout in q(y|x)
    hidden_layers: int = 2               # hidden layers of the mlp nets (q(y|x), q(z|x,y), p(x|y,z))

    def __post_init__(self) -> None:
        check_float("model_options.alpha", self.alpha, 0.0, 1e6)
        check_choice("model_options.alpha_scale", self.alpha_scale, ALPHA_SCALES)
        check_float("model_options.gaussian_sigma", self.gaussian_sigma, 0.0, 1e3,
                     low_open=True, optional=True)
        check_float("model_options.classifier_dropout", self.classifier_dropout, 0.0, 0.95)
        check_mlp_layers(self.hidden_layers, "model_options.hidden_layers")


def sum_over_y(log_q_y: torch.Tensor, elbo_xy: torch.Tensor) -> torch.Tensor:
    """-U(x) = Σ_y q(y|x)·(-L(x,y)) + H(q(y|x)), exactly over all K labels.

    log_q_y: [B, K] log q(y|x) (from log_softmax: no log 0, and q·log q -> 0 where q -> 0);
    elbo_xy: [K, B] the bound -L(x,y) for every label. Returns [B].
    """
    q_y = log_q_y.exp()
    expected = (q_y * elbo_xy.t()).sum(-1)            # Σ_y q(y|x)(-L(x,y))
    entropy = -(q_y * log_q_y).sum(-1)                # H(q(y|x))
    return expected + entropy


class M2(SemiSupervisedModel):
    """Generative model p(x, y, z) = p(x|y,z) p(y) p(z), p(y) uniform over K, p(z) = N(0, I).
    Inference q(z|x,y) q(y|x).

    - ``encoder_y``  = q(y|x): the ``config.classifier`` net (mlp | conv | vgg16) -> logits
    - ``encoder_z``  = q(z|x,y): ``config.network`` encoder; y enters as an added embedding
    - ``decoder``    = p(x|y,z): ``config.network`` decoder on [z, onehot(y)]
    - ``likelihood`` = Bernoulli (gray) or Gaussian (colour / features), see ``resolve_likelihood``

    Labelled:   -L(x,y) = E_q(z|x,y)[log p(x|y,z)] + log p(y) - KL(q(z|x,y) || p(z)),
                plus the classification term α_eff·(-log q(y|x)).
    Unlabelled: -U(x) = Σ_y q(y|x)(-L(x,y)) + H(q(y|x)) (``sum_over_y``), never sampled: the
                batch is expanded over all K labels in one pass (``elbo_all_y``).
    The KL is multiplied by ``kl_weight`` (warm-up, set per step by the loop).

    Labelled images are NOT in the unlabelled pool: their label is known, so L(x,y) (a bound on
    log p(x,y)) already counts them; adding U(x) would count their p(x) twice.
    """

    options_cls = M2Options
    identity_version = 2                 # 2: alpha_scale defaults to "labelled" (1: "paper")
    labelled_in_unlabelled_pool = False

    def __init__(self, spec: ModelSpec, likelihood: torch.nn.Module | None = None) -> None:
        """``likelihood``: p(x|y,z) given by the caller (M1+M2 models its z1 this way) instead of
        the one ``config.likelihood`` names; the decoder gives its ``out_shape`` when it has one
        (a per-example σ doubles the channels), else the image shape."""
        super().__init__(spec)
        cfg, opt, shape, k = spec.config, spec.options, spec.image_shape, spec.n_classes
        z = cfg.latent_dim
        self.n_classes, self.latent_dim = k, z
        n = opt.hidden_layers
        if n != 2 and cfg.network != "mlp":
            raise ConfigError(f"model_options.hidden_layers={n} sizes the mlp nets, but network="
                              f"{cfg.network!r} (4 conv + 2 dense layers); use network='mlp' or "
                              "leave hidden_layers at 2")
        self.encoder_y = make_classifier(cfg.classifier, cfg, shape, k, dropout=opt.classifier_dropout,
                                         mlp_layers=n)
        self.encoder_z = make_encoder(cfg.network, shape, cfg.hidden_dim, 2 * z, cond_dim=k, mlp_layers=n)
        if likelihood is None:
            likelihood = make_likelihood(resolve_likelihood(cfg, shape), shape, opt.gaussian_sigma)
        self.decoder = Decoder(cfg.network, z + k, getattr(likelihood, "out_shape", shape),
                               cfg.hidden_dim, mlp_layers=n)
        self.likelihood = likelihood
        self.log_p_y = -math.log(k)

    # --- α ------------------------------------------------------------------------------------
    def alpha_effective(self) -> float:
        opt, cfg = self.spec.options, self.spec.config
        if opt.alpha_scale == "none":
            return opt.alpha
        if self.data_sizes is not None:
            n_l, n_u = self.data_sizes
            n = n_u if self.labelled_in_unlabelled_pool else n_l + n_u
            return opt.alpha * n / max(n_u if opt.alpha_scale == "paper" else n_l, 1)
        if opt.alpha_scale == "paper":
            return opt.alpha                                  # N / N_u ≈ 1 when N_l ≪ N_u
        if cfg.label_fraction is not None:
            return opt.alpha / cfg.label_fraction
        raise ConfigError("model_options.alpha_scale='labelled' needs the data sizes: the loop must "
                          "call model.set_data_sizes(n_labelled, n_unlabelled) first")

    # --- the bound ------------------------------------------------------------------------------
    def _bound(self, x: torch.Tensor, h: torch.Tensor, y1: torch.Tensor):
        """-L for encoder output h [..., 2Z] and one-hot y1 [..., K] -> (elbo, recon, kl) [...]."""
        mu, logvar = split_gaussian(h)
        z = reparameterize(mu, logvar)
        out = self.decoder(torch.cat([z, y1], -1))
        recon = self.likelihood.log_prob(out, x)         # E_q[log p(x|y,z)], one sample
        kl = gaussian_kl(mu, logvar)
        return recon + self.log_p_y - self.kl_weight * kl, recon, kl

    def elbo_xy(self, x: torch.Tensor, y: torch.Tensor):
        """-L(x,y) for given labels y [B] -> (elbo, recon, kl), each [B]."""
        y1 = F.one_hot(y, self.n_classes).to(x.dtype)
        return self._bound(x, self.encoder_z(x, y1), y1)

    def elbo_all_y(self, x: torch.Tensor):
        """-L(x,y) for every label, in one pass over the batch expanded K times -> each [K, B]."""
        k, b = self.n_classes, x.shape[0]
        h = self.encoder_z.forward_all_y(x)                # [K, B, 2Z], x-path computed once
        y1 = torch.eye(k, dtype=x.dtype, device=x.device).unsqueeze(1).expand(k, b, k)
        return self._bound(x.unsqueeze(0), h, y1)

    # --- the contract ---------------------------------------------------------------------------
    def labelled_loss(self, x: torch.Tensor, y: torch.Tensor) -> LossOutput:
        elbo, recon, kl = self.elbo_xy(x, y)
        cls = F.cross_entropy(self.encoder_y(x), y)        # E[-log q(y|x)]
        loss = -elbo.mean() + self.alpha_effective() * cls
        return LossOutput(loss, {"recon": recon.mean().detach(), "kl": kl.mean().detach(),
                                 "cls": cls.detach(), "elbo": (recon + self.log_p_y - kl).mean().detach()})

    def unlabelled_loss(self, x: torch.Tensor) -> LossOutput:
        log_q_y = F.log_softmax(self.encoder_y(x), -1)     # [B, K]
        elbo, recon, kl = self.elbo_all_y(x)               # [K, B]
        neg_u = sum_over_y(log_q_y, elbo)
        q_y = log_q_y.exp().t()
        with torch.no_grad():
            unweighted = sum_over_y(log_q_y, recon + self.log_p_y - kl)
            terms = {"recon": (q_y * recon).sum(0).mean(), "kl": (q_y * kl).sum(0).mean(),
                     "entropy": -(log_q_y.exp() * log_q_y).sum(-1).mean(), "elbo": unweighted.mean()}
        return LossOutput(-neg_u.mean(), terms)

    @torch.no_grad()
    def classify(self, x: torch.Tensor) -> torch.Tensor:
        return F.softmax(self.encoder_y(x), -1)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        y1 = F.one_hot(self.encoder_y(x).argmax(-1), self.n_classes).to(x.dtype)
        mu, _ = split_gaussian(self.encoder_z(x, y1))
        return self._display(self.likelihood.mean(self.decoder(torch.cat([mu, y1], -1))))

    @torch.no_grad()
    def sample(self, n_per_class: int) -> torch.Tensor:
        """Class-conditional samples (decoder means), class-major: [K * n, *shape]."""
        dev = next(self.parameters()).device
        y1 = torch.eye(self.n_classes, device=dev).repeat_interleave(n_per_class, 0)
        z = torch.randn(y1.shape[0], self.latent_dim, device=dev)
        return self._display(self.likelihood.mean(self.decoder(torch.cat([z, y1], -1))))

    def _display(self, mean: torch.Tensor) -> torch.Tensor:
        return mean.clamp(0, 1) if len(self.spec.image_shape) == 3 else mean
