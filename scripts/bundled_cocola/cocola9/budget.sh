#!/bin/bash
# cocola9: EfficientNet-B0 against the small encoder under the same CPU budget (issue 17, item 5):
# each from scratch, MINUTES of one thread at nice 19, the same 2,400 training tracks and the
# same cached 20,000-pair pool as train.sh (cache_v2_2: built once, then read), the phase-1
# recipe of train_v2.sh (lr 1e-3 after 200 warm-up steps), validation every 250 steps,
# best validation k2_mean kept; then both on the held-out OPL-3 test split.
#   ENCODER=efficientnet-b0 MINUTES=25 scripts/bundled_cocola/cocola9/budget.sh
#   ENCODER=small SMALL_ENCODER='{"stem_width": 24, ...}' MINUTES=25 scripts/bundled_cocola/cocola9/budget.sh
cd "$(dirname "$0")/../../.."
export PYTHONPATH=python OMP_NUM_THREADS=1
R=/work/data/lead9/cocola
D=$R/v2y
OUT=$R/budget/${ENCODER:?}
AUG=(--aug-gain-p 0.5 --aug-gain-db 6 --aug-tilt-p 0.5 --aug-tilt-db 6 --aug-reverb-p 0.3 --aug-reverb-wet 0.4
     --aug-noise-p 0.3 --aug-noise-snr-db 30 --aug-tempo-p 0.5 --aug-tempo 0.05
     --calibration-negatives 8 --calibration-pool 200)
nice -n 19 python -m timbrefast train cocola --data $D/train --val-data $D/val --encoder $ENCODER \
  ${SMALL_ENCODER:+--small-encoder "$SMALL_ENCODER"} --head-init-std 0.005 --threads 1 --val-pairs 512 \
  --ckpt-every 250 --no-progress "${AUG[@]}" --out $OUT --cache-pairs 20000 --cache-dir $D/cache_v2_2 \
  --warmup-steps 200 --steps 20000 --val-every 250 --max-minutes ${MINUTES:?} --keep-best k2_mean
nice -n 19 python scripts/bundled_cocola/evaluate.py $OUT/best $D/test --modes both --threads 1 > $OUT/eval_test.json
head -12 $OUT/eval_test.json
