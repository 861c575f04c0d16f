#!/usr/bin/env bash
# GMVAE at 100 labels, label draw 2 (the weak draw): one short run per variant of variants.txt,
# side by side on one GPU, each bounded at LIMIT seconds, to compare validation accuracy at equal
# epochs (session 7's screen; ../variant_sweep.sh does the work).
#   bash results/mnist_anchor/gmvae_sweep/sweep.sh DATA_ROOT OUT_DIR [LIMIT] [SEED]
here=$(dirname "$0")
exec bash "$here/../variant_sweep.sh" "$1" "$2" "${3:-210}" "${4:-2}" "$here/variants.txt" -- \
    --model gmvae --n-labels 100
