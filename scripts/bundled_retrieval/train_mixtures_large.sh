#!/usr/bin/env bash
# Round 3 (1 Dec 2026, evening): the shipped family-gallery recipe of train_mixtures_gallery.sh
# (same flags, same single-note INIT, seed 0, 1 thread) on a 3x larger training mixture bank
# and with more steps. Usage:
#   scripts/bundled_retrieval/train_mixtures_large.sh DATA MIX3000 RUN [STEPS] [MINUTES]
# Data as run:
#   DATA    = make_data.py DATA (seed 0), the single-note banks train/ and val/
#   MIX3000 = make_mixtures.py MIX3000 --sets mix_train --mixtures 3000 --start 1000 \
#               --prepend MIX1000/mix_train --workers 2      (items 0..2999 of seed 0; the first
#             1,000 are the round-2 bank MIX1000/mix_train, rendered once), plus
#             MIX3000/mix_val -> MIX1000/mix_val (the same 200 validation mixtures, seed 1)
#   INIT    = the single-note model: `git archive 00a10b7 python/timbrefast/assets/retrieval_small`
# As run: NICE=0 INIT=$INIT train_mixtures_large.sh /work/data/retrieval /work/data/mix7/banks RUN 1400 62
# then interpolate.py INIT RUN/best OUT --alpha A, A chosen on the validation banks (validate.py).
set -euo pipefail
DATA=${1:?data dir from make_data.py}
MIX=${2:?mixture dir with mix_train (3,000) and mix_val}
RUN=${3:?run dir}
STEPS=${4:-1400}
MINUTES=${5:-62}
: "${INIT:?set INIT to the single-note model (commit 00a10b7)}"
export INIT
exec "$(dirname "$0")/train_mixtures_gallery.sh" "$DATA" "$MIX" "$RUN" "$STEPS" "$MINUTES" full
