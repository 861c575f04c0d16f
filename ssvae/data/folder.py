"""A user's own images: ``root/<super-class>/<sub-class>/**/<image>``.

Optional: ``root/unlabelled/**/<image>`` (extra unlabelled images) and
``root/test/<super-class>/<sub-class>/**/<image>`` (a separate test set). Without a test
folder, a stratified ``test_fraction`` of the labelled images is carved out with a fixed seed;
then a stratified ``val_fraction`` of the rest becomes the standard validation part, placed LAST
in ``train_x``. The hierarchy ``folder`` maps each sub-class to its top folder; a sub-class name
used under two super-classes is qualified as ``super/sub``. Unreadable files are skipped and
reported in one warning (and in ``ImageData.skipped_files``).
"""
from __future__ import annotations

import hashlib
import warnings
from collections import Counter
from pathlib import Path
from types import MappingProxyType

import numpy as np
import torch

from ssvae.data.errors import DataError, DataWarning
from ssvae.data.hierarchy import LabelHierarchy
from ssvae.data.image_data import ImageData
from ssvae.data.images import IMAGE_EXTENSIONS, decode_all, is_hidden, list_images, warn_skipped
from ssvae.data.registry import DATASETS, PathArg
from ssvae.data.sampling import carve

UNLABELLED_DIR, TEST_DIR = "unlabelled", "test"
TEST_SEED, VAL_SEED = 20_240_911, 20_240_912  # fixed: the same tree always gives the same parts


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not is_hidden(p.name))


def _scan_labelled(base: Path, names: dict[tuple[str, str], int] | None
                   ) -> tuple[list[Path], list[int], list[tuple[str, str]], list[Path]]:
    """Walk ``base/<super>/<sub>/**``. With ``names`` (the training classes) unknown classes are
    an error. Returns (files, class ids, [(super, sub)] in id order, stray files)."""
    classes: list[tuple[str, str]] = []
    files, labels = [], []
    stray = [p for p in base.iterdir() if p.is_file() and not is_hidden(p.name)
             and p.suffix.lower() in IMAGE_EXTENSIONS]
    for sup in _subdirs(base):
        if names is None and sup.name in (UNLABELLED_DIR, TEST_DIR):
            continue
        stray += [p for p in sup.iterdir() if p.is_file() and not is_hidden(p.name)
                  and p.suffix.lower() in IMAGE_EXTENSIONS]
        subs = _subdirs(sup)
        if not subs and names is None:
            raise DataError(f"super-class folder {str(sup)!r} has no sub-class folders; the "
                            f"layout is root/<super-class>/<sub-class>/**/<image>")
        for sub in subs:
            key = (sup.name, sub.name)
            if names is None:
                classes.append(key)
                cid = len(classes) - 1
            elif key in names:
                cid = names[key]
            else:
                known = sorted(f"{a}/{b}" for a, b in names)
                raise DataError(f"test folder class {sup.name}/{sub.name} ({sub}) is not a "
                                f"training class; known: {', '.join(known)}")
            found = list_images(sub)
            files += found
            labels += [cid] * len(found)
    return files, labels, classes, stray


def _class_names(classes: list[tuple[str, str]]) -> tuple[str, ...]:
    """Sub-class names; qualified as 'super/sub' where a name is used under two super-classes."""
    uses = Counter(sub for _, sub in classes)
    return tuple(f"{sup}/{sub}" if uses[sub] > 1 else sub for sup, sub in classes)


def _decode(files: list[Path], labels: list[int], size: int, channels: int, root: Path,
            bad_all: list[tuple[Path, str]]) -> tuple[torch.Tensor, np.ndarray, list[str]]:
    x, ok, bad = decode_all(files, size, channels)
    bad_all += bad
    rel = [files[i].relative_to(root).as_posix() for i in ok]
    return torch.from_numpy(x), np.asarray(labels, dtype=np.int64)[ok], rel


