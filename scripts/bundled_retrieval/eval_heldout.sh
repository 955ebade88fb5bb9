#!/usr/bin/env bash
# Held-out evaluation of a retrieval model (the model card's tables): the paper's protocol and
# the MFCC-40 baseline on TimGM6mb and OPL-3 (single notes + 200 3-instrument mixtures each) and
# on synthesizer patches 100000..100299 (single notes), seed 1, three processes in parallel.
# Usage: scripts/bundled_retrieval/eval_heldout.sh MODEL OUT_DIR
# Writes OUT_DIR/{timgm,opl3,patches}/results.{json,csv} + report.png and OUT_DIR/*.log;
# the same figures as one `timbrefast eval retrieval --soundfont TimGM6mb.sf2 OPL-3_FM_128M.sf2
# --patches 300 --patch-seed 100000 --notes 8 --mixtures 200 --seed 1` run (every set is
# rendered from its own seed, independently of the others).
set -euo pipefail
MODEL=${1:?retrieval model directory}
OUT=${2:?output folder}
SF=/usr/share/sounds/sf2
mkdir -p "$OUT"
run() { OMP_NUM_THREADS=1 nice -n 10 python3 -m timbrefast eval retrieval --model "$MODEL" --notes 8 --seed 1 "$@"; }
run --soundfont "$SF/TimGM6mb.sf2" --mixtures 200 --out "$OUT/timgm" > "$OUT/timgm.log" 2>&1 &
run --soundfont "$SF/OPL-3_FM_128M.sf2" --mixtures 200 --out "$OUT/opl3" > "$OUT/opl3.log" 2>&1 &
run --patches 300 --patch-seed 100000 --out "$OUT/patches" > "$OUT/patches.log" 2>&1 &
wait
cat "$OUT"/timgm.log "$OUT"/opl3.log "$OUT"/patches.log
