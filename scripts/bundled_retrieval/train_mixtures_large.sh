#!/usr/bin/env bash
# Round 3 (1 Dec 2026, evening; shipped): the family-gallery recipe of train_mixtures_gallery.sh
# (same flags, same single-note INIT, seed 0, 1 thread) on a 6x larger training mixture bank
# and with more steps. Usage:
#   scripts/bundled_retrieval/train_mixtures_large.sh DATA MIX RUN [STEPS] [MINUTES]
# Data as run (item i of a bank has its own seed, so each bank extends the previous one):
#   DATA  = make_data.py DATA (seed 0), the single-note banks train/ and val/
#   MIX1k = make_mixtures.py MIX1k --mixtures 1000            (round 2: mix_train + mix_val)
#   MIX3k = make_mixtures.py MIX3k --sets mix_train --mixtures 3000 --start 1000 --prepend MIX1k/mix_train --workers 2
#   MIX6k = make_mixtures.py MIX6k --sets mix_train --mixtures 6000 --start 3000 --prepend MIX3k/mix_train --workers 1
#   MIX3k/mix_val, MIX6k/mix_val -> MIX1k/mix_val (the same 200 validation mixtures, seed 1)
#   INIT  = the single-note model: `git archive 00a10b7 python/timbrefast/assets/retrieval_small`
# As run (NICE=0: the machine's priority job that evening, one thread):
#   run 1: NICE=0 INIT=$INIT train_mixtures_large.sh DATA MIX3k RUN1 1500 66   (19 min, best step 1,250)
#   run 2: NICE=0 INIT=$INIT train_mixtures_large.sh DATA MIX6k RUN2 2600 44   (34 min, best step 2,250: shipped)
# then validate.py DATA/val MIX1k/mix_val over interpolate.py INIT RUN/best OUT --alpha A
# (A in 0.7 / 0.85 / 1.0; the rule of the model card chose 1.0 = RUN2/best itself).
set -euo pipefail
DATA=${1:?data dir from make_data.py}
MIX=${2:?mixture dir with mix_train and mix_val}
RUN=${3:?run dir}
STEPS=${4:-2600}
MINUTES=${5:-44}
: "${INIT:?set INIT to the single-note model (commit 00a10b7)}"
export INIT
exec "$(dirname "$0")/train_mixtures_gallery.sh" "$DATA" "$MIX" "$RUN" "$STEPS" "$MINUTES" full
