#!/usr/bin/env bash
# Attack every trained run of the study (after train.sh and train_fashion.sh) and measure the
# rejection of noise and of the other data set; then tabulate and plot (summarize.py).
# The attacks run on the first 500 test images; PGD takes 40 steps of 2.5·eps/40.
# Usage (from the repository root): bash results/adversarial/attack.sh [DATA_ROOT]
set -euo pipefail
DATA=${1:-../shared/data}
RUNS=results/adversarial/runs
OUT=results/adversarial/attacks
mkdir -p "$OUT" results/adversarial/images
EPS="0.05 0.1 0.2 0.3"
attack() {  # run, csv name, flags...
    local run=$1 name=$2; shift 2
    [ -f "$OUT/$name.csv" ] && return 0            # done in an earlier sitting
    python -m ssvae.attack "$RUNS/$run" --data-root "$DATA" --threads 1 "$@" --out "$OUT/$name.csv"
}
for model in gmvae m2 supervised; do
    for s in 0 1 2; do
        run=$model-s$s
        grid=(); grid_aware=()
        if [ "$s" = 0 ]; then
            grid=(--grid results/adversarial/images/$model-pgd.png)
            grid_aware=(--grid results/adversarial/images/$model-pgd-aware.png)
        fi
        attack $run $run-fgsm --attack fgsm --eps $EPS
        attack $run $run-pgd --attack pgd --eps $EPS "${grid[@]}"
        attack $run $run-pgd-aware --attack pgd --aware --eps $EPS "${grid_aware[@]}"
        attack $run $run-noise --attack noise --n-images 1000
        attack $run $run-fashion --attack dataset --other-dataset fashion_mnist --n-images 1000
    done
    attack fashion-$model-s0 fashion-$model-s0-noise --attack noise --n-images 1000
    attack fashion-$model-s0 fashion-$model-s0-mnist --attack dataset --other-dataset mnist --n-images 1000
done
python results/adversarial/summarize.py
