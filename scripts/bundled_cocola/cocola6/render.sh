#!/bin/bash
# cocola6 render: train/val at --scale 0.5 (held-out OPL-3), test_seen at --test-scale 0.25
cd /work/wt-cocola
export PYTHONPATH=python OMP_NUM_THREADS=1
T0=$(date +%s)
python scripts/bundled_cocola/make_data_v2.py /work/data/cocola6/v2_opl --workers 2 --splits train,val --scale 0.5 --held-out OPL-3
echo "train/val done $(( $(date +%s) - T0 ))s"
python scripts/bundled_cocola/make_data_v2.py /work/data/cocola6/v2_opl --workers 2 --splits test_seen --test-scale 0.25 --held-out OPL-3
echo "test_seen done $(( $(date +%s) - T0 ))s"
