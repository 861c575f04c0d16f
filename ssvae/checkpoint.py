"""Atomic checkpoint folders: write into a temporary sibling, then swap it in.

A run killed while saving keeps its previous checkpoint intact (DESIGN.md: nothing already
computed is lost).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import torch


def save_state(folder: str | os.PathLike, **parts: Any) -> Path:
    """Save ``parts`` as ``folder/state.pt``, replacing the folder atomically."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(folder.name + ".tmp")
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    torch.save(parts, tmp / "state.pt")
    if folder.exists():
        shutil.rmtree(old, ignore_errors=True)
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return folder


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
    return torch.load(path, map_location="cpu", weights_only=False)
