"""``python -m tune.submit --target slurm|slurm-shared|ray|k8s [SPEC] [options]``: one entry point
to run a study on a cluster. It validates the spec first (every spec error before anything is
submitted), renders the target's file from ``tune/cluster/`` with the study's command, writes it
to ``<results-dir>/<name>/submit/`` and prints the command that submits it; ``--submit`` also
runs that command.

Targets:
  slurm         whole nodes, ``ray symmetric-run``          (tune/cluster/slurm_symmetric.sbatch)
  slurm-shared  shared partition, ``ray start`` head/worker (tune/cluster/slurm_head_worker.sbatch)
  ray           an existing Ray cluster (``ray up tune/cluster/ray_cluster.yaml``): ``ray job submit``
  k8s           KubeRay ``RayJob``                          (tune/cluster/rayjob.yaml)

The Slurm scripts ask Slurm for SIGTERM ``--term-before`` seconds before ``--time`` runs out
(``#SBATCH --signal=B:TERM@...``) and pass it to the driver alone, so the study stops cleanly;
re-submitting the same file resumes it. Every target uses token authentication the same way in
every process (``RAY_AUTH_MODE=token``) and shared storage for ``--results-dir`` and
``--storage`` (NFS path or ``s3://``); the guide is ``tune/cluster/README.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

if __package__ in (None, ""):
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))

from ssvae.config import ConfigError  # noqa: E402
from tune.spec import SpecError, load_spec, resolve_spec_path, shipped_specs  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CLUSTER = Path(__file__).resolve().parent / "cluster"
TEMPLATES = {"slurm": "slurm_symmetric.sbatch", "slurm-shared": "slurm_head_worker.sbatch",
             "k8s": "rayjob.yaml"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tune.submit", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", required=True, choices=("slurm", "slurm-shared", "ray", "k8s"))
    p.add_argument("spec", nargs="?", default=None, help="spec path or shipped name (default: quickstart)")
    study = p.add_argument_group("the study (passed to tune/search.py)")
    study.add_argument("--results-dir", default=None,
                       help="shared results folder (default: <repo>/results; k8s: /shared/results)")
    study.add_argument("--storage", default=None,
                       help="shared Tune storage: NFS folder or s3://... (default: <results-dir>/<name>/ray)")
    study.add_argument("--data-root", default=None)
    study.add_argument("--name", default=None)
    study.add_argument("--smoke", action="store_true")
    study.add_argument("--max-concurrent", type=int, default=None)
    study.add_argument("--cpus-per-trial", type=float, default=None)
    study.add_argument("--gpus-per-trial", type=float, default=None)
    res = p.add_argument_group("the allocation")
    res.add_argument("--nodes", type=int, default=2)
    res.add_argument("--cpus-per-node", type=int, default=16)
    res.add_argument("--gpus-per-node", type=int, default=0)
    res.add_argument("--mem", default="64G", help="memory per node (slurm-shared, k8s)")
    res.add_argument("--time", default="24:00:00", help="Slurm time limit")
    res.add_argument("--term-before", type=int, default=300, metavar="SECONDS",
                     help="Slurm sends the driver SIGTERM this long before --time runs out, so "
                          "the study stops cleanly and resumes when re-submitted (default 300)")
    res.add_argument("--partition", default=None, help="Slurm partition")
    res.add_argument("--port", type=int, default=6379, help="Ray head port (Slurm)")
    res.add_argument("--env-setup", default="",
                     help="shell lines run before Ray starts, e.g. 'source ~/venvs/ssvae/bin/activate'")
    res.add_argument("--token-path", default="~/.ray/ssvae_auth_token",
                     help="the shared token file every Ray process reads (Slurm)")
    res.add_argument("--image", default="YOUR_REGISTRY/ssvae:latest", help="container image (k8s)")
    res.add_argument("--pvc", default="ssvae-shared", help="ReadWriteMany PVC mounted at /shared (k8s)")
    res.add_argument("--address", default=os.environ.get("RAY_ADDRESS") or "http://127.0.0.1:8265",
                     help="Ray job server address (ray target; default $RAY_ADDRESS)")
    p.add_argument("--out", default=None, help="where to write the rendered file ('-': stdout)")
    p.add_argument("--submit", action="store_true", help="also run the submission command")
    return p


def _spec_arg(spec: str | None) -> str:
    """The spec as the cluster will see it: a shipped name, a repo-relative path, or as given."""
    path = resolve_spec_path(spec).resolve()
    if path.parent == (REPO / "ablations").resolve() and path.stem in shipped_specs():
        return path.stem
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def study_args(args: argparse.Namespace, results_dir: str) -> list[str]:
    out = [_spec_arg(args.spec), "--results-dir", results_dir]
    for flag in ("storage", "data_root", "name", "max_concurrent", "cpus_per_trial", "gpus_per_trial"):
        value = getattr(args, flag)
        if value is not None:
            out += [f"--{flag.replace('_', '-')}", str(value)]
    if args.smoke:
        out.append("--smoke")
    return out


def render(template: str, values: dict[str, str]) -> str:
    text = template
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", value)
    if "@@" in text:
        left = sorted({part.split("@@")[0] for part in text.split("@@")[1::2]})
        raise ValueError(f"unfilled placeholders in the template: {left}")
    return text


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        spec = load_spec(args.spec).with_overrides(
            name=args.name, data_root=args.data_root, max_concurrent=args.max_concurrent,
            cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial)
        if args.smoke:
            spec = spec.smoked()
    except (SpecError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if spec.resources.cpus_per_trial > args.cpus_per_node:
        print(f"error: cpus_per_trial={spec.resources.cpus_per_trial} > --cpus-per-node="
              f"{args.cpus_per_node}: no node could run a trial", file=sys.stderr)
        return 2
    if spec.resources.gpus_per_trial and not args.gpus_per_node:
        print(f"error: gpus_per_trial={spec.resources.gpus_per_trial} but --gpus-per-node=0; "
              f"give --gpus-per-node or --gpus-per-trial 0", file=sys.stderr)
        return 2
    if args.target.startswith("slurm"):
        try:
            limit_s = slurm_time_s(args.time)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        if not 0 < args.term_before < min(limit_s, 65536):
            print(f"error: --term-before={args.term_before} s must be > 0 and shorter than --time="
                  f"{args.time} ({limit_s} s) and than Slurm's maximum of 65535 s", file=sys.stderr)
            return 2
    if args.target == "k8s":
        results_dir = args.results_dir or "/shared/results"
    else:
        results_dir = str(Path(args.results_dir or REPO / "results").expanduser().resolve())
    job = f"ssvae-{spec.name}".replace("_", "-").lower()[:50]
    cmd_args = study_args(args, results_dir)
    study_cmd = shlex.join(["python", "-m", "tune.search", *cmd_args])

    if args.target == "ray":
        runtime_env = {"env_vars": {"RAY_AUTH_MODE": "token"},
                       "excludes": ["results/", ".git/", "splits/", "ray_results/", "*.pt"]}
        submit = ["ray", "job", "submit", "--address", args.address, "--working-dir", str(REPO),
                  "--runtime-env-json", json.dumps(runtime_env), "--", "python", "-m",
                  "tune.search", *cmd_args]
        text = ("#!/bin/bash\n# Submit the study to a running Ray cluster (see tune/cluster/ray_cluster.yaml).\n"
                "# The submitting shell needs the cluster's token: RAY_AUTH_MODE=token and\n"
                "# ~/.ray/auth_token (or RAY_AUTH_TOKEN / RAY_AUTH_TOKEN_PATH).\n"
                "export RAY_AUTH_MODE=token\n" + shlex.join(submit) + "\n")
        submit_cmd = None
    else:
        gpus = args.gpus_per_node
        values = {
            "JOB_NAME": job, "NODES": str(args.nodes), "CPUS_PER_NODE": str(args.cpus_per_node),
            "GPUS_PER_NODE": str(gpus), "MEM": args.mem, "TIME": args.time, "PORT": str(args.port),
            "GPU_LINE": f"#SBATCH --gpus-per-node={gpus}" if gpus else "# (no GPUs requested)",
            "PARTITION_LINE": f"#SBATCH --partition={args.partition}" if args.partition else "# (default partition)",
            "LOG_DIR": str(Path(results_dir) / spec.name / "submit"), "REPO": shlex.quote(str(REPO)),
            "ENV_SETUP": args.env_setup or "# (add `source <venv>/bin/activate` or `module load` lines here)",
            "TOKEN_PATH": args.token_path, "STUDY_ARGS": shlex.join(cmd_args),
            "IMAGE": args.image, "PVC": args.pvc, "TERM_BEFORE": str(args.term_before),
            "END_OF_JOB": render((CLUSTER / "slurm_end_of_job.sh").read_text().rstrip("\n"),
                                 {"TERM_BEFORE": str(args.term_before)}),
            "RAY_VERSION": version("ray"), "GPU_REQUEST": f', nvidia.com/gpu: "{gpus}"' if gpus else "",
        }
        text = render((CLUSTER / TEMPLATES[args.target]).read_text(), values)
        submit_cmd = "sbatch" if args.target.startswith("slurm") else "kubectl apply -f"
    suffix = {"slurm": ".sbatch", "slurm-shared": ".sbatch", "k8s": ".yaml", "ray": ".sh"}[args.target]
    if args.out == "-":
        print(text)
        return 0
    # k8s: --results-dir is a path inside the pods, so the manifest is written locally.
    local = Path("results") if args.target == "k8s" else Path(results_dir)
    out = Path(args.out) if args.out else local / spec.name / "submit" / f"{args.target}{suffix}"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    if args.target.startswith("slurm"):   # Slurm does not make the --output folder: no log, no job
        Path(values["LOG_DIR"]).mkdir(parents=True, exist_ok=True)
    command = f"bash {shlex.quote(str(out))}" if submit_cmd is None else f"{submit_cmd} {shlex.quote(str(out))}"
    print(f"wrote {out}\nthe study: {study_cmd}\nsubmit with: {command}")
    if args.submit:
        return subprocess.call(shlex.split(command))
    return 0


_SLURM_TIME = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")


def slurm_time_s(text: str) -> int:
    """Seconds in a Slurm time limit: ``M``, ``M:S``, ``H:M:S``, ``D-H``, ``D-H:M``, ``D-H:M:S``;
    ``UNLIMITED`` / ``INFINITE``: a number larger than any other."""
    if text.strip().lower() in ("unlimited", "infinite"):
        return 2 ** 31
    match = _SLURM_TIME.match(text.strip())
    if not match:
        raise ValueError(f"--time={text!r} is not a Slurm time limit (M, M:S, H:M:S, D-H, D-H:M "
                         f"or D-H:M:S, e.g. 24:00:00 or 1-12:00:00)")
    days, a, b, c = (int(g) if g is not None else None for g in match.groups())
    if days is None:   # M, M:S, H:M:S
        count = sum(x is not None for x in (a, b, c))
        h, m, sec = {1: (0, a, 0), 2: (0, a, b), 3: (a, b, c)}[count]
    else:              # D-H, D-H:M, D-H:M:S
        h, m, sec = a, b or 0, c or 0
    return (((days or 0) * 24 + h) * 60 + m) * 60 + sec


if __name__ == "__main__":
    sys.exit(main())
