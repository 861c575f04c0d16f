"""GMVAE of Ghosh, Losalka & Black 2019 (arXiv 1806.00081): a VAE whose prior is a Gaussian
mixture with one component per class; semi-supervised, with a selective (rejecting) classifier.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ssvae.validation import check_choice, check_float
from ssvae.models.base import LossOutput, ModelSpec, SemiSupervisedModel
from ssvae.nets import (Decoder, gaussian_kl, make_encoder, make_likelihood, per_pixel_mse,
                        reparameterize, resolve_likelihood, split_gaussian)

MEANS = ("learned", "fixed")
UNLABELLED_KL = ("mc", "responsibility")


@dataclass(frozen=True)
class GMVAEOptions:
    means: str = "learned"               # component means: learned (init at the fixed spread) | fixed
    mean_spread: float = 4.0             # |μ_k|: μ_k = spread·e_k (K <= Z) or spread·random unit vectors
    unlabelled_kl: str = "mc"            # mc: one-sample estimate of KL(q(z|x) || mixture);
                                         # responsibility: Σ_k r_k KL(q || N_k) + KL(r || π) (upper bound)
    cls_weight: float = 1.0              # weight of -log p(y | E[z|x]) on labelled images
    rejection_recon_weight: float = 1.0  # weight of the reconstruction error in rejection_score
    gaussian_sigma: float | None = None  # Gaussian likelihood: None = learned per channel

    def __post_init__(self) -> None:
        check_choice("model_options.means", self.means, MEANS)
        check_float("model_options.mean_spread", self.mean_spread, 0.0, 1e3, low_open=True)
        check_choice("model_options.unlabelled_kl", self.unlabelled_kl, UNLABELLED_KL)
        check_float("model_options.cls_weight", self.cls_weight, 0.0, 1e6)
        check_float("model_options.rejection_recon_weight", self.rejection_recon_weight, 0.0, 1e6)
        check_float("model_options.gaussian_sigma", self.gaussian_sigma, 0.0, 1e3,
                     low_open=True, optional=True)


def initial_means(k: int, z: int, spread: float, seed: int = 0) -> torch.Tensor:
    """[K, Z] component means at distance ``spread`` from the origin: spread·e_k when K <= Z
    (pairwise distance spread·√2), else seeded random unit directions."""
    if k <= z:
        return spread * torch.eye(k, z)
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(k, z, generator=g)
    return spread * v / v.norm(dim=-1, keepdim=True)


class GMVAE(SemiSupervisedModel):
    """Generative model p(x, z) = p(x|z) p(z), p(z) = Σ_k π_k N(z; μ_k, I), one component per class,
    π uniform. Inference q(z|x).

    - ``encoder_z`` = q(z|x), ``decoder`` = p(x|z) (``config.network``); ``prior_means`` = μ [K, Z]
      (a parameter with ``means='learned'``, a buffer with ``'fixed'``).
    - Labelled:   -E_q[log p(x|z)] + kl_weight·KL(q(z|x) || N(μ_y, I)) (closed form)
                  + cls_weight·(-log p(y | E[z|x])).
    - Unlabelled: -E_q[log p(x|z)] + kl_weight·KL(q(z|x) || Σ_k π_k N(μ_k, I)), estimated by
                  ``unlabelled_kl``: 'mc' = log q(z|x) - log p(z) at z ~ q(z|x) (unbiased), or
                  'responsibility' = Σ_k r_k KL(q || N_k) + KL(r || π) with r = p(k | E[z|x]) (an
                  upper bound on the KL, deterministic).
    - ``classify``: posterior responsibilities p(k | E[z|x]) ∝ π_k N(E[z|x]; μ_k, I).
    - ``rejection_score(x)`` = min_k ||E[z|x] - μ_k|| + rejection_recon_weight · mean squared
      reconstruction error per pixel; larger = less trustworthy; reject above a threshold chosen
      on validation (the paper's selective classifier).

    Labelled images are NOT in the unlabelled pool: the labelled term (KL to the true component)
    already models them, more tightly than the mixture term would.
    """

    options_cls = GMVAEOptions
    labelled_in_unlabelled_pool = False

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        cfg, opt, shape, k = spec.config, spec.options, spec.image_shape, spec.n_classes
        self.n_classes, self.latent_dim = k, cfg.latent_dim
        self.encoder_z = make_encoder(cfg.network, shape, cfg.hidden_dim, 2 * cfg.latent_dim)
        self.decoder = Decoder(cfg.network, cfg.latent_dim, shape, cfg.hidden_dim)
        self.likelihood = make_likelihood(resolve_likelihood(cfg, shape), shape, opt.gaussian_sigma)
        means = initial_means(k, cfg.latent_dim, opt.mean_spread, cfg.train_seed)
        if opt.means == "learned":
            self.prior_means = nn.Parameter(means)
        else:
            self.register_buffer("prior_means", means)
        self.log_pi = -math.log(k)

    # --- prior ---------------------------------------------------------------------------------
    def component_log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log π_k N(z; μ_k, I) for every k: z [B, Z] -> [B, K]."""
        d2 = (z.unsqueeze(-2) - self.prior_means).pow(2).sum(-1)   # exact grads at 0
        return self.log_pi - 0.5 * d2 - 0.5 * self.latent_dim * math.log(2 * math.pi)

    def responsibilities(self, mu: torch.Tensor) -> torch.Tensor:
        """log p(k | z = E[z|x]) [B, K]."""
        return F.log_softmax(self.component_log_prob(mu), -1)

    # --- losses -------------------------------------------------------------------------------------
    def labelled_loss(self, x: torch.Tensor, y: torch.Tensor) -> LossOutput:
        mu, logvar = split_gaussian(self.encoder_z(x))
        recon = self.likelihood.log_prob(self.decoder(reparameterize(mu, logvar)), x)
        kl = gaussian_kl(mu, logvar, self.prior_means[y])          # to the true class's component
        cls = F.nll_loss(self.responsibilities(mu), y)
        loss = (-recon + self.kl_weight * kl).mean() + self.spec.options.cls_weight * cls
        return LossOutput(loss, {"recon": recon.mean().detach(), "kl": kl.mean().detach(),
                                 "cls": cls.detach(), "elbo": (recon - kl).mean().detach()})

    def unlabelled_loss(self, x: torch.Tensor) -> LossOutput:
        mu, logvar = split_gaussian(self.encoder_z(x))
        z = reparameterize(mu, logvar)
        recon = self.likelihood.log_prob(self.decoder(z), x)
        if self.spec.options.unlabelled_kl == "mc":
            log_q = (-0.5 * ((z - mu).pow(2) / logvar.exp() + logvar + math.log(2 * math.pi))).sum(-1)
            kl = log_q - torch.logsumexp(self.component_log_prob(z), -1)
        else:
            log_r = self.responsibilities(mu)                          # [B, K]
            r = log_r.exp()
            kl_k = gaussian_kl(mu.unsqueeze(1), logvar.unsqueeze(1), self.prior_means)  # [B, K]
            kl = (r * kl_k).sum(-1) + (r * (log_r - self.log_pi)).sum(-1)
        loss = (-recon + self.kl_weight * kl).mean()
        return LossOutput(loss, {"recon": recon.mean().detach(), "kl": kl.mean().detach(),
                                 "elbo": (recon - kl).mean().detach()})

    # --- inference ------------------------------------------------------------------------------------
    @torch.no_grad()
    def classify(self, x: torch.Tensor) -> torch.Tensor:
        mu, _ = split_gaussian(self.encoder_z(x))
        return self.responsibilities(mu).exp()

    @torch.no_grad()
    def rejection_score(self, x: torch.Tensor, return_parts: bool = False):
        """[B] score (larger = reject first): distance from E[z|x] to the nearest component mean
        + rejection_recon_weight × per-pixel mean squared error of the reconstruction."""
        mu, _ = split_gaussian(self.encoder_z(x))
        distance = torch.cdist(mu, self.prior_means).min(-1).values
        recon_err = per_pixel_mse(self.likelihood.mean(self.decoder(mu)), x)
        score = distance + self.spec.options.rejection_recon_weight * recon_err
        return (score, distance, recon_err) if return_parts else score

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        mu, _ = split_gaussian(self.encoder_z(x))
        return self.likelihood.mean(self.decoder(mu)).clamp(0, 1)

    @torch.no_grad()
    def sample(self, n_per_class: int) -> torch.Tensor:
        """Class-conditional: z ~ N(μ_k, I) for each class k, decoder means, class-major."""
        means = self.prior_means.repeat_interleave(n_per_class, 0)
        return self.likelihood.mean(self.decoder(means + torch.randn_like(means))).clamp(0, 1)
