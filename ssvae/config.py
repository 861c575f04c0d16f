"""The frozen, validated configuration of one training run (``TrainConfig``).

Every field is checked at construction; an error names the field, the bad value and what would
be valid. ``TrainConfig.from_dict`` rejects unknown keys with a did-you-mean suggestion.
Model-specific settings live in ``model_options`` and are validated by the options dataclass the
model registers (``ssvae.models``), so ``alpha`` is checked by M2, not here.

The run's identity (``run_id``) hashes only what changes its result: not the device, the number
of threads, the data location or log settings.
"""
from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import inspect
import io
import json
import textwrap
import tokenize
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from ssvae.registry import did_you_mean
from ssvae.validation import (ConfigError, check_bool, check_choice, check_float, check_int,
                              freeze, plain)

# What a run trains on: super-class labels (binary) or sub-class labels.
LABEL_MODES = ("binary", "subclass")
NETWORKS = ("mlp", "conv")
CLASSIFIERS = ("mlp", "conv", "vgg16")
LIKELIHOODS = ("auto", "bernoulli", "gaussian")
DEVICES = ("auto", "cpu", "cuda")
VGG16_MISSING = ("error", "scratch")
SELECT_ON = ("trained", "binary")

# Fields that do not change what a run computes (where it runs, how it logs, where data lies).
NON_IDENTITY_FIELDS = frozenset({"data_root", "download", "device", "threads", "flush_denormal",
                                 "progress"})
# Always part of a run's identity, even at their defaults.
DEFINING_FIELDS = frozenset({"dataset", "hierarchy", "model", "label_mode", "n_labels",
                             "label_fraction", "split_seed", "seed"})
