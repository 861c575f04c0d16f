"""Write scikit-learn's 8x8 digits as image folders, to try ``ssvae.train`` and ``ssvae.predict``
on folder data offline (README, "Use a trained model").

    python examples/make_digits_folders.py demo

- ``demo/train/<low|high>/<digit>/*.png``: the first 1500 digits, a labelled tree
  (super-class low = 0-4, high = 5-9);
- ``demo/new/**``: the other 297 digits, which training never sees, in nested folders and at
  odd sizes (upscaled to 8-40 pixels), plus one unreadable file (``new/broken.png``);
- ``demo/new_truth.csv``: the true super-class of each new image, to check predictions against.
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

N_TRAIN = 1500


def main(out: Path) -> None:
    if out.exists():
        raise SystemExit(f"error: {out} exists; give a new folder")
    digits = load_digits()
    images = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)    # [1797, 8, 8]
    rng = np.random.default_rng(0)
    truth = []
    for i, (image, label) in enumerate(zip(images, digits.target)):
        superclass = "low" if label < 5 else "high"
        if i < N_TRAIN:
            path = out / "train" / superclass / str(label) / f"{i:04d}.png"
        else:
            side = int(rng.integers(8, 41))                     # odd sizes
            path = out / "new" / f"batch{i % 3}" / ("later/" if i % 5 == 0 else "") / f"{i:04d}.png"
            image = np.asarray(Image.fromarray(image).resize((side, side), Image.BILINEAR))
            truth.append((path.relative_to(out / "new").as_posix(), superclass))
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(path)
    (out / "new" / "broken.png").write_bytes(b"not an image")
    with open(out / "new_truth.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([("path", "superclass"), *truth])
    print(f"wrote {N_TRAIN} labelled images under {out / 'train'} and {len(truth)} new ones "
          f"(+1 unreadable) under {out / 'new'}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "demo"))
