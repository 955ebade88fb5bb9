#!/usr/bin/env bash
# How the bundled COCOLA model (python/timbrefast/assets/cocola_small) was trained, on a
# 2-core CPU. DATA holds train/, val/ and test/ from make_data.py. Phase 1 ran as several
# resumed pieces under --max-minutes (21 + 11 min on 1 thread, 24 min on 2); resuming is
# exact, so one call to --steps 4770 replays it up to floating-point thread effects.
# Phase 2 continues from the phase-1 model on 2,100 tracks with a cosine schedule and
# keeps the checkpoint with the best validation K=2 (exact mean over groupings).
set -euo pipefail
DATA=${1:?usage: train.sh DATA_DIR [RUNS_DIR]}
RUNS=${2:-$DATA/runs}

# phase 1: the first 800 training tracks only (5 % of them for validation)
mkdir -p "$DATA/train800"
for i in $(seq -f "%05g" 1 800); do ln -sfn "$DATA/train/Track$i" "$DATA/train800/Track$i"; done
python -m timbrefast train cocola --data "$DATA/train800" --out "$RUNS/phase1" --encoder small \
  --cache-pairs 8000 --cache-dir "$DATA/cache1" --head-init-std 0.005 --threads 2 \
  --val-fraction 0.05 --val-pairs 512 --steps 4770 --val-every 250 --ckpt-every 250 --no-progress

# phase 2: all 2,100 tracks, separate validation tracks, 30,000-pair feature pool
python -m timbrefast train cocola --data "$DATA/train" --val-data "$DATA/val" --out "$RUNS/phase2" \
  --init-from "$RUNS/phase1/model" --cache-pairs 30000 --cache-dir "$DATA/cache2" \
  --head-init-std 0.005 --threads 2 --lr 5e-4 --lr-schedule cosine --warmup-steps 200 --min-lr 1e-5 \
  --steps 14000 --max-minutes 112 --val-pairs 1024 --val-every 500 --ckpt-every 500 \
  --keep-best k2_mean --no-progress

# the bundled model is phase2/best; held-out accuracy:
python scripts/bundled_cocola/evaluate.py "$RUNS/phase2/best" "$DATA/test" --modes both,harmonic,percussive
