#!/bin/bash
# lead, 19:55 UTC: informational continuation of the cocola6 v2 model (not shipped unless it beats v1
# on OPL-3): phase 2 of train_v2.sh again from runs/phase2/best (runs3/phase1/model is a link to it),
# same 16,000-pair pool, lr 5e-4 warm-up 200 + cosine over 2,000 steps, 1 thread, nice 10 beside CI.
cd /work/wt-cocola
export PYTHONPATH=python
THREADS=1 STEPS2=2000 POOL2=16000 MINUTES2=32 VAL_PAIRS=512 EVAL_EVERY=500 CKPT=250 EVAL_MODES=both,harmonic,percussive \
PHASES=2,eval nice -n 10 scripts/bundled_cocola/train_v2.sh /work/data/cocola6/v2_opl /work/data/cocola6/runs3
