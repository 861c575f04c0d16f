"""Finding and decoding image files of real collections (folder data, DESIGN.md §8).

Any case of extension; hidden files and folders (names starting with '.') and macOS
``__MACOSX`` folders are skipped; paths are sorted so the order is the same on every machine.
Every mode (RGB, gray, RGBA, LA, palette, CMYK, 16-bit) is converted to gray or RGB —
transparency composited on white — and resized (antialiased, aspect ratio not kept).
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ssvae.data.errors import DataError, DataWarning

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
SKIPPED_DIRS = frozenset({"__MACOSX"})
_WHITE = (255, 255, 255, 255)


def is_hidden(name: str) -> bool:
    return name.startswith(".") or name in SKIPPED_DIRS


def list_images(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursively), hidden ones left out, sorted by path."""
    def fail(err: OSError) -> None:  # os.walk would skip an unreadable folder silently
        raise DataError(f"cannot read folder {err.filename}: {err.strerror}")

    found = []
    for here, dirs, files in os.walk(folder, onerror=fail):
        dirs[:] = [d for d in dirs if not is_hidden(d)]
        found += [Path(here, f) for f in files
                  if not is_hidden(f) and Path(f).suffix.lower() in IMAGE_EXTENSIONS]
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def _to_mode(img: Image.Image, channels: int) -> Image.Image:
    """Any PIL mode -> 'L' (channels=1) or 'RGB' (channels=3)."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16-bit / float: scale, do not clip
        a = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") else max(float(a.max()), 1.0)
        img = Image.fromarray(np.clip(a * (255.0 / top), 0, 255).astype(np.uint8), "L")
    if img.mode == "P":
        img = img.convert("RGBA") if "transparency" in img.info else img.convert("RGB")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, _WHITE), rgba)
    return img.convert("L" if channels == 1 else "RGB")


def decode_image(path: Path, image_size: int, channels: int) -> np.ndarray:
    """One file -> uint8 [C, H, W]. Raises (OSError, ValueError, ...) for bad files."""
    with Image.open(path) as img:
        img.draft("RGB" if channels == 3 else "L", (image_size, image_size))  # fast JPEG shrink
        img.load()                               # truncated or corrupt data fails here
        img = ImageOps.exif_transpose(img)       # phone photos: apply the EXIF rotation
        img = _to_mode(img, channels)
        img = img.resize((image_size, image_size), Image.Resampling.BILINEAR)
        a = np.asarray(img, dtype=np.uint8)
    return a[None] if channels == 1 else np.ascontiguousarray(a.transpose(2, 0, 1))


def decode_all(paths: list[Path], image_size: int, channels: int
               ) -> tuple[np.ndarray, list[int], list[tuple[Path, str]]]:
    """Decode ``paths``; returns (uint8 [n_ok, C, H, W], positions of the good ones,
    [(path, reason)] of the unreadable ones)."""
    good, ok, bad = [], [], []
    for i, path in enumerate(paths):
        try:
            good.append(decode_image(path, image_size, channels))
            ok.append(i)
        except Exception as err:  # noqa: BLE001 - broken files raise many kinds; all reported
            if isinstance(err, ImportError):
                raise
            bad.append((path, f"{type(err).__name__}: {err}"))
    shape = (0, channels, image_size, image_size)
    return (np.stack(good) if good else np.zeros(shape, np.uint8)), ok, bad


def warn_skipped(bad: list[tuple[Path, str]], root: Path, show: int = 10) -> None:
    """ONE warning with the count and the names of unreadable files (never silent)."""
    if not bad:
        return
    names = [f"{p.relative_to(root).as_posix()} ({why})" for p, why in bad[:show]]
    more = f"; and {len(bad) - show} more" if len(bad) > show else ""
    warnings.warn(f"skipped {len(bad)} unreadable image file(s) under {root}: "
                  f"{'; '.join(names)}{more} (all listed in ImageData.skipped_files)",
                  DataWarning, stacklevel=4)
