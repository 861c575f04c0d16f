#!/usr/bin/env bash
# One lease of a GPU machine for the MNIST anchor: the training-speed benchmark, then the runs
# the 2-core CPU could not afford, side by side on the one GPU (one CPU thread each).
#
#   bash results/mnist_anchor/gpu_batch.sh DATA_ROOT OUT_DIR [MAX_STAGE_S] [M1_CHECKPOINT]
#
# DATA_ROOT holds MNIST in torchvision's layout; OUT_DIR receives bench.txt and one folder per run
# (metrics.json, the epoch log, the image grids). MAX_STAGE_S (default 400) is each run's
# wall-clock bound (--max-stage-s): a run that reaches it says so (metrics' stopped_by:
# time_limit) rather than being called converged. M1_CHECKPOINT is the shared M1 of the
# M1+M2 runs (results/mnist_anchor/README.md); without it the M1+M2 runs are skipped.
# (DEVICE=cpu SEEDS=0 tries it out on a machine without a GPU.)
set -u
PY=${PYTHON:-python3}
DATA=$1; OUT=$2; LIMIT=${3:-400}; M1=${4:-}; DEVICE=${DEVICE:-cuda}; SEEDS=${SEEDS:-0 1 2}
mkdir -p "$OUT"
COMMON=(--dataset mnist --data-root "$DATA" --label-mode subclass --device "$DEVICE" --threads 1
        --epochs 200 --patience 15 --no-progress --log-epochs --max-stage-s "$LIMIT")

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.txt" 2>&1
timeout 90 $PY bench/train_speed.py --dataset mnist --data-root "$DATA" --device "$DEVICE" \
    --steps 100 --warmup 10 > "$OUT/bench.txt" 2>&1

run() {   # name, then the run's own flags
    local name=$1; shift
    echo "python -m ssvae.train ${COMMON[*]} $* --out runs/$name" > "$OUT/$name.cmd"
    timeout $((LIMIT + 90)) $PY -m ssvae.train "${COMMON[@]}" "$@" --out "$OUT/runs/$name" \
        > "$OUT/$name.log" 2>&1 &
}
for seed in $SEEDS; do
    run m2-n100-s$seed --model m2 --n-labels 100 --split-seed $seed
    run m2-n1000-s$seed --model m2 --n-labels 1000 --split-seed $seed
    if [ -n "$M1" ]; then
        run m1m2-n1000-s$seed --model m1m2 -O m1_checkpoint="$M1" --n-labels 1000 --split-seed $seed
    fi
done
wait
# Checkpoints stay behind (too large to bring back); everything else travels as one archive.
rm -rf "$OUT"/runs/*/last "$OUT"/runs/*/best
tar -czf "$OUT/runs.tgz" -C "$OUT" runs $(cd "$OUT" && ls *.log *.cmd) && rm -rf "$OUT"/runs "$OUT"/*.log "$OUT"/*.cmd
ls -la "$OUT"
