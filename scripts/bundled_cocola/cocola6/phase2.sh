#!/bin/bash
# cocola6 phase 2 + evaluation. Phase 1 was stopped (SIGTERM) after its step-1000 checkpoint
# (the fft helper's builds/tests shared the 2 cores at equal priority: 0.3-1 s/step); its
# checkpoint weights are phase 2's --init-from (runs/phase1/model = a copy of checkpoint/'s
# config.json + model.safetensors). 16,000-pair pool, 7,000 cosine steps, 55 min cap.
cd /work/wt-cocola
export PYTHONPATH=python
THREADS=2 STEPS2=${STEPS2:-2700} POOL2=16000 MINUTES2=${MINUTES2:-36} VAL_PAIRS=512 EVAL_EVERY=500 CKPT=250 EVAL_MODES=both,harmonic,percussive \
PHASES=2,eval scripts/bundled_cocola/train_v2.sh /work/data/cocola6/v2_opl /work/data/cocola6/runs
# As run: first with STEPS2=7000 MINUTES2=55, stopped (SIGTERM) after the step-1000 checkpoint
# (1.3-1.5 s/step under the fft helper's compiles: the cosine would not have decayed by the
# deadline), then resumed with STEPS2=2700 MINUTES2=36 (the cosine recomputed for 2,700 steps).
# Then stopped again after the step-1500 checkpoint (0.6 s/step once the compiles ended: time
# for more steps) and resumed with STEPS2=3300 MINUTES2=26 (cosine recomputed for 3,300).
# Then stopped again after the step-2000 checkpoint (1.1-1.9 s/step beside the other
# helper's test suite: the cosine would have stopped at 68 %) and resumed with STEPS2=2500
# MINUTES2=13: the cosine recomputed for 2,500 steps (lr 2e-4 -> 6e-5 at the resume, 1e-5 at the end).
