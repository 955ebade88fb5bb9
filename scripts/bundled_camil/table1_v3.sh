#!/usr/bin/env bash
# Table I analog on the v3 synthetic set, three seeds where the wall clock allows (see README.md).
# Three lanes, one torch thread each, nice 10; every run is capped by the time left before
# STOP (UTC, HH:MM) and skipped when under 3 minutes are left, so the whole table ends by STOP.
# Usage: scripts/bundled_camil/table1_v3.sh DATA_DIR RUNS_DIR STOP
#   DATA_DIR holds train.npz (the training set) and test.npz (the held-out synthetic set).
set -uo pipefail
DATA=${1:-/work/data/camil/v3}
RUNS=${2:-/work/data/camil/runs_v3}
STOP=${3:-13:32}
PRE=${PRE:-400}  # contrastive pretraining steps (the same for every seed)
export PYTHONPATH=python OMP_NUM_THREADS=1
M="nice -n 10 python -m timbrefast.train.camil_cli"
COMMON="--data $DATA/train.npz --depth 10 --width 0.125 --embedding-dim 128 --batch-size 64 \
 --margin 1.0 --negatives-per-positive 1 --threads 1 --no-progress"
left() { echo $(( ($(date -u -d "$STOP" +%s) - $(date -u +%s)) / 60 )); }
# run NAME CONDITION SEED MINUTES ARGS...: MINUTES is the per-stage cap (doubled for the
# two-stage conditions, whose --max-minutes the trainer halves); then eval on test.npz
run() {
  local name=$1 cond=$2 seed=$3 minutes=$4; shift 4
  local l; l=$(left)
  if [ "$l" -lt 3 ]; then echo "$(date -u +%T) skip $name ($l min left)" >> "$RUNS/lanes.log"; return; fi
  [ "$minutes" -gt "$l" ] && minutes=$l
  case $cond in sic|aic) ;; *) minutes=$((2 * minutes)) ;; esac
  echo "$(date -u +%T) start $name (cap $minutes min)" >> "$RUNS/lanes.log"
  $M train --condition "$cond" --out "$RUNS/$name" $COMMON --seed "$seed" --max-minutes "$minutes" "$@" \
    > "$RUNS/$name.log" 2>&1 &&
  case $name in *pre-s*) true ;; *) $M eval --model "$RUNS/$name/classifier/model" --data "$DATA/test.npz" --out "$RUNS/$name/eval" --threads 1 \
    >> "$RUNS/$name.log" 2>&1 ;; esac
  echo "$(date -u +%T) end $name rc=$?" >> "$RUNS/lanes.log"
}
# pretraining (class negatives) with a 10-step throwaway head, then the linear probe on the
# frozen MIDI encoder (lr 1e-2, 1000 steps) and fine-tuning (lr 1e-3, 300 steps) reusing it
camil_seed() {
  local s=$1
  run pre-s$s camil "$s" 20 --pretrain-steps "$PRE" --steps 10 --lr 1e-3 --val-every 100
  run camil-s$s camil "$s" 4 --pretrained "$RUNS/pre-s$s/pretrain/model" --steps 1000 --lr 1e-2 --val-every 250
  run camil-finetune-s$s camil-finetune "$s" 6 --pretrained "$RUNS/pre-s$s/pretrain/model" --steps 300 --lr 1e-3 --val-every 100
}
sic() { run sic-s$1 sic "$1" 8 --steps 800 --lr 1e-3 --val-every 200 "${@:2}"; }
mkdir -p "$RUNS"
( camil_seed 0
  run unsup-pre-s0 unsupervised 0 14 --pretrain-steps "$PRE" --steps 10 --lr 1e-3 --val-every 100
  run unsupervised-s0 unsupervised 0 4 --pretrained "$RUNS/unsup-pre-s0/pretrain/model" --steps 1000 --lr 1e-2 --val-every 250
) &
( camil_seed 1
  run aic-s0 aic 0 9 --steps 300 --lr 1e-3 --val-every 100
  run aic-s1 aic 1 9 --steps 300 --lr 1e-3 --val-every 100
) &
( sic 0; sic 1; sic 2
  camil_seed 2
  run sic-half-s0 sic 0 8 --steps 800 --lr 1e-3 --val-every 200 --train-fraction 0.5
) &
wait
echo "$(date -u +%T) all lanes done" >> "$RUNS/lanes.log"
