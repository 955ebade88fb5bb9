"""``timbrefast train cocola --data DIR --out DIR ...``: the COCOLA training recipe.

Runs on one process, or on several with ``torchrun``::

    timbrefast train cocola --data stems/ --out runs/cocola --steps 5000
    torchrun --nproc_per_node 2 -m timbrefast train cocola --data stems/ --out runs/cocola

The trainer and recipe flags are generated from :class:`~timbrefast.train.TrainerConfig`
and :class:`~timbrefast.train.cocola.CocolaRecipeConfig` (defaults and help come from
there; ``--help`` shows them). Everything that can be checked before the first step is:
paths, the device, ``--amp``, ``--keep-best`` against the recipe's metrics, and a resume
whose learning rate, seed, batch size or data differ (refused unless ``--force``).
Ctrl-C stops after the current step with a checkpoint (exit status 130); the same
command resumes.
"""
from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path
from typing import Any

from ._args import add_config_arguments, config_from_args

__all__ = ["register", "run_cocola"]

MAX_THREADS = 4096

# Further recipes: each module has register_recipe(recipes_subparsers).
_RECIPE_MODULES = (
    "timbrefast.train.retrieval_cli",
    "timbrefast.train.camil_cli",
    "timbrefast.train.two_tower_cli",
)


def _thread_count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 1 <= n <= MAX_THREADS:
        raise argparse.ArgumentTypeError(f"must be in [1, {MAX_THREADS}], got {n}")
    return n


def register(subparsers: Any) -> None:
    """Add ``train`` (with the ``cocola`` recipe) to the ``timbrefast`` command."""
    # the configs import torch: read them only when this subcommand is registered
    from .cocola import CocolaRecipeConfig
    from .trainer import TrainerConfig

    train = subparsers.add_parser("train", help="train a model with one of the recipes")
    recipes = train.add_subparsers(dest="recipe", metavar="RECIPE", required=True)
    p = recipes.add_parser(
        "cocola",
        help="COCOLA coherence model on stems (Slakh layout)",
        description="Train a COCOLA model on sub-mix pairs of stem datasets with the bilinear InfoNCE. "
                    "Ctrl-C stops after the current step with a checkpoint; the same command resumes.",
    )
    data = p.add_argument_group("data and model")
    data.add_argument("--data", required=True, metavar="DIR", help="dataset root (stems in the Slakh layout)")
    data.add_argument("--layout", default="slakh",
                      help="dataset layout for timbrefast.data.read_dataset (default: %(default)s)")
    data.add_argument("--val-data", default=None, metavar="DIR",
                      help="validation tracks from a separate dataset root (same layout); all of --data trains")
    data.add_argument("--encoder", default=None, choices=["small", "efficientnet-b0"], help="default: small")
    data.add_argument("--channels", type=int, default=None, choices=[1, 2],
                      help="2: harmonic/percussive mel (default), 1: mel")
    data.add_argument("--small-encoder", default=None, metavar="JSON",
                      help='small-encoder fields of the model config, e.g. \'{"stem_width": 24, "stem_stride": '
                           '[4, 4], "widths": [32, 64, 128], "freq_bins": 2}\' (default: the CocolaConfig defaults)')
    data.add_argument("--init-from", default=None, metavar="MODEL",
                      help="start from the weights of a saved model (folder or .safetensors; its config decides "
                           "encoder and channels); ignored when resuming from OUT/checkpoint")
    data.add_argument("--cache-dir", default=None, metavar="DIR",
                      help="where the --cache-pairs feature pool is stored and reused")
    add_config_arguments(p, TrainerConfig, title="trainer", flags={"out_dir": ["--out", "--out-dir"]})
    add_config_arguments(p, CocolaRecipeConfig, title="COCOLA recipe", skip={"seed"},
                         flags={"channel_masking": ["--masking", "--channel-masking"]})
    add_run_arguments(p)
    p.set_defaults(func=run_cocola)
    for module in _RECIPE_MODULES:
        mod = importlib.import_module(module)
        (getattr(mod, "register_recipe", None) or mod.add_train_parser)(recipes)


#: CocolaConfig fields that --small-encoder may set
_SMALL_ENCODER_FIELDS = ("widths", "stem_width", "stem_stride", "time_steps", "freq_bins", "embedding_dim", "dropout")


