"""Where and with what a run ran: device, package versions, git revision; the in-process data
cache (so a reused Ray worker loads a data set once, not once per trial)."""
from __future__ import annotations

import functools
import platform
import subprocess
from pathlib import Path

import torch

from ssvae.config import TrainConfig


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' was asked for, but torch sees no CUDA GPU; use 'auto' or 'cpu'")
    return torch.device(name)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu:{platform.processor() or platform.machine()}x{torch.get_num_threads()}threads"


@functools.lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    import numpy
    import torchvision

    from ssvae.version import __version__

    return {"python": platform.python_version(), "torch": torch.__version__,
            "torchvision": torchvision.__version__, "numpy": numpy.__version__,
            "ssvae": __version__}


@functools.lru_cache(maxsize=1)
def git_revision() -> str | None:
    """The commit of the ssvae checkout (with '+dirty' for uncommitted changes), if any."""
    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, text=True,
                             capture_output=True, timeout=5)
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               text=True, capture_output=True, timeout=5).stdout.strip()
        return rev.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


@functools.lru_cache(maxsize=4)
def _load(dataset: str, root: str | None, download: bool, image_size: int | None,
          channels: int | None, hierarchy_file: str | None):
    from ssvae.data import load_dataset

    return load_dataset(dataset, root=root, download=download, image_size=image_size,
                        channels=channels, hierarchy_file=hierarchy_file)


def load_data_cached(config: TrainConfig):
    """The data set of a config, loaded once per process."""
    return _load(config.dataset, config.data_root, config.download, config.image_size,
                 config.channels, config.hierarchy_file)
