"""M1 of Kingma et al. 2014: a VAE fitted on all images, then a classifier on E[z|x]."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.svm import SVC

from ssvae.checkpoint import CheckpointError
from ssvae.validation import ConfigError, check_choice, check_float, check_int
from ssvae.models import head_state
from ssvae.models.base import LossOutput, ModelSpec, SemiSupervisedModel, Stage
from ssvae.nets import (Decoder, gaussian_kl, make_encoder, make_likelihood, reparameterize,
                        resolve_likelihood, split_gaussian)

HEADS = ("logreg", "svm", "mlp")


@dataclass(frozen=True)
class M1Options:
    head: str = "logreg"                 # classifier on E[z|x]: logreg | svm | mlp (scikit-learn)
    head_c: float = 1.0                  # inverse regularisation strength (logreg, svm)
    head_hidden: int = 100               # hidden units of the mlp head
    head_alpha: float = 1e-4             # L2 penalty of the mlp head
    gaussian_sigma: float | None = None  # Gaussian likelihood: None = learned per channel

    def __post_init__(self) -> None:
        check_choice("model_options.head", self.head, HEADS)
        check_float("model_options.head_c", self.head_c, 0.0, 1e6, low_open=True)
        check_int("model_options.head_hidden", self.head_hidden, 1, 100000)
        check_float("model_options.head_alpha", self.head_alpha, 0.0, 1e3)
        check_float("model_options.gaussian_sigma", self.gaussian_sigma, 0.0, 1e3,
                     low_open=True, optional=True)


@head_state.allow
class SoftmaxSVC(SVC):
    """An SVC whose probabilities are a softmax of its one-vs-rest margins (for labelled sets too
    small for cross-validated calibration)."""

    def predict_proba(self, x):
        d = self.decision_function(x)
        d = np.stack([-d, d], 1) if d.ndim == 1 else d
        e = np.exp(d - d.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)


class M1(SemiSupervisedModel):
    """Generative model p(x, z) = p(x|z) p(z), p(z) = N(0, I); inference q(z|x).

    - ``encoder_z`` = q(z|x), ``decoder`` = p(x|z) (``config.network`` family), ``likelihood``
      Bernoulli (gray) or Gaussian (colour).
    - Stage "vae" (selected on validation loss, labels unused): -ELBO = -E_q[log p(x|z)] +
      kl_weight·KL(q(z|x) || p(z)) on every image.
    - ``finish_stage`` fits ``head`` (``model_options.head``: scikit-learn LogisticRegression,
      SVC with cross-validated calibrated probabilities, or MLPClassifier) on E[z|x] of the
      labelled images, unscaled: the prior N(0, I) already gives the units a common scale. Per-unit
      standardisation on the labelled set is harmful here: most units of such a VAE are inactive
      (E[z_u|x] ≈ 0, std ≈ 0.015 over images; ~40 of 50 on MNIST) or near-zero with rare large
      values, and their variance over 100 labelled images says nothing about the test images
      (measured: ``results/mnist_anchor/README.md``, "M1's head on unscaled features").
      ``classify`` returns the head's probabilities
      (uniform before the head is fitted).
      The head is saved in the state dict as tensors and plain data (``get_extra_state``,
      ``ssvae/models/head_state.py``), never as a pickle, so ``weights_only`` loads hold it.

    ``config.classifier`` does not apply: the head acts on latent vectors, not images; only the
    default ``mlp`` is accepted (``conv``/``vgg16`` raise), the head is ``model_options.head``.
    Sampling is unconditional (M1 has no label in its generative model).

    Labelled images ARE in the unlabelled pool: the VAE is an unsupervised density model of every
    training image (labels play no part in its loss), as in the paper.
    """

    options_cls = M1Options
    labelled_in_unlabelled_pool = True
    identity_version = 2                 # 2: the head sees unscaled E[z|x] (1: standardised)

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        cfg, opt, shape = spec.config, spec.options, spec.image_shape
        if cfg.classifier != "mlp" and type(self) is M1:
            raise ConfigError(f"classifier={cfg.classifier!r} does not apply to m1: its classifier "
                              "acts on the latent vectors E[z|x]; choose it with "
                              "model_options.head (logreg | svm | mlp) and leave classifier='mlp'")
        self.n_classes, self.latent_dim = spec.n_classes, cfg.latent_dim
        self.encoder_z = make_encoder(cfg.network, shape, cfg.hidden_dim, 2 * cfg.latent_dim)
        self.decoder = Decoder(cfg.network, cfg.latent_dim, shape, cfg.hidden_dim)
        self.likelihood = make_likelihood(resolve_likelihood(cfg, shape), shape, opt.gaussian_sigma)
        self.head = None                 # fitted scikit-learn pipeline (after finish_stage)

    def stages(self) -> tuple[Stage, ...]:
        return (Stage("vae", select_on="val_loss", uses_labels=False),)

    # --- VAE ----------------------------------------------------------------------------------
    def vae_loss(self, x: torch.Tensor) -> LossOutput:
        mu, logvar = split_gaussian(self.encoder_z(x))
        recon = self.likelihood.log_prob(self.decoder(reparameterize(mu, logvar)), x)
        kl = gaussian_kl(mu, logvar)
        loss = (-recon + self.kl_weight * kl).mean()
        return LossOutput(loss, {"recon": recon.mean().detach(), "kl": kl.mean().detach(),
                                 "elbo": (recon - kl).mean().detach()})

    def labelled_loss(self, x: torch.Tensor, y: torch.Tensor) -> LossOutput:
        """The VAE loss; y is not used (M1's generative model has no label)."""
        return self.vae_loss(x)

    def unlabelled_loss(self, x: torch.Tensor) -> LossOutput:
        return self.vae_loss(x)

    @torch.no_grad()
    def features(self, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
        """E[z|x] [B, Z], in batches."""
        return torch.cat([split_gaussian(self.encoder_z(x[i:i + batch_size]))[0]
                          for i in range(0, x.shape[0], batch_size)])

    # --- head ----------------------------------------------------------------------------------
    def _make_head(self, y: np.ndarray):
        from sklearn.linear_model import LogisticRegression
        from sklearn.neural_network import MLPClassifier
        opt, seed = self.spec.options, self.spec.config.train_seed
        if opt.head == "logreg":
            clf = LogisticRegression(C=opt.head_c, max_iter=2000)
        elif opt.head == "svm":
            # Probabilities by cross-validated calibration (SVC(probability=True) is deprecated in
            # scikit-learn 1.9); with a single example in some class, a softmax of the margins.
            n_min = int(np.bincount(y)[np.unique(y)].min())
            if n_min >= 2:
                from sklearn.calibration import CalibratedClassifierCV
                clf = CalibratedClassifierCV(SVC(C=opt.head_c, random_state=seed),
                                             cv=min(5, n_min), ensemble=False)
            else:
                clf = SoftmaxSVC(C=opt.head_c, random_state=seed)
        else:
            clf = MLPClassifier(hidden_layer_sizes=(opt.head_hidden,), alpha=opt.head_alpha,
                                max_iter=2000, random_state=seed)
        return clf

    def finish_stage(self, x_labelled: torch.Tensor, y_labelled: torch.Tensor) -> None:
        was_training = self.training
        self.eval()
        feats = self.features(x_labelled).cpu().double().numpy()
        self.train(was_training)
        y = y_labelled.cpu().numpy()
        if len(np.unique(y)) < 2:        # scikit-learn needs two classes; predict the one seen
            self.head = ("constant", int(y[0]))
            return
        self.head = self._make_head(y).fit(feats, y)

    @torch.no_grad()
    def classify(self, x: torch.Tensor) -> torch.Tensor:
        probs = torch.full((x.shape[0], self.n_classes), 1.0 / self.n_classes, device=x.device)
        if self.head is None:
            return probs
        if isinstance(self.head, tuple):
            probs.zero_()[:, self.head[1]] = 1.0
            return probs
        p = self.head.predict_proba(self.features(x).cpu().double().numpy())
        probs.zero_()[:, torch.as_tensor(self.head.classes_, device=x.device)] = \
            torch.as_tensor(p, dtype=probs.dtype, device=x.device)
        return probs / probs.sum(-1, keepdim=True)

    def get_extra_state(self) -> dict | None:
        """The fitted head as tensors and plain data (``head_state.encode``); None before."""
        return None if self.head is None else head_state.encode(self.head)

    def set_extra_state(self, state: dict | torch.Tensor | None) -> None:
        if isinstance(state, torch.Tensor):          # ssvae <= 0.x: the head as pickled bytes
            if state.numel() == 0:
                self.head = None
                return
            raise CheckpointError(
                "this M1 checkpoint stores its classifier head as a pickle, which ssvae no longer "
                "unpickles (it could run code). If you trust the file, convert it once: "
                "python -m ssvae.checkpoint convert OLD.pt NEW.pt")
        self.head = None if state is None else head_state.decode(state)

    # --- generation ----------------------------------------------------------------------------
    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        mu, _ = split_gaussian(self.encoder_z(x))
        return self.likelihood.mean(self.decoder(mu)).clamp(0, 1)

    @torch.no_grad()
    def sample(self, n_per_class: int) -> torch.Tensor:
        """Unconditional samples (M1 has no label): n_classes * n_per_class images from p(z)."""
        dev = next(self.parameters()).device
        z = torch.randn(self.n_classes * n_per_class, self.latent_dim, device=dev)
        return self.likelihood.mean(self.decoder(z)).clamp(0, 1)
