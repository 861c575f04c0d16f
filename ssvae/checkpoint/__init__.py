"""Checkpoint files: safe loading and atomic folders (the conversion of old ones: ``__main__``).

- Every ``.pt`` ssvae writes holds only tensors and plain data, and every ssvae load goes through
  ``safe_load`` (``torch.load(..., weights_only=True)``): a checkpoint from someone else cannot run
  code. A file that needs more (a pickle of arbitrary objects, e.g. one written by an older ssvae)
  is refused with a ``CheckpointError`` that says how to convert it.
- ``save_state`` writes into a temporary sibling folder and swaps it in, so a run killed while
  saving keeps its previous checkpoint intact (DESIGN.md: nothing already computed is lost).
- Old checkpoints are converted by ``python -m ssvae.checkpoint`` (``__main__.py``).
"""
from __future__ import annotations

import contextlib
import os
import pickle
import shutil
from pathlib import Path
from typing import Any, Iterator

import torch

CONVERT_HINT = "python -m ssvae.checkpoint convert OLD.pt NEW.pt"


class CheckpointError(ValueError):
    """A checkpoint that is missing, unsafe to load, or not what was expected."""


def safe_load(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``; an unsafe or old file raises ``CheckpointError``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint file at {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(
            f"{path} holds more than tensors and plain data, so it was not loaded (loading it "
            f"could run code; torch said: {first}). If it is an older ssvae checkpoint and you "
            f"trust the file, convert it once: {CONVERT_HINT.replace('OLD.pt', str(path))}"
        ) from None


@contextlib.contextmanager
def atomic_folder(folder: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling of ``folder`` to fill; on success it replaces ``folder``."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(folder.name + ".tmp")
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    yield tmp
    if folder.exists():
        shutil.rmtree(old, ignore_errors=True)
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def save_state(folder: str | os.PathLike, **parts: Any) -> Path:
    """Save ``parts`` as ``folder/state.pt``, replacing the folder atomically."""
    with atomic_folder(folder) as tmp:
        torch.save(parts, tmp / "state.pt")
    return Path(folder)


def load_state(folder: str | os.PathLike) -> dict[str, Any]:
    """Load what ``save_state`` wrote (falls back to ``.old`` if a save was interrupted)."""
    folder = Path(folder)
    path = folder / "state.pt"
    if not path.exists():
        old = folder.with_name(folder.name + ".old") / "state.pt"
        if old.exists():
            path = old
        else:
            raise FileNotFoundError(f"no checkpoint at {folder / 'state.pt'}")
    return safe_load(path)
