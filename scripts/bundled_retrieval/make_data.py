"""Render the feature banks the bundled retrieval model is trained, validated and tested on.

Usage (about 10 minutes on 2 cores):
    python scripts/bundled_retrieval/make_data.py OUT_DIR [--patches 1200] [--notes 8] [--seed 0]

Training sources (licences in the model card): FluidR3_GM.sf2 (fluid-soundfont-gm, MIT),
FluidR3_GS.sf2 (fluid-soundfont-gs, MIT), sf_GMbank.sf2 (csound-soundfont, LGPL-2.1+) and the
project's own synthesizer patches, seeds 0 .. PATCHES-1. Families "Sound Effects" and
"Percussive" are left out (not pitched instruments). 10% of the soundfont instruments
(seeded) and patches 50000.. are the validation set.

Held-out test (never trained or validated on): every melodic preset of TimGM6mb.sf2
(GPL-2: evaluation only) and OPL-3_FM_128M.sf2 (opl3-soundfont, CC-BY-SA-4.0: evaluation
only), and patches 100000 .. 100299 -- instruments the model never heard.

Writes OUT_DIR/{train,val,test_timgm,test_opl3,test_patches}/ (features.npy float16
(instruments, notes, 64, 101) + instruments.json) and OUT_DIR/manifest.json.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

SF2 = Path("/usr/share/sounds/sf2")
TRAIN_SOUNDFONTS = [SF2 / "FluidR3_GM.sf2", SF2 / "FluidR3_GS.sf2", SF2 / "sf_GMbank.sf2"]
TEST_SOUNDFONTS = {"test_timgm": SF2 / "TimGM6mb.sf2", "test_opl3": SF2 / "OPL-3_FM_128M.sf2"}
EXCLUDED_FAMILIES = {"Sound Effects", "Percussive"}
VAL_PATCH_SEED, TEST_PATCH_SEED = 50_000, 100_000


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--patches", type=int, default=1200)
    ap.add_argument("--val-patches", type=int, default=150)
    ap.add_argument("--test-patches", type=int, default=300)
    ap.add_argument("--notes", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from timbrefast.data.instruments import patch_instruments, soundfont_instruments
    from timbrefast.data.patches import random_patches
    from timbrefast.train.retrieval import build_feature_bank

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sf = [i for i in soundfont_instruments(TRAIN_SOUNDFONTS) if i.family not in EXCLUDED_FAMILIES]
    rng = np.random.default_rng(args.seed)
    val_mask = np.zeros(len(sf), bool)
    val_mask[rng.choice(len(sf), size=len(sf) // 10, replace=False)] = True
    sets = {
        "train": [i for i, v in zip(sf, val_mask) if not v] + patch_instruments(random_patches(args.patches, seed=0)),
        "val": [i for i, v in zip(sf, val_mask) if v]
        + patch_instruments(random_patches(args.val_patches, seed=VAL_PATCH_SEED)),
        "test_patches": patch_instruments(random_patches(args.test_patches, seed=TEST_PATCH_SEED)),
    }
    for name, path in TEST_SOUNDFONTS.items():
        sets[name] = [i for i in soundfont_instruments(path) if i.family not in EXCLUDED_FAMILIES]
    manifest = {"seed": args.seed, "notes": args.notes, "sets": {}}
    for name, insts in sets.items():
        t0 = time.time()
        bank = build_feature_bank(insts, notes_per_instrument=args.notes, seed=args.seed + (0 if name == "train" else 1))
        bank.save(out / name)
        manifest["sets"][name] = {"instruments": len(insts), "seconds": round(time.time() - t0, 1)}
        print(name, manifest["sets"][name], flush=True)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))


if __name__ == "__main__":
    sys.exit(main())
