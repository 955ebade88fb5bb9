#!/usr/bin/env bash
# Mixture fine-tune of the bundled retriever with the family-gallery InfoNCE (2nd round, 1 Dec 2026).
# Usage: scripts/bundled_retrieval/train_mixtures_gallery.sh DATA_DIR MIX_DIR RUN_DIR [STEPS] [MINUTES] [LOSS]
#   DATA_DIR: make_data.py's banks (train/, val/); MIX_DIR: make_mixtures.py's (mix_train/, mix_val/);
#   LOSS: the stem-vs-mix objective (full, the default, or info_nce / triplet / triplet_full).
# Starts from the single-note model INIT (default: the package's assets/retrieval_small). The
# bundled model of 1 Dec 2026 (2nd round) was made with INIT = the single-note model of train.sh
# (assets/retrieval_small at commit 00a10b7: `git archive 00a10b7 python/timbrefast/assets/retrieval_small`):
#   INIT=SINGLE train_mixtures_gallery.sh DATA MIX RUN 1000 60 full    (1,000 steps, 42 min, 1 thread)
#   python scripts/bundled_retrieval/interpolate.py SINGLE RUN/best OUT --alpha 0.7
# DATA: make_data.py DATA (seed 0); MIX: make_mixtures.py MIX --mixtures 1000 (seed 0).
# Half of the steps are single-note batches (64 notes, InfoNCE, hard negatives 0.5) as in
# train.sh; the other half mixture batches of 12 mixes, one 2-s window each, with
#   * LOSS between each mix window and the same window of its 3 stems (other stems negatives), and
#   * the family-gallery InfoNCE: each mix window (once per instrument it holds) and each
#     stem window against a gallery of single reference notes (the batch's 36 instruments
#     plus 4 more of each one's family), softmax within the query's family -- the paper's
#     per-family mixture ranking as a loss.
# Batch-norm statistics frozen (those of the single-note model). Cosine learning rate 3e-4 -> 1e-5
# over STEPS after 50 warm-up steps; MINUTES cuts the run on a shared machine (then the
# schedule is not finished). Best validation "score" (mean of single-note and mixture top-1)
# is RUN_DIR/best.
set -euo pipefail
DATA=${1:?data dir from make_data.py}
MIX=${2:?mixture dir from make_mixtures.py}
RUN=${3:?run dir}
STEPS=${4:-1000}
MINUTES=${5:-60}
LOSS=${6:-full}
INIT=${INIT:-python/timbrefast/assets/retrieval_small}
NICE=${NICE:-10}  # niceness (round 3 ran NICE=0: the machine's priority job, 1 thread)
OMP_NUM_THREADS=1 nice -n "$NICE" python3 -m timbrefast train retrieval --data "$DATA/train" --val-data "$DATA/val" \
  --mixtures "$MIX/mix_train" --val-mixtures "$MIX/mix_val" --init-from "$INIT" --out "$RUN" \
  --steps "$STEPS" --max-minutes "$MINUTES" --lr 3e-4 --lr-schedule cosine --warmup-steps 50 --min-lr 1e-5 \
  --batch-size 64 --hard-negative-ratio 0.5 --temperature 0.1 --freq-shift 2 --time-mask 20 \
  --mixture-ratio 0.5 --mixture-batch-size 12 --mixture-loss "$LOSS" --other-stems negatives \
  --mixture-positives stems --gallery-weight 1.0 --gallery-negatives 4 --freeze-batchnorm \
  --val-every 250 --ckpt-every 100 --log-every 25 --keep-best score --seed 0 --threads 1 --no-progress
