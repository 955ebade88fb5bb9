#!/bin/sh
# Train the bundled two-tower model's heads on the caption banks of make_data.py.
# Usage: scripts/bundled_two_tower/train.sh BANK_DIR RUN_DIR [STEPS [EXTRA FLAGS...]]
# (1 thread, nice 10; the caption sentence embeddings are cached in RUN_DIR/text_cache.npz)
# With HEAD_CACHE=DIR the frozen audio tower's outputs are cached there between runs
# (scripts/bundled_two_tower/head_cache.py; the same arrays, computed once).
set -e
BANK=$1; RUN=$2; STEPS=${3:-4000}
if [ $# -ge 3 ]; then shift 3; else shift $#; fi
if [ -n "$HEAD_CACHE" ]; then
  TRAIN="python $(dirname "$0")/head_cache.py $HEAD_CACHE train --"
else
  TRAIN="python -m timbrefast train two-tower"
fi
OMP_NUM_THREADS=1 nice -n 10 $TRAIN \
  --data "$BANK/train" --val-data "$BANK/val" --out "$RUN" \
  --steps "$STEPS" --lr 1e-3 --lr-schedule cosine --warmup-steps 200 --min-lr 1e-5 \
  --batch-size 96 --captions-per-clip 6 --family-only 0.1 --input-noise 0.02 \
  --embedding-dim 256 --hidden-dim 512 \
  --val-every 250 --ckpt-every 1000 --log-every 50 --keep-best zs_top1 --seed 0 --threads 1 --device cpu --no-progress "$@"
