"""``timbrefast train retrieval``: the timbre-retrieval recipe from the command line.

Either from feature banks written by ``scripts/bundled_retrieval/make_data.py``
(``--data BANK [--val-data BANK]``), or from instruments rendered on the spot
(``--soundfont SF [SF ...] [--patches N]``: every melodic preset of each soundfont and N of
timbrefast's own synthesizer patches; the banks are cached in ``OUT/bank``). Flags of the
trainer and the recipe come from :class:`~timbrefast.train.TrainerConfig` and
:class:`~timbrefast.train.retrieval.RetrievalRecipeConfig`.

``--mixtures`` adds mixture batches (``--mixture-ratio`` of the steps): ``--mixtures BANK`` a
mixture bank of ``make_mixtures.py`` (``--val-mixtures BANK`` for validation), or with
``--soundfont`` plain ``--mixtures`` renders ``--mixture-count`` mixtures of the training
instruments (and a tenth as many of the validation ones) into ``OUT/bank``. ``--mixture-loss``,
``--other-stems``, ``--mixture-positives`` choose the objective; ``--init-from MODEL`` fine-tunes
a saved retrieval model (e.g. the bundled one).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, List

from ._args import add_config_arguments

__all__ = ["register_recipe", "run_retrieval"]

from .cli import EXCLUDED_FAMILIES  # noqa: E402,F401 - defined once, beside split_note_instruments


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
    data.add_argument("--mixtures", nargs="?", const="render", default=None, metavar="BANK",
                      help="also train on mixtures: a mixture bank folder (make_mixtures.py), or, with "
                           "--soundfont, nothing (render --mixture-count mixtures)")
    data.add_argument("--val-mixtures", default=None, metavar="BANK", help="a validation mixture bank")
    data.add_argument("--mixture-count", type=int, default=2000, metavar="N",
                      help="with --soundfont --mixtures: training mixtures rendered (default: %(default)s)")
    data.add_argument("--mixture-seconds", type=float, default=4.0, metavar="S",
                      help="with --soundfont --mixtures: length of each rendered mixture, a whole number "
                           "of model windows (default: %(default)s)")
    add_config_arguments(p, TrainerConfig, title="trainer", flags={"out_dir": ["--out", "--out-dir"]})
    add_config_arguments(p, RetrievalRecipeConfig, title="retrieval recipe", skip={"seed"})
    add_run_arguments(p)
    p.set_defaults(func=run_retrieval)


def _render_banks(args: argparse.Namespace, out: Path) -> List[Any]:
    from .cli import split_note_instruments
    from .retrieval import FeatureBank, build_feature_bank

    cache = out / "bank"
    insts, val = split_note_instruments(args, min_val=2)
    splits = {"train": [i for i, v in zip(insts, val) if not v], "val": [i for i, v in zip(insts, val) if v]}
    banks: List[Any] = []
    for name in ("train", "val"):
        if (cache / name / "features.npy").exists():
            banks.append(FeatureBank.load(cache / name, mmap=False))
            continue
        bank = build_feature_bank(splits[name], notes_per_instrument=args.notes, seed=args.seed,
                                  progress=args.progress)
        bank.save(cache / name)
        banks.append(bank)
    if args.mixtures is not None:
        from ..data.mixtures import Mixtures
        from .retrieval import MixtureBank, build_mixture_bank

        for name, n, seed in (("mix_train", args.mixture_count, args.seed),
                              ("mix_val", max(2, args.mixture_count // 10), args.seed + 1)):
            if (cache / name / "mix.npy").exists():
                banks.append(MixtureBank.load(cache / name, mmap=False))
                continue
            try:
                mixes = Mixtures(splits[name[4:]], mixtures=n, seconds=args.mixture_seconds, seed=seed)
                bank = build_mixture_bank(mixes, progress=args.progress)
            except ValueError as exc:
                raise _usage(f"--mixtures: {exc}") from None
            bank.save(cache / name)
            banks.append(bank)
    return banks


def _usage(msg: str) -> Exception:
    from .cli import _usage as usage

    return usage(msg)


def run_retrieval(args: argparse.Namespace) -> int:
    from .cli import check_note_sources, fit, prepare_run
    from .retrieval import FeatureBank, MixtureBank, RetrievalRecipe, RetrievalRecipeConfig
    from .trainer import Trainer

    check_note_sources(args, min_notes=2)
    if args.init_from is not None and not Path(args.init_from).exists():
        raise _usage(f"--init-from {args.init_from}: no such model")
    if args.mixtures == "render" and args.soundfont is None:
        raise _usage("--mixtures without a BANK renders mixtures: it needs --soundfont (or give --mixtures BANK)")
    if args.val_mixtures is not None and args.mixtures is None:
        raise _usage("--val-mixtures needs --mixtures")
    for flag, value in (("--mixtures", args.mixtures), ("--val-mixtures", args.val_mixtures)):
        if value not in (None, "render") and not (Path(value) / "mix.npy").is_file():
            raise _usage(f"{flag} {value}: not a mixture bank (no mix.npy)")
    if args.mixture_count < 2 or not 0 < args.mixture_seconds <= 60:
        raise _usage("--mixture-count must be >= 2 and --mixture-seconds in (0, 60]")
    trainer_config, recipe_config = prepare_run(args, RetrievalRecipeConfig)
    mixtures = val_mixtures = None
    if args.data is not None:
        train = FeatureBank.load(args.data, mmap=False)
        val = FeatureBank.load(args.val_data, mmap=False) if args.val_data else None
    else:
        train, val, *mix_banks = _render_banks(args, Path(args.out_dir))
        if mix_banks:
            mixtures, val_mixtures = mix_banks
    if args.mixtures not in (None, "render"):
        mixtures = MixtureBank.load(args.mixtures, mmap=False)
    if args.val_mixtures is not None:
        val_mixtures = MixtureBank.load(args.val_mixtures, mmap=False)
    model_config = None
    init = None
    if args.init_from is not None:
        from ..checkpoints import load_model

        init = load_model(args.init_from)
        model_config = init.config
    kwargs = {} if model_config is None else {"model_config": model_config}
    try:
        recipe = RetrievalRecipe(train, val, config=recipe_config, mixtures=mixtures, val_mixtures=val_mixtures,
                                 **kwargs)
    except ValueError as exc:
        raise _usage(str(exc)) from None
    if init is not None:
        recipe.model.load_state_dict(init.state_dict())
    try:
        trainer = Trainer(recipe, trainer_config)
    except ValueError as exc:
        raise _usage(str(exc)) from None
    if trainer.rank == 0:
        mix = "" if mixtures is None else (f", {mixtures.mix.shape[0]} training mixtures "
                                           f"({recipe_config.mixture_loss}, {recipe_config.mixture_ratio:g} of the steps)")
        print(f"{len(train.ids)} training instruments x {train.features.shape[1]} notes, "
              f"{0 if val is None else len(val.ids)} validation instruments{mix}; on {trainer.device}")
    return fit(trainer, args)
