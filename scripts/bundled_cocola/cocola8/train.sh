#!/bin/bash
# cocola8: phase 2 of train_v2.sh again, warm-started from the shipped v2 model (cocola6 runs4/phase2/best,
# linked as runs/phase1/model), on the doubled training set v2x (2,400 tracks), a fresh POOL2-pair pool,
# lr 5e-4 with 200 warm-up steps and a cosine to 1e-5 over STEPS2 steps, best validation (k2_mean) kept;
# one thread, nice 19 (shared machine).
cd /work/wt-cocola8
export PYTHONPATH=python
THREADS=1 STEPS2=${STEPS2:?} POOL2=${POOL2:?} MINUTES2=${MINUTES2:?} VAL_PAIRS=512 EVAL_EVERY=500 CKPT=250 EVAL_MODES=both,harmonic,percussive \
PHASES=2,eval nice -n 19 scripts/bundled_cocola/train_v2.sh /work/data/cocola8/v2x /work/data/cocola8/runs
# As run: first `STEPS2=4500 POOL2=20000 MINUTES2=52 ./train.sh` (00:56 UTC; the pool took ≈ 11 min),
# stopped (SIGTERM) at step 150 once the rate was known (≈ 1 s/step beside two other helpers, not
# the ≈ 0.5 s expected: 4,500 steps would not have fitted the cap and the cosine would have been cut),
# then resumed as `STEPS2=3000 POOL2=20000 MINUTES2=49 ./train.sh` (the cosine recomputed for 3,000
# steps, still in the warm-up at the stop).
