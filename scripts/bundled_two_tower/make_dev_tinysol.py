"""The development split of round 8: a synthetic TinySOL of sf_GMbank.sf2 without TimGM6mb's samples.

Usage: python scripts/bundled_two_tower/make_dev_tinysol.py OUT_DIR [--reference TimGM6mb.sf2]

Writes a copy of sf_GMbank.sf2 in which every sample byte-identical to one of the reference
soundfont's is silenced (timbrefast.data.soundfont.write_without_shared_samples), renders the
CLI's synthetic TinySOL from it (timbrefast.data.tinysol_synth.render_synthetic_tinysol, the
CLI's defaults: every semitone, pp / mf / ff, 2 s notes in 3 s clips, 44.1 kHz, seed 0), then
removes the clips that are silent (notes whose every zone played a silenced sample) from the
metadata and the folder. What remains are sf_GMbank's own recordings of the classes that have
any (no violin, viola, cello, contrabass, bassoon or clarinet: all of those are TimGM6mb's).
Evaluate with `timbrefast eval two-tower --dataset tinysol OUT_DIR/tinysol --model ...`.
"""
import argparse
import csv
import json
import os
import sys
from pathlib import Path

import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--soundfont", default="/usr/share/sounds/sf2/sf_GMbank.sf2")
    ap.add_argument("--reference", default="/usr/share/sounds/sf2/TimGM6mb.sf2")
    ap.add_argument("--threshold", type=float, default=1e-3, help="peak below which a clip counts as silent")
    args = ap.parse_args(argv)
    import soundfile as sf

    from timbrefast.data.soundfont import write_without_shared_samples
    from timbrefast.data.tinysol_synth import render_synthetic_tinysol

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    copy = out / f"{Path(args.soundfont).stem}-without-{Path(args.reference).stem}.sf2"
    info = write_without_shared_samples(args.soundfont, args.reference, copy)
    root = out / "tinysol"
    ts = render_synthetic_tinysol(copy, root, overwrite=True)
    meta = root / "TinySOL_metadata.csv"
    with open(meta, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        cols, rows = reader.fieldnames, list(reader)
    keep, per_class = [], {}
    for r in rows:
        path = root / "TinySOL" / r["Path"]
        y, _ = sf.read(path, dtype="float32")
        if np.abs(y).max() < args.threshold:
            os.remove(path)
            continue
        keep.append(r)
        per_class[r["Instrument (in full)"]] = per_class.get(r["Instrument (in full)"], 0) + 1
    with open(meta, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(keep)
    summary = {"soundfont": args.soundfont, "reference": args.reference, "silenced_samples": len(info["silenced"]),
               "rendered": ts["clips"], "kept": len(keep), "per_class": per_class, "presets": ts["presets"]}
    (out / "dev_split.json").write_text(json.dumps(summary, indent=1))
    print(summary)


if __name__ == "__main__":
    sys.exit(main())
