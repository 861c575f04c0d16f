#!/usr/bin/env bash
# The real run behind results/cluster/README.md: a one-host Slurm (tune/cluster/slurm_local.sh),
# the smoke study through the whole-node script, then through the shared-partition script with a
# 3-minute time limit (Slurm's own --signal=B:TERM@100 stops it), re-submitted with a longer limit.
#   bash results/cluster/run_local_slurm.sh WORK_DIR     (as root, with slurm-wlm and munge)
# Logs and tables land in WORK_DIR; the committed copies are beside this file.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mkdir -p "$1" && cd "$1" && pwd)
python=${PYTHON:-python}
env_setup="export PATH=$(dirname "$(command -v "$python")"):\$PATH PYTHONPATH=$repo"
cd "$repo"
bash tune/cluster/slurm_local.sh start "$work/slurm"
trap 'bash tune/cluster/slurm_local.sh stop "$work/slurm"' EXIT
export SLURM_CONF=$work/slurm/slurm.conf
sinfo
state() { scontrol show job -o "$1" | grep -o 'JobState=[A-Z_]* .*ExitCode=[0-9:]*' | awk '{print $1, $NF}'; }

echo "== whole nodes: ray symmetric-run"
"$python" -m tune.submit --target slurm --smoke --results-dir "$work/whole" --nodes 1 \
  --cpus-per-node "$(nproc)" --time 30 --term-before 120 --token-path "$work/token" \
  --env-setup "$env_setup"
job=$(sbatch --parsable --wait "$work/whole/quickstart-smoke/submit/slurm.sbatch" || true)
echo "job $job: $(state "$job")"

echo "== shared partition: ray start head, 3-minute limit, SIGTERM 100 s (up to 160 s) before it"
"$python" -m tune.submit --target slurm-shared --smoke --results-dir "$work/shared" --nodes 1 \
  --cpus-per-node "$(nproc)" --mem 2G --partition shared --time 3 --term-before 100 \
  --token-path "$work/token" --env-setup "$env_setup"
script=$work/shared/quickstart-smoke/submit/slurm-shared.sbatch
job=$(sbatch --parsable --wait "$script" || true)
echo "job $job: $(state "$job")"
rows() { if [ -f "$1" ]; then echo $(($(wc -l < "$1") - 1)); else echo "0 (no runs.csv yet)"; fi; }
echo "runs.csv rows after the time limit: $(rows "$work/shared/quickstart-smoke/runs.csv")"
echo "search trials started: $(find "$work/shared/quickstart-smoke" -path '*/fit/*' -name state.pt | wc -l) checkpoints"

echo "== the same script again, with a 30-minute limit"
job=$(sbatch --parsable --wait --time 30 "$script" || true)
echo "job $job: $(state "$job")"

echo "== run_ids: whole-node study vs interrupted-and-resumed shared study"
"$python" - "$work" <<'PY'
import csv, sys
ids = lambda p: sorted(r["run_id"] for r in csv.DictReader(open(p)))
a = ids(f"{sys.argv[1]}/whole/quickstart-smoke/runs.csv")
b = ids(f"{sys.argv[1]}/shared/quickstart-smoke/runs.csv")
print(f"whole-node: {len(a)} runs, shared (resumed): {len(b)} runs, same run_ids: {a == b}")
print("differ:", sorted(set(a) ^ set(b)))
PY
