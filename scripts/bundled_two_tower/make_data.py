"""Render the caption banks the bundled two-tower model is trained and validated on.

Usage (about 15 minutes on 2 shared cores):
    OMP_NUM_THREADS=1 nice -n 10 python scripts/bundled_two_tower/make_data.py OUT_DIR \
        [--notes 16] [--patches 600] [--patch-notes 4] [--seed 0]

Training sources only (licences in the model card): FluidR3_GM.sf2 and FluidR3_GS.sf2
(MIT), sf_GMbank.sf2 (LGPL-2.1+) and timbrefast's own synthesizer patches. Families
"Sound Effects" and "Percussive" are left out. The validation split is the one of
scripts/bundled_retrieval/make_data.py (10% of the soundfont instruments, seed 0, and
patches from seed 50000), so the bundled audio encoder never trained on it either.
TimGM6mb (GPL-2) and OPL-3 are never used here (held out for evaluation).

Writes OUT_DIR/{train,val}/ (features.npy float16 (clips, 64, 101) + notes.json) and
OUT_DIR/manifest.json.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

SF2 = Path("/usr/share/sounds/sf2")
TRAIN_SOUNDFONTS = [SF2 / "FluidR3_GM.sf2", SF2 / "FluidR3_GS.sf2", SF2 / "sf_GMbank.sf2"]
EXCLUDED_FAMILIES = {"Sound Effects", "Percussive"}
VAL_PATCH_SEED = 50_000


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--notes", type=int, default=16)
    ap.add_argument("--patches", type=int, default=600)
    ap.add_argument("--val-patches", type=int, default=100)
    ap.add_argument("--patch-notes", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    import timbrefast

    timbrefast.set_num_threads(1)
    from timbrefast.data.instruments import patch_instruments, soundfont_instruments
    from timbrefast.data.patches import random_patches
    from timbrefast.train._two_tower_bank import CaptionBank, build_caption_bank

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sf = [i for i in soundfont_instruments(TRAIN_SOUNDFONTS) if i.family not in EXCLUDED_FAMILIES]
    rng = np.random.default_rng(0)  # the split of scripts/bundled_retrieval/make_data.py
    val_mask = np.zeros(len(sf), bool)
    val_mask[rng.choice(len(sf), size=len(sf) // 10, replace=False)] = True
    sets = {
        "train": ([i for i, v in zip(sf, val_mask) if not v], patch_instruments(random_patches(args.patches, seed=0))),
        "val": ([i for i, v in zip(sf, val_mask) if v],
                patch_instruments(random_patches(args.val_patches, seed=VAL_PATCH_SEED))),
    }
    manifest = {"seed": args.seed, "notes": args.notes, "patch_notes": args.patch_notes, "sets": {}}
    for name, (presets, patches) in sets.items():
        t0 = time.time()
        seed = args.seed + (0 if name == "train" else 1)
        bank = CaptionBank.concatenate([
            build_caption_bank(presets, notes_per_instrument=args.notes, seed=seed),
            build_caption_bank(patches, notes_per_instrument=args.patch_notes, seed=seed),
        ])
        bank.save(out / name)
        manifest["sets"][name] = {"presets": len(presets), "patches": len(patches), "clips": len(bank),
                                  "seconds": round(time.time() - t0, 1)}
        print(name, manifest["sets"][name], flush=True)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))


if __name__ == "__main__":
    sys.exit(main())
