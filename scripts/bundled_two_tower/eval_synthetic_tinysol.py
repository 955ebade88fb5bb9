"""Held-out figure of the bundled two-tower model: zero-shot on a synthetic TinySOL.

Renders the 14 TinySOL classes from a soundfont the model never trained on (default
TimGM6mb.sf2, GPL-2: evaluation only), each at its General MIDI program (bank 0), at
``--pitches`` pitches evenly spread over the instrument's range
(timbrefast.train._two_tower_bank.PROGRAM_PITCH_RANGES), at the dynamics pp / mf / ff
(velocities 32, 80, 120), notes of ``--duration`` seconds in 2 s clips (16 kHz), and runs
the published prompt sets (timbrefast.two_tower.evaluate_prompt_sets) and the family
prompts on them. The official ``timbrefast eval two-tower --synthetic-tinysol`` CLI is a
separate tool and is what the current model card's figures come from (this script gave the previous model's).

Usage:
    OMP_NUM_THREADS=1 python scripts/bundled_two_tower/eval_synthetic_tinysol.py \
        [--model DIR] [--soundfont SF] [--pitches 9] [--duration 1.0] [--out FILE.json]
"""
import argparse
import json
import sys
import time

import numpy as np

PROGRAMS = {
    "bass tuba": 58, "french horn": 60, "trombone": 57, "trumpet in c": 56, "accordion": 21,
    "contrabass": 43, "violin": 40, "viola": 41, "violoncello": 42, "bassoon": 70,
    "clarinet in b-flat": 71, "flute": 73, "oboe": 68, "alto saxophone": 65,
}
VELOCITIES = {"pp": 32, "mf": 80, "ff": 120}


def render_set(soundfont, pitches, duration, sr=16000, seconds=2.0):
    from timbrefast.data.instruments import render, soundfont_instruments
    from timbrefast.data.retrieval import _fit
    from timbrefast.train._two_tower_bank import PROGRAM_PITCH_RANGES
    from timbrefast.two_tower import TINYSOL_CLASSES

    insts = {i.preset.program: i for i in soundfont_instruments(soundfont) if i.preset.bank == 0}
    audio, labels, meta = [], [], []
    n = int(seconds * sr)
    for c, cls in enumerate(TINYSOL_CLASSES):
        prog = PROGRAMS[cls]
        lo, hi = PROGRAM_PITCH_RANGES[prog]
        for p in np.unique(np.round(np.linspace(lo, hi, pitches)).astype(int)):
            for dyn, vel in VELOCITIES.items():
                y = _fit(render(insts[prog], int(p), velocity=vel, duration=duration, sr=sr), n)
                if np.abs(y).max() <= 1e-4:
                    continue
                audio.append(y.astype(np.float32))
                labels.append(c)
                meta.append((cls, int(p), dyn))
    return np.stack(audio), np.array(labels), meta


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="a two-tower model folder (default: the bundled one)")
    ap.add_argument("--soundfont", default="/usr/share/sounds/sf2/TimGM6mb.sf2")
    ap.add_argument("--pitches", type=int, default=9)
    ap.add_argument("--duration", type=float, default=1.0)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from timbrefast import TwoTowerModel
    from timbrefast.two_tower import TINYSOL_CLASSES, evaluate_family_prompts, evaluate_prompt_sets

    t0 = time.time()
    audio, labels, meta = render_set(args.soundfont, args.pitches, args.duration)
    model = TwoTowerModel.from_pretrained(args.model)
    table = evaluate_prompt_sets(model, audio, labels, list(TINYSOL_CLASSES), sr=16000)
    fam = evaluate_family_prompts(model, audio, labels, list(TINYSOL_CLASSES), sr=16000)
    report = {"soundfont": args.soundfont, "clips": int(len(labels)),
              "per_class": {c: int((labels == i).sum()) for i, c in enumerate(TINYSOL_CLASSES)},
              "prompt_sets": table, "family_prompts": fam, "seconds": round(time.time() - t0, 1)}
    text = json.dumps(report, indent=1, default=float)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
