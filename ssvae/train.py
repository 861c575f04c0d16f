"""``python -m ssvae.train``: train one run from the command line (every config field settable).

    python -m ssvae.train --dataset mnist --data-root ../shared/data --model m2 \
        --label-mode subclass --n-labels 100 --split-seed 0 --seed 0 --epochs 30 --out runs/m2-100

Writes ``metrics.json`` (DESIGN.md §6 keys), the best checkpoint (``best/model.pt``), the last
resumable state (``last/``) and, for generative models, ``reconstructions.png`` and
``samples.png``. An existing ``--out`` folder is an error unless ``--resume`` or ``--overwrite``.
``metrics.json`` records decision thresholds chosen on validation for ``--target-precision``,
``--target-recall`` or ``--review-budget`` (default 0.05), per super-class as the positive one.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import types
import typing
from pathlib import Path
from typing import Any, Sequence

import yaml

from ssvae.config import TrainConfig
from ssvae.thresholds import add_goal_flags, goal_from_args

_BOOL_FIELDS = ("download", "flush_denormal", "progress")


def _field_type(annotation: Any) -> tuple[type, bool]:
    """(scalar type, optional) from an annotation such as ``int | None``."""
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        inner = [a for a in args if a is not type(None)]
        return inner[0], True
    return annotation, False


def _parser_for(kind: type, optional: bool):
    def parse(text: str):
        if optional and text.lower() in ("none", "null", ""):
            return None
        return kind(text)

    parse.__name__ = kind.__name__
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ssvae.train", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    hints = typing.get_type_hints(TrainConfig)
    defaults = TrainConfig()
    for name in TrainConfig.field_names():
        flag = "--" + name.replace("_", "-")
        if name == "model_options":
            parser.add_argument("--model-option", "-O", action="append", default=[],
                                metavar="KEY=VALUE", dest="model_options",
                                help="a model option, e.g. -O alpha=0.1 (repeatable; YAML values)")
        elif name in _BOOL_FIELDS:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction,
                                default=getattr(defaults, name), dest=name)
        else:
            kind, optional = _field_type(hints[name])
            parser.add_argument(flag, type=_parser_for(kind, optional), dest=name,
                                default=getattr(defaults, name))
    parser.add_argument("--config", type=Path, help="a YAML file of config fields (flags win)")
    parser.add_argument("--out", type=Path, required=True, help="output folder of this run")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true",
                       help="continue from --out/last (with a larger --epochs: continue a run "
                            "that stopped at the epoch bound)")
    group.add_argument("--overwrite", action="store_true", help="delete --out first")
    add_goal_flags(parser)      # decision thresholds recorded in metrics.json (ssvae.thresholds)
    parser.add_argument("--log-epochs", action="store_true",
                        help="print one line per epoch to stderr (for batch jobs and log files, "
                             "where a progress bar is unreadable; combine with --no-progress)")
    return parser


def epoch_logger(stream: typing.TextIO):
    """A ``report`` callback that writes one line per epoch: stage, learning rate, losses,
    validation metrics."""
    last = [time.time()]

    def report(metrics: dict, checkpoint: str | None) -> None:
        now = time.time()
        parts = [f"epoch {metrics['epoch']:>4d}", f"[{metrics['stage']}]"]
        if metrics.get("lr") is not None:
            parts.append(f"lr {metrics['lr']:.3g}")
        for key in ("train_loss", "val_loss", "val_binary_acc", "val_subclass_acc",
                    "selection_metric"):
            value = metrics.get(key)
            if value is not None:
                parts.append(f"{key} {value:.4f}")
        parts.append(f"{now - last[0]:.1f} s")
        last[0] = now
        print("  ".join(parts), file=stream, flush=True)

    return report


def _model_options(pairs: Sequence[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"--model-option {pair!r} must look like KEY=VALUE, e.g. alpha=0.1")
        key, value = pair.split("=", 1)
        options[key.strip()] = yaml.safe_load(value)
    return options


def config_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser,
                     argv: Sequence[str] = ()) -> TrainConfig:
    values: dict[str, Any] = {}
    if args.config is not None:
        values.update(yaml.safe_load(args.config.read_text()) or {})
    for name in TrainConfig.field_names():
        given = getattr(args, name)
        if name == "model_options":
            if given:
                values["model_options"] = {**values.get("model_options", {}), **_model_options(given)}
        elif given != parser.get_default(name) or name not in values:
            values[name] = given
    if values.get("label_fraction") is not None and "n_labels" not in _explicit(argv):
        values["n_labels"] = None          # --label-fraction replaces the default n_labels
    return TrainConfig.from_dict(values)


def _explicit(argv: Sequence[str]) -> set[str]:
    return {a[2:].split("=")[0].replace("-", "_") for a in argv if a.startswith("--")}


def prepare_out(out: Path, resume: bool, overwrite: bool) -> None:
    """Check the output folder before any expensive work."""
    if out.exists() and any(out.iterdir()):
        if overwrite:
            shutil.rmtree(out)
        elif not resume:
            raise FileExistsError(f"output folder {out} exists and is not empty; pass --resume "
                                  f"to continue it or --overwrite to replace it")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as error:
        raise PermissionError(f"cannot write to output folder {out}: {error}") from None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args, parser, argv)
        goal = goal_from_args(args)
        from ssvae.trainer import check_config, fit

        check_config(config)
        prepare_out(args.out, args.resume, args.overwrite)

        report = epoch_logger(sys.stderr) if args.log_epochs else None
        metrics = fit(config, report=report, resume=True if args.resume else None,
                      out_dir=str(args.out), goal=goal)
    except KeyboardInterrupt:
        print(f"\ninterrupted; continue with the same command plus --resume (out: {args.out})",
              file=sys.stderr)
        return 130
    except (ValueError, KeyError, FileNotFoundError, FileExistsError, PermissionError,
            RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    shown = {k: metrics.get(k) for k in ("val_binary_acc", "test_binary_acc", "val_subclass_acc",
                                          "test_subclass_acc", "epochs", "wall_s")}
    print(json.dumps(shown, indent=2))
    print(f"wrote {args.out / 'metrics.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
