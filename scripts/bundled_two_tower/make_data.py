"""Render the caption banks the bundled two-tower model is trained and validated on.

Usage (about 10 minutes with 2 jobs on 2 shared cores):
    OMP_NUM_THREADS=1 nice -n 10 python scripts/bundled_two_tower/make_data.py OUT_DIR \
        [--notes 24] [--patches 600] [--patch-notes 4] [--windows 3] [--max-duration 5.0] \
        [--lead-max 0.3] [--jobs 2] [--seed 0]

Training sources only (licences in the model card): FluidR3_GM.sf2 and FluidR3_GS.sf2
(MIT), sf_GMbank.sf2 (Debian csound-soundfont, LGPL-2.1+), timbrefast's own
synthesizer patches and its modeled orchestral instruments. Families "Sound Effects" and "Percussive" are left out. The
validation split is the one of scripts/bundled_retrieval/make_data.py (10% of the
soundfont instruments, seed 0, and patches from seed 50000), so the bundled audio
encoder never trained on it either.

Development split: every preset of sf_GMbank.sf2 at one of the 14 TinySOL GM programs is
left out of training and validation (``--dev-holdout``, default on), so that `timbrefast
eval two-tower --synthetic-tinysol sf_GMbank.sf2` is a held-out development check of the
same protocol. TimGM6mb (GPL-2) and OPL-3 are never used here (held out for evaluation).

Each rendered note (pitch uniform over the instrument's whole range: for the 14 TinySOL
programs the union of PROGRAM_PITCH_RANGES and the TinySOL range, otherwise the program's
or its GM family's range; velocity uniform 20-127; held log-uniform 0.1 s..--max-duration)
gives --windows 2 s clips: one from the onset (half of them after up to --lead-max s of
silence), one inside the held note (no attack) and one around the note-off and release
(see timbrefast.train._two_tower_bank.build_caption_bank). --windows 1 --max-duration 1.8
--lead-max 0 --no-dev-holdout --keep-non-gm --notes 16 is the previous recipe (one onset clip per
note). sf_GMbank.sf2's bank 127 (a Roland MT-32 map whose presets are not the GM instruments of
their program numbers) is left out: GM captions would mislabel its 128 presets.

``--only sources --source SF [--source SF ...]`` renders only the GM presets of those
training soundfonts as one training bank (``--programs``: a subset of GM programs, ``tinysol`` /
``tinysol+`` for the 14 TinySOL programs / and their neighbours; ``--split train|dev|both``);
with ``--exclude-samples-of TimGM6mb.sf2`` each source is rendered from a copy in which every
sample byte-identical to one of the reference's is silenced (presets left without sound are
dropped), and ``--exclude-dev-samples`` also silences the samples of sf_GMbank's development
presets in its other presets (round 8; see README.md here).

``--only modeled --modeled N [--modeled-kinds violin,viola,...]`` renders N modeled
instruments of each kind (``timbrefast.data.modeled``: generated material, no recording;
instrument seeds from ``--modeled-seed``) as one training bank; ``--skip-soundfont NAME`` leaves
a soundfont's presets unrendered after the validation split is drawn (round 10 renders the
round-7 bank G this way, without sf_GMbank, instead of rendering it and dropping it).

Writes OUT_DIR/{train,val}/ (features.npy float16 (clips, 64, 101) + notes.json) and
OUT_DIR/manifest.json.
"""
import argparse
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path

import numpy as np

SF2 = Path("/usr/share/sounds/sf2")
TRAIN_SOUNDFONTS = [SF2 / "FluidR3_GM.sf2", SF2 / "FluidR3_GS.sf2", SF2 / "sf_GMbank.sf2"]
DEV_SOUNDFONT = "sf_GMbank.sf2"
#: sf_GMbank.sf2's bank 127 is a Roland MT-32 map: its 128 presets are not the GM instrument
#: of their program number ("Harp 1" at program 57, trombone), so GM captions would mislabel them.
NON_GM_BANKS = {("sf_GMbank.sf2", 127)}
EXCLUDED_FAMILIES = {"Sound Effects", "Percussive"}
VAL_PATCH_SEED = 50_000
#: Further training sources allowed for the bundled models (--only extra).
ALLOWED_EXTRA = {"OPL-3_FM_128M.sf2"}
#: Soundfonts --only sources may render (training sources of DEVELOPERS.md).
ALLOWED_SOURCES = {"FluidR3_GM.sf2", "FluidR3_GS.sf2", "FluidR3Mono_GM.sf3", "sf_GMbank.sf2"}


