#!/usr/bin/env bash
# Train the bundled timbre-retrieval model (python/timbrefast/assets/retrieval_small) on the
# banks of make_data.py. Usage: scripts/bundled_retrieval/train.sh DATA_DIR RUN_DIR [STEPS]
# The shipped model is RUN_DIR/best (best validation top-1), copied by hand into the package.
set -euo pipefail
DATA=${1:?data dir from make_data.py}
RUN=${2:?run dir}
STEPS=${3:-1500}
python3 -m timbrefast train retrieval --data "$DATA/train" --val-data "$DATA/val" --out "$RUN" \
  --steps "$STEPS" --lr 1e-3 --lr-schedule cosine --warmup-steps 200 --min-lr 1e-5 \
  --batch-size 64 --hard-negative-ratio 0.5 --temperature 0.1 --freq-shift 2 --time-mask 20 \
  --val-every 250 --ckpt-every 250 --log-every 25 --keep-best top1 --seed 0 --threads 2 --no-progress
