#!/bin/bash
cd /work/wt-cocola
export PYTHONPATH=python OMP_NUM_THREADS=2
python benchmarks/scoring.py --sections calibration --model /work/data/cocola6/runs/phase2/best --threads 2 > /work/data/cocola6/calibration_v2.txt 2>&1
echo "calibration done $(date -u)"
python scripts/bundled_cocola/evaluate.py python/timbrefast/assets/cocola_small /work/data/cocola6/v2_opl/test --modes harmonic,percussive --threads 2 > /work/data/cocola6/baseline_v1_opl_hp.json
echo "v1 hp done $(date -u)"
