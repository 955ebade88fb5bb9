#!/bin/bash
# lead, 20:28 UTC: a second informational continuation (quiet machine, 2 threads): phase 2 of
# train_v2.sh from runs3/phase2/best (runs4/phase1/model links to it), same pool, lr 5e-4 with
# 200 warm-up steps and a cosine over 3,000 steps, capped at 20 minutes.
cd /work/wt-cocola
export PYTHONPATH=python
THREADS=2 STEPS2=3000 POOL2=16000 MINUTES2=20 VAL_PAIRS=512 EVAL_EVERY=500 CKPT=250 EVAL_MODES=both,harmonic,percussive \
PHASES=2,eval scripts/bundled_cocola/train_v2.sh /work/data/cocola6/v2_opl /work/data/cocola6/runs4