def _keep(bank, drop, drop_programs=()):
    from timbrefast.train._two_tower_bank import CaptionBank

    if not drop and not drop_programs:
        return bank
    keep = np.array([n.instrument.split(":")[0] not in drop
                     and not (n.source == "soundfont" and n.program in drop_programs) for n in bank.notes])
    return CaptionBank(np.asarray(bank.features)[keep], [n for n, k in zip(bank.notes, keep) if k])


def _concat(out, banks, drop=(), drop_programs=()):
    from timbrefast.train._two_tower_bank import CaptionBank

    drop, drop_programs = set(drop), set(drop_programs)
    train = CaptionBank.concatenate([_keep(CaptionBank.load(b / "train", mmap=True), drop, drop_programs)
                                     for b in banks])
    train.save(out / "train")
    val = _keep(CaptionBank.load(banks[0] / "val"), drop, drop_programs)
    val.save(out / "val")
    manifest = {"concat": [str(b) for b in banks], "dropped_soundfonts": sorted(drop),
                "dropped_sampled_programs": sorted(drop_programs),
                "train_clips": len(train), "val_clips": len(val)}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    print(manifest, flush=True)


def _pitch_ranges():
    from timbrefast.data.tinysol_synth import TINYSOL_INSTRUMENTS
    from timbrefast.train._two_tower_bank import PROGRAM_PITCH_RANGES

    out = dict(PROGRAM_PITCH_RANGES)
    for i in TINYSOL_INSTRUMENTS:
        lo, hi = out.get(i.program, (i.low, i.high))
        out[i.program] = (min(lo, i.low), max(hi, i.high))
    return out


def _job(task):
    import torch

    torch.set_num_threads(1)
    import timbrefast

    timbrefast.set_num_threads(1)
    from timbrefast.train._two_tower_bank import build_caption_bank

    insts, notes, seed, opts = task
    t0 = time.time()
    bank = build_caption_bank(insts, notes_per_instrument=notes, seed=seed, **opts)
    return bank, time.time() - t0