IDENTITY_VERSION = 1          # bump when a default changes what a run computes


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """Each dataclass field's comment in the class source: the text after ``# `` on the field's
    line, with the comment-only lines indented below it (its continuation), joined; "" for a
    field without one. Help texts and option listings are generated from it, so they say what
    the code says. Base classes come first, so a subclass's own comment wins."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if dataclasses.is_dataclass(klass):
            docs.update(_own_field_docs(klass))
    return {f.name: docs.get(f.name, "") for f in fields(cls)}


def _own_field_docs(cls: type) -> dict[str, str]:
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):          # no source (e.g. a frozen app): no comments
        return {}
    comments: dict[int, tuple[int, str]] = {}      # line -> (column, text)
    code_lines: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = (tok.start[1], tok.string.lstrip("#").strip())
        elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                              tokenize.ENDMARKER):
            code_lines.add(tok.start[0])
    (klass,) = ast.parse(source).body
    docs: dict[str, str] = {}
    for stmt in klass.body:
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
            continue
        line = stmt.end_lineno
        if line not in comments:
            continue
        column, text = comments[line]
        parts = [text]
        # continuation: comment-only lines below, indented past the code (section headers such
        # as "# --- data ---" sit at the code's indent)
        line += 1
        while line in comments and line not in code_lines and comments[line][0] > stmt.col_offset:
            parts.append(comments[line][1])
            line += 1
        docs[stmt.target.id] = " ".join(parts)
    return docs


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines one training run. Defaults give a quick run on ``digits``."""

    # --- data ------------------------------------------------------------------------------
    dataset: str = "digits"               # data set name (registry: ssvae.data)
    data_root: str | None = None          # None: $SSVAE_DATA_ROOT (torchvision layout under it)
    download: bool = False                # torchvision data sets only; never in tests
    hierarchy: str | None = None          # None: the data set's default hierarchy
    hierarchy_file: str | None = None     # a user's own sub-class -> super-class mapping
    image_size: int | None = None         # folder data: resize to image_size x image_size
    channels: int | None = None           # folder data: 1 (gray) or 3 (RGB)
    # --- labels and split ------------------------------------------------------------------
    label_mode: str = "subclass"          # binary: super-class labels; subclass: sub-class labels
    n_labels: int | None = 100            # labelled images, balanced by sub-class
    label_fraction: float | None = None   # alternative to n_labels
    split_seed: int = 0                   # the label draw
    seed: int | None = None               # training seed; None: follows split_seed
    val_size: int | None = None           # None: the data set's standard validation part
    # --- model -----------------------------------------------------------------------------
    model: str = "m2"                     # model name (registry: ssvae.models)
    network: str = "mlp"                  # encoder/decoder family: mlp | conv (4 conv + 2 dense)
    classifier: str = "mlp"               # q(y|x) / head network: mlp | conv | vgg16
    latent_dim: int = 50                  # size of the latent code z
    hidden_dim: int = 500                 # units of each hidden dense layer
    likelihood: str = "auto"              # auto: bernoulli for 1 channel, gaussian otherwise
    model_options: Mapping[str, Any] = field(default_factory=dict)  # the model's own options
    vgg16_weights: str | None = None      # path to a state dict; None: torchvision's cache
    vgg16_missing: str = "error"          # what to do without ImageNet weights: error | scratch
    # --- optimisation ----------------------------------------------------------------------
    epochs: int = 50                      # upper bound; early stopping on validation
    patience: int = 10                    # epochs without validation improvement before stopping
    loss_rel_tol: float = 1e-3            # val_loss stages (M1's VAE): an epoch improves only if
                                          # it lowers the best loss by more than this fraction
    select_on: str = "trained"            # validation accuracy that selects the model: on the
                                          # labels trained on (trained) or super-classes (binary)
    batch_size: int = 128                 # unlabelled examples per step
    labelled_batch_size: int = 32         # labelled examples per step (cycled)
    min_steps_per_epoch: int = 50         # labelled-only stages: at least this many steps
    lr: float = 1e-3                      # Adam's learning rate
    weight_decay: float = 0.0             # Adam's L2 weight decay
    kl_warmup_epochs: int = 0             # linear KL warm-up, counted per optimiser step
    ema_decay: float = 0.0                # > 0: validation, selection, best/ and test use an
                                          # exponential moving average of the stage's weights
                                          # with this decay per step (ssvae/training/averaging.py); 0: off
    lr_decays: int = 0                    # > 0: when patience runs out, up to this many times go
                                          # back to the stage's best weights and go on at
                                          # lr * lr_decay_factor^k (ssvae/training/plateau.py); 0: stop
    lr_decay_factor: float = 0.1          # the learning rate's factor at each such decay
    max_stage_s: float | None = None      # wall-clock bound per stage, like ``epochs``: checked
                                          # after each epoch; a stage that reaches it ends as at
                                          # the epoch bound (metrics' ``stopped_by``: time_limit).
                                          # Part of the run's identity when set: such a result
                                          # depends on the machine's speed.
    # --- runtime (not part of the run's identity) -------------------------------------------
    device: str = "auto"                  # auto: cuda when available, else cpu
    threads: int | None = None            # torch CPU threads; None: leave torch's default
    flush_denormal: bool = True           # CPU: subnormal floats (< 1.2e-38) read and written as
                                          # 0 (FTZ/DAZ) while fit() runs (the caller's mode is
                                          # restored after): a matrix product on subnormal values
                                          # runs ~200x slower on x86, and M2's backward pass makes
                                          # them once q(y|x) is sharp (bench/denormal_speed.py).
                                          # False: IEEE floats.
    progress: bool = True                 # a progress bar on stderr while training

    def __post_init__(self) -> None:
        object.__setattr__(self, "model_options", freeze(dict(self.model_options or {})))
        for name in ("dataset", "model"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ConfigError(f"{name}={getattr(self, name)!r} must be a non-empty string")
        check_choice("label_mode", self.label_mode, LABEL_MODES)
        check_choice("network", self.network, NETWORKS)
        check_choice("classifier", self.classifier, CLASSIFIERS)
        check_choice("likelihood", self.likelihood, LIKELIHOODS)
        check_choice("device", self.device, DEVICES)
        check_choice("vgg16_missing", self.vgg16_missing, VGG16_MISSING)
        check_choice("select_on", self.select_on, SELECT_ON)
        if (self.n_labels is None) == (self.label_fraction is None):
            raise ConfigError(
                f"give exactly one of n_labels (now {self.n_labels!r}) and label_fraction "
                f"(now {self.label_fraction!r})"
            )
        check_int("n_labels", self.n_labels, 1, optional=True)
        check_float("label_fraction", self.label_fraction, 0.0, 1.0, low_open=True, optional=True)
        check_int("split_seed", self.split_seed, 0)
        check_int("seed", self.seed, 0, optional=True)
        check_int("val_size", self.val_size, 1, optional=True)
        check_int("image_size", self.image_size, 8, 1024, optional=True)
        if self.channels not in (None, 1, 3):
            raise ConfigError(f"channels={self.channels!r} must be 1 (gray), 3 (RGB) or None")
        check_int("latent_dim", self.latent_dim, 1, 4096)
        check_int("hidden_dim", self.hidden_dim, 1, 65536)
        check_int("epochs", self.epochs, 1)
        check_int("patience", self.patience, 1)
        check_int("batch_size", self.batch_size, 1)
        check_int("labelled_batch_size", self.labelled_batch_size, 1)
        check_int("min_steps_per_epoch", self.min_steps_per_epoch, 1)
        check_float("lr", self.lr, 0.0, 10.0, low_open=True)
        check_float("weight_decay", self.weight_decay, 0.0)
        check_int("kl_warmup_epochs", self.kl_warmup_epochs, 0)
        check_float("ema_decay", self.ema_decay, 0.0, 1.0, high_open=True)
        check_int("lr_decays", self.lr_decays, 0)
        check_float("lr_decay_factor", self.lr_decay_factor, 0.0, 1.0, low_open=True,
                     high_open=True)
        check_float("loss_rel_tol", self.loss_rel_tol, 0.0, 1.0)
        check_float("max_stage_s", self.max_stage_s, 0.0, low_open=True, optional=True)
        check_int("threads", self.threads, 1, optional=True)
        for name in ("download", "flush_denormal", "progress"):
            check_bool(name, getattr(self, name))

    # --- derived ---------------------------------------------------------------------------
    @property
    def train_seed(self) -> int:
        """The training seed: ``seed``, or the label draw's ``split_seed`` when unset."""
        return self.split_seed if self.seed is None else self.seed

    # --- (de)serialisation -----------------------------------------------------------------
    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "TrainConfig":
        """Build from a flat mapping; an unknown key is an error with a did-you-mean."""
        known = cls.field_names()
        for key in values:
            if key not in known:
                raise ConfigError(f"unknown config key {key!r}.{did_you_mean(key, known)} "
                                  f"Known keys: {', '.join(known)}")
        return cls(**dict(values))

    def to_dict(self) -> dict[str, Any]:
        return {f.name: plain(getattr(self, f.name)) for f in fields(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with some fields changed (validated again); dotted ``model_options.x`` keys
        update one model option."""
        options = dict(self.model_options)
        plain: dict[str, Any] = {}
        for key, value in changes.items():
            if key.startswith("model_options."):
                options[key.split(".", 1)[1]] = value
            else:
                plain[key] = value
        if "model_options" not in plain:
            plain["model_options"] = options
        unknown = [k for k in plain if k not in self.field_names()]
        if unknown:
            key = unknown[0]
            raise ConfigError(f"unknown config key {key!r}.{did_you_mean(key, self.field_names())}")
        return dataclasses.replace(self, **plain)

    def identity(self) -> dict[str, Any]:
        """The fields that change a run's result (used for ``run_id``): the defining fields,
        plus every other field whose value differs from its default. A field added later with a
        default that keeps the old behaviour therefore leaves earlier run_ids (the results
        cache) valid; changing a default's meaning must bump ``IDENTITY_VERSION``, or, when it
        concerns one model, that model's ``identity_version`` (other models' run_ids stay)."""
        defaults = TrainConfig().to_dict()
        values = {k: v for k, v in self.to_dict().items()
                  if k not in NON_IDENTITY_FIELDS and (k in DEFINING_FIELDS or v != defaults[k])}
        values["seed"] = self.train_seed
        values["identity_version"] = IDENTITY_VERSION
        model = _model_class(self.model)
        model_version = 1 if model is None else int(model.identity_version)
        if model_version > 1:            # absent at 1: run_ids from before the field stay valid
            values["model_version"] = model_version
        if model is not None and "model_options" in values:
            values["model_options"] = model.identity_options(values["model_options"])
        return values

    @property
    def run_id(self) -> str:
        """Hash of what changes the result: same config, same data => same id on any machine."""
        blob = json.dumps(self.identity(), sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def _model_class(name: str):
    """The registered model class, or None for a name the registry does not know (validation
    reports that elsewhere)."""
    from ssvae.models import MODELS            # lazy: the models import this module

    try:
        return MODELS.get(name)
    except KeyError:
        return None
