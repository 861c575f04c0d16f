"""Shared look of every figure (big fonts for slides), display names and saving PNG + SVG."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import matplotlib
import seaborn as sns
from matplotlib.figure import Figure

MODEL_ORDER = ("m1", "m2", "m1m2", "gmvae", "supervised", "vgg16")
MODEL_NAMES = {"m1": "M1", "m2": "M2", "m1m2": "M1+M2", "gmvae": "GMVAE",
               "supervised": "supervised", "vgg16": "VGG16 (fine-tuned)"}
DATASET_NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "fashionmnist": "Fashion-MNIST",
                 "fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10", "cifar-10": "CIFAR-10"}
METRIC_NAMES = {"test_binary_acc": "test binary accuracy",
                "test_subclass_acc": "test sub-class accuracy",
                "val_binary_acc": "validation binary accuracy",
                "val_subclass_acc": "validation sub-class accuracy"}
BASELINE_COLOURS = {"supervised": "#222222", "vgg16": "#8c8c8c"}
# Long dashes with wide gaps: a short dash pattern looks solid in a legend key.
LINESTYLES = {"binary": "-", "subclass": (0, (5, 3))}
LABEL_MODE_NAMES = {"binary": "binary labels", "subclass": "sub-class labels"}
LEGEND_HANDLE_LENGTH = 4.0      # legend keys long enough to show a dash pattern


def model_name(model: str) -> str:
    return MODEL_NAMES.get(model, model)


def label_mode_name(mode: str) -> str:
    """'binary labels' / 'sub-class labels': one spelling in legends, titles and the report."""
    return LABEL_MODE_NAMES.get(mode, f"{mode} labels")


def dataset_name(dataset: str) -> str:
    return DATASET_NAMES.get(dataset.lower(), dataset)


def metric_name(metric: str) -> str:
    return METRIC_NAMES.get(metric, metric.replace("_", " "))


def order_models(models) -> list[str]:
    models = list(dict.fromkeys(models))
    return [m for m in MODEL_ORDER if m in models] + sorted(m for m in models if m not in MODEL_ORDER)


def model_colours(models) -> dict[str, tuple]:
    """Generative models get palette colours; baselines dark/mid gray (distinct styling)."""
    gen = [m for m in order_models(models) if m not in BASELINE_COLOURS]
    palette = sns.color_palette("colorblind", max(len(gen), 1))
    colours = {m: palette[i] for i, m in enumerate(gen)}
    colours.update({m: matplotlib.colors.to_rgb(c) for m, c in BASELINE_COLOURS.items()})
    return colours


@contextlib.contextmanager
def slide_style() -> Iterator[None]:
    """Seaborn's whitegrid + talk context, scoped (no global rcParams change)."""
    rc = {**sns.axes_style("whitegrid"), **sns.plotting_context("talk", font_scale=1.05),
          "svg.fonttype": "none", "axes.titleweight": "bold"}
    with matplotlib.rc_context(rc):
        yield


def new_figure(width: float = 12.0, height: float = 7.5) -> Figure:
    """A figure without pyplot (no GUI backend needed; safe in threads and on servers)."""
    return Figure(figsize=(width, height), layout="constrained")


def save(fig: Figure, out_dir: Path, stem: str) -> list[Path]:
    """Save as PNG (150 dpi) and SVG; return both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "svg"):
        path = out_dir / f"{stem}.{ext}"
        fig.savefig(path, dpi=150 if ext == "png" else None)
        paths.append(path)
    return paths


def slug(*parts: object) -> str:
    text = "_".join(str(p) for p in parts if p != "")
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)
