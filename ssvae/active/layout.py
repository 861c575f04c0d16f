"""The folder a user fills with labels, laid out so the folder data set reads it back.

    OUT/ranking.csv                     every ranked image: rank, source path, scores, guesses
    OUT/unlabelled/00001__<name>        copies of the N images to label, best first
    OUT/<super-class>/<sub-class>/      one empty folder per class of the model's hierarchy
    OUT/HOW_TO_LABEL.txt                these instructions

To label an image, move it from ``unlabelled/`` into its class folder; remove class folders
left empty. ``OUT`` is then a tree of ``ssvae/data/folder.py``: moved images are labelled, the
rest stay unlabelled. Copy the class folders into your own tree to train on all your labels. A sub-class name that cannot be a folder name
(``T-shirt/top``) is written with ``/`` replaced by ``-``.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ssvae.data.folder import UNLABELLED_DIR
from ssvae.data.hierarchy import LabelHierarchy
from ssvae.partial_csv import partial_csv

RANKING, INSTRUCTIONS = "ranking.csv", "HOW_TO_LABEL.txt"


def folder_name(name: str) -> str:
    """A class name as one folder name: ``/`` and ``\\`` become ``-``; hidden names are
    prefixed with ``_`` (the folder data set skips names starting with '.')."""
    safe = name.replace("/", "-").replace("\\", "-").strip() or "_"
    return "_" + safe if safe.startswith(".") else safe


def class_folders(hierarchy: LabelHierarchy) -> list[str]:
    """``<super>/<sub>`` relative folder names, one per sub-class, in sub-class order."""
    out = []
    for sub, k in zip(hierarchy.subclass_names, hierarchy.sub_to_super):
        sup = hierarchy.superclass_names[k]
        bare = sub[len(sup) + 1:] if sub.startswith(sup + "/") else sub   # folder data's 'super/sub'
        out.append(f"{folder_name(sup)}/{folder_name(bare)}")
    return out


def _copy_name(rank: int, rel: str) -> str:
    return f"{rank:05d}__{rel.replace('/', '__')}"


def write_layout(out: str | os.PathLike, folder: str | os.PathLike, files: Sequence[str],
                 order: np.ndarray, n: int, scores: Mapping[str, np.ndarray],
                 guesses: Mapping[str, Sequence[str]], hierarchy: LabelHierarchy) -> Path:
    """Write ``out`` (see the module docstring) for the images ``files`` (paths relative to
    ``folder``) ranked by ``order``; the first ``n`` are copied for labelling. ``out`` must not
    exist, or be an empty folder."""
    out, folder = Path(out), Path(folder)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"--out {out} exists and is not an empty folder; give a new one")
    to_label = out / UNLABELLED_DIR
    to_label.mkdir(parents=True, exist_ok=True)
    for rel in class_folders(hierarchy):
        (out / rel).mkdir(parents=True, exist_ok=True)
    columns = ["rank", "path", "to_label", *scores, *guesses]
    with partial_csv(out / RANKING, columns) as write:
        for r, i in enumerate(order.tolist(), 1):
            copy = ""
            if r <= n:
                copy = f"{UNLABELLED_DIR}/{_copy_name(r, files[i])}"
                shutil.copy2(folder / files[i], out / copy)
            values = [r, files[i], copy, *(f"{scores[k][i]:.6g}" for k in scores),
                      *(guesses[k][i] for k in guesses)]
            write([dict(zip(columns, values))])
    (out / INSTRUCTIONS).write_text(
        f"Label the {min(n, len(order))} images in {UNLABELLED_DIR}/ (best first): move each into "
        f"its class folder <super-class>/<sub-class>/, and remove the class folders you left "
        f"empty.\nThis folder is then a folder data set tree (the moved images labelled, the "
        f"rest unlabelled): copy its class folders into your training tree and train again.\n"
        f"{RANKING} lists every ranked image with its scores (larger = more worth labelling).\n")
    return out
