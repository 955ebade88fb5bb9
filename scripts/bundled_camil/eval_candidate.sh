#!/usr/bin/env bash
# A candidate bundled model on both synthetic test sets (v2: the current bundled model's,
# v3: this round's) and on the held-out music21 check. Usage: eval_candidate.sh MODEL OUT_DIR
set -uo pipefail
MODEL=$1; OUT=$2
export PYTHONPATH=python OMP_NUM_THREADS=1
mkdir -p "$OUT"
for v in ${VERSIONS:-v2 v3}; do
  nice -n 10 python -m timbrefast.train.camil_cli eval --model "$MODEL" --data /work/data/camil/$v/test.npz \
    --out "$OUT/$v" --threads 1 > "$OUT/$v.log" 2>&1
done
nice -n 10 python scripts/bundled_camil/heldout_music21.py eval /work/data/camil/heldout_midi "$MODEL" "$OUT/heldout.json" \
  > "$OUT/heldout.log" 2>&1
