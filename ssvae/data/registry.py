"""The data-set registry and the one factory, ``load_dataset``.

A loader is registered as ``@DATASETS.register("name")`` and called as
``loader(root=..., download=..., image_size=..., channels=..., **options)`` -> ``ImageData``.
"""
from __future__ import annotations

import dataclasses
import inspect
import os
from pathlib import Path
from typing import Any, Callable

from ssvae.data.errors import DataError, DataMissing
from ssvae.data.image_data import ImageData
from ssvae.registry import Registry

DATA_ROOT_ENV = "SSVAE_DATA_ROOT"

PathArg = str | os.PathLike | None
Loader = Callable[..., ImageData]
DATASETS: Registry[Loader] = Registry("data set")


def resolve_root(root: PathArg, dataset: str) -> Path:
    """``root``, else ``$SSVAE_DATA_ROOT``, else an error saying how to give one."""
    if root is None:
        root = os.environ.get(DATA_ROOT_ENV) or None
    if root is None:
        raise DataMissing(f"data set {dataset!r} needs a data folder: pass --data-root DIR "
                        f"(root=...) or set the environment variable {DATA_ROOT_ENV}")
    path = Path(root).expanduser()
    if not path.is_dir():
        raise DataError(f"data folder {str(path)!r} for data set {dataset!r} does not exist "
                        f"or is not a folder (resolved: {path.resolve()})")
    return path


def load_dataset(name: str, root: PathArg = None, download: bool = False,
                 image_size: int | None = None, channels: int | None = None,
                 hierarchy_file: PathArg = None, **options: Any) -> ImageData:
    """Load a registered data set into memory.

    ``image_size``/``channels`` resize and convert the images (``None``: the data set's own;
    folder data defaults to 32 and 3). ``hierarchy_file`` adds a user hierarchy (YAML/JSON) and
    makes it the default. ``options`` go to the loader (e.g. ``test_fraction`` for ``folder``).
    """
    loader = DATASETS.get(name)
    accepted = [p for p in inspect.signature(loader).parameters
                if p not in ("root", "download", "image_size", "channels")]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise DataError(f"data set {name!r} takes no option(s) {unknown}; its options: "
                        f"{accepted or 'none'}")
    data = loader(root=root, download=download, image_size=image_size, channels=channels,
                  **options)
    if hierarchy_file is not None:
        h = data.hierarchy(file=hierarchy_file)
        if h.name in data.hierarchies:
            raise DataError(f"hierarchy {h.name!r} from {str(hierarchy_file)!r} clashes with a "
                            f"built-in hierarchy of {name!r} ({', '.join(data.hierarchies)}); "
                            f"rename it in the file")
        data = dataclasses.replace(data, hierarchies={**data.hierarchies, h.name: h},
                                   default_hierarchy=h.name)
    return data
