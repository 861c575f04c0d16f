#!/usr/bin/env bash
# Short runs of one model's variants, side by side on one GPU, each bounded at LIMIT seconds, to
# compare validation accuracy at equal epochs (a screen, not converged results).
#
#   bash results/scripts/variant_sweep.sh DATA_ROOT OUT_DIR LIMIT "SEEDS" VARIANTS -- FLAGS...
#
# VARIANTS is a file of lines "name|extra flags" ("#" starts a comment); FLAGS (after --) are
# the flags every run shares (model, labels, options). Each variant runs once per label draw in
# SEEDS, as runs/NAME (one draw) or runs/NAME-sSEED (several). OUT_DIR receives sweep.tgz: each
# run's command (.cmd), epoch log (.log), metrics.json and image grids; checkpoints stay behind.
# DEVICE=cpu DATASET=digits tries it out on a machine without a GPU.
set -u
PY=${PYTHON:-python3}; DEVICE=${DEVICE:-cuda}
DATA=$1; OUT=$2; LIMIT=$3; SEEDS=$4; VARIANTS=$5; shift 5
[ "${1:-}" = "--" ] && shift
[ -f "$VARIANTS" ] || { echo "variants file '$VARIANTS' not found" >&2; exit 2; }
mkdir -p "$OUT/runs"
n_seeds=$(wc -w <<< "$SEEDS")
while IFS= read -r line; do
  line=${line%%#*}; [ -n "${line// }" ] || continue
  name=${line%%|*}; extra=${line#*|}
  for seed in $SEEDS; do
    run=$name; [ "$n_seeds" -gt 1 ] && run=$name-s$seed
    cmd="-m ssvae.train --dataset ${DATASET:-mnist} --data-root $DATA $* --label-mode subclass --split-seed $seed --epochs 200 --patience 15 --device $DEVICE --threads 1 --no-progress --log-epochs --max-stage-s $LIMIT $extra --out $OUT/runs/$run"
    echo "python $cmd" > "$OUT/runs/$run.cmd"
    $PY $cmd > "$OUT/runs/$run.log" 2>&1 &
  done
done < "$VARIANTS"
wait
rm -rf "$OUT"/runs/*/last "$OUT"/runs/*/best
tar -czf "$OUT/sweep.tgz" -C "$OUT" runs && rm -rf "$OUT/runs"
