"""Synthesize the data the bundled COCOLA model (``timbrefast/assets/cocola_small``) was
trained, validated and tested on: 30 s multi-stem tracks at 16 kHz, Slakh layout.

    python scripts/bundled_cocola/make_data.py OUT_DIR [--workers 2]

Writes ``OUT_DIR/train`` (2,100 tracks: 800 of the first training phase, 1,300 added for
the second), ``OUT_DIR/val`` (120) and ``OUT_DIR/test`` (160). Every group has its own
seed, so the sets share no generated material beyond corpus chorales (which can recur
with other instruments, tempo and crop). Needs the ``[synth,music21]`` extras and the
FluidR3_GM / TimGM6mb soundfonts (``scripts/install_system_deps.sh``). About 10 minutes
on 2 cores.
"""
from __future__ import annotations

import argparse
import time

from timbrefast.data import synthesize_stems

FR = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
TG = "/usr/share/sounds/sf2/TimGM6mb.sf2"

# split -> [(soundfont, ensemble, tracks, seed)]; track numbers run on within a split
PLAN = {
    "train": [
        # phase 1 (800 tracks)
        (FR, "random", 300, 11), (TG, "random", 200, 12),
        (FR, "strings", 60, 13), (FR, "brass", 60, 14), (FR, "woodwind", 60, 15),
        (TG, "strings", 40, 16), (TG, "brass", 40, 17), (TG, "woodwind", 40, 18),
        # phase 2 (1,300 more)
        (FR, "random", 500, 21), (TG, "random", 350, 22),
        (FR, "strings", 80, 23), (FR, "brass", 80, 24), (FR, "woodwind", 80, 25),
        (TG, "strings", 70, 26), (TG, "brass", 70, 27), (TG, "woodwind", 70, 28),
    ],
    "val": [(FR, "random", 50, 201), (TG, "random", 40, 202), (FR, "woodwind", 15, 203), (TG, "strings", 15, 204)],
    "test": [(FR, "random", 64, 101), (TG, "random", 64, 102), (FR, "strings", 16, 103), (TG, "brass", 16, 104)],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--splits", default="train,val,test")
    args = parser.parse_args()
    for split in args.splits.split(","):
        start = 0
        for sf, ensemble, n, seed in PLAN[split]:
            t = time.time()
            synthesize_stems(f"{args.out}/{split}", soundfont=sf, tracks=n, seed=seed, ensemble=ensemble,
                             source="mixed", seconds=30.0, sr=16000, workers=args.workers, start=start,
                             progress=False)
            print(split, sf.rsplit("/", 1)[-1], ensemble, n, seed, f"{time.time() - t:.1f}s", flush=True)
            start += n


if __name__ == "__main__":
    main()
