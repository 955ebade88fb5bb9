#!/usr/bin/env bash
# Fine-tune the bundled retriever on mixtures + single notes (tried on 1 Dec 2026, not shipped:
# see the model card's "Mixture fine-tune" section for what it gave).
# Usage: scripts/bundled_retrieval/train_mixtures.sh DATA_DIR MIX_DIR RUN_DIR [STEPS] [MINUTES]
#   DATA_DIR: make_data.py's banks (train/, val/); MIX_DIR: make_mixtures.py's (mix_train/, mix_val/).
# Starts from the bundled single-note model (INIT=... to change). Half of the steps
# are mixture batches (16 mixes + their 48 stems, the "full" mixture InfoNCE, other stems of a
# mix as negatives), half single-note batches as before; batch-norm statistics frozen (those of
# the single-note model: mixture and single-note batches differ too much to share them).
# The run of the model card: train_mixtures.sh DATA MIX RUN 2000 19, stopped (Ctrl-C) after
# step 400; data: make_data.py DATA (seed 0), make_mixtures.py MIX --mixtures 1000 (seed 0).
# A model to ship would be RUN_DIR/best (best validation "score" = mean of single-note and
# mixture top-1), copied by hand. Constant learning rate: the run is cut by MINUTES on a
# shared machine, so no schedule depends on STEPS.
set -euo pipefail
DATA=${1:?data dir from make_data.py}
MIX=${2:?mixture dir from make_mixtures.py}
RUN=${3:?run dir}
STEPS=${4:-2000}
MINUTES=${5:-45}
INIT=${INIT:-python/timbrefast/assets/retrieval_small}
OMP_NUM_THREADS=1 nice -n 10 python3 -m timbrefast train retrieval --data "$DATA/train" --val-data "$DATA/val" \
  --mixtures "$MIX/mix_train" --val-mixtures "$MIX/mix_val" --init-from "$INIT" --out "$RUN" \
  --steps "$STEPS" --max-minutes "$MINUTES" --lr 1e-4 --lr-schedule constant --warmup-steps 20 \
  --batch-size 64 --hard-negative-ratio 0.5 --temperature 0.1 --freq-shift 2 --time-mask 20 \
  --mixture-ratio 0.5 --mixture-batch-size 16 --mixture-loss full --other-stems negatives \
  --mixture-positives stems --freeze-batchnorm \
  --val-every 100 --ckpt-every 50 --log-every 10 --keep-best score --seed 0 --threads 1 --no-progress
