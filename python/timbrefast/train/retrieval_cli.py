"""``timbrefast train retrieval``: the timbre-retrieval recipe from the command line.

Either from feature banks written by ``scripts/bundled_retrieval/make_data.py``
(``--data BANK [--val-data BANK]``), or from instruments rendered on the spot
(``--soundfont SF [SF ...] [--patches N]``: every melodic preset of each soundfont and N of
timbrefast's own synthesizer patches; the banks are cached in ``OUT/bank``). Flags of the
trainer and the recipe come from :class:`~timbrefast.train.TrainerConfig` and
:class:`~timbrefast.train.retrieval.RetrievalRecipeConfig`.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, List

from ._args import add_config_arguments

__all__ = ["register_recipe", "run_retrieval"]

EXCLUDED_FAMILIES = ("Sound Effects", "Percussive")


def register_recipe(recipes: Any) -> None:
    """Add ``retrieval`` to ``timbrefast train``."""
    from .cli import add_run_arguments
    from .retrieval import RetrievalRecipeConfig
    from .trainer import TrainerConfig

    p = recipes.add_parser(
        "retrieval",
        help="timbre-retrieval encoder on single notes of soundfont presets and synth patches",
        description="Train a retrieval encoder with the symmetric InfoNCE on pairs of notes of the same "
                    "instrument (hard negatives from one family). Ctrl-C stops with a checkpoint.",
    )
    data = p.add_argument_group("data and model")
    data.add_argument("--data", default=None, metavar="BANK", help="a feature bank folder (make_data.py)")
    data.add_argument("--val-data", default=None, metavar="BANK", help="a validation feature bank")
    data.add_argument("--soundfont", nargs="+", default=None, metavar="SF",
                      help="render every melodic preset of these soundfonts instead of --data")
    data.add_argument("--patches", type=int, default=0, metavar="N",
                      help="with --soundfont: also N synthesizer patches (seeds 0..N-1)")
    data.add_argument("--notes", type=int, default=8, metavar="N",
                      help="with --soundfont: notes rendered per instrument (default: %(default)s)")
    data.add_argument("--init-from", default=None, metavar="MODEL", help="start from a saved retrieval model")
    add_config_arguments(p, TrainerConfig, title="trainer", flags={"out_dir": ["--out", "--out-dir"]})
    add_config_arguments(p, RetrievalRecipeConfig, title="retrieval recipe", skip={"seed"})
    add_run_arguments(p)
    p.set_defaults(func=run_retrieval)


def _render_banks(args: argparse.Namespace, out: Path) -> List[Any]:
    import numpy as np

    from ..data.instruments import patch_instruments, soundfont_instruments
    from ..data.patches import random_patches
    from .retrieval import FeatureBank, build_feature_bank

    cache = out / "bank"
    if (cache / "train" / "features.npy").exists():
        return [FeatureBank.load(cache / "train", mmap=False), FeatureBank.load(cache / "val", mmap=False)]
    insts = [i for i in soundfont_instruments(args.soundfont) if i.family not in EXCLUDED_FAMILIES]
    if args.patches:
        insts += patch_instruments(random_patches(args.patches, seed=0))
    rng = np.random.default_rng(args.seed)
    val = np.zeros(len(insts), bool)
    val[rng.choice(len(insts), size=max(2, len(insts) // 10), replace=False)] = True
    banks = []
    for name, sel in (("train", ~val), ("val", val)):
        chosen = [i for i, keep in zip(insts, sel) if keep]
        bank = build_feature_bank(chosen, notes_per_instrument=args.notes, seed=args.seed, progress=args.progress)
        bank.save(cache / name)
        banks.append(bank)
    return banks


def run_retrieval(args: argparse.Namespace) -> int:
    from .cli import _folder, _usage, fit, prepare_run
    from .retrieval import FeatureBank, RetrievalRecipe, RetrievalRecipeConfig
    from .trainer import Trainer

    if (args.data is None) == (args.soundfont is None):
        raise _usage("give exactly one of --data BANK and --soundfont SF")
    if args.data is not None:
        _folder("--data", args.data, must_exist=True)
    if args.val_data is not None:
        _folder("--val-data", args.val_data, must_exist=True)
    for sf in args.soundfont or []:
        if not Path(sf).is_file():
            raise _usage(f"--soundfont {sf}: no such file")
    if args.patches < 0 or not 2 <= args.notes <= 1000:
        raise _usage("--patches must be >= 0 and --notes in 2..1000")
    if args.init_from is not None and not Path(args.init_from).exists():
        raise _usage(f"--init-from {args.init_from}: no such model")
    trainer_config, recipe_config = prepare_run(args, RetrievalRecipeConfig)
    if args.data is not None:
        train = FeatureBank.load(args.data, mmap=False)
        val = FeatureBank.load(args.val_data, mmap=False) if args.val_data else None
    else:
        train, val = _render_banks(args, Path(args.out_dir))
    model_config = None
    init = None
    if args.init_from is not None:
        from ..checkpoints import load_model

        init = load_model(args.init_from)
        model_config = init.config
    kwargs = {} if model_config is None else {"model_config": model_config}
    try:
        recipe = RetrievalRecipe(train, val, config=recipe_config, **kwargs)
    except ValueError as exc:
        raise _usage(str(exc)) from None
    if init is not None:
        recipe.model.load_state_dict(init.state_dict())
    try:
        trainer = Trainer(recipe, trainer_config)
    except ValueError as exc:
        raise _usage(str(exc)) from None
    if trainer.rank == 0:
        print(f"{len(train.ids)} training instruments x {train.features.shape[1]} notes, "
              f"{0 if val is None else len(val.ids)} validation instruments; on {trainer.device}")
    return fit(trainer, args)
