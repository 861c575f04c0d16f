"""``python tune/search.py [SPEC] [options]``: run an ablation study with Ray Tune + Optuna.

SPEC is a YAML path or a shipped spec name (``ablations/<name>.yaml``); none runs the quickstart.
For each searched cell one Tuner (Optuna TPE + ASHA, on a validation metric), then the best
configuration of every cell is trained for each (label draw, seed) and its test metrics go to
``<results-dir>/<name>/runs.csv`` (default ``runs/<name>/``, a folder git ignores, so a fresh
clone really trains and its committed ``results/`` stay untouched). Re-running the same command
resumes. When done, the new table is compared with the committed reference
``results/<name>/runs.csv`` (``tune.reference``): agreement or each differing run is printed, and
a difference never fails the command. ``RAY_ADDRESS`` set: join that cluster; unset: start Ray
locally.

Examples::

    python tune/search.py                              # the quickstart (digits, offline)
    python tune/search.py quickstart --smoke           # tiny budget, runs/quickstart-smoke/
    python tune/search.py mnist_label_curve --dry-run  # cells, trials and a compute estimate
    RAY_ADDRESS=head:6379 python -m tune.search ablations/fashion_binary_vs_subclass.yaml \\
        --storage /shared/ray --results-dir /shared/results --gpus-per-trial 0.25
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: import the package `tune`, not this folder's modules as top-level ones.
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))

from ssvae.config import ConfigError  # noqa: E402
from tune import faults  # noqa: E402
from tune.reference import check_against_reference  # noqa: E402
from tune.spec import SpecError, load_spec, shipped_specs  # noqa: E402

DEFAULT_RESULTS_DIR = "runs"          # git-ignored: a study never rewrites committed files
REFERENCE_DIR = "results"             # the committed tables a new run is checked against


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python tune/search.py",
        description="Run an ablation study (one Ray Tune Tuner per cell, Optuna TPE + ASHA, "
                    "then the final evaluation of each cell's best config).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"shipped specs: {', '.join(shipped_specs())}")
    p.add_argument("spec", nargs="?", default=None,
                   help="a spec YAML path or a shipped spec name (default: quickstart)")
    p.add_argument("--smoke", action="store_true",
                   help="tiny budget, same code path; writes to <results-dir>/<name>-smoke/")
    p.add_argument("--dry-run", action="store_true",
                   help="validate, print cells, trials and a compute estimate; start nothing")
    p.add_argument("--results-dir", default=DEFAULT_RESULTS_DIR,
                   help=f"results root; the study writes <results-dir>/<name>/ (default: "
                        f"{DEFAULT_RESULTS_DIR}/, which git ignores; pass {REFERENCE_DIR} to "
                        "add to the committed tables)")
    p.add_argument("--reference", default=None, metavar="RUNS_CSV",
                   help=f"table the finished study is compared with (default: the committed "
                        f"{REFERENCE_DIR}/<name>/runs.csv; skipped when absent)")
    p.add_argument("--storage", default=None,
                   help="Ray Tune storage: a folder (made absolute; NFS for multi-node) or a "
                        "URI such as s3://bucket/path (default: <results-dir>/<name>/ray)")
    p.add_argument("--data-root", default=None, help="data folder (default: $SSVAE_DATA_ROOT)")
    p.add_argument("--max-concurrent", type=int, default=None,
                   help="trials (and final runs) at a time (default: as many as the CPUs allow)")
    p.add_argument("--cpus-per-trial", type=float, default=None,
                   help="CPUs per trial; torch threads = this (default: the spec's)")
    p.add_argument("--gpus-per-trial", type=float, default=None,
                   help="GPUs per trial, fractions allowed, e.g. 0.25 (default: the spec's)")
    p.add_argument("--name", default=None, help="study name (default: the spec's name)")
    return p


def command_line(argv: list[str] | None) -> str:
    args = sys.argv[1:] if argv is None else argv
    return shlex.join(["python", "tune/search.py", *args])


def load(args: argparse.Namespace):
    spec = load_spec(args.spec)
    # Absolute: Tune runs each trial in its own working directory.
    data_root = os.path.abspath(args.data_root) if args.data_root else None
    spec = spec.with_overrides(name=args.name, data_root=data_root,
                               max_concurrent=args.max_concurrent,
                               cpus_per_trial=args.cpus_per_trial,
                               gpus_per_trial=args.gpus_per_trial)
    if args.smoke:
        spec = spec.smoked()
    return spec


def _analyse(study_dir: Path, command: str) -> None:
    from ssvae.analysis import analyse

    try:
        out = analyse(results_dirs=[str(study_dir)], command=command)
    except Exception as err:  # noqa: BLE001 - the study's results stand without the plots
        print(f"[tune] analysis failed ({type(err).__name__}: {err}); the results are complete, "
              f"re-run it with `python -m ssvae.analysis {study_dir}`", flush=True)
        return
    if out:
        report = out.get("report") if isinstance(out, dict) else out
        print(f"[tune] analysis: report {report} (plots under {study_dir / 'figures'})", flush=True)


def quiet_local_token_auth(environ=os.environ) -> None:
    """Ask a LOCAL Ray for the token authentication it turns on by default anyway.

    Ray 2.60 enables token authentication for a new local cluster when ``RAY_AUTH_MODE`` is
    unset, creates ``~/.ray/auth_token`` once, and warns about it on every start; an explicit
    mode is respected without the warning. Same security, a clean console. Joining a cluster
    (``RAY_ADDRESS`` set) keeps whatever mode the user exported, which must match the head's.
    Ray reads the mode when it is imported, and its GCS (a child process) when it starts: set
    it after ``import ray`` in the same process and the two disagree (the driver cannot
    authenticate to its own GCS), so it is set only when ``tune/search.py`` runs as a command.
    """
    if not environ.get("RAY_ADDRESS"):
        environ.setdefault("RAY_AUTH_MODE", "token")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = command_line(argv)
    try:
        spec = load(args)
    except (SpecError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    from tune.cells import expand_cells
    from tune.preflight import PreflightError, check_study
    from tune.describe import describe
    from tune.failures import StudyError, StudyInterrupted
    from tune.runner import run_study
    from tune.study_paths import study_paths

    from tune.study_state import check_driver, check_results_table, check_storage

    paths = study_paths(spec, args.results_dir, args.storage)
    try:                               # before anything is written or started
        check_driver(paths)
        check_results_table(paths)
        check_storage(paths, claim=False)
    except StudyError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not args.dry_run:               # a dry run writes nothing
        # The report's "Command" section quotes it, also after a later `python -m ssvae.analysis`.
        try:
            paths.study_dir.mkdir(parents=True, exist_ok=True)
            (paths.study_dir / "command.txt").write_text(command + "\n")
        except OSError as err:
            print(f"error: cannot write the study folder {paths.study_dir} ({err}); pass "
                  "--results-dir a folder you can write", file=sys.stderr)
            return 2
    try:
        n_checked, absent = check_study(spec, expand_cells(spec),
                                        None if args.dry_run else paths.split_dir,
                                        require_data=not args.dry_run)
    except PreflightError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.dry_run:
        describe(spec, paths)
        print(f"data checked: {n_checked} data setting(s) load and split as specified")
        for line in absent:
            print(f"data NOT checked (not on this machine; a run here would stop): {line}")
        print("dry run: nothing started")
        return 0
    try:
        result = run_study(spec, results_dir=args.results_dir, storage=args.storage,
                           command=command)
    except StudyInterrupted as err:
        print(f"\n[tune] stopped: {err}\n[tune] everything finished so far is kept; running "
              f"trials and runs continue from their last finished epoch.\n"
              f"[tune] resume with exactly the same command:\n  cd {shlex.quote(os.getcwd())} "
              f"&& {command}", flush=True)
        return 130
    except KeyboardInterrupt:
        print(f"\n[tune] stopped. Resume with:\n  cd {shlex.quote(os.getcwd())} && {command}",
              flush=True)
        return 130
    except StudyError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    paths, counts = result["paths"], result["counts"]
    print(f"\n  results table:    {paths.runs_csv}\n  best configs:     {paths.best_json}\n"
          f"  search history:   {paths.history_csv}\n  spec copy:        {paths.spec_copy}\n"
          f"  runs (checkpoints): {paths.study_dir / 'runs'}\n  Tune storage:     {paths.storage}")
    faults.reached("analysis")
    _analyse(paths.study_dir, command)
    reference = Path(args.reference or Path(REFERENCE_DIR) / spec.name / "runs.csv")
    for line in check_against_reference(paths.runs_csv, reference):
        print(f"[tune] {line}" if not line.startswith(" ") else line, flush=True)
    if counts["failed"]:
        print(f"[tune] {counts['failed']} final run(s) failed:", file=sys.stderr)
        for line in counts.get("failures", []):
            print(f"  {line}", file=sys.stderr)
        print(f"[tune] the errors are in {paths.runs_csv} (column 'error'); the same command "
              f"runs the failed ones again", file=sys.stderr)
    # The last line, which scripts and the README quote.
    print(f"[tune] study {spec.name!r} done: {counts['ok']} final runs now, "
          f"{counts['skipped']} already there, {counts['failed']} failed", flush=True)
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    # Only as a command, before anything imports Ray (which reads the mode then): called from
    # Python (tests, notebooks), main() leaves the caller's environment and Ray alone.
    quiet_local_token_auth()
    sys.exit(main())
