"""Shared fixtures: the offline copy of the real data sets, and a generated folder tree."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@pytest.fixture(scope="session")
def shared_data_root() -> Path:
    """``$SSVAE_DATA_ROOT`` or ``<repo>/../shared/data``; skips when the MNIST files are absent."""
    root = Path(os.environ.get("SSVAE_DATA_ROOT") or Path(__file__).resolve().parents[2]
                / "shared" / "data")
    missing = [f for f in MNIST_FILES if not (root / "MNIST" / "raw" / f).is_file()]
    if missing:
        pytest.skip(f"real data absent: {root / 'MNIST' / 'raw'} lacks {', '.join(missing)} "
                    f"(set SSVAE_DATA_ROOT to a folder with MNIST/raw/*-ubyte)")
    return root


def _save(path: Path, mode: str, size: tuple[int, int], rng: np.random.Generator,
          fmt: str | None = None, **kw) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    bands = {"L": 1, "RGB": 3, "RGBA": 4}.get(mode, 1)
    a = rng.integers(0, 256, (size[1], size[0], bands), dtype=np.uint8)
    img = Image.fromarray(a[..., 0] if bands == 1 else a, "L" if mode in ("L", "P") else mode)
    if mode == "P":
        img = img.convert("RGB").quantize(16)
    img.save(path, fmt, **kw)


def make_folder_tree(root: Path, n_per_class: int = 10) -> Path:
    """A tree with every case of DESIGN.md §8 (see ``tests/data/test_data_folder.py``)."""
    rng = np.random.default_rng(0)
    modes = [("RGB", ".jpg", "JPEG"), ("L", ".PNG", "PNG"), ("RGBA", ".png", "PNG"),
             ("P", ".Png", "PNG"), ("RGB", ".JPEG", "JPEG"), ("L", ".gif", "GIF"),
             ("RGB", ".bmp", "BMP")]
    classes = {"animals": ["cats", "dogs"], "objects": ["cats", "flags"]}
    for sup, subs in classes.items():
        for sub in subs:
            for i in range(n_per_class):
                mode, ext, fmt = modes[i % len(modes)]
                nested = "nested/deeper/" if i % 3 == 0 else ""       # nested folders
                size = (int(rng.integers(12, 60)), int(rng.integers(12, 60)))  # mixed sizes
                _save(root / sup / sub / f"{nested}img{i:03d}{ext}", mode, size, rng, fmt)
    _save(root / "objects" / "tiny" / "one.png", "RGB", (20, 20), rng)  # a tiny class
    _save(root / "objects" / "tiny" / "two.jpg", "L", (20, 20), rng)
    pal = root / "objects" / "flags" / "transparent_palette.png"
    _save(pal, "P", (16, 16), rng, transparency=0)
    _save(root / "animals" / "stray.png", "RGB", (10, 10), rng)  # not in a sub-class folder
    _save(root / "top.png", "RGB", (10, 10), rng)
    wide = np.arange(16 * 16, dtype=np.uint16).reshape(16, 16) * 200           # 16-bit gray
    from PIL import Image

    Image.fromarray(wide).save(root / "objects" / "flags" / "sixteen_bit.png")
    bad = root / "animals" / "dogs"
    (bad / "broken.jpg").write_bytes(b"this is not a jpeg")                  # corrupt
    good = (root / "animals" / "cats" / "img001.PNG").read_bytes()
    (bad / "truncated.png").write_bytes(good[: len(good) // 2])              # truncated
    (bad / "notes.txt").write_text("not an image")                           # ignored
    _save(bad / ".hidden.png", "RGB", (10, 10), rng)                          # hidden file
    _save(root / ".thumbnails" / "x" / "y" / "z.png", "RGB", (10, 10), rng)   # hidden folder
    _save(root / "animals" / ".cache" / "t.png", "RGB", (10, 10), rng)
    for i in range(7):                                                         # unlabelled
        _save(root / "unlabelled" / ("batch2/" if i % 2 else "") / f"u{i}.jpg", "RGB",
              (30, 25), rng, "JPEG")
    (root / "unlabelled" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    return root


@pytest.fixture(scope="session")
def folder_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated ``root/<super>/<sub>/**`` tree with corrupt, gray, RGBA, palette, nested,
    hidden, duplicate-name, upper-case-extension and unlabelled images (built once)."""
    return make_folder_tree(tmp_path_factory.mktemp("folder_tree"))


# Tiny digits runs for the adversarial tests (tests/adversarial/, tests/test_attack.py): trained
# once per session, one per model, in seconds.
DIGITS_EPOCHS = {"gmvae": 60, "m2": 5, "supervised": 30}


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory: pytest.TempPathFactory):
    """``digits_run(model)`` -> the folder of a finished digits run of ``model`` (sub-class labels,
    100 labels, small nets), trained on first use."""
    from ssvae.config import TrainConfig
    from ssvae.training.loop import fit

    root = tmp_path_factory.mktemp("digits_runs")
    done: dict[str, Path] = {}

    def run(model: str) -> Path:
        if model not in done:
            mp = pytest.MonkeyPatch()
            mp.setenv("SSVAE_SPLIT_DIR", str(root / "splits"))
            config = TrainConfig(dataset="digits", model=model, label_mode="subclass", n_labels=100,
                                 hidden_dim=64, latent_dim=8, epochs=DIGITS_EPOCHS[model],
                                 patience=100, progress=False, threads=1)
            fit(config, out_dir=str(root / model))
            mp.undo()
            done[model] = root / model
        return done[model]

    return run
