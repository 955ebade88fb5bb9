"""``timbrefast train cocola --data DIR ...``: the COCOLA training recipe.

Runs on one process, or on several with ``torchrun``::

    timbrefast train cocola --data stems/ --out runs/cocola --steps 5000
    torchrun --nproc_per_node 2 -m timbrefast train cocola --data stems/ --out runs/cocola
"""
from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["register", "run_cocola"]


def register(subparsers: Any) -> None:
    """Add ``train`` (with the ``cocola`` recipe) to the ``timbrefast`` command."""
    train = subparsers.add_parser("train", help="train a model with one of the recipes")
    recipes = train.add_subparsers(dest="recipe", metavar="RECIPE", required=True)
    p = recipes.add_parser(
        "cocola",
        help="COCOLA coherence model on stems (Slakh layout)",
        description="Train a COCOLA model on sub-mix pairs of stem datasets with the bilinear InfoNCE.",
    )
    p.add_argument("--data", required=True, help="dataset root (stems in the Slakh layout)")
    p.add_argument("--layout", default="slakh", help="dataset layout for timbrefast.data.read_dataset (default: slakh)")
    p.add_argument("--out", required=True, help="output folder: checkpoint/, log.jsonl, model/")
    p.add_argument("--encoder", default="small", choices=["small", "efficientnet-b0"])
    p.add_argument("--channels", type=int, default=2, choices=[1, 2], help="2: harmonic/percussive mel, 1: mel")
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--batch-size", type=int, default=32, help="global batch of pairs (default 32)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-every", type=int, default=250)
    p.add_argument("--val-pairs", type=int, default=256)
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--ckpt-every", type=int, default=250)
    p.add_argument("--max-minutes", type=float, default=None, help="wall-clock budget; stops with a checkpoint")
    p.add_argument("--no-masking", action="store_true", help="disable HPS channel masking")
    p.add_argument("--masking-per", default="batch", choices=["batch", "pair"],
                   help="one channel-masking choice per batch (default) or per pair (as released)")
    p.add_argument("--head-init-std", type=float, default=0.05,
                   help="std of the initial bilinear matrix (COCOLA: 0.05; 0.005 avoids collapse of small encoders)")
    p.add_argument("--positive-noise", type=float, default=0.0)
    p.add_argument("--cache-pairs", type=int, default=0,
                   help="precompute features of this many pairs once and train on that pool (0: online)")
    p.add_argument("--cache-dir", default=None, help="where the feature pool is stored and reused")
    p.add_argument("--threads", dest="torch_threads", type=int, default=None, help="torch intra-op threads")
    p.add_argument("--no-resume", action="store_true", help="start afresh even if out/checkpoint exists")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run_cocola)


def run_cocola(args: argparse.Namespace) -> int:
    from ..data import CocolaPairs, read_dataset
    from ..models import CocolaConfig
    from .cocola import CocolaRecipe, CocolaRecipeConfig, split_tracks
    from .trainer import Trainer, TrainerConfig

    tracks = list(read_dataset(args.data, layout=args.layout))
    train_tracks, val_tracks = split_tracks(tracks, val_fraction=args.val_fraction, seed=args.seed)
    model_config = CocolaConfig(
        encoder=args.encoder,
        in_channels=args.channels,
        frontend="cocola" if args.channels == 2 else "cocola_mel",
    )
    recipe_config = CocolaRecipeConfig(
        batch_size=args.batch_size,
        val_fraction=args.val_fraction,
        val_pairs=args.val_pairs,
        channel_masking=not args.no_masking,
        masking_per=args.masking_per,
        head_init_std=args.head_init_std,
        positive_noise=args.positive_noise,
        seed=args.seed,
        cache_pairs=args.cache_pairs,
    )
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    sr = model_config.sample_rate
    train_pairs = CocolaPairs(train_tracks, sr=sr, seconds=recipe_config.seconds,
                              max_overlap=recipe_config.max_overlap, seed=args.seed)
    val_pairs = CocolaPairs(val_tracks, sr=sr, seconds=recipe_config.seconds,
                            max_overlap=recipe_config.max_overlap, seed=args.seed + 1)
    recipe = CocolaRecipe(train_pairs, val_pairs, model_config=model_config, config=recipe_config,
                          cache_dir=args.cache_dir, progress=not args.no_progress)
    trainer = Trainer(
        recipe,
        TrainerConfig(
            out_dir=args.out,
            steps=args.steps,
            lr=args.lr,
            seed=args.seed,
            val_every=args.val_every,
            ckpt_every=args.ckpt_every,
            max_minutes=args.max_minutes,
            progress=not args.no_progress,
        ),
    )
    if trainer.rank == 0:
        print(f"{len(train_tracks)} training tracks ({len(train_pairs)} pairs), "
              f"{len(val_tracks)} validation tracks; encoder {args.encoder}")
    result = trainer.fit(resume=not args.no_resume)
    if trainer.rank == 0:
        print(json.dumps(result, indent=1))
    return 0
