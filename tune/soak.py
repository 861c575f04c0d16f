"""``python -m tune.soak SPEC --kills 20``: interrupt a study at random moments, resume it with
the same command each time, and check that it ends with the answer of an uninterrupted run.

1. The study runs once uninterrupted (``<out>/reference``): its answer, and its duration.
2. The same study in ``<out>/soak`` is started, and after a random time (uniform between
   ``--min-s`` and ``--max-fraction`` of the reference's duration) interrupted with one of:
   ``kill -9`` of the driver alone, loss of the machine (``kill -9`` of the driver's process
   group, which holds the Ray it started), SIGINT (Ctrl+C) or SIGTERM (Slurm). A kill that comes
   after the study finished does not count. Repeated until ``--kills`` interruptions landed or
   the study finished; then it runs to the end.
3. It prints how many interruptions the study survived, whether any result file differs from
   the reference (``study_answer``: runs.csv, best_configs.json, search_history.csv without the
   fields that describe the run rather than its result), and whether any process of the killed
   drivers' Ray sessions is still running. Exit status 0 only when nothing differs.

The drivers start their own Ray (``RAY_ADDRESS`` is removed), as on a laptop.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from tune import ray_session

# Fields that describe the run rather than its result.
EXEMPT = frozenset({"wall_s", "checkpoint", "node_id", "git_rev", "versions", "device",  # runs
                    "experiment", "search_s",                                          # best
                    "time_s"})                                                         # history
KINDS = ("kill -9 driver", "machine lost", "SIGINT", "SIGTERM")


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def study_answer(study: Path) -> dict:
    """A study's result files without the exempt fields (what must not change)."""
    runs = sorted(({k: v for k, v in r.items() if k not in EXEMPT}
                   for r in _rows(study / "runs.csv")), key=lambda r: r["run_id"])
    best = {cell: {k: v for k, v in entry.items() if k not in EXEMPT}
            for cell, entry in json.loads((study / "best_configs.json").read_text()).items()}
    history = [{k: v for k, v in r.items() if k not in EXEMPT}
               for r in _rows(study / "search_history.csv")]
    return {"runs": runs, "best": best, "history": history}


def differences(a: dict, b: dict) -> list[str]:
    """Plain lines naming what differs between two answers."""
    out = []
    for part in ("runs", "best", "history"):
        if a[part] != b[part]:
            out.append(f"{part}: {len(a[part])} vs {len(b[part])} entries differ in content")
    return out


def start_driver(spec: str, results: Path, extra: list[str], log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.setdefault("PYTHONUNBUFFERED", "1")
    with open(log, "ab") as handle:
        return subprocess.Popen([sys.executable, "-m", "tune.search", spec, "--results-dir",
                                 str(results), *extra], stdout=handle, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _interrupt(proc: subprocess.Popen, kind: str) -> None:
    if kind == "kill -9 driver":
        os.kill(proc.pid, signal.SIGKILL)
    elif kind == "machine lost":
        os.killpg(proc.pid, signal.SIGKILL)
    else:
        os.kill(proc.pid, signal.SIGINT if kind == "SIGINT" else signal.SIGTERM)


def soak(spec: str, kills: int, out: Path, extra: list[str], seed: int, min_s: float,
         max_fraction: float) -> int:
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    log = out / "drivers.log"
    name = study_name(spec, extra)
    started = time.time()
    proc = start_driver(spec, out / "reference", extra, log)
    if proc.wait() != 0:
        print(f"soak: the reference run failed (exit {proc.returncode}); see {log}")
        return 2
    reference_s = time.time() - started
    reference = study_answer(out / "reference" / name)
    print(f"soak: reference run {reference_s:.0f} s")
    study = out / "soak" / name
    landed, by_kind, sessions, attempts = 0, {k: 0 for k in KINDS}, set(), 0
    while landed < kills:
        attempts += 1
        proc = start_driver(spec, out / "soak", extra, log)
        wait = rng.uniform(min_s, max(min_s + 1, max_fraction * reference_s))
        kind = rng.choice(KINDS)
        deadline = time.time() + wait
        while time.time() < deadline and proc.poll() is None:
            record = study / ray_session.RECORD
            if record.exists():
                try:
                    sessions.add(json.loads(record.read_text()).get("session_dir") or "")
                except (OSError, ValueError):
                    pass
            time.sleep(0.2)
        if proc.poll() is not None:            # finished before the kill: proves nothing
            print(f"soak: the study finished before interruption {landed + 1} "
                  f"(after {wait:.0f} s); stopping the kills")
            break
        _interrupt(proc, kind)
        code = proc.wait()
        landed += 1
        by_kind[kind] += 1
        print(f"soak: interruption {landed}: {kind} after {wait:.0f} s (exit {code})", flush=True)
    if proc.poll() is None or proc.returncode != 0:
        proc = start_driver(spec, out / "soak", extra, log)
        if proc.wait() != 0:
            print(f"soak: the final run failed (exit {proc.returncode}); see {log}")
            return 1
    diff = differences(study_answer(study), reference)
    left = sorted({p for s in sessions if s for p in ray_session.session_processes(s)})
    kinds = ", ".join(f"{k}: {n}" for k, n in by_kind.items())
    print(f"soak: survived {landed} interruption(s) ({kinds}) in {attempts} start(s); "
          f"results {'IDENTICAL to' if not diff else 'DIFFERENT from'} the reference"
          + "".join(f"\n  differs: {d}" for d in diff))
    print(f"soak: processes of the killed drivers' Ray sessions still running: {len(left)}"
          + (f" {left}" if left else ""))
    return 0 if not diff and not left else 1


def study_name(spec: str, extra: list[str]) -> str:
    from tune.spec import load_spec

    name = load_spec(spec).name
    if "--name" in extra:
        name = extra[extra.index("--name") + 1]
    return f"{name}-smoke" if "--smoke" in extra else name


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tune.soak", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", help="a spec YAML path or a shipped spec name")
    p.add_argument("--kills", type=int, default=20, help="interruptions to land (default 20)")
    p.add_argument("--out", default="runs/soak", help="working folder (default runs/soak)")
    p.add_argument("--smoke", action="store_true", help="the spec's --smoke budget")
    p.add_argument("--seed", type=int, default=0, help="seed of the kill times and kinds")
    p.add_argument("--min-s", type=float, default=5.0,
                   help="shortest time before a kill, s (default 5)")
    p.add_argument("--max-fraction", type=float, default=0.5,
                   help="longest time before a kill, as a fraction of the reference run's "
                        "duration (default 0.5)")
    args = p.parse_args(argv)
    if args.kills < 1:
        p.error(f"--kills {args.kills}: must be >= 1")
    extra = ["--smoke"] if args.smoke else []
    return soak(args.spec, args.kills, Path(args.out).resolve(), extra, args.seed, args.min_s,
                args.max_fraction)


if __name__ == "__main__":
    sys.exit(main())
