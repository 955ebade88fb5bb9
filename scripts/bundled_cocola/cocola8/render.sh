#!/bin/bash
# cocola8: a second half-scale batch of the v2 training recipe (OPL-3 held out), seeds + 1000
cd /work/wt-cocola8
export PYTHONPATH=python OMP_NUM_THREADS=1
nice -n 19 python scripts/bundled_cocola/make_data_v2.py /work/data/cocola8/v2b --workers 1 --splits train --scale 0.5 --held-out OPL-3 --seed-offset 1000
