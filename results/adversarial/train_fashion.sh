#!/usr/bin/env bash
# The reverse out-of-distribution case needs Fashion-MNIST models: one draw (split seed 0) of
# GMVAE and the supervised baseline (default settings) at 100 labels, hierarchy `mixed`,
# sub-class labels, under shorter wall-clock bounds than the MNIST runs (CPU budget). Run after
# train.sh. (M2 was started too and stopped: its first epoch alone outlasted the session.)
# Usage (from the repository root): bash results/adversarial/train_fashion.sh [DATA_ROOT]
set -euo pipefail
DATA=${1:-../shared/data}
OUT=results/adversarial/runs
LOGS=results/adversarial/logs
COMMON="--dataset fashion_mnist --hierarchy mixed --data-root $DATA --label-mode subclass --n-labels 100 --split-seed 0 --threads 1 --no-progress --log-epochs"
train() {   # name, flags...
    local name=$1; shift
    [ -f "$OUT/$name/metrics.json" ] && return 0
    python -m ssvae.train $COMMON "$@" --overwrite --out "$OUT/$name" 2> "$LOGS/$name.log"
}
train fashion-gmvae-s0 --model gmvae --epochs 400 --patience 15 --max-stage-s 240
train fashion-supervised-s0 --model supervised --epochs 300 --patience 30 --max-stage-s 90
