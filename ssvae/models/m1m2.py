"""M1+M2 of Kingma et al. 2014: M2 trained on the latent features E[z1|x] of a trained M1."""
from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from typing import Any, Mapping

import torch

from ssvae.checkpoint import safe_load
from ssvae.validation import ConfigError, check_choice, check_float, check_int
from ssvae.models.base import Batch, LossOutput, ModelSpec, SemiSupervisedModel, Stage
from ssvae.models.m1 import M1, M1Options
from ssvae.models.m2 import ALPHA_SCALES, M2, M2Options
from ssvae.nets import GaussianLikelihood, PerExampleGaussianLikelihood, split_gaussian
from ssvae.nets.blocks import check_mlp_layers

Z1_VARIANCES = ("per_unit", "per_example")


@dataclass(frozen=True)
class M1M2Options:
    alpha: float = 0.1                   # M2's α / N (see ssvae.models.m2)
    alpha_scale: str = "paper"           # paper | labelled | none; "paper" here, unlike M2 (m2.py)
    m1_checkpoint: str | None = None     # a saved M1 (or M1+M2) state dict: skips stage "m1"
    sample_z1: bool = False              # train M2 on z1 ~ q(z1|x) instead of E[z1|x]
    gaussian_sigma: float | None = None  # M1's Gaussian likelihood on colour images (None: learned)
    z1_sigma: float | None = None        # M2's Gaussian likelihood on z1 (None: learned per dim)
    z1_variance: str = "per_unit"        # per_unit: σ per dim (or z1_sigma); per_example: σ(y, z2)
    classifier_dropout: float = 0.0      # dropout in M2's q(y|z1)
    standardise_z1: bool = True          # M2 sees (z1 - mean) / std, stats from stage m2's 1st batch
    active_std: float | None = None      # M2 sees only units whose E[z1|x] varies more (None: all)
    m2_hidden_dim: int | None = None     # width of M2's mlp nets (None: config.hidden_dim, M1's)
    m2_hidden_layers: int = 2            # their hidden layers (Kingma et al.'s code: 1 of 300)

    def __post_init__(self) -> None:
        check_float("model_options.alpha", self.alpha, 0.0, 1e6)
        check_choice("model_options.alpha_scale", self.alpha_scale, ALPHA_SCALES)
        if self.m1_checkpoint is not None and not (isinstance(self.m1_checkpoint, str)
                                                   and os.path.isfile(self.m1_checkpoint)):
            raise ConfigError(f"model_options.m1_checkpoint={self.m1_checkpoint!r} is not a file; give "
                              "the path of a saved M1 state dict (e.g. RUN/best/model.pt of an m1 run)")
        for name in ("sample_z1", "standardise_z1"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"model_options.{name}={getattr(self, name)!r} must be true or false")
        for name in ("gaussian_sigma", "z1_sigma"):
            check_float(f"model_options.{name}", getattr(self, name), 0.0, 1e3, low_open=True, optional=True)
        check_float("model_options.classifier_dropout", self.classifier_dropout, 0.0, 0.95)
        check_choice("model_options.z1_variance", self.z1_variance, Z1_VARIANCES)
        if self.z1_variance == "per_example" and self.z1_sigma is not None:
            raise ConfigError(f"model_options.z1_sigma={self.z1_sigma!r} fixes σ of p(z1|y,z2), but "
                              "z1_variance='per_example' has the decoder give it; drop one of them")
        check_float("model_options.active_std", self.active_std, 0.0, 1e3, low_open=True, optional=True)
        check_int("model_options.m2_hidden_dim", self.m2_hidden_dim, 1, 65536, optional=True)
        check_mlp_layers(self.m2_hidden_layers, "model_options.m2_hidden_layers")


def _find_state(saved: Any) -> Mapping[str, torch.Tensor]:
    """A model state dict inside whatever was saved (plain, or under 'model'/'state_dict')."""
    for key in ("model", "state_dict", "best_model"):
        if isinstance(saved, Mapping) and key in saved and isinstance(saved[key], Mapping):
            return _find_state(saved[key])
    return saved


