"""ssvae: semi-supervised VAEs (M1, M2, M1+M2, GMVAE) and their baselines.

``ssvae.fit(config, report=None, resume=None, out_dir=None)`` trains one run (see
``ssvae.trainer``). This package never imports Ray; scheduling lives in ``tune/``.
"""
from __future__ import annotations

from typing import Any

from ssvae.version import __version__
__all__ = ["fit", "TrainConfig", "__version__"]


def __getattr__(name: str) -> Any:
    # Lazy, so `import ssvae` stays cheap and `python -m ssvae.data` does not build models.
    if name == "fit":
        from ssvae.trainer import fit

        return fit
    if name == "TrainConfig":
        from ssvae.config import TrainConfig

        return TrainConfig
    raise AttributeError(f"module 'ssvae' has no attribute {name!r}")
