"""``python -m ssvae.checkpoint``: convert checkpoints written by an older ssvae.

- ``convert OLD NEW`` rewrites an old checkpoint file in the safe format. It loads OLD with
  ``weights_only=False``, which runs whatever code the file holds: only for files you trust, and
  only on this explicit request.
- ``upgrade RUN`` rebuilds the ``best/`` folder of a run written before ``best/`` was
  self-contained (``ssvae.bundle.upgrade_run``; safe loads only).
"""
from __future__ import annotations

import argparse
import os
import pickle
import sys
from pathlib import Path
from typing import Any, Sequence

import torch

from ssvae.checkpoint import CheckpointError, safe_load


def _convert_heads(value: Any) -> Any:
    """Old M1 heads (pickled bytes in a uint8 ``_extra_state`` tensor) -> plain data."""
    from ssvae.models import head_state

    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if (isinstance(key, str) and key.endswith("_extra_state")
                    and isinstance(item, torch.Tensor) and item.dtype == torch.uint8):
                data = item.cpu().numpy().tobytes()
                item = head_state.encode(pickle.loads(data)) if data else None
            out[key] = _convert_heads(item)
        return out
    if isinstance(value, (list, tuple)):
        return type(value)(_convert_heads(v) for v in value)
    return value


def convert(old: str | os.PathLike, new: str | os.PathLike) -> Path:
    """Rewrite a TRUSTED old checkpoint file so that ``safe_load`` reads it (see module doc)."""
    old, new = Path(old), Path(new)
    if not old.is_file():
        raise CheckpointError(f"no checkpoint file at {old}")
    if new.exists():
        raise CheckpointError(f"{new} exists; give a new file name")
    saved = torch.load(old, map_location="cpu", weights_only=False)   # trusted by the user
    torch.save(_convert_heads(saved), new)
    try:
        safe_load(new)
    except CheckpointError:
        new.unlink()
        raise CheckpointError(f"{old} holds objects that are not tensors or plain data, and "
                              f"ssvae does not know how to convert them") from None
    return new


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ssvae.checkpoint",
                                     description=__doc__.split("\n\n")[0].strip("`"))
    sub = parser.add_subparsers(dest="command", required=True)
    conv = sub.add_parser("convert", help="rewrite an old checkpoint you TRUST in the safe format "
                                          "(loads it with weights_only=False: it may run code)")
    conv.add_argument("old", type=Path, help="the old .pt file (model.pt or state.pt)")
    conv.add_argument("new", type=Path, help="where to write the converted file")
    up = sub.add_parser("upgrade", help="rebuild RUN/best/ of an older run as a self-contained "
                                         "folder (config from RUN/metrics.json, validation scores "
                                         "computed again; safe loads only)")
    up.add_argument("run", type=Path, help="the run's output folder (holding metrics.json, best/)")
    up.add_argument("--data-root", help="where the run's data lie now (default: as trained)")
    args = parser.parse_args(argv)
    try:
        if args.command == "convert":
            print(f"loading {args.old} with weights_only=False: this trusts the file")
            written = convert(args.old, args.new)
        else:
            from ssvae.bundle import upgrade_run   # needs the models and data: loaded on demand

            written = upgrade_run(args.run, args.data_root)
    except (CheckpointError, pickle.UnpicklingError, OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {written} (loads with weights_only=True)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