def _small_encoder_fields(text):
    """--small-encoder's JSON object -> CocolaConfig keyword arguments (tuples for lists)."""
    if text is None:
        return {}
    try:
        d = json.loads(text)
    except ValueError as exc:
        raise _usage(f"--small-encoder: not JSON ({exc})") from None
    if not isinstance(d, dict) or set(d) - set(_SMALL_ENCODER_FIELDS):
        raise _usage(f"--small-encoder: a JSON object with keys among {list(_SMALL_ENCODER_FIELDS)}, got {text!r}")
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}


def _usage(message: str) -> Exception:
    from ..cli import UsageError

    return UsageError(message)


def _folder(flag: str, value: Any, *, must_exist: bool) -> Path:
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise _usage(f"{flag} {path}: exists and is not a folder")
    if must_exist and not path.exists():
        raise _usage(f"{flag} {path}: no such folder")
    return path


def check_note_sources(args: argparse.Namespace, *, min_notes: int) -> None:
    """The source flags of the note-bank recipes (retrieval, two-tower): exactly one of
    ``--data BANK`` and ``--soundfont SF...``, existing folders and files, ``--patches`` >= 0
    and ``--notes`` in ``min_notes``..1000. A bad flag is a usage error (exit 2)."""
    if (args.data is None) == (args.soundfont is None):
        raise _usage("give exactly one of --data BANK and --soundfont SF")
    if args.data is not None:
        _folder("--data", args.data, must_exist=True)
    if args.val_data is not None:
        _folder("--val-data", args.val_data, must_exist=True)
    for sf in args.soundfont or []:
        if not Path(sf).is_file():
            raise _usage(f"--soundfont {sf}: no such file")
    if args.patches < 0 or not min_notes <= args.notes <= 1000:
        raise _usage(f"--patches must be >= 0 and --notes in {min_notes}..1000")


#: GM families the note-bank recipes (retrieval, two-tower) leave out: no pitched timbre.
EXCLUDED_FAMILIES = ("Sound Effects", "Percussive")


