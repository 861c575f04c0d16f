"""The data layer: data sets behind one registry, label hierarchies, splits, batches.

``load_dataset(name, ...)`` -> ``ImageData`` (uint8 images held once in memory);
``data.hierarchy(name)`` -> ``LabelHierarchy``; ``make_split(data, n_labels=...)`` -> ``Split``
(saved and verified index file); ``BatchSource`` yields seeded ``Batch``es.
``python -m ssvae.data describe --dataset NAME`` shows all of it.
"""
from __future__ import annotations

# Importing the loader modules registers them in DATASETS (none imports torchvision eagerly).
from ssvae.data import cifar_svhn, digits, folder, torchvision_sets  # noqa: F401
from ssvae.data.batches import BatchSource, to_unit
from ssvae.data.errors import DataError, DataWarning, SplitError
from ssvae.data.hierarchy import LabelHierarchy, load_hierarchy_file
from ssvae.data.image_data import ImageData, adapt_images
from ssvae.data.registry import DATA_ROOT_ENV, DATASETS, load_dataset
from ssvae.data.split import SPLIT_DIR_ENV, Split, make_split, split_hash, validation_indices

__all__ = [
    "BatchSource", "DATA_ROOT_ENV", "DATASETS", "DataError", "DataWarning", "ImageData",
    "LabelHierarchy", "SPLIT_DIR_ENV", "Split", "SplitError", "adapt_images", "load_dataset",
    "load_hierarchy_file", "make_split", "split_hash", "to_unit", "validation_indices",
]
