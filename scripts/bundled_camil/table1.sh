#!/usr/bin/env bash
# The Table I analog on the synthetic CAMIL set (see README.md here): the lane without
# pretraining (sic, aic, sic at half data), one torch thread. Usage: scripts/bundled_camil/table1.sh DATA_DIR RUNS_DIR SEED
set -euo pipefail
DATA=${1:-/work/data/camil/v2}
RUNS=${2:-/work/data/camil/runs_v2}
SEED=${3:-0}
export PYTHONPATH=python
M="python -m timbrefast.train.camil_cli"
COMMON="--data $DATA/train.npz --depth 10 --width 0.125 --embedding-dim 128 --batch-size 64 --lr 1e-3 \
 --margin 1.0 --negatives-per-positive 1 --seed $SEED --val-every 100 --threads 1 --no-progress"
run() {  # name condition extra...
  local name=$1 cond=$2; shift 2
  $M train --condition "$cond" --out "$RUNS/$name" $COMMON "$@" > "$RUNS/$name.log" 2>&1
  $M eval --model "$RUNS/$name/classifier/model" --data "$DATA/test.npz" --out "$RUNS/$name/eval" --threads 1 >> "$RUNS/$name.log" 2>&1
}
mkdir -p "$RUNS"
( run sic sic --steps 800; run aic aic --steps 300; run sic-half sic --steps 800 --train-fraction 0.5 ) &
wait
# The pretraining lanes (camil, camil-finetune, camil-half, unsupervised, unsupervised-half)
# were first started here without a wall-clock cap, stopped after a minute (3-4 s per
# pretraining step on the loaded machine) and run by table1_pretrained.sh instead.