def _source_instruments(args, out, dev_programs):
    """--only sources: the GM presets of the --source soundfonts (rendered from silenced copies
    with --exclude-samples-of / --exclude-dev-samples) and what the manifest records of them."""
    from timbrefast.data.instruments import soundfont_instruments
    from timbrefast.data.soundfont import preset_samples, sample_digests, write_without_shared_samples

    if not args.source:
        raise SystemExit("--only sources needs --source SF (repeatable)")
    programs = None
    if args.programs in ("tinysol", "tinysol+"):
        programs = set(dev_programs)
        if args.programs == "tinysol+":
            programs |= {p + d for p in dev_programs for d in (-1, 1) if 0 <= p + d < 128}
    elif args.programs:
        programs = {int(v) for v in args.programs.split(",")}
    manifest = {"programs": args.programs, "split": args.split, "exclude_samples_of": args.exclude_samples_of,
                "sources": {}}
    insts = []
    for src in args.source:
        src = Path(src)
        if src.name not in ALLOWED_SOURCES:
            raise SystemExit(f"--source {src}: not a training source ({sorted(ALLOWED_SOURCES)})")
        silent = set()
        path = src
        extra = []
        if args.exclude_dev_samples and src.name == DEV_SOUNDFONT:
            dg = sample_digests(src)
            extra = sorted({dg[k][1] for (b, p), ks in preset_samples(src).items()
                            if p in dev_programs and (src.name, b) not in NON_GM_BANKS and b != 128 for k in ks})
        if args.exclude_samples_of or extra:
            ref = Path(args.exclude_samples_of) if args.exclude_samples_of else None
            (out / "soundfonts").mkdir(exist_ok=True)
            tag = (f"-without-{ref.stem}" if ref else "") + ("-and-dev" if extra else "")
            path = out / "soundfonts" / f"{src.stem}{tag}{src.suffix}"
            info = write_without_shared_samples(src, ref, path, exclude_digests=extra)
            silent = {tuple(p) for p in info["presets_without_sound"]}
            manifest["sources"][src.name] = {"copy": str(path), "silenced_samples": len(info["silenced"]),
                                             "presets_without_sound": len(silent)}
        for i in soundfont_instruments(path):
            key = (src.name, i.preset.bank)
            if i.family in EXCLUDED_FAMILIES or key in NON_GM_BANKS or (i.preset.bank, i.preset.program) in silent:
                continue
            if programs is not None and i.preset.program not in programs:
                continue
            is_dev = src.name == DEV_SOUNDFONT and i.preset.program in dev_programs and i.preset.bank != 128
            if args.split == "train" and is_dev or args.split == "dev" and not is_dev:
                continue
            insts.append(i)
    manifest["instruments"] = [i.id for i in insts]
    return insts, manifest


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--notes", type=int, default=24)
    ap.add_argument("--patches", type=int, default=600)
    ap.add_argument("--val-patches", type=int, default=100)
    ap.add_argument("--patch-notes", type=int, default=4)
    ap.add_argument("--windows", type=int, default=3)
    ap.add_argument("--max-duration", type=float, default=5.0)
    ap.add_argument("--lead-max", type=float, default=0.3)
    ap.add_argument("--no-dev-holdout", action="store_true")
    ap.add_argument("--keep-non-gm", action="store_true", help="keep sf_GMbank's MT-32 bank 127 (the previous recipe)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", choices=["all", "dev", "extra", "sources", "modeled"], default="all",
                    help="dev: only the development presets (sf_GMbank's 14 TinySOL programs) as a training bank "
                         "(to add them to the training data once the recipe is chosen); extra: only the presets of "
                         "--extra-soundfont, as a training bank; modeled: only --modeled instruments of each "
                         "modeled kind (generated material), as a training bank")
    ap.add_argument("--extra-soundfont", default=None, help="with --only extra: an allowed soundfont to render")
    ap.add_argument("--modeled", type=int, default=40, metavar="N",
                    help="with --only modeled: N modeled instruments of each of the 14 kinds "
                         "(timbrefast.data.modeled, seeds --modeled-seed ..)")
    ap.add_argument("--modeled-seed", type=int, default=0)
    ap.add_argument("--modeled-kinds", default=None, metavar="LIST",
                    help="with --only modeled: only these kinds (comma-separated names of "
                         "timbrefast.data.modeled.MODELED_KINDS; default all 14)")
    ap.add_argument("--skip-soundfont", action="append", default=[], metavar="NAME",
                    help="(--only all) draw the validation split over every source as usual, then leave this "
                         "soundfont's presets unrendered (e.g. sf_GMbank.sf2 for the round-7 bank G)")
    ap.add_argument("--source", action="append", default=[], metavar="SF",
                    help="with --only sources: a training soundfont to render (one of ALLOWED_SOURCES; repeatable)")
    ap.add_argument("--exclude-samples-of", default=None, metavar="REF",
                    help="with --only sources: render a copy of each source in which every sample byte-identical "
                         "to one of REF's is silenced (timbrefast.data.soundfont.write_without_shared_samples); "
                         "presets left without sound are dropped")
    ap.add_argument("--exclude-dev-samples", action="store_true",
                    help="with --only sources --split train: also silence the samples that sf_GMbank's development "
                         "presets play (other presets of sf_GMbank share some), so the development check stays held out")
    ap.add_argument("--programs", default=None, metavar="LIST",
                    help="with --only sources: only presets at these GM programs (comma-separated, 0-based; "
                         "'tinysol' = the 14 TinySOL programs, 'tinysol+' = those and their GM neighbours +-1)")
    ap.add_argument("--split", choices=["train", "dev", "both"], default="train",
                    help="with --only sources: the non-development presets (train), sf_GMbank's 14 TinySOL "
                         "presets (dev) or both")
    ap.add_argument("--drop-soundfont", action="append", default=[], metavar="NAME",
                    help="with --concat: leave out the clips of this soundfont (file name, e.g. sf_GMbank.sf2)")
    ap.add_argument("--drop-sampled-programs", default="", metavar="LIST",
                    help="with --concat: leave out the soundfont clips at these GM programs (comma-separated, "
                         "0-based; modeled instruments and patches stay), e.g. a leave-one-source-out check")
    ap.add_argument("--concat", nargs="+", default=None, metavar="BANK",
                    help="instead of rendering: write OUT/train as these training banks one after the other, "
                         "OUT/val as the first one's validation bank")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from timbrefast.data.instruments import patch_instruments, soundfont_instruments
    from timbrefast.data.patches import random_patches
    from timbrefast.data.tinysol_synth import TINYSOL_INSTRUMENTS
    from timbrefast.train._two_tower_bank import CaptionBank

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.concat:
        programs = [int(p) for p in args.drop_sampled_programs.split(",") if p.strip()]
        return _concat(out, [Path(b) for b in args.concat], drop=args.drop_soundfont, drop_programs=programs)
    sf = [i for i in soundfont_instruments(TRAIN_SOUNDFONTS) if i.family not in EXCLUDED_FAMILIES]
    rng = np.random.default_rng(0)  # the split of scripts/bundled_retrieval/make_data.py
    val_mask = np.zeros(len(sf), bool)
    val_mask[rng.choice(len(sf), size=len(sf) // 10, replace=False)] = True
    dev_programs = {i.program for i in TINYSOL_INSTRUMENTS}
    dev = np.array([not args.no_dev_holdout and i.id.startswith(DEV_SOUNDFONT + ":")
                    and i.preset.program in dev_programs for i in sf])
    non_gm = np.array([(i.id.split(":")[0], i.preset.bank) in NON_GM_BANKS for i in sf])
    dev = dev & ~non_gm
    drop = non_gm & (not args.keep_non_gm)
    opts = {"windows_per_note": args.windows, "lead_max": args.lead_max,
            "duration_range": (0.1, args.max_duration), "pitch_ranges": _pitch_ranges()}
    sets = {
        "train": ([i for i, v, h, x in zip(sf, val_mask, dev, drop) if not v and not h and not x],
                  patch_instruments(random_patches(args.patches, seed=0))),
        "val": ([i for i, v, h, x in zip(sf, val_mask, dev, drop) if v and not h and not x],
                patch_instruments(random_patches(args.val_patches, seed=VAL_PATCH_SEED))),
    }
    if args.skip_soundfont:
        skip = set(args.skip_soundfont)
        sets = {k: ([i for i in pr if i.id.split(":")[0] not in skip], pa) for k, (pr, pa) in sets.items()}
    sources = None
    if args.only == "modeled":
        from timbrefast.data.instruments import modeled_instruments
        from timbrefast.data.modeled import random_modeled_instruments

        kinds = None if not args.modeled_kinds else [k.strip() for k in args.modeled_kinds.split(",")]
        sets = {"train": (modeled_instruments(random_modeled_instruments(args.modeled, seed=args.modeled_seed,
                                                                         kinds=kinds)), [])}
    elif args.only == "sources":
        insts, sources = _source_instruments(args, out, dev_programs)
        sets = {"train": (insts, [])}
    elif args.only == "dev":
        sets = {"train": ([i for i, h in zip(sf, dev) if h], [])}
    elif args.only == "extra":
        if not args.extra_soundfont or Path(args.extra_soundfont).name not in ALLOWED_EXTRA:
            ap.error(f"--only extra needs --extra-soundfont, one of {sorted(ALLOWED_EXTRA)}")
        sets = {"train": ([i for i in soundfont_instruments(args.extra_soundfont)
                           if i.family not in EXCLUDED_FAMILIES], [])}
    manifest = {"only": args.only, "extra_soundfont": args.extra_soundfont,
                "modeled": args.modeled if args.only == "modeled" else None,
                "modeled_kinds": args.modeled_kinds if args.only == "modeled" else None, "skip_soundfont": args.skip_soundfont, "seed": args.seed, "notes": args.notes, "patch_notes": args.patch_notes, "windows": args.windows,
                "max_duration": args.max_duration, "lead_max": args.lead_max,
                "dev_holdout": [i.id for i, h in zip(sf, dev) if h],
                "non_gm_dropped": int(drop.sum()), "sets": {}, **(sources or {})}
    tasks, owners = [], []
    for name, (presets, patches) in sets.items():
        seed = args.seed + (0 if name == "train" else 1)
        half = (len(presets) + 1) // 2
        for part in (presets[:half], presets[half:]):
            if part:
                tasks.append((part, args.notes, seed, opts))
                owners.append(name)
        if patches:
            tasks.append((patches, args.patch_notes, seed, opts))
            owners.append(name)
    t0 = time.time()
    ctx = mp.get_context("fork")
    with ctx.Pool(max(1, args.jobs)) as pool:
        results = pool.map(_job, tasks, chunksize=1)
    for name, (presets, patches) in sets.items():
        parts = [r for r, o in zip(results, owners) if o == name]
        bank = CaptionBank.concatenate([b for b, _ in parts])
        bank.save(out / name)
        manifest["sets"][name] = {"presets": len(presets), "patches": len(patches), "clips": len(bank),
                                  "job_seconds": [round(s, 1) for _, s in parts]}
        print(name, manifest["sets"][name], flush=True)
    manifest["seconds"] = round(time.time() - t0, 1)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))


if __name__ == "__main__":
    sys.exit(main())
