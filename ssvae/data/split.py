"""Train / validation / test parts and the labelled subset (DESIGN.md §3), saved and verified.

- Validation: the data set's standard part (the LAST ``standard_val_size`` training images) or,
  with ``val_size``, a stratified draw from a FIXED seed — the same for every label draw.
- Labelled: from the training images outside validation, balanced by SUB-class, drawn with a
  local RNG from ``split_seed``. Budgets are nested: with one seed, the labelled images of a
  smaller budget are a subset of a larger one's.
- Unlabelled: the rest of the training images. The test set is ``data.test_x`` (never drawn
  from here).

The split depends only on the data (sub-class labels) and these arguments — not on the model,
the label mode or the hierarchy. It is written to ``<cache_dir>/<dataset>_<budget>_seed<S>.npz``
and, when that file exists, reloaded and verified against the current data.
"""
from __future__ import annotations

import hashlib
import os
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ssvae.data.errors import SplitError
from ssvae.data.image_data import ImageData
from ssvae.data.sampling import proportional_counts, stratified_pick

SPLIT_DIR_ENV = "SSVAE_SPLIT_DIR"
VAL_SEED = 97_531  # fixed: drawn validation parts do not depend on split_seed
FORMAT = 1


@dataclass(frozen=True, eq=False)
class Split:
    """Indices into ``data.train_x``: int64, sorted, pairwise disjoint."""

    dataset: str
    labelled_idx: torch.Tensor    # [L]
    unlabelled_idx: torch.Tensor  # [U] = train - val - labelled
    val_idx: torch.Tensor         # [V]
    hash: str                     # sha256(dataset, labelled, val), 16 hex digits
    split_seed: int
    n_labels: int | None
    label_fraction: float | None
    val_size: int | None          # None: the data set's standard validation part
    path: Path | None = None      # the index file
    reloaded: bool = False        # read from an existing index file (and verified)

    def __post_init__(self) -> None:
        parts = {"labelled_idx": self.labelled_idx, "unlabelled_idx": self.unlabelled_idx,
                 "val_idx": self.val_idx}
        for name, idx in parts.items():
            if idx.dtype != torch.int64 or idx.dim() != 1:
                raise SplitError(f"Split.{name} must be a 1-d int64 tensor, got {idx.dtype} "
                                 f"{tuple(idx.shape)}")
            if len(idx) > 1 and not bool((idx[1:] > idx[:-1]).all()):
                raise SplitError(f"Split.{name} must be sorted and free of repeats")
        every = torch.cat(list(parts.values()))
        if len(torch.unique(every)) != len(every):
            raise SplitError("Split: labelled, unlabelled and validation indices overlap")

    @property
    def n_train(self) -> int:
        """Training images outside validation (labelled + unlabelled)."""
        return len(self.labelled_idx) + len(self.unlabelled_idx)


def split_hash(dataset: str, labelled: np.ndarray, val: np.ndarray) -> str:
    """sha256 over the data set name, the sorted labelled and the validation indices."""
    h = hashlib.sha256(dataset.encode() + b"\0")
    h.update(np.sort(np.asarray(labelled)).astype("<i8").tobytes() + b"\0")
    h.update(np.sort(np.asarray(val)).astype("<i8").tobytes())
    return h.hexdigest()[:16]


def validation_indices(data: ImageData, val_size: int | None = None) -> np.ndarray:
    """Sorted int64 positions of the validation part (see the module docstring)."""
    n = len(data.train_y)
    if val_size is None:
        if data.standard_val_size is None:
            raise SplitError(f"data set {data.name!r} has no standard validation part; "
                             f"pass val_size (--val-size N)")
        return np.arange(n - data.standard_val_size, n, dtype=np.int64)
    if isinstance(val_size, bool) or not isinstance(val_size, int) or not 0 < val_size < n:
        raise SplitError(f"val_size={val_size!r} must be an integer in 1..{n - 1} "
                         f"({data.name} has {n} training images)")
    y = data.train_y.numpy()
    counts = proportional_counts(np.bincount(y, minlength=data.n_subclasses), val_size)
    return stratified_pick(y, counts, np.random.default_rng(VAL_SEED))


