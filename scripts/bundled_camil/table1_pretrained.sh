#!/usr/bin/env bash
# The pretraining lanes of the Table I analog, wall-clock capped (the machine is shared):
# each pretraining stage stops after MAX/2 minutes. Usage: table1_pretrained.sh DATA RUNS SEED MAX
set -euo pipefail
DATA=${1:-/work/data/camil/v2}
RUNS=${2:-/work/data/camil/runs_v2}
SEED=${3:-0}
MAX=${4:-14}
export PYTHONPATH=python
M="python -m timbrefast.train.camil_cli"
COMMON="--data $DATA/train.npz --depth 10 --width 0.125 --embedding-dim 128 --batch-size 64 --lr 1e-3 \
 --margin 1.0 --negatives-per-positive 1 --seed $SEED --val-every 50 --threads 1 --no-progress"
run() {
  local name=$1 cond=$2; shift 2
  $M train --condition "$cond" --out "$RUNS/$name" $COMMON "$@" > "$RUNS/$name.log" 2>&1
  $M eval --model "$RUNS/$name/classifier/model" --data "$DATA/test.npz" --out "$RUNS/$name/eval" --threads 1 >> "$RUNS/$name.log" 2>&1
}
mkdir -p "$RUNS"
( run camil camil --pretrain-steps 400 --steps 300 --max-minutes "$MAX"
  run camil-finetune camil-finetune --pretrained "$RUNS/camil/pretrain/model" --steps 300 --max-minutes 8
  run camil-half camil --pretrain-steps 400 --steps 300 --train-fraction 0.5 --max-minutes "$MAX" ) &
( run unsupervised unsupervised --pretrain-steps 400 --steps 300 --max-minutes "$MAX"
  run unsupervised-half unsupervised --pretrain-steps 400 --steps 300 --train-fraction 0.5 --max-minutes "$MAX" ) &
wait
