#!/usr/bin/env bash
# Train the study's 9 runs (GMVAE, M2, supervised; MNIST, 100 labels, sub-class labels, draws
# 0-2) on the CPU under a wall-clock bound per run. Two chains side by side, one thread each.
# Usage (from the repository root): bash results/adversarial/train.sh [DATA_ROOT]
set -euo pipefail
DATA=${1:-../shared/data}
OUT=results/adversarial/runs
LOGS=results/adversarial/logs
COMMON="--dataset mnist --data-root $DATA --label-mode subclass --n-labels 100 --threads 1 --no-progress --log-epochs"
train() {   # name, split seed, flags...
    local name=$1 s=$2; shift 2
    [ -f "$OUT/$name-s$s/metrics.json" ] && return 0     # done in an earlier sitting
    python -m ssvae.train $COMMON --split-seed "$s" "$@" --overwrite --out "$OUT/$name-s$s" \
        2> "$LOGS/$name-s$s.log"
}
(for s in 0 1 2; do
    train gmvae "$s" --model gmvae --epochs 400 --patience 15 --max-stage-s 420
 done) &
(for s in 0 1 2; do
    train m2 "$s" --model m2 --epochs 400 --patience 15 --max-stage-s 420
 done
 # The supervised baseline with the configuration tuned at 100 labels
 # (results/mnist_supervised_cpu/best_configs.json).
 for s in 0 1 2; do
    train supervised "$s" --model supervised --lr 0.0006705338559838859 \
        --weight-decay 0.0017351951611841256 -O dropout=0.0850050022189582 \
        --epochs 300 --patience 30 --max-stage-s 150
 done) &
wait
