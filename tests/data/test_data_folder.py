"""The folder loader on a generated tree holding every case of DESIGN.md §8."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ssvae.data import DataError, DataWarning, SplitError, load_dataset, make_split
from ssvae.data.images import decode_image, list_images

BAD = ("animals/dogs/broken.jpg", "animals/dogs/truncated.png", "unlabelled/bad.png")


def test_classes_and_hierarchy(folder_data) -> None:
    # 'cats' is under both super-classes, so it is qualified; the others are not
    assert folder_data.subclass_names == ("animals/cats", "dogs", "objects/cats", "flags", "tiny")
    h = folder_data.hierarchy()
    assert h.name == "folder" and folder_data.default_hierarchy == "folder"
    assert h.superclass_names == ("animals", "objects") and h.sub_to_super == (0, 0, 1, 1, 1)


def test_images_and_counts(folder_data) -> None:
    assert folder_data.image_shape == (3, 32, 32) and folder_data.train_x.dtype == torch.uint8
    y = torch.cat([folder_data.train_y, folder_data.test_y])
    # 10 per class; flags + a transparent palette PNG + a 16-bit PNG; tiny has 2; dogs lost 2
    assert torch.bincount(y).tolist() == [10, 10, 10, 12, 2]
    assert len(folder_data.test_y) == round(0.2 * 44) and folder_data.standard_val_size == 7
    assert folder_data.extra_unlabelled_x.shape == (7, 3, 32, 32)
    assert len(folder_data.unlabelled_files) == 7 and "unlabelled/batch2/u1.jpg" in \
        folder_data.unlabelled_files


def test_file_cases(folder_data) -> None:
    files = folder_data.train_files + folder_data.test_files
    assert len(set(files)) == len(files) == 44
    assert set(folder_data.train_files).isdisjoint(folder_data.test_files)
    assert not any("/." in f or f.startswith(".") for f in files)         # hidden: skipped
    assert not any(f.endswith(".txt") for f in files)                     # not an image
    assert "animals/stray.png" not in files                               # not in a sub-class
    for ext in (".PNG", ".JPEG", ".Png", ".jpg", ".gif", ".bmp", ".png"):   # any case
        assert any(f.endswith(ext) for f in files), ext
    assert any("/nested/deeper/" in f for f in files)                     # nested folders
    for dup in ("animals/cats/img001.PNG", "animals/dogs/img001.PNG", "objects/cats/img001.PNG"):
        assert dup in files                                               # duplicate names
    assert folder_data.skipped_files == BAD


def test_one_warning_names_unreadable_files(folder_tree) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_dataset("folder", root=folder_tree, image_size=8)
    unreadable = [w for w in caught if "unreadable" in str(w.message)]
    assert len(unreadable) == 1 and issubclass(unreadable[0].category, DataWarning)
    msg = str(unreadable[0].message)
    assert "skipped 3 unreadable" in msg and all(b in msg for b in BAD)
    stray = [w for w in caught if "outside a sub-class folder" in str(w.message)]
    assert len(stray) == 1 and "animals/stray.png" in str(stray[0].message)
    assert "top.png" in str(stray[0].message)


def test_deterministic_and_resized(folder_tree, folder_data) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        again = load_dataset("folder", root=folder_tree)
        small = load_dataset("folder", root=folder_tree, image_size=12, channels=1)
    assert again.train_files == folder_data.train_files
    assert torch.equal(again.train_x, folder_data.train_x)
    assert again.content_id == folder_data.content_id
    assert small.image_shape == (1, 12, 12) and small.train_files == folder_data.train_files
    n_val = folder_data.standard_val_size
    body = list(folder_data.train_files[:-n_val])
    assert body == sorted(body)                                           # sorted paths
    val_y = folder_data.train_y[-n_val:]
    assert len(torch.unique(val_y)) >= 4                                  # stratified


def test_tiny_class_budget_error_names_it(folder_data, tmp_path) -> None:
    with pytest.raises(SplitError, match=r"3 per sub-class.*'tiny' has \d image"):
        make_split(folder_data, n_labels=15, cache_dir=tmp_path)
    split = make_split(folder_data, n_labels=5, cache_dir=tmp_path)       # 1 per class: fine
    assert torch.bincount(folder_data.train_y[split.labelled_idx]).tolist() == [1] * 5
    assert split.path.name.startswith(f"folder-{folder_data.content_id}_n5_seed0")


def test_decode_modes(tmp_path) -> None:
    clear = Image.new("RGBA", (20, 10), (0, 0, 0, 0))                      # fully transparent
    clear.save(tmp_path / "clear.png")
    assert (decode_image(tmp_path / "clear.png", 8, 3) == 255).all()      # composited on white
    pal = Image.new("P", (6, 6), 0)
    pal.putpalette([0, 0, 0, 200, 10, 10] + [0] * 762)
    pal.putpixel((0, 0), 1)
    pal.save(tmp_path / "pal.png", transparency=0)
    a = decode_image(tmp_path / "pal.png", 6, 3)                          # [3, 6, 6]
    assert a[:, 5, 5].tolist() == [255, 255, 255] and a[:, 0, 0].tolist() == [200, 10, 10]
    Image.new("L", (5, 9), 100).save(tmp_path / "gray.JPG", "JPEG")
    g = decode_image(tmp_path / "gray.JPG", 4, 3)
    assert g.shape == (3, 4, 4) and (g[0] == g[1]).all() and abs(int(g.mean()) - 100) <= 2
    Image.fromarray(np.full((4, 4), 32768, np.uint16)).save(tmp_path / "deep.png")
    assert abs(int(decode_image(tmp_path / "deep.png", 4, 1).mean()) - 128) <= 1  # not clipped
    Image.new("RGB", (4, 4), (255, 0, 0)).save(tmp_path / "red.webp", "WEBP", lossless=True)
    assert decode_image(tmp_path / "red.webp", 4, 1).shape == (1, 4, 4)
    assert [p.name for p in list_images(tmp_path)] == ["clear.png", "deep.png", "gray.JPG",
                                                       "pal.png", "red.webp"]


def _tree(root: Path, spec: dict[str, int]) -> Path:
    for rel, n in spec.items():
        (root / rel).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.new("RGB", (8, 8), (i * 20, 0, 0)).save(root / rel / f"{i}.png")
    return root


def test_separate_test_folder(tmp_path) -> None:
    root = _tree(tmp_path, {"a/x": 6, "b/y": 6, "test/a/x": 2, "test/b/y": 3})
    data = load_dataset("folder", root=root, image_size=8, val_fraction=0.25)
    assert len(data.test_y) == 5 and data.test_y.tolist() == [0, 0, 1, 1, 1]
    assert len(data.train_y) == 12 and data.standard_val_size == 3
    assert data.test_files[0] == "test/a/x/0.png" and data.extra_unlabelled_x is None
    _tree(tmp_path, {"test/b/zzz": 1})
    with pytest.raises(DataError, match="test folder class b/zzz .* not a training class"):
        load_dataset("folder", root=root)


@pytest.mark.parametrize("spec, kwargs, match", [
    ({"a/x": 3}, {}, "at least 2 super-class folders"),
    ({"a/x": 3, "b": 0}, {}, "has no sub-class folders"),
    ({"a/x": 3, "b/y": 0}, {}, r"no readable image: \['y'\]"),
    ({"a/x": 3, "b/y": 3}, {"test_fraction": 1.5}, r"test_fraction=1.5 must be in \[0, 1\)"),
    ({"a/x": 3, "b/y": 3}, {"channels": 2}, "channels=2"),
    ({"a/x": 3, "b/y": 3}, {"download": True}, "cannot be downloaded"),
])
def test_folder_errors(tmp_path, spec, kwargs, match) -> None:
    _tree(tmp_path, spec)
    with pytest.raises(DataError, match=match):
        load_dataset("folder", root=tmp_path, **kwargs)


def test_folder_root_errors(tmp_path) -> None:
    with pytest.raises(DataError, match="needs the image tree"):
        load_dataset("folder")
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("folder", root=tmp_path / "nope")


def test_unreadable_folder_is_an_error(tmp_path) -> None:
    with pytest.raises(DataError, match="cannot read folder"):
        list_images(tmp_path / "absent")


def test_file_names_must_match_images(folder_data) -> None:
    import dataclasses

    with pytest.raises(DataError, match="file names for"):
        dataclasses.replace(folder_data, test_files=folder_data.test_files[:-1])
