#!/bin/bash
# cocola9: phase 2 of train_v2.sh again, warm-started from the shipped model (round 8's weights,
# python/timbrefast/assets/cocola_small, copied as runs/phase1/model), on 2,400 new tracks (v2y),
# a fresh POOL2-pair pool, lr 5e-4 with 200 warm-up steps and a cosine to 1e-5 over STEPS2 steps,
# best validation (k2_mean) kept; one thread, nice 19.
# As run: candidate A `STEPS2=4000 POOL2=20000 MINUTES2=50 ./train.sh` (07:21 UTC, 0.23 s/step), then
# candidate B beside it `DATA=$R/v2z RUNS=$R/runs_b STEPS2=8000 POOL2=40000 MINUTES2=50 ./train.sh`;
# the one shipped is chosen on validation (k2_mean) only.
cd "$(dirname "$0")/../../.."
export PYTHONPATH=python
R=/work/data/lead9/cocola
DATA=${DATA:-$R/v2y}   # candidate B: v2z, the same tracks as hard links (its own pool cache)
RUNS=${RUNS:-$R/runs}  # candidate B: $R/runs_b
mkdir -p $RUNS/phase1 && [ -e $RUNS/phase1/model ] || cp -r python/timbrefast/assets/cocola_small $RUNS/phase1/model
THREADS=1 STEPS2=${STEPS2:?} POOL2=${POOL2:?} MINUTES2=${MINUTES2:?} VAL_PAIRS=512 EVAL_EVERY=500 CKPT=250 EVAL_MODES=both,harmonic,percussive \
PHASES=2,eval nice -n 19 scripts/bundled_cocola/train_v2.sh $DATA $RUNS
