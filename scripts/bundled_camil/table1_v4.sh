#!/usr/bin/env bash
# Table I analog on the v3 synthetic set, all five conditions, full and half data, seeds 0, 1, 2
# in turn (see README.md, "v4"). Two lanes, one torch thread each, nice 10.
# Budget rule (the same for every seed): fixed step counts, no wall-clock caps inside a seed
#   pretraining (camil: class negatives, unsupervised: random negatives)  PRE steps (300),
#     negatives from the batch's other anchors (--negative-pool batch, NEG_POOL): 2.1x less
#     CPU per step than a fresh mel per negative (README.md, "v4")
#   linear probe on the frozen MIDI encoder  1000 steps, lr 1e-2
#   camil-finetune  300 steps, lr 1e-3;  sic  600 steps, lr 1e-3;  aic  300 steps, lr 1e-3
# A run starts only when at least its MINUTES estimate is left before STOP (UTC HH:MM); the
# --max-minutes cap given to the trainer is the time left, a guard that only a run that
# started late can hit (table_seeds.py prints the steps every run reached).
# Usage: scripts/bundled_camil/table1_v4.sh DATA_DIR RUNS_DIR STOP [CODE_DIR]
#   DATA_DIR holds train.npz (training + validation split) and test.npz (held-out synthetic set);
#   CODE_DIR (default python) is the package tree to run (a snapshot, so edits don't leak in).
set -uo pipefail
DATA=${1:-/work/data/camil/v3}
RUNS=${2:-/work/data/camil2/runs_v4}
STOP=${3:-16:25}
CODE=${4:-python}
PRE=${PRE:-300}
NEG_POOL=${NEG_POOL:-batch}
SEEDS=${SEEDS:-"0 1 2"}
export PYTHONPATH=$CODE OMP_NUM_THREADS=1
M="nice -n 10 python -m timbrefast.train.camil_cli"
COMMON="--data $DATA/train.npz --depth 10 --width 0.125 --embedding-dim 128 --batch-size 64 \
 --margin 1.0 --negatives-per-positive 1 --negative-pool $NEG_POOL --threads 1 --no-progress"
left() { echo $(( ($(date -u -d "$STOP" +%s) - $(date -u +%s)) / 60 )); }
# run NAME CONDITION SEED MINUTES ARGS...: skipped when fewer than MINUTES are left; then
# eval on test.npz (not for the pretraining-only runs NAME = *pre*). A run whose
# condition.json exists is not trained again (rerunning the script resumes the table).
run() {
  local name=$1 cond=$2 seed=$3 need=$4; shift 4
  local l; l=$(left)
  if [ -f "$RUNS/$name/condition.json" ]; then
    echo "$(date -u +%T) trained already: $name" >> "$RUNS/lanes.log"
    case $name in *pre*) return 0 ;; esac
    [ -f "$RUNS/$name/eval/camil_eval.json" ] && return 0
    $M eval --model "$RUNS/$name/classifier/model" --data "$DATA/test.npz" --out "$RUNS/$name/eval" --threads 1 \
      >> "$RUNS/$name.log" 2>&1
    return
  fi
  if [ "$l" -lt "$need" ]; then echo "$(date -u +%T) skip $name ($l min left, needs $need)" >> "$RUNS/lanes.log"; return 1; fi
  echo "$(date -u +%T) start $name" >> "$RUNS/lanes.log"
  # two-stage conditions get twice the time left: the trainer gives each stage half
  case $cond in sic|aic) ;; *) l=$((2 * l)) ;; esac
  $M train --condition "$cond" --out "$RUNS/$name" $COMMON --seed "$seed" --max-minutes "$l" "$@" \
    >> "$RUNS/$name.log" 2>&1 &&
  case $name in *pre*) true ;; *) $M eval --model "$RUNS/$name/classifier/model" --data "$DATA/test.npz" \
    --out "$RUNS/$name/eval" --threads 1 >> "$RUNS/$name.log" 2>&1 ;; esac
  local rc=$?
  echo "$(date -u +%T) end $name rc=$rc" >> "$RUNS/lanes.log"
  return $rc
}
# pretraining stage NAME-pre (10-step throwaway head), then its linear probe NAME
pretrained() {
  local name=$1 cond=$2 s=$3 need=$4; shift 4
  run "$name-pre-s$s" "$cond" "$s" "$need" --pretrain-steps "$PRE" --steps 10 --lr 1e-3 --val-every 100 "$@" &&
  run "$name-s$s" "$cond" "$s" 3 --pretrained "$RUNS/$name-pre-s$s/pretrain/model" --steps 1000 --lr 1e-2 \
    --val-every 250 "$@"
}
lane_full() {  # sic, camil, camil-finetune, unsupervised at full data
  local s=$1
  pretrained camil camil "$s" 10 &&
  run "camil-finetune-s$s" camil-finetune "$s" 4 --pretrained "$RUNS/camil-pre-s$s/pretrain/model" --steps 300 \
    --lr 1e-3 --val-every 100
  pretrained unsupervised unsupervised "$s" 10
  run "sic-s$s" sic "$s" 4 --steps 600 --lr 1e-3 --val-every 200
}
lane_half() {  # camil, unsupervised, sic at half data (--train-fraction 0.5: pretraining too), then aic
  local s=$1
  pretrained camil-half camil "$s" 10 --train-fraction 0.5
  pretrained unsupervised-half unsupervised "$s" 10 --train-fraction 0.5
  run "sic-half-s$s" sic "$s" 4 --steps 600 --lr 1e-3 --val-every 200 --train-fraction 0.5
  run "aic-s$s" aic "$s" 5 --steps 300 --lr 1e-3 --val-every 100
}
mkdir -p "$RUNS"
echo "$(date -u +%T) table1_v4 PRE=$PRE NEG_POOL=$NEG_POOL SEEDS=$SEEDS STOP=$STOP DATA=$DATA CODE=$CODE" >> "$RUNS/lanes.log"
( for s in $SEEDS; do lane_full "$s"; done ) &
( for s in $SEEDS; do lane_half "$s"; done ) &
wait
echo "$(date -u +%T) all lanes done" >> "$RUNS/lanes.log"
