#!/usr/bin/env bash
# The SIC lane of table1_v3.sh as rerun on the overloaded machine (12:40 UTC, load 16 on 2
# cores): step targets with 25-minute caps instead of 8, seeds in turn until STOP.
# Usage: scripts/bundled_camil/table1_v3_sic.sh DATA_DIR RUNS_DIR STOP
set -uo pipefail
DATA=${1:-/work/data/camil/v3}
RUNS=${2:-/work/data/camil/runs_v3}
STOP=${3:-13:30}
export PYTHONPATH=python OMP_NUM_THREADS=1
M="nice -n 10 python -m timbrefast.train.camil_cli"
COMMON="--data $DATA/train.npz --depth 10 --width 0.125 --embedding-dim 128 --batch-size 64 \
 --margin 1.0 --negatives-per-positive 1 --threads 1 --no-progress"
left() { echo $(( ($(date -u -d "$STOP" +%s) - $(date -u +%s)) / 60 )); }
run() {
  local name=$1 cond=$2 seed=$3 minutes=$4; shift 4
  local l; l=$(left)
  if [ "$l" -lt 3 ]; then echo "$(date -u +%T) skip $name ($l min left)" >> "$RUNS/lanes.log"; return; fi
  [ "$minutes" -gt "$l" ] && minutes=$l
  echo "$(date -u +%T) start $name (cap $minutes min)" >> "$RUNS/lanes.log"
  $M train --condition "$cond" --out "$RUNS/$name" $COMMON --seed "$seed" --max-minutes "$minutes" "$@" \
    > "$RUNS/$name.log" 2>&1 &&
  $M eval --model "$RUNS/$name/classifier/model" --data "$DATA/test.npz" --out "$RUNS/$name/eval" --threads 1 \
    >> "$RUNS/$name.log" 2>&1
  echo "$(date -u +%T) end $name rc=$?" >> "$RUNS/lanes.log"
}
mkdir -p "$RUNS"
rm -rf "$RUNS/sic-s0"
run sic-s0 sic 0 25 --steps 600 --lr 1e-3 --val-every 200
run sic-s1 sic 1 20 --steps 600 --lr 1e-3 --val-every 200
run sic-s2 sic 2 20 --steps 600 --lr 1e-3 --val-every 200