def split_note_instruments(args: argparse.Namespace, *, min_val: int) -> Any:
    """The instruments of ``--soundfont`` (families in ``EXCLUDED_FAMILIES`` left out) plus
    ``--patches`` synth patches (seed 0), and a seeded validation mask over them (a tenth,
    at least ``min_val``): ``(instruments, val)``, ``val`` a boolean array."""
    import numpy as np

    from ..data.instruments import patch_instruments, soundfont_instruments
    from ..data.patches import random_patches

    insts = [i for i in soundfont_instruments(args.soundfont) if i.family not in EXCLUDED_FAMILIES]
    if args.patches:
        insts += patch_instruments(random_patches(args.patches, seed=0))
    rng = np.random.default_rng(args.seed)
    val = np.zeros(len(insts), bool)
    val[rng.choice(len(insts), size=max(min_val, len(insts) // 10), replace=False)] = True
    return insts, val


def prepare_run(args: argparse.Namespace, recipe_config_class: type) -> Any:
    """The checks every recipe's command makes before reading data: ``--out``, the configs
    built from the flags, ``--device``, ``--amp``, ``--tensorboard``, ``--threads``.
    Returns ``(TrainerConfig, recipe config)``; a bad flag is a usage error (exit 2)."""
    from .trainer import TrainerConfig, resolve_device

    _folder("--out", args.out_dir, must_exist=False)
    try:
        trainer_config = config_from_args(TrainerConfig, args)
        recipe_config = config_from_args(recipe_config_class, args)
    except (TypeError, ValueError) as exc:
        raise _usage(str(exc)) from None
    try:
        device = resolve_device(trainer_config.device)
    except ValueError as exc:
        raise _usage(f"--device: {exc}") from None
    if trainer_config.amp and device.type != "cuda":
        raise _usage(f"--amp needs a CUDA device (--device is {device})")
    if trainer_config.tensorboard:
        from .._validate import require

        require("tensorboard", "--tensorboard", "tensorboard")
    if args.torch_threads:
        import torch

        from .._ops import set_num_threads

        torch.set_num_threads(args.torch_threads)
        set_num_threads(args.torch_threads)
    return trainer_config, recipe_config


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """``--threads``, ``--resume`` / ``--no-resume`` and ``--force``, shared by every recipe."""
    run = p.add_argument_group("run")
    run.add_argument("--threads", dest="torch_threads", type=_thread_count, default=None, metavar="N",
                     help="threads for torch and the C++ core (default: their defaults)")
    run.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                     help="continue from the newest complete checkpoint in OUT (default: on)")
    run.add_argument("--force", action="store_true",
                     help="resume even if the learning rate, seed, batch size or data changed")


def fit(trainer: Any, args: argparse.Namespace) -> int:
    """Run ``trainer.fit`` with the flags' resume policy; print the result; exit status."""
    from .trainer import ResumeMismatch

    try:
        result = trainer.fit(resume=args.resume, force=args.force)
    except ResumeMismatch as exc:  # refused before step 0: the flags contradict the checkpoint
        raise _usage(str(exc)) from None
    if trainer.rank == 0:
        print(json.dumps(result, indent=1))
    return 130 if result["interrupted"] else 0


def run_cocola(args: argparse.Namespace) -> int:
    from ..data import CocolaPairs, read_dataset
    from ..models import CocolaConfig
    from .cocola import CocolaRecipe, CocolaRecipeConfig, split_tracks
    from .trainer import Trainer

    # everything that can only fail later is checked here, before data is read
    _folder("--data", args.data, must_exist=True)
    if args.val_data is not None:
        _folder("--val-data", args.val_data, must_exist=True)
    if args.cache_dir is not None:
        _folder("--cache-dir", args.cache_dir, must_exist=False)
    if args.init_from is not None and not Path(args.init_from).exists():
        raise _usage(f"--init-from {args.init_from}: no such model")
    trainer_config, recipe_config = prepare_run(args, CocolaRecipeConfig)
    tracks = list(read_dataset(args.data, layout=args.layout))
    if args.val_data is not None:
        train_tracks, val_tracks = tracks, list(read_dataset(args.val_data, layout=args.layout))
        if not val_tracks:
            raise _usage(f"--val-data {args.val_data}: no tracks found")
    else:
        train_tracks, val_tracks = split_tracks(tracks, val_fraction=recipe_config.val_fraction,
                                                seed=recipe_config.seed)
    init = None
    if args.init_from is not None:
        from ..checkpoints import load_model

        init = load_model(args.init_from)
        model_config = init.config
        if args.small_encoder is not None:
            raise _usage(f"--small-encoder contradicts --init-from {args.init_from} (its config decides)")
        for flag, value, have in (("--encoder", args.encoder, model_config.encoder),
                                  ("--channels", args.channels, model_config.in_channels)):
            if value is not None and value != have:
                raise _usage(f"{flag} {value} contradicts --init-from {args.init_from} ({have})")
    else:
        channels = args.channels or 2
        small = _small_encoder_fields(args.small_encoder)
        try:
            model_config = CocolaConfig(
                encoder=args.encoder or "small",
                in_channels=channels,
                frontend="cocola" if channels == 2 else "cocola_mel",
                **small,
            )
        except (TypeError, ValueError) as exc:
            raise _usage(f"--small-encoder: {exc}") from None
    sr = model_config.sample_rate
    seed = recipe_config.seed
    train_pairs = CocolaPairs(train_tracks, sr=sr, seconds=recipe_config.seconds,
                              max_overlap=recipe_config.max_overlap, seed=seed)
    val_pairs = CocolaPairs(val_tracks, sr=sr, seconds=recipe_config.seconds,
                            max_overlap=recipe_config.max_overlap, seed=seed + 1)
    recipe = CocolaRecipe(train_pairs, val_pairs, model_config=model_config, config=recipe_config,
                          cache_dir=args.cache_dir, progress=trainer_config.progress)
    if init is not None:
        recipe.model.load_state_dict(init.state_dict())
    try:
        trainer = Trainer(recipe, trainer_config)
    except ValueError as exc:  # keep_best against the recipe's metrics, out_dir, device
        raise _usage(str(exc)) from None
    if trainer.rank == 0:
        print(f"{len(train_tracks)} training tracks ({len(train_pairs)} pairs), "
              f"{len(val_tracks)} validation tracks; encoder {model_config.encoder} on {trainer.device}"
              + (f", initialised from {args.init_from}" if init is not None else ""))
    return fit(trainer, args)
