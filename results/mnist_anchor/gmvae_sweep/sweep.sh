#!/usr/bin/env bash
# GMVAE at 100 labels, label draw 2 (the weak draw): one short run per variant, side by side on one
# GPU, each bounded at LIMIT seconds, to compare validation accuracy at equal epochs.
#   bash results/mnist_anchor/gmvae_sweep/sweep.sh DATA_ROOT OUT_DIR [LIMIT] [SEED]
set -u
PY=${PYTHON:-python3}; DATA=$1; OUT=$2; LIMIT=${3:-210}; SEED=${4:-2}; DEVICE=${DEVICE:-cuda}
mkdir -p "$OUT/runs"
VARIANTS=(
  "default|"
  "spread8|-O mean_spread=8"
  "spread2|-O mean_spread=2"
  "resp|-O unlabelled_kl=responsibility"
  "z10|--latent-dim 10"
  "z20cls10|--latent-dim 20 -O cls_weight=10"
  "h1000|--hidden-dim 1000"
  "lr3e-4|--lr 3e-4"
  "conv|--network conv"
  "fixed|-O means=fixed"
  "cls10spread8|-O cls_weight=10 -O mean_spread=8"
)
for v in "${VARIANTS[@]}"; do
  name=${v%%|*}; flags=${v#*|}
  cmd="-m ssvae.train --dataset mnist --data-root $DATA --model gmvae --label-mode subclass --n-labels 100 --split-seed $SEED --epochs 200 --patience 15 --device $DEVICE --threads 1 --no-progress --log-epochs --max-stage-s $LIMIT $flags --out $OUT/runs/$name"
  echo "python $cmd" > "$OUT/runs/$name.cmd"
  $PY $cmd > "$OUT/runs/$name.log" 2>&1 &
done
wait
rm -rf "$OUT"/runs/*/last "$OUT"/runs/*/best
tar -czf "$OUT/sweep.tgz" -C "$OUT" runs && rm -rf "$OUT/runs"
