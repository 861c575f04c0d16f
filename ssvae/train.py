"""``python -m ssvae.train``: train one run from the command line (every config field settable).

    python -m ssvae.train --dataset mnist --data-root ../shared/data --model m2 \
        --label-mode subclass --n-labels 100 --split-seed 0 --seed 0 --epochs 30 --out runs/m2-100

Writes ``metrics.json`` (DESIGN.md §6 keys), the best checkpoint (``best/model.pt``), the last
resumable state (``last/``) and, for generative models, ``reconstructions.png`` and
``samples.png``. An existing ``--out`` folder is an error unless ``--resume`` or ``--overwrite``.
``metrics.json`` records decision thresholds chosen on validation for ``--target-precision``,
``--target-recall`` or ``--review-budget`` (default 0.05), per super-class as the positive one.

``--help`` is generated from ``TrainConfig``'s field comments (``ssvae.config.field_docs``), its
choice tuples and the registries, so it says what the code does; ``--model NAME --list-options``
lists that model's ``-O`` options from its options dataclass the same way.
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

from ssvae import config as config_module
from ssvae.config import TrainConfig, field_docs
from ssvae.deploy.thresholds import add_goal_flags, goal_from_args

_BOOL_FIELDS = ("download", "flush_denormal", "progress")
# Fields whose valid values are a tuple in ssvae.config (validated there, listed in --help).
_CHOICES = {"label_mode": config_module.LABEL_MODES, "network": config_module.NETWORKS,
            "classifier": config_module.CLASSIFIERS, "likelihood": config_module.LIKELIHOODS,
            "device": config_module.DEVICES, "vgg16_missing": config_module.VGG16_MISSING,
            "select_on": config_module.SELECT_ON}


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


def _registry_choices() -> dict[str, tuple[str, ...]]:
    from ssvae.data.registry import DATASETS   # lazy: the registries import torch
    from ssvae.models import MODELS

    return {**_CHOICES, "dataset": DATASETS.names(), "model": MODELS.names()}


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _field_help(doc: str, default: Any, choices: Sequence[str] | None) -> str:
    # "%" is argparse's format character in help texts
    text = doc.replace("``", "").replace("%", "%%").rstrip(".")
    if choices and not all(c in text for c in choices):
        text += f"; one of {', '.join(choices)}"
    return f"{text} (default: {_show(default)})"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ssvae.train", description=__doc__.split("\n\n")[0].replace("``", ""),
        epilog="Every flag but --config, --out, --resume, --overwrite, --log-epochs and "
               "--list-options is a field of ssvae.config.TrainConfig; its help is that field's "
               "comment. `--model NAME --list-options` lists NAME's -O options.")
    hints = typing.get_type_hints(TrainConfig)
    defaults = TrainConfig()
    docs = field_docs(TrainConfig)
    choices = _registry_choices()
    for name in TrainConfig.field_names():
        flag = "--" + name.replace("_", "-")
        default = getattr(defaults, name)
        if name == "model_options":
            parser.add_argument("--model-option", "-O", action="append", default=[],
                                metavar="KEY=VALUE", dest="model_options",
                                help="a model option, e.g. -O alpha=0.1 (repeatable; values "
                                     "are YAML); list a model's options, their defaults and "
                                     "meanings with --model NAME --list-options (default: the "
                                     "model's defaults)")
        elif name in _BOOL_FIELDS:
            action = parser.add_argument(flag, action=argparse.BooleanOptionalAction,
                                         default=default, dest=name)
            # set after: BooleanOptionalAction appends its own "(default: ...)" on some Pythons
            action.help = _field_help(docs[name], default, None)
        else:
            kind, optional = _field_type(hints[name])
            own = choices.get(name)
            parser.add_argument(flag, type=_parser_for(kind, optional), dest=name,
                                default=default, help=_field_help(docs[name], default, own),
                                metavar="{" + ",".join(own) + "}" if own else kind.__name__.upper())
    parser.add_argument("--config", type=Path, metavar="YAML",
                        help="a YAML file of config fields; flags win (default: none)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="output folder of this run (required, except with --list-options)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true",
                       help="continue from --out/last (with a larger --epochs: continue a run "
                            "that stopped at the epoch bound) (default: off)")
    group.add_argument("--overwrite", action="store_true",
                       help="delete --out first (default: off)")
    add_goal_flags(parser)      # decision thresholds recorded in metrics.json (ssvae.deploy.thresholds)
    parser.add_argument("--log-epochs", action="store_true",
                        help="print one line per epoch to stderr (for batch jobs and log files, "
                             "where a progress bar is unreadable; combine with --no-progress) "
                             "(default: off)")
    parser.add_argument("--list-options", action="store_true",
                        help="list the -O options of --model (name=default, type, meaning) "
                             "and exit (default: off)")
    return parser


def list_options(model: str) -> str:
    """The ``-O`` options of ``model``: one line each, from its options dataclass's comments."""
    import dataclasses

    from ssvae.models import MODELS

    cls = MODELS.get(model).options_cls
    docs = field_docs(cls)
    hints = typing.get_type_hints(cls)
    lines = [f"model options of {model!r} (-O KEY=VALUE; {cls.__module__}.{cls.__qualname__}):"]
    for f in dataclasses.fields(cls):
        kind = getattr(hints[f.name], "__name__", None) or str(hints[f.name])
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        lines.append(f"  {f.name}={_show(default)} ({kind}): {docs[f.name] or '(no comment)'}")
    if len(lines) == 1:
        lines.append("  (none)")
    return "\n".join(lines)


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
    if args.list_options:
        try:
            print(list_options(args.model))
        except KeyError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        return 0
    if args.out is None:
        parser.error("the following arguments are required: --out")
    try:
        config = config_from_args(args, parser, argv)
        goal = goal_from_args(args)
        from ssvae.training.loop import check_config, fit

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
