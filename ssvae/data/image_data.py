"""``ImageData``: one data set held in memory as uint8 tensors, with its label hierarchies."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import torch

from ssvae.data.errors import DataError
from ssvae.data.hierarchy import LabelHierarchy, load_hierarchy_file
from ssvae.registry import unknown_name_message


@dataclass(frozen=True, eq=False)
class ImageData:
    """Images [N, C, H, W] uint8 and sub-class labels [N] int64.

    ``standard_val_size``: the standard validation part is the LAST n images of ``train_x``
    (MNIST: 10000); ``None`` when the data set has none (``make_split`` then needs ``val_size``).
    """

    name: str
    train_x: torch.Tensor                        # [N, C, H, W] uint8
    train_y: torch.Tensor                        # [N] int64 sub-class ids
    test_x: torch.Tensor                         # [T, C, H, W] uint8
    test_y: torch.Tensor                         # [T] int64
    extra_unlabelled_x: torch.Tensor | None      # [M, C, H, W] uint8 or None
    subclass_names: tuple[str, ...]
    hierarchies: Mapping[str, LabelHierarchy]
    default_hierarchy: str
    standard_val_size: int | None
    source: str = ""                             # where the images were read from
    skipped_files: tuple[str, ...] = ()          # unreadable files (folder data), reported once
    train_files: tuple[str, ...] | None = None   # per-image relative paths (folder data)
    test_files: tuple[str, ...] | None = None
    unlabelled_files: tuple[str, ...] | None = None
    content_id: str | None = None                # for data whose content varies (folder data):
                                                 # a short hash, part of split file names
    notes: tuple[str, ...] = field(default=())   # how test/validation parts were made, etc.

    def __post_init__(self) -> None:
        object.__setattr__(self, "subclass_names", tuple(self.subclass_names))
        object.__setattr__(self, "hierarchies", MappingProxyType(dict(self.hierarchies)))
        n_sub = len(self.subclass_names)
        shape = None
        for part in ("train", "test", "extra_unlabelled"):
            x = getattr(self, f"{part}_x")
            if x is None:
                continue
            if not isinstance(x, torch.Tensor) or x.dtype != torch.uint8 or x.dim() != 4:
                raise DataError(f"{self.name}: {part}_x must be a uint8 tensor [N, C, H, W], got "
                                f"{getattr(x, 'dtype', type(x))} {tuple(getattr(x, 'shape', ()))}")
            if shape is not None and tuple(x.shape[1:]) != shape:
                raise DataError(f"{self.name}: {part}_x has image shape {tuple(x.shape[1:])}, "
                                f"train_x has {shape}")
            shape = tuple(x.shape[1:])
            if part == "extra_unlabelled":
                continue
            y = getattr(self, f"{part}_y")
            if not isinstance(y, torch.Tensor) or y.dtype != torch.int64 or y.shape != x.shape[:1]:
                raise DataError(f"{self.name}: {part}_y must be int64 [{x.shape[0]}], got "
                                f"{getattr(y, 'dtype', type(y))} {tuple(getattr(y, 'shape', ()))}")
            if len(y) and (int(y.min()) < 0 or int(y.max()) >= n_sub):
                raise DataError(f"{self.name}: {part}_y holds labels outside 0..{n_sub - 1}")
        for files, x in ((self.train_files, self.train_x), (self.test_files, self.test_x),
                         (self.unlabelled_files, self.extra_unlabelled_x)):
            if files is not None and (x is None or len(files) != len(x)):
                raise DataError(f"{self.name}: {len(files)} file names for "
                                f"{0 if x is None else len(x)} images")
        if self.default_hierarchy not in self.hierarchies:
            raise DataError(f"{self.name}: default hierarchy {self.default_hierarchy!r} is not "
                            f"one of {sorted(self.hierarchies)}")
        for h in self.hierarchies.values():
            if h.subclass_names != self.subclass_names:
                raise DataError(f"{self.name}: hierarchy {h.name!r} has sub-classes "
                                f"{h.subclass_names}, the data set has {self.subclass_names}")
        v = self.standard_val_size
        if v is not None and not 0 < v < len(self.train_y):
            raise DataError(f"{self.name}: standard_val_size={v} must be in "
                            f"1..{len(self.train_y) - 1}")

    # MappingProxyType cannot be pickled (Ray, multiprocessing): pickle a plain dict instead.
    def __getstate__(self) -> dict:
        return {**self.__dict__, "hierarchies": dict(self.hierarchies)}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, hierarchies=MappingProxyType(state["hierarchies"]))

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W)."""
        c, h, w = self.train_x.shape[1:]
        return int(c), int(h), int(w)

    @property
    def n_subclasses(self) -> int:
        return len(self.subclass_names)

    def hierarchy(self, name: str | None = None, file: str | Path | None = None) -> LabelHierarchy:
        """A named hierarchy (``None``: the default) or one read from a YAML/JSON ``file``."""
        if file is not None:
            h = load_hierarchy_file(file, self.subclass_names)
            if name is not None and name != h.name:
                raise DataError(f"hierarchy file {str(file)!r} defines {h.name!r}, "
                                f"not the requested {name!r}")
            return h
        name = self.default_hierarchy if name is None else name
        if name not in self.hierarchies:
            raise DataError(unknown_name_message(f"hierarchy for data set {self.name!r}",
                                                 name, self.hierarchies))
        return self.hierarchies[name]


def adapt_images(x: torch.Tensor, image_size: int | None, channels: int | None,
                 chunk: int = 8192) -> torch.Tensor:
    """Resize uint8 images [N, C, H, W] to ``image_size`` (square, antialiased bilinear) and
    convert to ``channels`` (1: luma, 3: gray repeated). ``None`` keeps that property."""
    c, h, w = x.shape[1:]
    if channels not in (None, 1, 3):
        raise DataError(f"channels={channels!r} must be 1 (gray), 3 (RGB) or None")
    if image_size is not None and (isinstance(image_size, bool) or not isinstance(image_size, int)
                                   or image_size < 1):
        raise DataError(f"image_size={image_size!r} must be a positive integer or None")
    size = (h, w) if image_size is None else (image_size, image_size)
    out_c = c if channels is None else channels
    if size == (h, w) and out_c == c:
        return x
    parts = []
    for start in range(0, x.shape[0], chunk):  # bounded float memory for big sets
        xb = x[start:start + chunk].float()   # [b, C, H, W]
        if out_c == 1 and c == 3:
            weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
            xb = (xb * weights).sum(1, keepdim=True)
        elif out_c == 3 and c == 1:
            xb = xb.expand(-1, 3, -1, -1)
        elif out_c != c:
            raise DataError(f"cannot convert {c}-channel images to {out_c} channels")
        if size != (h, w):
            xb = torch.nn.functional.interpolate(xb, size=size, mode="bilinear",
                                                 align_corners=False, antialias=True)
        parts.append(xb.round().clamp_(0, 255).to(torch.uint8))
    return torch.cat(parts) if parts else x.new_zeros((0, out_c, *size))
