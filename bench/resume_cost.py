"""What one interruption costs: a study run uninterrupted, and the same study lost with its
machine (``kill -9`` of the driver's process group, with the Ray it started) at a fault point
and re-run with the same command, side by side.

    python bench/resume_cost.py                       # quickstart --smoke, lost at the 4th report
    python bench/resume_cost.py --fault final_run:1 --rounds 2

Prints the wall time of each, the time the interrupted study had run when it was lost, and the
cost of the resume: (time before the loss + time of the re-run) - uninterrupted time. Checks that
both end with the same answer (``tune.soak.study_answer``). Run it alone on the machine.
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tune.soak import start_driver, study_answer, study_name  # noqa: E402


def _timed(spec: str, results: Path, extra: list[str], log: Path) -> float:
    start = time.time()
    proc = start_driver(spec, results, extra, log)
    if proc.wait() != 0:
        raise SystemExit(f"the study failed (exit {proc.returncode}); see {log}")
    return time.time() - start


def _interrupted(spec: str, results: Path, extra: list[str], log: Path, fault: str,
                 faults: Path) -> float:
    os.environ.update(SSVAE_FAULT=fault, SSVAE_FAULT_DIR=str(faults))
    try:
        start = time.time()
        proc = start_driver(spec, results, extra, log)
        point, _, n = fault.partition(":")
        marker = faults / f"{point}-{n or 1}.reached"
        while not marker.exists():
            if proc.poll() is not None:
                raise SystemExit(f"the study ended before {fault}; see {log}")
            time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGKILL)          # the machine is lost
        proc.wait()
        return time.time() - start
    finally:
        for key in ("SSVAE_FAULT", "SSVAE_FAULT_DIR"):
            os.environ.pop(key, None)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", nargs="?", default="quickstart")
    p.add_argument("--full", action="store_true", help="the spec's full budget (default: --smoke)")
    p.add_argument("--fault", default="report:4", help="where the machine is lost (tune.faults)")
    p.add_argument("--rounds", type=int, default=1)
    args = p.parse_args(argv)
    extra = [] if args.full else ["--smoke"]
    name = study_name(args.spec, extra)
    costs = []
    for r in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="resume-cost-") as tmp:
            root = Path(tmp)
            log = root / "drivers.log"
            plain = _timed(args.spec, root / "plain", extra, log)
            lost = _interrupted(args.spec, root / "lost", extra, log, args.fault, root / "faults")
            rerun = _timed(args.spec, root / "lost", extra, log)
            same = study_answer(root / "plain" / name) == study_answer(root / "lost" / name)
        cost = lost + rerun - plain
        costs.append(cost)
        print(f"round {r + 1}: uninterrupted {plain:.1f} s; lost at {args.fault} after "
              f"{lost:.1f} s, re-run {rerun:.1f} s; resume cost {cost:+.1f} s "
              f"({100 * cost / plain:+.0f} %); same answer: {same}", flush=True)
        if not same:
            return 1
    print(f"median resume cost: {statistics.median(costs):+.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
