#!/usr/bin/env bash
# Attack the study's trained runs and measure the rejection of noise and of the other data set;
# then tabulate and plot with summarize.py. The attacks run on the first 500 test images; PGD
# takes 40 steps of 2.5·eps/40. Each run is attacked once its metrics.json exists, so this can
# start beside train.sh; a finished CSV is not computed again.
# Usage (from the repository root):
#   bash results/adversarial/attack.sh DATA_ROOT [RUN ...]    (default: every run of the study)
#   python results/adversarial/summarize.py
set -euo pipefail
DATA=${1:-../shared/data}
shift || true
RUNS=results/adversarial/runs
OUT=results/adversarial/attacks
mkdir -p "$OUT" results/adversarial/images
EPS="0.05 0.1 0.2 0.3"
attack() {  # run, csv name, flags...
    local run=$1 name=$2; shift 2
    [ -f "$OUT/$name.csv" ] && return 0
    python -m ssvae.attack "$RUNS/$run" --data-root "$DATA" --threads 1 "$@" --out "$OUT/$name.csv"
}
one_run() {
    local run=$1
    until [ -f "$RUNS/$run/metrics.json" ]; do sleep 20; done
    case $run in
    fashion-*)
        attack $run $run-noise --attack noise --n-images 1000
        attack $run $run-mnist --attack dataset --other-dataset mnist --n-images 1000 ;;
    *)
        local model=${run%-s*} grid=() grid_aware=()
        if [ "$run" = "$model-s0" ]; then
            grid=(--grid results/adversarial/images/$model-pgd.png)
            grid_aware=(--grid results/adversarial/images/$model-pgd-aware.png)
        fi
        attack $run $run-fgsm --attack fgsm --eps $EPS
        attack $run $run-pgd --attack pgd --eps $EPS "${grid[@]}"
        attack $run $run-pgd-aware --attack pgd --aware --eps $EPS "${grid_aware[@]}"
        if [ "$run" = "gmvae-s0" ]; then    # does an accepted image look like its target?
            attack $run $run-pgd-aware-target0 --attack pgd --aware --target 0 --eps 0.3 \
                --grid results/adversarial/images/gmvae-pgd-aware-target0.png
        fi
        attack $run $run-noise --attack noise --n-images 1000
        attack $run $run-fashion --attack dataset --other-dataset fashion_mnist --n-images 1000 ;;
    esac
}
RUN_LIST=("$@")
if [ ${#RUN_LIST[@]} -eq 0 ]; then
    RUN_LIST=(gmvae-s0 gmvae-s1 gmvae-s2 m2-s0 m2-s1 m2-s2 supervised-s0 supervised-s1
              supervised-s2 fashion-gmvae-s0 fashion-supervised-s0)
fi
for run in "${RUN_LIST[@]}"; do one_run "$run"; done
