#!/usr/bin/env bash
# 12:59 UTC replacement of the remaining lanes of table1_v3.sh / table1_v3_sic.sh: pretraining
# reached only 21 steps in its 20-minute cap (≈ 60-80 s per step at load 15-20), so the
# remaining time goes to the cheapest condition, SIC, for seeds 1 and 2 (300 steps, 25-min
# cap), and to evaluating what finished. Usage: table1_v3_seeds.sh DATA RUNS STOP
set -uo pipefail
DATA=${1:-/work/data/camil/v3}
RUNS=${2:-/work/data/camil/runs_v3}
STOP=${3:-13:30}
export PYTHONPATH=python OMP_NUM_THREADS=1
M="nice -n 10 python -m timbrefast.train.camil_cli"
COMMON="--data $DATA/train.npz --depth 10 --width 0.125 --embedding-dim 128 --batch-size 64 \
 --margin 1.0 --negatives-per-positive 1 --threads 1 --no-progress"
left() { echo $(( ($(date -u -d "$STOP" +%s) - $(date -u +%s)) / 60 )); }
ev() { $M eval --model "$RUNS/$1/classifier/model" --data "$DATA/test.npz" --out "$RUNS/$1/eval" --threads 1 >> "$RUNS/$1.log" 2>&1
       echo "$(date -u +%T) eval $1 rc=$?" >> "$RUNS/lanes.log"; }
sic() {
  local s=$1 l; l=$(left); [ "$l" -lt 3 ] && return
  [ "$l" -gt 25 ] && l=25
  echo "$(date -u +%T) start sic-s$s (cap $l min)" >> "$RUNS/lanes.log"
  $M train --condition sic --out "$RUNS/sic-s$s" $COMMON --seed "$s" --max-minutes "$l" --steps 300 --lr 1e-3 \
    --val-every 100 > "$RUNS/sic-s$s.log" 2>&1 && ev sic-s$s
}
wait_for() { while kill -0 "$1" 2>/dev/null; do sleep 10; done; }
( sic 1 ) &
( sic 2 ) &
# the runs already under way when this started (PIDs given after STOP): evaluate each when it ends
shift 3
for pid_name in "$@"; do
  ( wait_for "${pid_name%%:*}"; ev "${pid_name#*:}" ) &
done
wait
echo "$(date -u +%T) seeds lanes done" >> "$RUNS/lanes.log"
