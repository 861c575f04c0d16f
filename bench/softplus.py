"""Side by side: torch's ``F.softplus`` against ssvae's vectorised CPU softplus
(``ssvae/nets/softplus.py``), on the tensor an M2 step applies it to and on whole M2 steps.

    python bench/softplus.py --dataset mnist --data-root ../shared/data --threads 1

Prints the elementwise time per call on a K × B × D tensor (forward, and forward + backward)
and the time of one M2 training step (MLP networks, the paper's sizes) with each softplus,
interleaved over ``--reps`` rounds (min and median), and the ratio torch / ssvae.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ssvae.nets.softplus as sp  # noqa: E402
from ssvae.config import TrainConfig  # noqa: E402
from ssvae.data import BatchSource, load_dataset, make_split  # noqa: E402
from ssvae.models import build_model  # noqa: E402
from ssvae.training.inputs import training_arrays  # noqa: E402

OURS = sp._Softplus.apply
IMPLEMENTATIONS = {"torch F.softplus": F.softplus, "ssvae softplus": OURS}


def _time(fn, reps: int) -> list[float]:
    fn()
    out = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def elementwise(shape: tuple[int, ...], reps: int) -> None:
    x = torch.randn(shape) * 4
    for name, f in IMPLEMENTATIONS.items():
        fwd = _time(lambda: f(x), reps)
        xg = x.clone().requires_grad_()
        both = _time(lambda: f(xg).sum().backward(), reps)
        print(f"  {name:<18} forward {1e3 * min(fwd):7.2f} ms   forward+backward "
              f"{1e3 * min(both):7.2f} ms   ({x.numel():,} elements)")


def m2_steps(dataset: str, root: str | None, label_mode: str, reps: int, steps: int) -> None:
    data = load_dataset(dataset, root=root)
    hierarchy = data.hierarchy()
    split = make_split(data, n_labels=100, split_seed=0)
    config = TrainConfig(dataset=dataset, model="m2", network="mlp", classifier="mlp",
                         label_mode=label_mode, n_labels=100, progress=False)
    torch.manual_seed(0)
    model = build_model(config, data.image_shape, hierarchy.n_classes(label_mode))
    arrays = training_arrays(model, data, split, hierarchy, label_mode)   # as fit() does
    source = BatchSource(arrays.x_labelled, arrays.y_labelled, arrays.x_unlabelled,
                         config.batch_size, config.labelled_batch_size, seed=0,
                         device=torch.device("cpu"))
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    batches = [b for _, b in zip(range(steps), source.epoch(0))]

    def run() -> float:
        start = time.perf_counter()
        for batch in batches:
            out = model.step_loss(batch)
            optimiser.zero_grad()
            out.loss.backward()
            optimiser.step()
        return (time.perf_counter() - start) / len(batches)

    times: dict[str, list[float]] = {name: [] for name in IMPLEMENTATIONS}
    try:
        for _ in range(reps + 1):                          # the first round warms up
            for name, f in IMPLEMENTATIONS.items():
                sp._Softplus.apply = f
                times[name].append(run())
    finally:
        sp._Softplus.apply = OURS
    for name, t in times.items():
        t = t[1:]
        print(f"  {name:<18} M2 step ({label_mode}) min {1e3 * min(t):7.1f} ms   median "
              f"{1e3 * statistics.median(t):7.1f} ms")
    a, b = (statistics.median(times[n][1:]) for n in IMPLEMENTATIONS)
    print(f"  ratio torch / ssvae (medians): {a / b:.2f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--steps", type=int, default=6, help="M2 steps per timed round")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} thread(s), CPU")
    print("elementwise, K x B x D = 10 x 128 x 784 (M2's Bernoulli logits on MNIST):")
    elementwise((10, 128, 784), args.reps)
    print(f"whole M2 training steps on {args.dataset} (MLP, hidden 500, z 50, batch 128 + 32):")
    for mode in ("subclass", "binary"):
        m2_steps(args.dataset, args.data_root, mode, args.reps, args.steps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
