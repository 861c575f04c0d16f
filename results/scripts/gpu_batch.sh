#!/usr/bin/env bash
# One lease of a GPU machine for the MNIST anchor: the training-speed benchmark, then the runs
# the 2-core CPU could not afford, side by side on the one GPU (one CPU thread each).
#
#   bash results/scripts/gpu_batch.sh DATA_ROOT OUT_DIR [MAX_STAGE_S] [M1_CHECKPOINT]
#
# DATA_ROOT holds MNIST in torchvision's layout; OUT_DIR receives bench.txt and one folder per run
# (metrics.json, the epoch log, the image grids). MAX_STAGE_S (default 400) is each run's
# wall-clock bound (--max-stage-s): a run that reaches it says so (metrics' stopped_by:
# time_limit) rather than being called converged. M1_CHECKPOINT is the shared M1 of the
# M1+M2 runs (results/mnist_anchor/README.md); without it the M1+M2 runs are skipped.
# CELLS picks the cells (default: the session-4 set "m2-n100 m2-n1000 m1m2-n1000"); known cells:
# m2-n100, m2-n1000 (M2's defaults: since 0a1095c alpha_scale=labelled; session 4 ran them with
# "paper"), m1m2-n100, m1m2-n1000, gmvae-n1000; M2 with an explicit alpha_scale=labelled:
# m2lab-n100, m2lab-n1000; with the old default alpha_scale=paper: m2paper-n100, m2paper-n1000;
# M2 with the conv classifier q(y|x): m2conv-n100, m2conv-n1000; M1+M2 trained on samples of
# q(z1|x) (sample_z1=true): m1m2samp-n100, m1m2samp-n1000; GMVAE with its defaults: gmvae-n100,
# gmvae-n1000; with a heavier classification term (cls_weight 10 or 50): gmvaecls10-n100,
# gmvaecls50-n100. BENCH=0 skips the benchmark.
# (DEVICE=cpu SEEDS=0 tries it out on a machine without a GPU.)
set -u
PY=${PYTHON:-python3}
DATA=$1; OUT=$2; LIMIT=${3:-400}; M1=${4:-}; DEVICE=${DEVICE:-cuda}; SEEDS=${SEEDS:-0 1 2}
CELLS=${CELLS:-m2-n100 m2-n1000 m1m2-n1000}; BENCH=${BENCH:-1}
for cell in $CELLS; do
    case $cell in
        m2-n100|m2-n1000|m2lab-n100|m2lab-n1000|m2paper-n100|m2paper-n1000|m2conv-n100|m2conv-n1000|gmvae-n100|gmvae-n1000|gmvaecls10-n100|gmvaecls50-n100) ;;
        m1m2-n100|m1m2-n1000|m1m2samp-n100|m1m2samp-n1000) [ -n "$M1" ] || { echo "cell $cell needs M1_CHECKPOINT" >&2; exit 2; } ;;
        *) echo "unknown cell '$cell'; known: m2-n100 m2-n1000 m2lab-n100 m2lab-n1000" \
                "m2paper-n100 m2paper-n1000 m2conv-n100 m2conv-n1000 m1m2-n100 m1m2-n1000 m1m2samp-n100 m1m2samp-n1000" \
                "gmvae-n100 gmvae-n1000 gmvaecls10-n100 gmvaecls50-n100" >&2; exit 2 ;;
    esac
done
mkdir -p "$OUT"
COMMON=(--dataset mnist --data-root "$DATA" --label-mode subclass --device "$DEVICE" --threads 1
        --epochs 200 --patience 15 --no-progress --log-epochs --max-stage-s "$LIMIT")

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.txt" 2>&1
if [ "$BENCH" = 1 ]; then
    timeout 90 $PY bench/train_speed.py --dataset mnist --data-root "$DATA" --device "$DEVICE" \
        --steps 100 --warmup 10 > "$OUT/bench.txt" 2>&1
fi

run() {   # name, then the run's own flags
    local name=$1; shift
    echo "python -m ssvae.train ${COMMON[*]} $* --out runs/$name" > "$OUT/$name.cmd"
    timeout $((LIMIT + 90)) $PY -m ssvae.train "${COMMON[@]}" "$@" --out "$OUT/runs/$name" \
        > "$OUT/$name.log" 2>&1 &
}
for seed in $SEEDS; do
    for cell in $CELLS; do
        model=${cell%-n*}; n=${cell#*-n}; extra=()
        case $model in
            m2lab) model=m2; extra=(-O alpha_scale=labelled) ;;
            m2paper) model=m2; extra=(-O alpha_scale=paper) ;;
            m2conv) model=m2; extra=(-O alpha_scale=labelled --classifier conv) ;;
            m1m2) extra=(-O m1_checkpoint="$M1") ;;
            m1m2samp) model=m1m2; extra=(-O m1_checkpoint="$M1" -O sample_z1=true) ;;
            gmvaecls*) extra=(-O cls_weight="${model#gmvaecls}"); model=gmvae ;;
        esac
        run "$cell-s$seed" --model "$model" "${extra[@]}" --n-labels "$n" --split-seed "$seed"
    done
done
wait
# Checkpoints stay behind (too large to bring back); everything else travels as one archive.
rm -rf "$OUT"/runs/*/last "$OUT"/runs/*/best
tar -czf "$OUT/runs.tgz" -C "$OUT" runs $(cd "$OUT" && ls *.log *.cmd) && rm -rf "$OUT"/runs "$OUT"/*.log "$OUT"/*.cmd
ls -la "$OUT"