def labelled_counts(data: ImageData, pool: np.ndarray, n_labels: int | None,
                    label_fraction: float | None) -> np.ndarray:
    """Labelled images per sub-class, int64 [n_sub]; errors name what cannot be met."""
    names, k = data.subclass_names, data.n_subclasses
    sizes = np.bincount(data.train_y.numpy()[pool], minlength=k)  # [n_sub] in the pool
    if (n_labels is None) == (label_fraction is None):
        raise SplitError(f"give exactly one of n_labels ({n_labels!r}) and label_fraction "
                         f"({label_fraction!r})")
    if n_labels is not None:
        if isinstance(n_labels, bool) or not isinstance(n_labels, int) or n_labels < 1:
            raise SplitError(f"n_labels={n_labels!r} must be a positive integer")
        if n_labels % k:
            low = n_labels // k * k
            near = f"{low} or {low + k}" if low else f"{k}"
            raise SplitError(f"n_labels={n_labels} is not divisible by {k} sub-classes (labels "
                             f"are balanced by sub-class); nearest valid: {near}")
        counts = np.full(k, n_labels // k, dtype=np.int64)
        what = f"n_labels={n_labels} needs {n_labels // k} per sub-class"
    else:
        f = label_fraction
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f <= 1:
            raise SplitError(f"label_fraction={f!r} must be a number in (0, 1]")
        counts = np.maximum(1, np.floor(f * sizes + 0.5)).astype(np.int64)
        what = f"label_fraction={f} needs at least 1 per sub-class"
    short = [f"{names[c]!r} has {sizes[c]}" for c in range(k) if sizes[c] < counts[c]]
    if short:
        msg = (f"label budget cannot be met: {what}, but in the training part (validation "
               f"excluded) sub-class {'; '.join(short)} image(s)")
        if n_labels is not None and sizes.min() > 0:
            msg += f". Largest balanced budget: n_labels={int(sizes.min()) * k}"
        raise SplitError(msg)
    return counts


def split_filename(data: ImageData, n_labels: int | None, label_fraction: float | None,
                   split_seed: int, val_size: int | None) -> str:
    key = data.name if data.content_id is None else f"{data.name}-{data.content_id}"
    budget = f"n{n_labels}" if n_labels is not None else f"frac{label_fraction:g}"
    val = "" if val_size is None else f"_val{val_size}"
    return f"{key}_{budget}_seed{split_seed}{val}.npz"


def make_split(data: ImageData, n_labels: int | None = None, label_fraction: float | None = None,
               split_seed: int = 0, val_size: int | None = None,
               cache_dir: str | os.PathLike | None = None) -> Split:
    """The split for (data set, budget, ``split_seed``, ``val_size``); reloads and verifies
    the index file when it exists, else draws and writes it."""
    if isinstance(split_seed, bool) or not isinstance(split_seed, int) or split_seed < 0:
        raise SplitError(f"split_seed={split_seed!r} must be a non-negative integer")
    val = validation_indices(data, val_size)
    pool = np.setdiff1d(np.arange(len(data.train_y)), val).astype(np.int64)
    counts = labelled_counts(data, pool, n_labels, label_fraction)
    folder = Path(cache_dir if cache_dir is not None else os.environ.get(SPLIT_DIR_ENV, "splits"))
    path = folder / split_filename(data, n_labels, label_fraction, split_seed, val_size)
    if path.exists():
        labelled, digest = _load_verified(path, data, val, counts)
        reloaded = True
    else:
        rng = np.random.default_rng(split_seed)  # local RNG: global state is never touched
        labelled = pool[stratified_pick(data.train_y.numpy()[pool], counts, rng)]
        digest = split_hash(data.name, labelled, val)
        _save(path, data, labelled, val, digest, split_seed, n_labels, label_fraction, val_size)
        reloaded = False
    unlabelled = np.setdiff1d(pool, labelled).astype(np.int64)
    t = torch.from_numpy
    return Split(data.name, t(labelled), t(unlabelled), t(val), digest, split_seed, n_labels,
                 label_fraction, val_size, path, reloaded)


def _save(path: Path, data: ImageData, labelled: np.ndarray, val: np.ndarray, digest: str,
          split_seed: int, n_labels: int | None, label_fraction: float | None,
          val_size: int | None) -> None:
    """Write atomically (temp file + rename), so parallel trials never read half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            np.savez(f, format=FORMAT, dataset=data.name, hash=digest, n_train=len(data.train_y),
                     labelled_idx=labelled, labelled_y=data.train_y.numpy()[labelled],
                     val_idx=val, split_seed=split_seed,
                     n_labels=-1 if n_labels is None else n_labels,
                     label_fraction=np.nan if label_fraction is None else label_fraction,
                     val_size=-1 if val_size is None else val_size)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise SplitError(f"cannot write the split file {path}: {err}; pass cache_dir or set "
                         f"{SPLIT_DIR_ENV} to a writable folder") from None


def _load_verified(path: Path, data: ImageData, val: np.ndarray, counts: np.ndarray
                   ) -> tuple[np.ndarray, str]:
    """Read an index file and check it against the current data; any mismatch is an error."""
    def stale(reason: str) -> SplitError:
        return SplitError(f"split file {path} does not match the current data: {reason}. It is "
                          f"stale or damaged: delete it and run again to draw the split anew")

    try:
        with np.load(path, allow_pickle=False) as f:
            stored = {k: f[k] for k in f.files}
        labelled = stored["labelled_idx"].astype(np.int64)
        stored_val = stored["val_idx"].astype(np.int64)
        digest, n_train = str(stored["hash"]), int(stored["n_train"])
        labelled_y, dataset = stored["labelled_y"], str(stored["dataset"])
        fmt = int(stored["format"])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
        raise stale(f"cannot read it ({type(err).__name__}: {err})") from None
    if fmt != FORMAT:
        raise stale(f"format {fmt}, expected {FORMAT}")
    if dataset != data.name:
        raise stale(f"it is for data set {dataset!r}, not {data.name!r}")
    if split_hash(dataset, labelled, stored_val) != digest:
        raise stale(f"the stored hash {digest} does not match its indices")
    if n_train != len(data.train_y):
        raise stale(f"written for {n_train} training images, the data set has {len(data.train_y)}")
    if not np.array_equal(stored_val, val):
        raise stale("its validation indices differ from the data set's validation part")
    if len(labelled) and (labelled.min() < 0 or labelled.max() >= n_train
                          or np.any(np.diff(labelled) <= 0) or np.isin(labelled, val).any()):
        raise stale("its labelled indices are out of range, unsorted, repeated or in validation")
    y_now = data.train_y.numpy()[labelled]
    if not np.array_equal(y_now, labelled_y):
        raise stale(f"{int((y_now != labelled_y).sum())} labelled images now have other labels")
    if not np.array_equal(np.bincount(y_now, minlength=len(counts)), counts):
        raise stale("its labelled images per sub-class differ from the requested budget")
    return labelled, digest
