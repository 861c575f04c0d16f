"""Side by side: CPU matrix products and training steps with subnormal floats flushed to zero
(``TrainConfig.flush_denormal``, the default) and with IEEE floats.

    python bench/denormal_speed.py --threads 1
    python bench/denormal_speed.py --threads 1 --run runs/mnist_anchor/m1m2drop50lb100-n100-s0 \
        --data-root ../shared/data

A float32 below 1.2e-38 is subnormal; x86 CPUs handle it in microcode, far slower than a normal
value, unless FTZ/DAZ (``torch.set_flush_denormal(True)``) reads and writes it as 0. Part 1 times
one product [K·B, H] @ [H, H] (M2's hidden layer over every label at once: K = 10, B = 128,
H = 500) on normal and on subnormal input. Part 2 (``--run``) loads a run's last state (``last/state.pt``:
its config and its weights where it stopped, finished or not) and times ``--steps`` forward + backward passes of its training loss (no optimiser step: the
weights stay as trained) on its own batches, and counts the subnormal entries of the gradients
that reach the linear layers (what the backward pass's products take in). Each figure is the
median over ``--reps`` interleaved rounds; the ratio is IEEE / flushed.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ssvae.config import TrainConfig  # noqa: E402
from ssvae.data import BatchSource  # noqa: E402
from ssvae.models import build_model  # noqa: E402
from ssvae.training.loop import cpu_float_mode  # noqa: E402
from ssvae.training.inputs import run_inputs, training_arrays  # noqa: E402

TINY = torch.finfo(torch.float32).tiny            # the smallest normal float32, 1.18e-38
MODES = {"IEEE floats": False, "flushed to zero": True}


def _interleaved(fns: dict[str, callable], reps: int) -> dict[str, float]:
    """Median seconds of each function, the functions run in turn ``reps`` times (after one
    warm-up round), so that the machine's drift hits each alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for round_ in range(reps + 1):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            if round_:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def _in_mode(flush: bool, fn: callable) -> callable:
    def run():
        torch.set_flush_denormal(flush)
        fn()
    return run


def matmuls(reps: int) -> None:
    torch.manual_seed(0)
    torch.set_flush_denormal(False)             # else the subnormal input is made as zeros
    weight = torch.randn(500, 500)
    inputs = {"normal": torch.randn(1280, 500), "subnormal": torch.randn(1280, 500) * 1e-39}
    if not bool((inputs["subnormal"].abs() < TINY).all() and inputs["subnormal"].any()):
        raise RuntimeError("could not make subnormal floats on this machine")
    fns = {f"{kind} input, {mode}": _in_mode(flush, lambda x=x: x @ weight)
           for kind, x in inputs.items() for mode, flush in MODES.items()}
    medians = _interleaved(fns, reps)
    for name, t in medians.items():
        print(f"  {name:<36} {1e3 * t:9.2f} ms")
    for kind in inputs:
        ieee, flushed = (medians[f"{kind} input, {mode}"] for mode in MODES)
        print(f"  {kind} input: IEEE / flushed = {ieee / flushed:.1f}")


def _subnormal_counter(model: torch.nn.Module) -> tuple[list[int], list]:
    """[subnormal, total] entries of the output gradients of every linear layer, filled by hooks."""
    counts = [0, 0]

    def hook(_module, _grad_in, grad_out):
        g = grad_out[0]
        if g is not None:
            counts[0] += int(((g != 0) & (g.abs() < TINY)).sum())
            counts[1] += g.numel()

    # (torch warns where a layer's input needs no gradient, e.g. M1+M2's frozen M1: its output
    # gradient is still what the hook should see)
    warnings.filterwarnings("ignore", message="Full backward hook is firing")
    handles = [m.register_full_backward_hook(hook) for m in model.modules()
               if isinstance(m, torch.nn.Linear)]
    return counts, handles


def training_steps(run: Path, data_root: str, steps: int, reps: int) -> None:
    saved = torch.load(run / "last" / "state.pt", map_location="cpu", weights_only=True)
    config = TrainConfig.from_dict({**saved["config"], "data_root": data_root})
    data, hierarchy, split = run_inputs(config)
    model = build_model(config, data.image_shape, hierarchy.n_classes(config.label_mode))
    stages = model.stages()                     # a finished run's index is past the last stage
    model.set_stage(stages[min(saved["state"]["stage_index"], len(stages) - 1)].name)
    model.load_state_dict(saved["model"])
    arrays = training_arrays(model, data, split, hierarchy, config.label_mode)
    source = BatchSource(arrays.x_labelled, arrays.y_labelled, arrays.x_unlabelled,
                         config.batch_size, config.labelled_batch_size, seed=0,
                         device=torch.device("cpu"))
    batches = [b for _, b in zip(range(steps), source.epoch(0))]
    model.train()

    def passes() -> None:
        for batch in batches:
            model.zero_grad(set_to_none=True)
            model.step_loss(batch).loss.backward()

    counts, handles = _subnormal_counter(model)
    torch.set_flush_denormal(False)
    torch.manual_seed(0)
    passes()
    for h in handles:
        h.remove()
    print(f"  {run.name} ({config.model}, stage {model.stage}): {counts[0]:,} of {counts[1]:,} "
          f"entries of the linear layers' output gradients are subnormal "
          f"({100 * counts[0] / max(counts[1], 1):.3f} %), IEEE floats, {steps} steps")
    medians = _interleaved({mode: _in_mode(flush, passes) for mode, flush in MODES.items()}, reps)
    for mode, t in medians.items():
        print(f"  {mode:<16} {1e3 * t / steps:9.1f} ms per step (forward + backward)")
    print(f"  IEEE / flushed = {medians['IEEE floats'] / medians['flushed to zero']:.2f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--run", type=Path, help="a run folder with last/state.pt")
    parser.add_argument("--data-root", default=None, help="the data of --run")
    parser.add_argument("--steps", type=int, default=10, help="training steps per timed round")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} thread(s), CPU")
    with cpu_float_mode(False):                 # each timed call sets its own; the caller's after
        print("one product [1280, 500] @ [500, 500]:")
        matmuls(args.reps)
        if args.run is not None:
            print(f"training steps of {args.run}:")
            training_steps(args.run, args.data_root, args.steps, args.reps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
