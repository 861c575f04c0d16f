"""The images and labels one run trains and validates on, assembled from its config.

``fit()`` and every script that replays part of a run (the benchmarks, the probes under
``results/``) build them here, so they all see the same split, the same unlabelled pool and the
same label mode as training did:

- ``run_inputs(config)``: the data set (cached per process), its class hierarchy and the split.
- ``training_arrays(model, data, split, hierarchy, label_mode)``: labelled images with their
  labels in the run's label mode, the unlabelled pool, the validation images with their
  sub-class labels; it also tells the model the sizes of the labelled and unlabelled sets (M2
  scales α from them).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from ssvae.config import TrainConfig
from ssvae.data import make_split


# The in-process data cache: a reused Ray worker loads a data set once, not once per trial.
@functools.lru_cache(maxsize=4)
def _load(dataset: str, root: str | None, download: bool, image_size: int | None,
          channels: int | None, hierarchy_file: str | None):
    from ssvae.data import load_dataset

    return load_dataset(dataset, root=root, download=download, image_size=image_size,
                        channels=channels, hierarchy_file=hierarchy_file)


def load_data_cached(config: TrainConfig):
    """The data set of a config, loaded once per process."""
    return _load(config.dataset, config.data_root, config.download, config.image_size,
                 config.channels, config.hierarchy_file)


@dataclass(frozen=True)
class TrainingArrays:
    """uint8 images [n, C, H, W] and int64 labels [n] of one run."""

    x_labelled: torch.Tensor
    y_labelled: torch.Tensor        # in the run's label mode (binary: collapsed)
    x_unlabelled: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor             # sub-class labels: validation collapses them itself


def run_inputs(config: TrainConfig):
    """(data, hierarchy, split) of ``config``: its data set, class hierarchy and label split."""
    data = load_data_cached(config)
    hierarchy = data.hierarchy(config.hierarchy, file=config.hierarchy_file)
    split = make_split(data, n_labels=config.n_labels, label_fraction=config.label_fraction,
                       split_seed=config.split_seed, val_size=config.val_size)
    return data, hierarchy, split


def unlabelled_pool(model, data, split) -> torch.Tensor:
    """The images of the unlabelled term (uint8): the split's unlabelled part, plus the labelled
    images for models that count them there, plus the data set's extra unlabelled images."""
    pool = split.unlabelled_idx
    if model.labelled_in_unlabelled_pool:
        pool = torch.cat([pool, split.labelled_idx]).sort().values
    parts = [data.train_x[pool]]
    if data.extra_unlabelled_x is not None:
        parts.append(data.extra_unlabelled_x)
    return torch.cat(parts)


def training_arrays(model, data, split, hierarchy, label_mode: str) -> TrainingArrays:
    """The run's arrays (see the module docstring); sets the model's data sizes."""
    y_labelled = data.train_y[split.labelled_idx]
    if label_mode == "binary":
        y_labelled = hierarchy.collapse(y_labelled)
    arrays = TrainingArrays(x_labelled=data.train_x[split.labelled_idx], y_labelled=y_labelled,
                            x_unlabelled=unlabelled_pool(model, data, split),
                            x_val=data.train_x[split.val_idx], y_val=data.train_y[split.val_idx])
    model.set_data_sizes(arrays.x_labelled.shape[0], arrays.x_unlabelled.shape[0])
    return arrays
