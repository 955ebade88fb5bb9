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
    p.add_argument("--encoder", default=None, choices=["small", "efficientnet-b0"], help="default: small")
    p.add_argument("--channels", type=int, default=None, choices=[1, 2],
                   help="2: harmonic/percussive mel (default), 1: mel")
    p.add_argument("--init-from", default=None, metavar="MODEL",
                   help="start from the weights of a saved model (directory or .safetensors; its config "
                        "decides encoder and channels); ignored when resuming from out/checkpoint")
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--batch-size", type=int, default=32, help="global batch of pairs (default 32)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lr-schedule", default="constant", choices=["constant", "cosine"],
                   help="cosine: decay from --lr to --min-lr over --steps (after the warm-up)")
    p.add_argument("--warmup-steps", type=int, default=0, help="linear learning-rate warm-up")
    p.add_argument("--min-lr", type=float, default=0.0, help="final learning rate of the cosine schedule")
    p.add_argument("--keep-best", default=None, metavar="METRIC",
                   help="also save the model with the best value of this validation metric to out/best "
                        "(e.g. k2_mean, k2, k8)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-every", type=int, default=250)
    p.add_argument("--val-pairs", type=int, default=256)
    p.add_argument("--val-fraction", type=float, default=0.1,
                   help="fraction of the tracks held out for validation (ignored with --val-data)")
    p.add_argument("--val-data", default=None, metavar="DIR",
                   help="validation tracks from a separate dataset root (same layout); all of --data trains")
    p.add_argument("--ckpt-every", type=int, default=250)
    p.add_argument("--log-every", type=int, default=10, help="steps between lines of out/log.jsonl")
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
    if args.val_data is not None:
        train_tracks, val_tracks = tracks, list(read_dataset(args.val_data, layout=args.layout))
        if not val_tracks:
            raise SystemExit(f"--val-data {args.val_data}: no tracks found")
    else:
        train_tracks, val_tracks = split_tracks(tracks, val_fraction=args.val_fraction, seed=args.seed)
    init = None
    if args.init_from is not None:
        from ..checkpoints import load_model

        init = load_model(args.init_from)
        model_config = init.config
        for flag, value, have in (("--encoder", args.encoder, model_config.encoder),
                                  ("--channels", args.channels, model_config.in_channels)):
            if value is not None and value != have:
                raise SystemExit(f"{flag} {value} contradicts --init-from {args.init_from} ({have})")
    else:
        channels = args.channels or 2
        model_config = CocolaConfig(
            encoder=args.encoder or "small",
            in_channels=channels,
            frontend="cocola" if channels == 2 else "cocola_mel",
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
    if init is not None:
        recipe.model.load_state_dict(init.state_dict())
    trainer = Trainer(
        recipe,
        TrainerConfig(
            out_dir=args.out,
            steps=args.steps,
            lr=args.lr,
            seed=args.seed,
            val_every=args.val_every,
            ckpt_every=args.ckpt_every,
            log_every=args.log_every,
            max_minutes=args.max_minutes,
            progress=not args.no_progress,
            lr_schedule=args.lr_schedule,
            warmup_steps=args.warmup_steps,
            min_lr=args.min_lr,
            keep_best=args.keep_best,
        ),
    )
    if trainer.rank == 0:
        print(f"{len(train_tracks)} training tracks ({len(train_pairs)} pairs), "
              f"{len(val_tracks)} validation tracks; encoder {model_config.encoder}"
              + (f", initialised from {args.init_from}" if init is not None else ""))
    result = trainer.fit(resume=not args.no_resume)
    if trainer.rank == 0:
        print(json.dumps(result, indent=1))
    return 0
