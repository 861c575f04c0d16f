"""Training speed: images per second of one training epoch, for every model, both network
families and both label modes; for M2 also the fraction of this machine's matrix-multiply
throughput (measured in the same run) achieved on the *minimal* FLOP count of its math.

    python bench/train_speed.py                                   # digits (offline)
    python bench/train_speed.py --dataset mnist --data-root ../shared/data --threads 2

An "image" is one example of the step's batch, labelled or unlabelled. Timing: ``--steps``
optimiser steps after ``--warmup`` steps, images/s = examples / seconds; an epoch's throughput
(one pass over the unlabelled part) is that rate, since every step has the same shape.

Minimal FLOPs of M2 (per unlabelled example, forward; backward counted as 2x forward): the
classifier q(y|x) once; the x-part of q(z|x,y) once (it does not depend on y); the rest of
q(z|x,y) and the whole decoder p(x|y,z) once per value of y. Labelled examples need the same
with one value of y, plus q(y|x). ssvae's M2 computes exactly that (the label enters q(z|x,y)
as an added embedding), so FlopCounterMode's count of one forward step is the minimal count.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ssvae.config import TrainConfig  # noqa: E402
from ssvae.data import BatchSource, load_dataset, make_split  # noqa: E402
from ssvae.models import MODELS, build_model  # noqa: E402
from ssvae.training.environment import resolve_device  # noqa: E402
from ssvae.training.loop import autocast, compute_dtype, cpu_float_mode  # noqa: E402
from ssvae.training.inputs import training_arrays  # noqa: E402

MODELS_TO_TIME = ("m1", "m2", "m1m2", "gmvae", "supervised")


def matmul_throughput(device: torch.device, n: int | None = None, seconds: float = 2.0) -> float:
    """FLOP/s of a large square matrix multiply in training's precision
    (``ssvae.training.loop.compute_dtype``): the fair practical peak."""
    n = n or (8192 if device.type == "cuda" else 1024)
    a = torch.randn(n, n, device=device, dtype=compute_dtype(device))
    b = torch.randn(n, n, device=device, dtype=compute_dtype(device))
    for _ in range(3):
        a @ b
    _sync(device)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    _sync(device)
    return 2 * n ** 3 * count / (time.perf_counter() - start)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_steps(model, source: BatchSource, steps: int, warmup: int, device) -> float:
    """Images per second over ``steps`` optimiser steps."""
    optimiser = torch.optim.Adam(model.stage_parameters(), lr=1e-4)
    model.train()
    batches = iter(_cycle(source))
    for _ in range(warmup):
        _step(model, next(batches), optimiser, device)
    _sync(device)
    images, start = 0, time.perf_counter()
    for _ in range(steps):
        batch = next(batches)
        _step(model, batch, optimiser, device)
        images += batch.x_labelled.shape[0] + (0 if batch.x_unlabelled is None else batch.x_unlabelled.shape[0])
    _sync(device)
    return images / (time.perf_counter() - start)


def _cycle(source: BatchSource):
    epoch = 0
    while True:
        yield from source.epoch(epoch)
        epoch += 1


def _step(model, batch, optimiser, device) -> None:
    with autocast(device):                      # as training does: bf16 on a GPU
        out = model.step_loss(batch)
    optimiser.zero_grad(set_to_none=True)
    out.loss.backward()
    optimiser.step()


def m2_minimal_flops(model, batch) -> float:
    """Minimal FLOPs of one M2 training step: forward counted by FlopCounterMode, backward as 2x.

    M2's q(z|x,y) adds the label as an embedding to the first dense pre-activation
    (``Encoder.forward_all_y``), so the image path runs once per image and only the work that
    depends on y runs K times: the executed forward count *is* the minimal count.
    """
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        model.step_loss(batch)
    return 3.0 * counter.get_total_flops()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--n-labels", type=int, default=100)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--matmul-seconds", type=float, default=2.0,
                        help="how long to measure the matrix-multiply throughput")
    parser.add_argument("--models", nargs="*", default=list(MODELS_TO_TIME),
                        help=f"models to time (known: {', '.join(MODELS.names())})")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    with cpu_float_mode(TrainConfig().flush_denormal):   # as training runs (bench/denormal_speed.py)
        return _time_all(args)


def _time_all(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    data = load_dataset(args.dataset, root=args.data_root)
    hierarchy = data.hierarchy()
    split = make_split(data, n_labels=args.n_labels, split_seed=0)
    peak = matmul_throughput(device, seconds=args.matmul_seconds)
    card = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"# {args.dataset} {tuple(data.image_shape)}, device {device} ({card}), "
          f"torch threads {torch.get_num_threads()}, torch {torch.__version__}")
    precision = str(compute_dtype(device)).replace("torch.", "")
    print(f"# {precision} matmul throughput (training's precision): {peak / 1e9:.1f} GFLOP/s")
    print(f"{'model':<11} {'network':<8} {'labels':<9} {'images/s':>10} {'GFLOP/s(min)':>13} {'of peak':>8}")
    for name in args.models:
        for network in ("mlp", "conv"):
            for mode in ("binary", "subclass"):
                # M1 and M1+M2 classify latent vectors: their classifier stays an MLP.
                classifier = "mlp" if name in ("m1", "m1m2") else network
                config = TrainConfig(dataset=args.dataset, model=name, network=network,
                                     classifier=classifier, label_mode=mode,
                                     n_labels=args.n_labels, progress=False)
                n_classes = hierarchy.n_classes(mode)
                torch.manual_seed(0)
                model = build_model(config, data.image_shape, n_classes).to(device)
                stage = model.stages()[-1]
                for earlier in model.stages():
                    model.set_stage(earlier.name)
                model.to(device)
                arrays = training_arrays(model, data, split, hierarchy, mode)   # as fit() does
                source = BatchSource(arrays.x_labelled, arrays.y_labelled,
                                     arrays.x_unlabelled if stage.uses_unlabelled else None,
                                     config.batch_size, config.labelled_batch_size, seed=0,
                                     device=device)
                rate = time_steps(model, source, args.steps, args.warmup, device)
                flops_text, frac_text = "", ""
                if name == "m2":
                    batch = next(iter(source.epoch(0)))
                    per_step = m2_minimal_flops(model, batch)
                    images = batch.x_labelled.shape[0] + batch.x_unlabelled.shape[0]
                    achieved = per_step / images * rate
                    flops_text, frac_text = f"{achieved / 1e9:.1f}", f"{achieved / peak:.0%}"
                print(f"{name:<11} {network:<8} {mode:<9} {rate:>10.0f} {flops_text:>13} {frac_text:>8}",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
