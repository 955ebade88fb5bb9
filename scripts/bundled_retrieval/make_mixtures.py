"""Render the mixture banks the mixture fine-tune of the bundled retriever trains and validates on.

Usage (about 0.25 CPU-seconds per 4-s mixture):
    python scripts/bundled_retrieval/make_mixtures.py OUT_DIR [--mixtures 1000] [--val-mixtures 200] \
        [--seconds 4] [--seed 0] [--workers 2] [--sets mix_train] [--start S --prepend BANK]

Item i of a bank is drawn from its own seed ([seed, 0, i]), independently of --mixtures, so a
larger training bank can reuse a smaller one: ``--sets mix_train --mixtures 3000 --start 1000
--prepend OLD/mix_train`` renders items 1000..2999 only and writes OLD's 1,000 items followed by
them (the same bank as rendering 0..2999).

Instruments: exactly the training and validation instruments of make_data.py (same split,
same seed): the melodic presets of FluidR3_GM.sf2, FluidR3_GS.sf2 and sf_GMbank.sf2 (10 %
validation, seeded) and the project's synthesizer patches 0..PATCHES-1 (training) and
50000.. (validation). TimGM6mb, OPL-3 and patch seeds 100000.. are never touched.
Mixtures: :class:`timbrefast.data.mixtures.Mixtures` (the paper's construction), 3
instruments of 3 different GM families each, seed SEED (training) and SEED + 1 (validation).

Writes OUT_DIR/mix_train/ and OUT_DIR/mix_val/ (MixtureBank: mix.npy, stems.npy,
references.npy float16 + mixtures.json) and OUT_DIR/mix_manifest.json.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_data import EXCLUDED_FAMILIES, TRAIN_SOUNDFONTS, VAL_PATCH_SEED  # noqa: E402


def split_instruments(patches: int, val_patches: int, seed: int):
    """(train, val) instruments exactly as make_data.py splits them."""
    from timbrefast.data.instruments import patch_instruments, soundfont_instruments
    from timbrefast.data.patches import random_patches

    sf = [i for i in soundfont_instruments(TRAIN_SOUNDFONTS) if i.family not in EXCLUDED_FAMILIES]
    rng = np.random.default_rng(seed)
    val_mask = np.zeros(len(sf), bool)
    val_mask[rng.choice(len(sf), size=len(sf) // 10, replace=False)] = True
    train = [i for i, v in zip(sf, val_mask) if not v] + patch_instruments(random_patches(patches, seed=0))
    val = [i for i, v in zip(sf, val_mask) if v] + patch_instruments(random_patches(val_patches, seed=VAL_PATCH_SEED))
    return train, val


def _shard(job):
    name, insts, n, seconds, seed, lo, hi = job
    import torch

    torch.set_num_threads(1)
    from timbrefast.data.mixtures import Mixtures
    from timbrefast.train.retrieval import build_mixture_bank

    mixes = Mixtures(insts, mixtures=n, seconds=seconds, seed=seed)
    return build_mixture_bank(mixes, indices=range(lo, hi))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--mixtures", type=int, default=1000)
    ap.add_argument("--val-mixtures", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--patches", type=int, default=1200)
    ap.add_argument("--val-patches", type=int, default=150)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sets", nargs="+", default=["mix_val", "mix_train"], choices=["mix_val", "mix_train"],
                    help="which banks to render (default: both)")
    ap.add_argument("--start", type=int, default=0, help="first training item to render (with --prepend)")
    ap.add_argument("--prepend", default=None, help="an existing training bank holding items 0..START-1")
    args = ap.parse_args(argv)

    from multiprocessing import get_context

    from timbrefast.train.retrieval import MixtureBank

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train, val = split_instruments(args.patches, args.val_patches, args.seed)
    mpath = out / "mix_manifest.json"
    manifest = json.loads(mpath.read_text()) if mpath.exists() else {"seed": args.seed, "seconds": args.seconds,
                                                                     "sets": {}}
    for name, insts, n, seed in (("mix_val", val, args.val_mixtures, args.seed + 1),
                                 ("mix_train", train, args.mixtures, args.seed)):
        if name not in args.sets:
            continue
        t0 = time.time()
        start = args.start if name == "mix_train" else 0
        old = None
        if start:
            if args.prepend is None:
                raise ValueError("--start needs --prepend (the bank of items 0..START-1)")
            old = MixtureBank.load(args.prepend)
            if len(old.ids) != start:
                raise ValueError(f"--prepend holds {len(old.ids)} mixtures, --start is {start}")
        bounds = np.linspace(start, n, args.workers + 1).astype(int)
        jobs = [(name, insts, n, args.seconds, seed, int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        with get_context("spawn").Pool(len(jobs)) as pool:
            parts = pool.map(_shard, jobs)
        bank = MixtureBank.concatenate(([old] if old is not None else []) + parts)
        bank.save(out / name)
        manifest["sets"][name] = {"mixtures": n, "instruments": len(insts), "seed": seed,
                                  "seconds": round(time.time() - t0, 1), "rendered_from": start}
        print(name, manifest["sets"][name], flush=True)
        mpath.write_text(json.dumps(manifest, indent=1))


if __name__ == "__main__":
    sys.exit(main())