@DATASETS.register("folder")
def load_folder(root: PathArg = None, download: bool = False, image_size: int | None = None,
                channels: int | None = None, test_fraction: float = 0.2,
                val_fraction: float = 0.2) -> ImageData:
    """Images of a folder tree, resized to ``image_size`` (default 32) with ``channels``
    (default 3); see the module docstring for the layout."""
    if root is None:
        raise DataError("data set 'folder' needs the image tree: pass --data-root DIR (root=...)")
    if download:
        raise DataError("data set 'folder' cannot be downloaded; point --data-root at your images")
    for name, frac in (("test_fraction", test_fraction), ("val_fraction", val_fraction)):
        if not 0.0 <= frac < 1.0:
            raise DataError(f"{name}={frac!r} must be in [0, 1)")
    size, channels = image_size or 32, channels or 3
    if channels not in (1, 3):
        raise DataError(f"channels={channels!r} must be 1 (gray) or 3 (RGB)")
    base = Path(root).expanduser()
    if not base.is_dir():
        raise DataError(f"folder data root {str(base)!r} does not exist or is not a folder")

    files, labels, classes, stray = _scan_labelled(base, None)
    if len({sup for sup, _ in classes}) < 2:
        raise DataError(f"{base} needs at least 2 super-class folders, found "
                        f"{sorted({sup for sup, _ in classes})} (reserved: {UNLABELLED_DIR}/, "
                        f"{TEST_DIR}/); layout: root/<super-class>/<sub-class>/**/<image>")
    names = _class_names(classes)
    bad: list[tuple[Path, str]] = []
    x, y, rel = _decode(files, labels, size, channels, base, bad)
    empty = [names[c] for c in range(len(names)) if not (y == c).any()]
    if empty:
        raise DataError(f"sub-class folder(s) with no readable image: {empty} under {base}; "
                        f"add images or remove the folder(s)")

    notes = []
    test_dir = base / TEST_DIR
    if test_dir.is_dir():
        t_files, t_labels, _, t_stray = _scan_labelled(
            test_dir, {c: i for i, c in enumerate(classes)})
        stray += t_stray
        test_x, test_y, test_rel = _decode(t_files, t_labels, size, channels, base, bad)
        train = np.arange(len(y))
        notes.append(f"test: the {len(test_y)} images of {TEST_DIR}/")
    else:
        train, test = carve(y, test_fraction, TEST_SEED)
        test_x, test_y, test_rel = x[torch.from_numpy(test)], y[test], [rel[i] for i in test]
        notes.append(f"test: stratified {test_fraction:.0%} of the labelled images "
                     f"(seed {TEST_SEED})")
    keep, val = carve(y[train], val_fraction, VAL_SEED)
    order = np.concatenate([train[keep], train[val]])  # validation last
    notes.append(f"validation: stratified {val_fraction:.0%} of the rest (seed {VAL_SEED}), the "
                 f"last {len(val)} training images")

    u_files = list_images(base / UNLABELLED_DIR) if (base / UNLABELLED_DIR).is_dir() else []
    u_x, _, u_rel = _decode(u_files, [0] * len(u_files), size, channels, base, bad)
    warn_skipped(bad, base)
    if stray:
        warnings.warn(f"ignored {len(stray)} image(s) lying outside a sub-class folder "
                      f"(layout: root/<super-class>/<sub-class>/**/<image>): "
                      f"{', '.join(p.relative_to(base).as_posix() for p in stray[:10])}",
                      DataWarning, stacklevel=3)

    train_rel = tuple(rel[i] for i in order)
    ident = hashlib.sha256(repr((train_rel, y[order].tolist(), test_rel)).encode()).hexdigest()[:8]
    supers = tuple(sorted({sup for sup, _ in classes}))
    hierarchy = LabelHierarchy("folder", names, supers, [supers.index(s) for s, _ in classes])
    return ImageData(
        name="folder", train_x=x[torch.from_numpy(order)], train_y=torch.from_numpy(y[order]),
        test_x=test_x, test_y=torch.as_tensor(test_y, dtype=torch.int64),
        extra_unlabelled_x=u_x if len(u_rel) else None, subclass_names=names,
        hierarchies=MappingProxyType({"folder": hierarchy}), default_hierarchy="folder",
        standard_val_size=len(val) or None, source=str(base),
        skipped_files=tuple(p.relative_to(base).as_posix() for p, _ in bad),
        train_files=train_rel, test_files=tuple(test_rel),
        unlabelled_files=tuple(u_rel) if u_rel else None, content_id=ident, notes=tuple(notes),
    )
