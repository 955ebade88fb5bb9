#!/bin/bash
# cocola6 phase 1 (normal priority, 2 threads); phase 2 is started separately once s/step is known
cd /work/wt-cocola
export PYTHONPATH=python
SMALL_ENCODER='{"stem_width": 24, "stem_stride": [4, 4], "widths": [32, 64, 128], "freq_bins": 2}' \
THREADS=2 STEPS1=${STEPS1:-2000} POOL1=${POOL1:-8000} WARMUP1=200 MINUTES1=${MINUTES1:-30} VAL_PAIRS=512 EVAL_EVERY=500 CKPT=250 \
PHASES=1 scripts/bundled_cocola/train_v2.sh /work/data/cocola6/v2_opl /work/data/cocola6/runs
