"""Cache the frozen audio tower's outputs (the audio-head inputs) between two-tower training runs.

The recipe (timbrefast.train.two_tower.TwoTowerRecipe) computes the head inputs of every clip
and augmented view once per run; runs that share a bank and its augmentation draws differ only
in the heads, so this wrapper stores each ``audio_head_inputs`` result under a key of (sha1 of
the features, augmentation, seed, encoder state) and reuses it; a run without the log-mel
summary reuses the full inputs' first ``encoder_embedding_dim`` columns (the embedding comes
first). The results are the same arrays the recipe computes itself.

Usage:
    # train (same arguments as `timbrefast train two-tower`)
    python scripts/bundled_two_tower/head_cache.py CACHE_DIR train -- --data BANK/train ...
    # fill the cache ahead, e.g. in two processes: views 0 and 1 here, 2 and the val bank there
    python scripts/bundled_two_tower/head_cache.py CACHE_DIR fill BANK/train --views 0,1 [--augment-views 2 \
        --freq-shift 2 --tilt-db 12 [--eq-db 12 --eq-bands 3] --seed 0]
"""
import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np


def _key(model, features, augment, seed):
    h = hashlib.sha1()
    f = np.ascontiguousarray(features)
    h.update(str((f.shape, f.dtype.str, sorted((augment or {}).items()), np.asarray(seed).tolist())).encode())
    if model.config.encoder_stage_statistics:  # other columns (earlier keys unchanged)
        h.update(b"encoder_stage_statistics")
    for s in range(0, f.shape[0], 4096):
        h.update(f[s:s + 4096].tobytes())
    enc = model.audio_encoder.state_dict()
    for k in sorted(enc):
        h.update(k.encode())
        h.update(enc[k].detach().cpu().numpy().tobytes())
    return h.hexdigest()[:24]


def install(cache_dir):
    """Route timbrefast.train.two_tower.audio_head_inputs through the cache in ``cache_dir``."""
    import timbrefast.train.two_tower as tt

    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    original = tt.audio_head_inputs

    def cached(model, features, batch=256, *, augment=None, seed=0):
        key = _key(model, features, augment, seed)
        full = cache / f"{key}.npy"
        if full.is_file():
            x = np.load(full)
            dim = model.config.audio_input_dim
            if x.shape[1] == dim or x.shape[1] > dim == model.config.encoder_embedding_dim:
                print(f"head cache: {key} ({x.shape})", flush=True)
                return np.ascontiguousarray(x[:, :dim])
        x = original(model, features, batch, augment=augment, seed=seed)
        if model.config.log_mel_summary:
            tmp = cache / f"{key}.tmp.npy"
            np.save(tmp, x)
            tmp.replace(full)
        return x

    tt.audio_head_inputs = cached
    return cached


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cache")
    ap.add_argument("mode", choices=["train", "fill"])
    ap.add_argument("bank", nargs="?")
    ap.add_argument("--views", default="0")
    ap.add_argument("--augment-views", type=int, default=2)
    ap.add_argument("--freq-shift", type=int, default=2)
    ap.add_argument("--tilt-db", type=float, default=12.0)
    ap.add_argument("--eq-db", type=float, default=0.0)
    ap.add_argument("--eq-bands", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    rest = []
    if "--" in argv:
        i = argv.index("--")
        argv, rest = argv[:i], argv[i + 1:]
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    fn = install(args.cache)
    if args.mode == "train":
        from timbrefast.cli import main as cli_main

        return cli_main(["train", "two-tower", *rest])
    from timbrefast.checkpoints import load_model
    from timbrefast.scorers.retrieval import BUNDLED_RETRIEVER
    from timbrefast.train._two_tower_bank import CaptionBank
    from timbrefast.train.two_tower import TwoTowerRecipeConfig
    from timbrefast.two_tower.bundled import TwoTowerConfig, TwoTowerModel

    enc = load_model(BUNDLED_RETRIEVER)
    model = TwoTowerModel(TwoTowerConfig.from_encoder(enc.config))
    model.audio_encoder.load_state_dict(enc.state_dict())
    bank = CaptionBank.load(args.bank)
    aug = TwoTowerRecipeConfig(freq_shift=args.freq_shift, tilt_db=args.tilt_db, eq_db=args.eq_db,
                               eq_bands=args.eq_bands).augmentation()  # the recipe's own keys
    for v in (int(s) for s in args.views.split(",")):
        fn(model, bank.features) if v == 0 else fn(model, bank.features, augment=aug, seed=[args.seed, v])
        print("filled view", v, flush=True)


if __name__ == "__main__":
    sys.exit(main())
