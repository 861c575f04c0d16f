"""``RUN/best/``: the selected model with everything needed to use it, safe to share.

    best/model.pt         the model's state dict (tensors and plain data only)
    best/predictor.json   config, hierarchy, preprocessing, rejection score kind, format version
    best/validation.pt    validation class probabilities [N, K], sub-class labels [N] and
                          rejection scores [N]: thresholds for any goal, without retraining

``write_best`` writes the folder atomically; ``load_best`` reads it back with
``torch.load(weights_only=True)`` only (``ssvae.checkpoint.safe_load``), from wherever the folder
was copied: nothing in it points outside it.
"""
from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ssvae.checkpoint import CheckpointError, atomic_folder, safe_load
from ssvae.config import ConfigError, TrainConfig
from ssvae.data import LabelHierarchy, to_unit
from ssvae.models import build_model
from ssvae.models.base import SemiSupervisedModel
from ssvae.deploy.rejection import rejection_kind, rejection_scores
from ssvae.deploy.thresholds import Goal, ThresholdError, Thresholds, choose

FORMAT = "ssvae.best/1"
MANIFEST, WEIGHTS, VALIDATION = "predictor.json", "model.pt", "validation.pt"
PIXELS = "uint8 / 255 -> float in [0, 1]"
RESIZE = ("decoded with Pillow, EXIF rotation applied, converted to gray (L) or RGB with "
          "transparency on white, resized bilinear to size x size (aspect ratio not kept)")


