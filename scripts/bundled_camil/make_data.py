"""Make the synthetic CAMIL sets of the bundled classifier (see README.md here).

    PYTHONPATH=python python scripts/bundled_camil/make_data.py OUT.npz N_PARTS SEED
"""
import sys
import time

from timbrefast.data.camil_synth import synthesize_camil_set

out, n_parts, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t = time.time()
s = synthesize_camil_set(n_parts, seed=seed)
s.save(out)
print(f"{out}: {len(s)} segments from {n_parts} parts (seed {seed}) in {time.time() - t:.0f} s", flush=True)
