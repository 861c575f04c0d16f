#!/usr/bin/env bash
# One GPU lease for M1+M2 with the conv network (session 8): train a conv M1, then M1+M2 on its
# features for label draws 0-2, with and without dropout 0.5 in q(y|z1). Beside them, from the
# start: M2 (defaults) at 100 labels, and M1+M2 with dropout 0.5 on the plain (MLP) M1, draws 1-2.
#
#   bash results/scripts/m1conv_gpu.sh DATA_ROOT OUT_DIR M1_LIMIT M1M2_LIMIT PLAIN_M1
#
# M1_LIMIT bounds the conv M1 (--max-stage-s), M1M2_LIMIT each M1+M2 run on it; the runs started at
# once get M1_LIMIT + M1M2_LIMIT. PLAIN_M1 is the MLP M1 of results/mnist_anchor (best/model.pt).
# OUT_DIR receives m1conv.pt (the conv M1's selected weights) and runs.tgz (commands, logs,
# metrics, grids; checkpoints stay behind). DEVICE=cpu DATASET=digits tries
# it out on a machine without a GPU (SLACK: seconds a run may overrun its bound, default 60).
set -u
PY=${PYTHON:-python3}
DATA=$1; OUT=$2; T1=$3; T2=$4; PLAIN=$5
mkdir -p "$OUT/runs"
COMMON=(--dataset "${DATASET:-mnist}" --data-root "$DATA" --label-mode subclass --device "${DEVICE:-cuda}" --threads 1
        --epochs 200 --patience 15 --no-progress --log-epochs)
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.txt" 2>&1

run() {   # name, bound (s), then the run's own flags; in the background
    local name=$1 limit=$2; shift 2
    echo "python -m ssvae.train ${COMMON[*]} --max-stage-s $limit $* --out runs/$name" > "$OUT/$name.cmd"
    timeout $((limit + ${SLACK:-60})) $PY -m ssvae.train "${COMMON[@]}" --max-stage-s "$limit" "$@" \
        --out "$OUT/runs/$name" > "$OUT/$name.log" 2>&1 &
}
ALL=$((T1 + T2))
for s in 0 1 2; do
    run "m2-n100-s$s" "$ALL" --model m2 --n-labels 100 --split-seed "$s"
done
for s in 1 2; do
    run "m1m2drop50-n100-s$s" "$ALL" --model m1m2 -O m1_checkpoint="$PLAIN" \
        -O classifier_dropout=0.5 --n-labels 100 --split-seed "$s"
done
# The conv M1 (labels unused; split 0 as for the plain M1; batch 256 to fit more epochs in the
# bound), waited for.
run m1conv-n100-s0 "$T1" --model m1 --network conv --batch-size 256 --n-labels 100 --split-seed 0
wait $!
M1="$OUT/m1conv.pt"
if cp "$OUT/runs/m1conv-n100-s0/best/model.pt" "$M1"; then
    for s in 0 1 2; do
        run "m1m2conv-n100-s$s" "$T2" --model m1m2 --network conv -O m1_checkpoint="$M1" \
            --n-labels 100 --split-seed "$s"
        run "m1m2convdrop50-n100-s$s" "$T2" --model m1m2 --network conv -O m1_checkpoint="$M1" \
            -O classifier_dropout=0.5 --n-labels 100 --split-seed "$s"
    done
else      # no M1 to build on: stop the other runs too and bring back what there is
    echo "the conv M1 did not finish" >&2
    kill $(jobs -p)
fi
wait
rm -rf "$OUT"/runs/*/last "$OUT"/runs/*/best
tar -czf "$OUT/runs.tgz" -C "$OUT" runs $(cd "$OUT" && ls *.log *.cmd) && rm -rf "$OUT"/runs "$OUT"/*.log "$OUT"/*.cmd
ls -la "$OUT"