@dataclass(frozen=True)
class ValidationScores:
    """What the selected model gave on the validation part (never the test part)."""

    probs: torch.Tensor         # [N, K] float32, K = classes trained on
    y_sub: torch.Tensor         # [N] int64 sub-class labels
    rejection: torch.Tensor     # [N] float32

    def for_positive(self, hierarchy: LabelHierarchy, label_mode: str, positive: str
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(score = P(positive super-class) [N], is_positive [N] bool, rejection [N])."""
        k = positive_index(hierarchy, positive)
        p_super = superclass_probs(self.probs, hierarchy, label_mode)
        return (p_super[:, k].numpy(), (hierarchy.collapse(self.y_sub) == k).numpy(),
                self.rejection.numpy())


def positive_index(hierarchy: LabelHierarchy, positive: str) -> int:
    if positive not in hierarchy.superclass_names:
        raise ValueError(f"positive super-class {positive!r} is not one of this model's "
                         f"super-classes: {', '.join(hierarchy.superclass_names)}")
    return hierarchy.superclass_names.index(positive)


def superclass_probs(probs: torch.Tensor, hierarchy: LabelHierarchy, label_mode: str) -> torch.Tensor:
    """[B, K] class probabilities -> [B, n_super] (sub-class probabilities are summed)."""
    return probs if label_mode == "binary" else hierarchy.collapse_probs(probs)


@torch.no_grad()
def model_scores(model: SemiSupervisedModel, x: torch.Tensor, device: torch.device,
                 batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """(probabilities [N, K], rejection scores [N]) of uint8 images ``x`` [N, C, H, W], on the CPU."""
    model.eval()
    probs, rejection = [], []
    for start in range(0, x.shape[0], batch_size):
        xb = to_unit(x[start:start + batch_size].to(device))
        p = model.classify(xb).float()
        probs.append(p.cpu())
        rejection.append(rejection_scores(model, xb, p).cpu())
    k = getattr(model, "n_classes", 0)
    return (torch.cat(probs) if probs else torch.zeros(0, k),
            torch.cat(rejection) if rejection else torch.zeros(0))


def thresholds_by_superclass(validation: ValidationScores, hierarchy: LabelHierarchy,
                             label_mode: str, goal: Goal) -> dict[str, Any]:
    """For each super-class as the positive one: its thresholds (``Thresholds.to_dict``), or
    ``{"error": why}`` where the validation scores cannot meet the goal."""
    out: dict[str, Any] = {}
    for name in hierarchy.superclass_names:
        try:
            out[name] = choose(*validation.for_positive(hierarchy, label_mode, name), goal,
                               name).to_dict()
        except ThresholdError as err:
            out[name] = {"error": str(err)}
    return out


def _hierarchy_dict(h: LabelHierarchy) -> dict[str, Any]:
    return {"name": h.name, "subclass_names": list(h.subclass_names),
            "superclass_names": list(h.superclass_names), "sub_to_super": list(h.sub_to_super)}


def write_best(folder: str | os.PathLike, model: SemiSupervisedModel, config: TrainConfig,
               hierarchy: LabelHierarchy, validation: ValidationScores) -> Path:
    """Write ``folder`` (see the module docstring), replacing it atomically."""
    c, h, w = model.spec.image_shape
    manifest = {
        "format": FORMAT, "run_id": config.run_id, "model": config.model,
        "model_version": int(model.identity_version), "label_mode": config.label_mode,
        "n_classes": int(validation.probs.shape[1]), "image_shape": [c, h, w],
        "hierarchy": _hierarchy_dict(hierarchy),
        "preprocessing": {"channels": c, "size": [h, w], "pixels": PIXELS, "decode": RESIZE},
        "rejection": rejection_kind(model), "validation_images": int(validation.y_sub.numel()),
        "config": config.to_dict(),
    }
    with atomic_folder(folder) as tmp:
        torch.save(model.state_dict(), tmp / WEIGHTS)
        torch.save({"probs": validation.probs.float().contiguous(),
                    "y_sub": validation.y_sub.long().contiguous(),
                    "rejection": validation.rejection.float().contiguous()}, tmp / VALIDATION)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return Path(folder)


@dataclass(frozen=True)
class Predictor:
    """A loaded ``best/`` folder: the model (eval mode, on ``device``) and its metadata."""

    model: SemiSupervisedModel
    config: TrainConfig
    hierarchy: LabelHierarchy
    manifest: dict[str, Any]
    validation: ValidationScores
    device: torch.device

    @property
    def image_shape(self) -> tuple[int, int, int]:
        c, h, w = self.manifest["image_shape"]
        return int(c), int(h), int(w)

    def thresholds(self, positive: str, goal: Goal) -> Thresholds:
        """Thresholds for ``goal`` chosen on the stored validation scores (never on test)."""
        return choose(*self.validation.for_positive(self.hierarchy, self.config.label_mode,
                                                    positive), goal, positive)


def _config_for_loading(values: dict[str, Any]) -> TrainConfig:
    """A run's config, to rebuild its trained model: no file outside ``best/`` is needed."""
    values = dict(values)
    options = dict(values.get("model_options") or {})
    if options.get("m1_checkpoint"):
        options["m1_checkpoint"] = None      # M1's weights are in model.pt; the file may be gone
    values["model_options"] = options
    values["vgg16_missing"] = "scratch"      # the weights come from model.pt, not ImageNet's file
    return TrainConfig.from_dict(values)


def _trained_model(config: TrainConfig, image_shape, n_classes: int, weights: Path
                   ) -> SemiSupervisedModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # "training VGG16 from scratch": not what happens here
        model = build_model(config, image_shape, n_classes)
    model.load_state_dict(safe_load(weights))
    return model.eval()


def upgrade_run(run: str | os.PathLike, data_root: str | None = None) -> Path:
    """Rebuild ``RUN/best/`` of a run written before ``best/`` was self-contained: the config
    from ``RUN/metrics.json``, the weights from ``RUN/best/model.pt`` (safe load), the
    validation scores computed again on the run's validation part (its split hash checked)."""
    from ssvae.training.inputs import run_inputs

    run = Path(run)
    try:
        metrics = json.loads((run / "metrics.json").read_text())
        values = json.loads(metrics["config_json"])
    except (OSError, ValueError, KeyError) as err:
        raise CheckpointError(f"{run} is not a finished run (no readable metrics.json with "
                              f"config_json: {err})") from None
    if data_root is not None:
        values["data_root"] = data_root
    config = _config_for_loading(values)
    data, hierarchy, split = run_inputs(config)
    if metrics.get("split_hash") not in (None, split.hash):
        raise CheckpointError(f"the data under {config.data_root!r} give split {split.hash}, the "
                              f"run used {metrics['split_hash']}: not the run's data")
    model = _trained_model(config, data.image_shape, hierarchy.n_classes(config.label_mode),
                           run / "best" / WEIGHTS)
    probs, rejection = model_scores(model, data.train_x[split.val_idx], torch.device("cpu"))
    try:
        as_trained = TrainConfig.from_dict(values)     # keeps the run_id, if its files exist
    except ConfigError:
        as_trained = config
    return write_best(run / "best", model, as_trained, hierarchy,
                      ValidationScores(probs, data.train_y[split.val_idx], rejection))


def read_manifest(folder: str | os.PathLike) -> dict[str, Any]:
    """``predictor.json`` of a ``best/`` folder, with a clear error for old or foreign folders."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint folder {folder} does not exist (give RUN/best)")
    if not path.is_file():
        hint = (" It holds model.pt only: it was written before ssvae made self-contained "
                "checkpoints. Rebuild it from its run (metrics.json and the run's data set): "
                f"python -m ssvae.checkpoint upgrade {folder.parent}"
                if (folder / WEIGHTS).is_file() else " Give the best/ folder of a run.")
        raise CheckpointError(f"{folder} has no {MANIFEST}.{hint}")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise CheckpointError(f"{path} has format {manifest.get('format')!r}; this ssvae reads "
                              f"{FORMAT!r}")
    return manifest


def load_best(folder: str | os.PathLike, device: torch.device | str = "cpu") -> Predictor:
    """Load a ``best/`` folder written by ``write_best`` (safe loads only)."""
    folder, device = Path(folder), torch.device(device)
    manifest = read_manifest(folder)
    config = _config_for_loading(manifest["config"])
    h = manifest["hierarchy"]
    hierarchy = LabelHierarchy(h["name"], h["subclass_names"], h["superclass_names"],
                               h["sub_to_super"])
    model = _trained_model(config, manifest["image_shape"], int(manifest["n_classes"]),
                           folder / WEIGHTS)
    saved = safe_load(folder / VALIDATION)
    validation = ValidationScores(saved["probs"], saved["y_sub"], saved["rejection"])
    return Predictor(model.to(device).eval(), config, hierarchy, manifest, validation, device)
