#!/usr/bin/env bash
# Training recipe of the second bundled COCOLA model on make_data_v2.py's data (training
# soundfonts FluidR3_GM + OPL-3, drums from soundfonts and sonic-pi recordings, synth
# patches), with augmentations and calibration negatives, evaluated on the held-out
# soundfont (sf_GMbank) split.
#
#   scripts/bundled_cocola/train_v2.sh DATA_DIR [RUNS_DIR]
#
# Two phases as for the first bundled model (phase 1: a smaller pool, constant lr; phase 2:
# from phase 1's weights, a larger pool, cosine decay, best validation checkpoint kept),
# but both on all training tracks with the separate validation split (training
# soundfonts only: the held-out soundfont is never looked at before the final test).
# Every call is resumable: run the same command again after --max-minutes (or Ctrl-C) and
# it continues exactly where it stopped (checkpoints every CKPT steps).
#
# Knobs (environment; defaults are the full run, README.md has the smoke-run values):
#   ENCODER (small | efficientnet-b0), SMALL_ENCODER (JSON of the small encoder's config fields,
#   phase 1 only: phase 2 takes phase 1's config; e.g. the v2 model's
#   '{"stem_width": 24, "stem_stride": [4, 4], "widths": [32, 64, 128], "freq_bins": 2}'), THREADS, STEPS1, POOL1, WARMUP1, STEPS2, POOL2, MINUTES1,
#   MINUTES2, VAL_PAIRS, EVAL_EVERY, CKPT, EVAL_MODES, EVAL_LIMIT (a seeded subset of test
#   windows, for smoke runs; empty: all), PHASES (which of 1,2,eval run; default all three:
#   PHASES=1 then PHASES=2,eval lets phase 2's step count be chosen from phase 1's s/step)
set -euo pipefail
DATA=${1:?usage: train_v2.sh DATA_DIR [RUNS_DIR]}
RUNS=${2:-$DATA/runs}
ENCODER=${ENCODER:-small}
SMALL_ENCODER=${SMALL_ENCODER:-}
THREADS=${THREADS:-2}
STEPS1=${STEPS1:-4000}
POOL1=${POOL1:-10000}
STEPS2=${STEPS2:-14000}
POOL2=${POOL2:-30000}
MINUTES1=${MINUTES1:-60}
MINUTES2=${MINUTES2:-150}
VAL_PAIRS=${VAL_PAIRS:-1024}
EVAL_EVERY=${EVAL_EVERY:-500}
CKPT=${CKPT:-250}
WARMUP1=${WARMUP1:-200}
EVAL_MODES=${EVAL_MODES:-both,harmonic,percussive}
EVAL_LIMIT=${EVAL_LIMIT:-}
PHASES=,${PHASES:-1,2,eval},
export OMP_NUM_THREADS=$THREADS

# what both phases share: augmentations (each sub-mix: gain ±6 dB, EQ tilt ±6 dB, reverb,
# light noise at 30-50 dB SNR; each pair: tempo ±5 %, pitch kept) and 8 calibration
# negatives per batch (silence, near-silence, white/pink/brown noise at -50..-10 dBFS)
AUG=(--aug-gain-p 0.5 --aug-gain-db 6 --aug-tilt-p 0.5 --aug-tilt-db 6 --aug-reverb-p 0.3 --aug-reverb-wet 0.4
     --aug-noise-p 0.3 --aug-noise-snr-db 30 --aug-tempo-p 0.5 --aug-tempo 0.05
     --calibration-negatives 8 --calibration-pool 200)
COMMON=(--data "$DATA/train" --val-data "$DATA/val" --encoder "$ENCODER" --head-init-std 0.005
        --threads "$THREADS" --val-pairs "$VAL_PAIRS" --ckpt-every "$CKPT" --no-progress "${AUG[@]}")

# phase 1: constant lr 1e-3 after WARMUP1 warm-up steps (the smoke run, without warm-up, logged
# a loss of 8.6 > ln 40 at step 10: watch loss and cal_win over the first few hundred steps)
[[ $PHASES == *,1,* ]] && python -m timbrefast train cocola "${COMMON[@]}" --out "$RUNS/phase1" ${SMALL_ENCODER:+--small-encoder "$SMALL_ENCODER"} \
  --cache-pairs "$POOL1" --cache-dir "$DATA/cache_v2_1" --warmup-steps "$WARMUP1" \
  --steps "$STEPS1" --val-every "$EVAL_EVERY" --max-minutes "$MINUTES1"

# phase 2: from phase 1, a POOL2-pair pool, warm-up + cosine decay, best validation kept
[[ $PHASES == *,2,* ]] && python -m timbrefast train cocola "${COMMON[@]}" --out "$RUNS/phase2" --init-from "$RUNS/phase1/model" \
  --cache-pairs "$POOL2" --cache-dir "$DATA/cache_v2_2" \
  --lr 5e-4 --lr-schedule cosine --warmup-steps 200 --min-lr 1e-5 \
  --steps "$STEPS2" --val-every "$EVAL_EVERY" --max-minutes "$MINUTES2" --keep-best k2_mean

# held-out soundfont (the figure of the card), then the training soundfonts
[[ $PHASES == *,eval,* ]] || exit 0
for split in test test_seen; do
  python scripts/bundled_cocola/evaluate.py "$RUNS/phase2/best" "$DATA/$split" --modes "$EVAL_MODES" \
    --threads "$THREADS" ${EVAL_LIMIT:+--limit "$EVAL_LIMIT"} > "$RUNS/eval_$split.json"
  head -3 "$RUNS/eval_$split.json"
done
