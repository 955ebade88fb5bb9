#!/bin/bash
# lead9: re-render the v2 recipe's evaluation splits (cocola5/6 seeds) and two new half-scale training batches
set -e
cd "$(dirname "$0")/../../.."
export PYTHONPATH=python OMP_NUM_THREADS=1
D=/work/data/lead9/cocola
M="nice -n 19 python scripts/bundled_cocola/make_data_v2.py"
$M $D/evalsets --workers 1 --splits test --test-scale 0.2 --held-out OPL-3
$M $D/evalsets --workers 1 --splits val --scale 0.5 --held-out OPL-3
$M $D/evalsets --workers 1 --splits test_seen --test-scale 0.25 --held-out OPL-3
$M $D/v2c --workers 1 --splits train --scale 0.5 --held-out OPL-3 --seed-offset 2000
$M $D/v2d --workers 1 --splits train --scale 0.5 --held-out OPL-3 --seed-offset 3000
echo done
