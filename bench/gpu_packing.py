"""GPU packing: throughput of quickstart trials sharing one GPU, at 1, 2, 4 and 8 trials per GPU
(what ``--gpus-per-trial 1, 0.5, 0.25, 0.125`` gives), in images/s in total and per trial, and the
GPU memory per trial.

    python bench/gpu_packing.py                          # m2-subclass-n200, 1 2 4 8 trials
    python bench/gpu_packing.py --cell gmvae-binary-n200 --trials 1 4 --steps 400

Ray Tune runs each trial in its own worker process, all seeing the same GPU when they hold
fractions of it; this bench does the same without Ray's scheduling: k processes (spawned), each
training one quickstart cell's model (the spec's settings, digits, one torch thread) in training's
precision (bf16 autocast on a GPU). All k warm up, wait for each other, then time ``--steps``
optimiser steps together. An "image" is one example of a step's batch, labelled or unlabelled.
Memory per trial: torch's peak reserved memory in that process, and the device memory in use
while all k are alive divided by k (this includes each process's CUDA context).

Without a CUDA GPU it says so and exits 0: there is nothing to pack. ``--device cpu`` runs the
same processes on CPU cores instead (no memory columns): a check of the bench itself, not a
packing figure.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

import torch

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from train_speed import time_steps  # noqa: E402

from ssvae.data import BatchSource, load_dataset, make_split  # noqa: E402
from ssvae.models import build_model  # noqa: E402
from ssvae.training.inputs import training_arrays  # noqa: E402
from tune.cells import expand_cells, search_cells  # noqa: E402
from tune.spec import load_spec  # noqa: E402

GIB = 1024 ** 3


def quickstart_cells() -> dict:
    return {c.name: c for c in search_cells(expand_cells(load_spec("quickstart")))}


def trial(index: int, cell_name: str, device_name: str, steps: int, warmup: int, threads: int,
          barrier, results) -> None:
    """One trial's process: build the cell's model on the device, warm up, time ``steps``
    together with the others, report (images/s, peak reserved bytes, device bytes in use with
    all alive; both None on CPU)."""
    torch.set_num_threads(threads)
    device = torch.device(device_name)
    config = quickstart_cells()[cell_name].config
    data = load_dataset(config.dataset, root=config.data_root)
    hierarchy = data.hierarchy()
    split = make_split(data, n_labels=config.n_labels, split_seed=config.split_seed)
    torch.manual_seed(index)
    model = build_model(config, data.image_shape, hierarchy.n_classes(config.label_mode))
    stage = model.stages()[-1]
    for earlier in model.stages():            # train the last stage, as fit() reaches it
        model.set_stage(earlier.name)
    model.to(device)
    arrays = training_arrays(model, data, split, hierarchy, config.label_mode)
    source = BatchSource(arrays.x_labelled, arrays.y_labelled,
                         arrays.x_unlabelled if stage.uses_unlabelled else None,
                         config.batch_size, config.labelled_batch_size, seed=index, device=device)
    time_steps(model, source, steps=1, warmup=warmup, device=device)   # compile kernels, allocate
    barrier.wait()
    rate = time_steps(model, source, steps=steps, warmup=0, device=device)
    barrier.wait()                                   # everyone is still alive: read the device
    if device.type == "cuda":
        free, total = torch.cuda.mem_get_info(device)
        results.put((index, rate, torch.cuda.max_memory_reserved(device), total - free))
    else:
        results.put((index, rate, None, None))
    barrier.wait()


def pack(k: int, cell: str, device: str, steps: int, warmup: int, threads: int, timeout_s: float) -> list[tuple]:
    ctx = mp.get_context("spawn")                    # CUDA cannot be forked
    barrier, results = ctx.Barrier(k), ctx.Queue()
    procs = [ctx.Process(target=trial, args=(i, cell, device, steps, warmup, threads, barrier, results))
             for i in range(k)]
    for p in procs:
        p.start()
    out, end = [], time.monotonic() + timeout_s
    try:
        while len(out) < k:
            out.append(results.get(timeout=max(1.0, end - time.monotonic())))
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
    failed = [p.exitcode for p in procs if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"{len(failed)} of {k} trial processes failed (exit codes {failed})")
    return sorted(out)


def main(argv: list[str] | None = None) -> int:
    cells = quickstart_cells()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", default="m2-subclass-n200", choices=sorted(cells),
                        help="the quickstart cell each trial trains (default: M2, sub-class labels)")
    parser.add_argument("--trials", type=int, nargs="+", default=[1, 2, 4, 8],
                        help="trials per GPU to measure (default: 1 2 4 8)")
    parser.add_argument("--steps", type=int, default=200, help="timed optimiser steps per trial")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads per trial")
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"),
                        help="cpu: the same processes on CPU cores, to check the bench itself")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per packing level")
    args = parser.parse_args(argv)
    for name in ("steps", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.warmup < 0:
        parser.error(f"--warmup must be >= 0, got {args.warmup}")
    bad = [k for k in args.trials if k < 1]
    if bad:
        parser.error(f"--trials must all be >= 1, got {bad}")
    if args.device == "cuda" and not torch.cuda.is_available():
        print(f"no CUDA GPU here (torch {torch.__version__}: torch.cuda.is_available() is False); "
              f"nothing to pack. Run this on a machine with a GPU.")
        return 0
    if args.device == "cuda":
        props = torch.cuda.get_device_properties(0)
        card = f"{props.name} ({props.total_memory / GIB:.0f} GiB)"
    else:
        card = "CPU (a check of the bench, not a packing figure)"
    print(f"# {card}, torch {torch.__version__}, "
          f"cell {args.cell} of the quickstart, {args.steps} steps per trial after {args.warmup} "
          f"warm-up, {args.threads} CPU thread(s) per trial")
    print(f"{'trials/GPU':>10} {'images/s total':>15} {'per trial (mean, min-max)':>27} "
          f"{'peak reserved/trial':>20} {'device in use/trial':>20}")
    for k in args.trials:
        rows = pack(k, args.cell, args.device, args.steps, args.warmup, args.threads, args.timeout)
        rates = [r[1] for r in rows]
        per_trial = f"{statistics.mean(rates):.0f} ({min(rates):.0f}-{max(rates):.0f})"
        if args.device == "cuda":
            reserved = f"{max(r[2] for r in rows) / GIB:.2f} GiB"
            in_use = f"{max(r[3] for r in rows) / k / GIB:.2f} GiB"
        else:
            reserved = in_use = "-"
        print(f"{k:>10} {sum(rates):>15.0f} {per_trial:>27} {reserved:>20} {in_use:>20}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