@functools.lru_cache(maxsize=32)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    """sha256 of a file's bytes (cached per path, size and modification time)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class M1M2(SemiSupervisedModel):
    """Stacked model: p(x|z1) p(z1|y,z2) p(y) p(z2); inference q(z1|x), then q(z2|z1,y) q(y|z1).

    - ``m1.encoder_z`` = q(z1|x), ``m1.decoder`` = p(x|z1): an M1 (``config.network`` family).
    - ``m2.encoder_y`` = q(y|z1), ``m2.encoder_z`` = q(z2|z1,y), ``m2.decoder`` = p(z1|y,z2): an M2
      on the feature vectors z1 (MLP nets, Gaussian likelihood on z1).
    Stage "m1" (select on validation loss): M1's -ELBO on every image. Stage "m2" (select on
    validation accuracy): M1 frozen, M2's losses on the features E[z1|x] (or samples of q(z1|x)
    with ``sample_z1``). ``m1_checkpoint`` loads a trained M1 and skips stage "m1".
    ``standardise_z1`` (default): M2 models z1' = (z1 - m) / s, with per-dimension m, s measured
    once on the first training batch of stage m2 (labelled + unlabelled images) and kept in the
    state dict (``z1_mean``, ``z1_std``). An affine change of variables, so the model is the same;
    it matters because a VAE with a partly collapsed posterior gives E[z1|x] of scale ~0.01, which
    M2's nets (default init) barely learn from, and per-unit scaling lifts inactive units to unit
    variance. One scale shared by all units leaves those units tiny, and M2's learned Gaussian
    likelihood then weights them by 1/σ² with σ → 0.
    With ``sample_z1`` (the paper's recipe: M2 is trained on samples of M1's posterior) m and s
    are those of the samples: an inactive unit's samples are prior noise of std ≈ 1, so s ≈ 1
    for it, and E[z1_u|x] at test time stays ≈ 0 after scaling.
    ``active_std`` (e.g. 0.1, the activity threshold of Burda et al. 2016: Cov_x(E[z_u|x]) >
    0.01) leaves M1's inactive units out of M2: units whose E[z1_u|x] has a std at or below it
    over that first batch are set to 0 in M2's inputs and left out of p(z1|y,z2) (a masked
    Gaussian likelihood). Such a unit's posterior is its prior, so it carries no information
    about x, yet after per-unit scaling it is as large as an active one. Off by default.
    ``z1_variance``: ``per_unit`` (default) gives p(z1|y,z2) one σ per unit of z1 (learned, or
    ``z1_sigma``); ``per_example`` has M2's decoder give σ(y, z2) beside the mean, as the
    "Gaussian MLP" decoders of Kingma et al. 2014 do (``PerExampleGaussianLikelihood``).
    ``m2_hidden_dim`` / ``m2_hidden_layers`` size M2's three mlp nets apart from M1's (default:
    M1's ``hidden_dim``, 2 hidden layers).
    Why these defaults (the measurements behind each choice, with their commands):
    ``results/mnist_anchor/README.md``, section "Why M1+M2's defaults".
    ``config.classifier`` must be ``mlp``: q(y|z1) acts on latent vectors.

    Labelled images ARE in the unlabelled pool: stage m1 is an unsupervised VAE on every image as
    in the paper; in stage m2 this counts each labelled image's p(z1) once more through U, a
    negligible double count when N_l ≪ N (one pool per model is all the loop supports).
    """

    options_cls = M1M2Options
    identity_version = 2                 # 2: with sample_z1, z1 is standardised by the samples' spread
    labelled_in_unlabelled_pool = True

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        cfg, opt = spec.config, spec.options
        if cfg.classifier != "mlp":
            raise ConfigError(f"classifier={cfg.classifier!r} does not apply to m1m2: q(y|z1) acts on "
                              "M1's latent vectors; leave classifier='mlp'")
        m1_config = cfg.replace(model="m1", model_options={})
        self.m1 = M1(ModelSpec(spec.image_shape, spec.n_classes, m1_config,
                               M1Options(gaussian_sigma=opt.gaussian_sigma)))
        m2_config = cfg.replace(model="m2", network="mlp", likelihood="gaussian", model_options={},
                                hidden_dim=opt.m2_hidden_dim or cfg.hidden_dim)
        masked = opt.active_std is not None
        if opt.z1_variance == "per_example":
            # p(z1|y,z2) = N(μ(y,z2), diag σ²(y,z2)): the decoder gives both (a "Gaussian MLP").
            likelihood = PerExampleGaussianLikelihood((cfg.latent_dim,), masked=masked)
        else:
            likelihood = GaussianLikelihood((cfg.latent_dim,), opt.z1_sigma, masked=masked)
        self.m2 = M2(ModelSpec((cfg.latent_dim,), spec.n_classes, m2_config,
                               M2Options(alpha=opt.alpha, alpha_scale=opt.alpha_scale,
                                         gaussian_sigma=opt.z1_sigma,
                                         classifier_dropout=opt.classifier_dropout,
                                         hidden_layers=opt.m2_hidden_layers)),
                     likelihood=likelihood)
        self.register_buffer("z1_mean", torch.zeros(cfg.latent_dim))
        self.register_buffer("z1_std", torch.ones(cfg.latent_dim))
        self.register_buffer("z1_stats_ready", torch.tensor(not opt.standardise_z1))
        if masked:
            # p(z1|y,z2) over the active units only; the mask is measured with the z1 statistics.
            self.z1_stats_ready.fill_(False)
        # The pool holds the labelled images too (see below): M2's α scale must know it.
        self.m2.labelled_in_unlabelled_pool = True
        if opt.m1_checkpoint:
            self.load_m1(opt.m1_checkpoint)
        self.set_stage(self.stage)

    def load_m1(self, path: str) -> None:
        state = _find_state(safe_load(path))
        if any(k.startswith("m1.") for k in state):
            state = {k[3:]: v for k, v in state.items() if k.startswith("m1.")}
        state = {k: v for k, v in state.items() if not k.endswith("_extra_state")}
        try:
            self._load_strict(state)
        except RuntimeError as err:
            raise ConfigError(f"model_options.m1_checkpoint={path!r} does not fit this M1 (same "
                              f"network, latent_dim, hidden_dim and image shape needed): {err}") from None

    def _load_strict(self, state: Mapping[str, torch.Tensor]) -> None:
        missing, unexpected = self.m1.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.endswith("_extra_state")]
        if missing or unexpected:
            raise RuntimeError(f"missing keys {missing}, unexpected keys {list(unexpected)}")

    # --- stages ----------------------------------------------------------------------------------
    @classmethod
    def identity_options(cls, options: dict) -> dict:
        """``m1_checkpoint`` enters the run's identity as the sha256 of the file's bytes, so one
        M1 gives one run_id wherever it lies (a relative or absolute path, another machine's
        folder); a path that is not a file here stays a path."""
        path = options.get("m1_checkpoint")
        if not isinstance(path, str) or not os.path.isfile(path):
            return options
        info = os.stat(path)
        digest = _file_sha256(os.path.realpath(path), info.st_size, info.st_mtime_ns)
        return {**options, "m1_checkpoint": f"sha256:{digest}"}

    def stages(self) -> tuple[Stage, ...]:
        m2 = Stage("m2", select_on="val_acc")
        if self.spec.options.m1_checkpoint:
            return (m2,)
        return (Stage("m1", select_on="val_loss", uses_labels=False), m2)

    def set_stage(self, name: str) -> None:
        if name not in ("m1", "m2"):
            raise ValueError(f"unknown stage {name!r} for m1m2; stages: m1, m2")
        super().set_stage(name)
        frozen = name == "m2"
        for p in self.m1.parameters():
            p.requires_grad_(not frozen)

    def stage_parameters(self) -> list[torch.nn.Parameter]:
        part = self.m1 if self.stage == "m1" else self.m2
        return [p for p in part.parameters() if p.requires_grad]

    def train(self, mode: bool = True) -> "M1M2":
        super().train(mode)
        if self.stage == "m2":
            self.m1.eval()               # frozen M1 (no dropout or noise of its own)
        return self

    def set_data_sizes(self, n_labelled: int, n_unlabelled: int) -> None:
        super().set_data_sizes(n_labelled, n_unlabelled)
        self.m2.set_data_sizes(n_labelled, n_unlabelled)

    # --- features and losses ----------------------------------------------------------------------
    def z1(self, x: torch.Tensor) -> torch.Tensor:
        """Features for M2: E[z1|x] (or a sample of q(z1|x) when training with sample_z1),
        standardised (see the class docstring). [B, Z1]"""
        with torch.no_grad():
            mu, logvar = split_gaussian(self.m1.encoder_z(x))
        z1 = mu
        if self.spec.options.sample_z1 and self.training:
            z1 = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        z1 = (z1 - self.z1_mean) / self.z1_std
        return z1 if self.z1_active is None else z1 * self.z1_active

    @property
    def z1_active(self) -> torch.Tensor | None:
        """1 for the units M2 sees, 0 for the inactive ones (``active_std``); None: all units."""
        return getattr(self.m2.likelihood, "mask", None)

    def _z1_to_m1(self, z1: torch.Tensor) -> torch.Tensor:
        if self.z1_active is not None:
            z1 = z1 * self.z1_active                   # inactive units at their mean
        return z1 * self.z1_std + self.z1_mean

    @torch.no_grad()
    def fit_z1_stats(self, x: torch.Tensor) -> None:
        """Once, at the start of stage m2, over x: with ``standardise_z1`` the per-unit mean and
        std of what M2 trains on: E[z1|x], or with ``sample_z1`` the samples z1 ~ q(z1|x), whose
        variance is Var_x(E[z1|x]) + E_x[Var(z1|x)] (the law of total variance); with
        ``active_std`` the units whose E[z1|x] has a std above it (the others are left out)."""
        mu, logvar = split_gaussian(self.m1.encoder_z(x))
        opt = self.spec.options
        if opt.standardise_z1:
            self.z1_mean.copy_(mu.mean(0))
            if mu.shape[0] > 1:
                var = mu.var(0) + (logvar.exp().mean(0) if opt.sample_z1 else 0.0)
                self.z1_std.copy_(var.sqrt().clamp(min=1e-6))
        if self.z1_active is not None and mu.shape[0] > 1:
            spread = mu.std(0)
            keep = spread > opt.active_std
            if not bool(keep.any()):
                raise ConfigError(f"model_options.active_std={opt.active_std} leaves no unit of M1: "
                                  f"the largest std of E[z1|x] is {spread.max().item():.3g}; lower it")
            self.z1_active.copy_(keep.float())
        self.z1_stats_ready.fill_(True)

    def step_loss(self, batch: Batch) -> LossOutput:
        if self.stage == "m2" and not bool(self.z1_stats_ready):
            parts = [batch.x_labelled] + ([batch.x_unlabelled] if batch.x_unlabelled is not None else [])
            self.fit_z1_stats(torch.cat(parts))
        return super().step_loss(batch)

    def labelled_loss(self, x: torch.Tensor, y: torch.Tensor) -> LossOutput:
        self._share_kl_weight()
        if self.stage == "m1":
            return self.m1.vae_loss(x)
        return self.m2.labelled_loss(self.z1(x), y)

    def unlabelled_loss(self, x: torch.Tensor) -> LossOutput:
        self._share_kl_weight()
        if self.stage == "m1":
            return self.m1.vae_loss(x)
        return self.m2.unlabelled_loss(self.z1(x))

    def _share_kl_weight(self) -> None:
        # The loop sets the warm-up weight on this wrapper only; both parts follow it.
        self.m1.kl_weight = self.m2.kl_weight = self.kl_weight

    @torch.no_grad()
    def classify(self, x: torch.Tensor) -> torch.Tensor:
        return self.m2.classify(self.z1(x))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """x -> z1 -> M2 reconstruction of z1 -> M1 decoder mean."""
        z1 = self._z1_to_m1(self.m2.reconstruct(self.z1(x)))
        return self.m1.likelihood.mean(self.m1.decoder(z1)).clamp(0, 1)

    @torch.no_grad()
    def sample(self, n_per_class: int) -> torch.Tensor:
        """Class-conditional: z1 from M2's p(z1|y,z2) (mean), decoded through M1's p(x|z1)."""
        z1 = self._z1_to_m1(self.m2.sample(n_per_class))
        return self.m1.likelihood.mean(self.m1.decoder(z1)).clamp(0, 1)
