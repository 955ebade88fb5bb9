"""The shared trainer: one loop for every recipe (:mod:`timbrefast.train.recipe`).

Adam with a constant or cosine schedule, on a device (CUDA when usable, else the
CPU), DDP under ``torchrun`` (NCCL on CUDA, gloo on the CPU), optional mixed
precision on CUDA, DataLoader workers for batch preparation, gradient clipping,
periodic validation with best-model keeping, ``log.jsonl`` (and TensorBoard),
atomic checkpoints with exact resume, and a clean stop on Ctrl-C / SIGTERM.

Output folder (``out_dir``)::

    checkpoint/   config.json + model.safetensors (loadable by load_model, like model/),
                  optimizer.safetensors (Adam moments, RNG states), trainer.json (step,
                  config, history, best, what a resume must match, the file manifest)
    model/        the final model          best/   the best validated one (keep_best)
    log.jsonl     one JSON object per logged step / validation
    tensorboard/  event files (tensorboard=True)

A checkpoint is written to ``checkpoint.tmp/`` (every file fsynced, the manifest
last), then the previous one is renamed to ``checkpoint.old/``, the new one to
``checkpoint/``, and only then is the old one deleted. A kill at any point leaves at
least one complete checkpoint; resume takes the newest complete one. No pickle.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import shutil
import signal
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Literal, Optional, Tuple

import numpy as np
import torch
from torch import nn

from .._validate import check_bool, check_int, check_positive, require
from .recipe import check_recipe

__all__ = [
    "ResumeMismatch",
    "TrainerConfig",
    "Trainer",
    "seed_everything",
    "distributed_context",
    "default_device",
    "resolve_device",
]

CHECKPOINT = "checkpoint"
_TMP_SUFFIX = ".tmp"
_OLD_SUFFIX = ".old"
_STATE = "trainer.json"
_OPTIMIZER = "optimizer.safetensors"
_AMP_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class TrainerConfig:
    """Options of :class:`Trainer` (the ``timbrefast train`` flags are generated from
    this docstring and the defaults below).

    Parameters
    ----------
    out_dir : str
        Output folder: checkpoint/, log.jsonl, model/ (and best/, tensorboard/).
    steps : int
        Optimiser steps in total (a resumed run continues to this number).
    lr : float
        Adam learning rate.
    seed : int
        Seeds torch, numpy and Python's random; the recipe derives its data from it.
    val_every : int
        Steps between validations (0: never).
    ckpt_every : int
        Steps between checkpoints (0: only at the end); a checkpoint is also written on
        Ctrl-C and when max_minutes is spent.
    log_every : int
        Steps between lines of log.jsonl (0: none).
    max_minutes : float, optional
        Wall-clock budget: stop early (with a checkpoint) once it is spent.
    progress : bool
        Show a progress bar (rank 0 only).
    lr_schedule : {"constant", "cosine"}
        cosine: after the warm-up, half a cosine from lr down to min_lr at the last step.
        The rate is a function of the step alone, so a resumed run follows the same curve.
    warmup_steps : int
        Linear learning-rate warm-up from lr / warmup_steps (both schedules).
    min_lr : float
        Final learning rate of the cosine schedule.
    keep_best : str, optional
        A validation metric, higher is better (e.g. k2_mean): whenever it improves, the
        model is also saved to out_dir/best. Checked against the recipe's metrics before
        step 0.
    device : str, optional
        Where the model and the batches live: cpu, cuda or cuda:N. Default: CUDA when
        usable, else the CPU; under torchrun each process takes cuda:LOCAL_RANK.
    amp : bool
        Mixed precision (torch.autocast) on CUDA; refused on the CPU, where autocast
        is slower than float32 for these models.
    amp_dtype : {"bfloat16", "float16"}
        Autocast dtype; float16 adds a gradient scaler (saved in checkpoints).
    grad_clip : float, optional
        Clip the global gradient norm to this value (the norm is logged as grad_norm).
    num_workers : int
        DataLoader worker processes preparing batches ahead of the optimiser step (0: in
        the training process). The batch of a step does not depend on this number.
    tensorboard : bool
        Also write the logs as TensorBoard events to out_dir/tensorboard (needs the
        [tensorboard] extra).
    """

    out_dir: str
    steps: int = 1000
    lr: float = 1e-3
    seed: int = 0
    val_every: int = 200
    ckpt_every: int = 200
    log_every: int = 10
    max_minutes: Optional[float] = None
    progress: bool = True
    lr_schedule: Literal["constant", "cosine"] = "constant"
    warmup_steps: int = 0
    min_lr: float = 0.0
    keep_best: Optional[str] = None
    device: Optional[str] = None
    amp: bool = False
    amp_dtype: Literal["bfloat16", "float16"] = "bfloat16"
    grad_clip: Optional[float] = None
    num_workers: int = 0
    tensorboard: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.out_dir, (str, os.PathLike)) or not str(self.out_dir):
            raise TypeError(f"out_dir must be a path, got {self.out_dir!r}")
        check_int(self.steps, "steps", minimum=1)
        check_int(self.seed, "seed", minimum=0)
        for name in ("val_every", "ckpt_every", "log_every", "warmup_steps"):
            check_int(getattr(self, name), name, minimum=0)
        check_int(self.num_workers, "num_workers", minimum=0, maximum=256)
        check_positive(self.lr, "lr")
        check_positive(self.min_lr, "min_lr", allow_zero=True)
        if self.min_lr > self.lr:
            raise ValueError(f"min_lr must be in [0, lr], got {self.min_lr!r} with lr={self.lr!r}")
        if self.max_minutes is not None:
            check_positive(self.max_minutes, "max_minutes")
        if self.grad_clip is not None:
            check_positive(self.grad_clip, "grad_clip")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")
        if self.amp_dtype not in _AMP_DTYPES:
            raise ValueError(f"amp_dtype must be one of {sorted(_AMP_DTYPES)}, got {self.amp_dtype!r}")
        for name in ("progress", "amp", "tensorboard"):
            check_bool(getattr(self, name), name)
        if self.keep_best is not None:
            if not isinstance(self.keep_best, str) or not self.keep_best:
                raise ValueError(f"keep_best must be a metric name, got {self.keep_best!r}")
            if not self.val_every:
                raise ValueError("keep_best needs validation: val_every is 0")
        if self.device is not None and (not isinstance(self.device, str) or not self.device):
            raise TypeError(f"device must be a string such as 'cpu' or 'cuda:0', got {self.device!r}")

    def learning_rate(self, step: int) -> float:
        """Learning rate of optimiser step ``step`` (0-based)."""
        if self.warmup_steps and step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        if self.lr_schedule == "constant":
            return self.lr
        span = max(1, self.steps - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / span)
        return self.min_lr + 0.5 * (self.lr - self.min_lr) * (1.0 + float(np.cos(np.pi * progress)))

    def resume_key(self) -> Dict[str, Any]:
        """The options a resumed run must share with the run that wrote the checkpoint."""
        return {"lr": self.lr, "lr_schedule": self.lr_schedule, "warmup_steps": self.warmup_steps,
                "min_lr": self.min_lr, "seed": self.seed}


class ResumeMismatch(ValueError):
    """The checkpoint in ``out_dir`` was written by a run with other options or data."""


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def default_device() -> torch.device:
    """CUDA when a device is usable, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_device(device: Optional[str] = None) -> torch.device:
    """``device`` as a ``torch.device`` (default :func:`default_device`), checked usable.

    Under ``torchrun`` a bare ``"cuda"`` becomes ``cuda:LOCAL_RANK``.
    """
    if device is None:
        dev = default_device()
    else:
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"device must be cpu, cuda or cuda:N, got {device!r} ({exc})") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={str(dev)!r}, but CUDA is not usable here (torch {torch.__version__}, "
                             f"CUDA build {torch.version.cuda}); pass device='cpu'")
        if dev.index is None:
            dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        if dev.index >= torch.cuda.device_count():
            raise ValueError(f"device={str(dev)!r}, but only {torch.cuda.device_count()} CUDA device(s) exist")
    elif dev.type != "cpu":
        backend = getattr(torch, dev.type, None)
        if backend is None or not getattr(backend, "is_available", lambda: False)():
            raise ValueError(f"device={str(dev)!r} is not usable here")
    return dev


def distributed_context(backend: Optional[str] = None) -> Tuple[int, int]:
    """``(rank, world_size)``; initialises the process group under ``torchrun``.

    ``torchrun`` sets ``WORLD_SIZE``, ``RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; a
    process group initialised by the caller is used as it is (also with one process).
    ``backend``: ``"nccl"`` for CUDA models, ``"gloo"`` for CPU ones; default from
    :func:`default_device`. NCCL cannot reduce CPU tensors, so the trainer passes the
    backend of its device.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():  # a group set up by the caller
        return dist.get_rank(), dist.get_world_size()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        if backend is None:
            backend = "nccl" if default_device().type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size()


# -- optimiser state as tensors + JSON (no pickle) -------------------------------------

def _flatten_optimizer(opt: torch.optim.Optimizer) -> Tuple[Dict[str, torch.Tensor], Dict[str, Any]]:
    sd = opt.state_dict()
    tensors: Dict[str, torch.Tensor] = {}
    for idx, state in sd["state"].items():
        for name, value in state.items():
            t = value if torch.is_tensor(value) else torch.tensor(value)
            tensors[f"state.{idx}.{name}"] = t.detach().cpu().contiguous()
    return tensors, {"param_groups": sd["param_groups"]}


def _unflatten_optimizer(tensors: Dict[str, torch.Tensor], meta: Dict[str, Any]) -> Dict[str, Any]:
    state: Dict[int, Dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if not key.startswith("state."):
            continue
        _, idx, name = key.split(".", 2)
        state.setdefault(int(idx), {})[name] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows: directories cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def checkpoint_step(path: Path) -> Optional[int]:
    """The step of the checkpoint folder ``path`` if it is complete, else None.

    Complete: ``trainer.json`` parses and every file its manifest lists exists with
    the recorded size (checkpoints from before the manifest count when their files exist).
    """
    state_file = Path(path) / _STATE
    try:
        state = json.loads(state_file.read_text())
        files = state.get("files")
        if files is None:
            files = {"model.safetensors": None, _OPTIMIZER: None}
        for name, size in files.items():
            f = Path(path) / name
            if not f.is_file() or (size is not None and f.stat().st_size != int(size)):
                return None
        return int(state["step"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


# -- batches ---------------------------------------------------------------------------

class _StepBatches(torch.utils.data.Dataset):
    """Item ``i``: the recipe's batch of step ``first + i`` for one rank (workers call it)."""

    def __init__(self, recipe: Any, first: int, last: int, rank: int, world: int) -> None:
        self.recipe, self.first, self.last, self.rank, self.world = recipe, first, last, rank, world

    def __len__(self) -> int:
        return self.last - self.first

    def __getitem__(self, i: int) -> Any:
        return self.recipe.batch(self.first + int(i), self.rank, self.world)


def _worker_init(_: int) -> None:
    # Ctrl-C is for the training process, which stops at a step boundary and shuts the
    # workers down; one core thread per worker (parallelism comes from the workers,
    # and a forked child never touches the parent's thread pool).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from .._ops import set_num_threads

    set_num_threads(1)


def _to_device(batch: Any, device: torch.device) -> Any:
    if torch.is_tensor(batch):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


class Trainer:
    """Train a recipe (:class:`~timbrefast.train.recipe.Recipe`); see the module docstring.

    Parameters
    ----------
    recipe : Recipe
        Model, batches, loss, validation and the saved artefact.
    config : TrainerConfig
        Loop options.

    Examples
    --------
    >>> # recipe = CocolaRecipe(...); Trainer(recipe, TrainerConfig(out_dir="runs/x", steps=100)).fit()
    """

    def __init__(self, recipe: Any, config: TrainerConfig) -> None:
        if not isinstance(config, TrainerConfig):
            raise TypeError(f"config must be a TrainerConfig, got {type(config).__name__}")
        check_recipe(recipe)
        self.recipe = recipe
        self.config = config
        self.out = Path(config.out_dir)
        if self.out.exists() and not self.out.is_dir():
            raise ValueError(f"out_dir {str(self.out)!r} exists and is not a directory")
        self.device = resolve_device(config.device)
        if config.amp and self.device.type != "cuda":
            raise ValueError(f"amp=True needs a CUDA device (device is {self.device}); "
                             "on the CPU train in float32 (autocast would be slower)")
        self._check_keep_best()
        backend = "nccl" if self.device.type == "cuda" else "gloo"
        self.rank, self.world = distributed_context(backend)
        import torch.distributed as dist

        self.distributed = bool(dist.is_available() and dist.is_initialized())
        if self.distributed and self.device.type != "cuda" and dist.get_backend() == "nccl":
            raise ValueError(f"the process group uses NCCL, which cannot reduce tensors of a {self.device} "
                             "model: initialise it with backend='gloo' or train on CUDA")
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        self.model: nn.Module = recipe.model.to(self.device)
        # A recipe may give parameter groups, each with an "lr_scale" (a multiple of the schedule's rate).
        groups = getattr(recipe, "parameter_groups", None)
        self.optimizer = torch.optim.Adam(groups(self.model) if callable(groups) else self.model.parameters(),
                                          lr=config.lr)
        self.scaler: Optional[Any] = None
        if config.amp and config.amp_dtype == "float16":
            self.scaler = torch.amp.GradScaler("cuda")
        self._tb: Optional[Any] = None
        if config.tensorboard:
            require("tensorboard", "TrainerConfig(tensorboard=True)", "tensorboard")
        self.step = 0
        self.history: List[Dict[str, Any]] = []
        self.best: Optional[Dict[str, Any]] = None
        self._stop_signal: Optional[int] = None

    def _check_keep_best(self) -> None:
        name = self.config.keep_best
        names = getattr(self.recipe, "validation_metrics", None)
        if name is None or names is None:
            return
        known = list(names())
        if name not in known:
            raise ValueError(f"keep_best={name!r} is not a validation metric of {type(self.recipe).__name__}; "
                             f"it reports {known}")

    def _fingerprint(self) -> Dict[str, Any]:
        fp = getattr(self.recipe, "fingerprint", None)
        recipe_key = fp() if fp is not None else {}
        return json.loads(json.dumps({"trainer": self.config.resume_key(), "recipe": recipe_key}, default=str))

    # -- checkpoints -----------------------------------------------------------------

    @property
    def checkpoint_dir(self) -> Path:
        return self.out / CHECKPOINT

    def _write_state_files(self, folder: Path) -> Dict[str, int]:
        from safetensors.torch import save_file

        self.recipe.save_model(self.model, folder)  # config.json + model.safetensors
        opt_tensors, opt_meta = _flatten_optimizer(self.optimizer)
        opt_tensors["rng.torch"] = torch.get_rng_state()
        if self.device.type == "cuda":
            opt_tensors["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        save_file(opt_tensors, str(folder / _OPTIMIZER))
        files = {}
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                _fsync_file(f)
                files[f.relative_to(folder).as_posix()] = f.stat().st_size
        state = {
            "step": self.step,
            "config": {k: (str(v) if isinstance(v, os.PathLike) else v) for k, v in dataclasses.asdict(self.config).items()},
            "resume": self._fingerprint(),
            "optimizer": opt_meta,
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "history": self.history,
            "best": self.best,
            "files": files,
        }
        with open(folder / _STATE, "w") as f:  # written last: its manifest marks the folder complete
            f.write(json.dumps(state, indent=1))
            f.flush()
            os.fsync(f.fileno())
        _fsync_dir(folder)
        return files

    def _swap_in(self, tmp: Path, final: Path, old: Path) -> None:
        """Replace ``final`` by ``tmp``, keeping the previous one as ``old`` until done."""
        if final.exists():
            if old.exists():
                shutil.rmtree(old)
            os.replace(final, old)
        os.replace(tmp, final)  # between the two renames, old and tmp are both complete
        _fsync_dir(final.parent)
        if old.exists():
            shutil.rmtree(old, ignore_errors=True)

    def save_checkpoint(self) -> Path:
        """Write model, optimiser and trainer state (rank 0) atomically (module docstring)."""
        final = self.checkpoint_dir
        if self.rank != 0:
            return final
        tmp = final.with_name(final.name + _TMP_SUFFIX)
        old = final.with_name(final.name + _OLD_SUFFIX)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        self._write_state_files(tmp)
        _fsync_dir(tmp.parent)
        self._swap_in(tmp, final, old)
        return final

    def latest_checkpoint(self) -> Optional[Path]:
        """The newest complete checkpoint among ``checkpoint/``, ``checkpoint.tmp/`` and
        ``checkpoint.old/`` (what an interrupted save leaves), or None."""
        final = self.checkpoint_dir
        best: Optional[Tuple[int, int, Path]] = None
        for rank_, p in enumerate((final, final.with_name(final.name + _TMP_SUFFIX),
                                   final.with_name(final.name + _OLD_SUFFIX))):
            step = checkpoint_step(p) if p.is_dir() else None
            if step is not None and (best is None or (step, -rank_) > (best[0], -best[1])):
                best = (step, rank_, p)
        return None if best is None else best[2]

    def _recover(self) -> None:
        """Make the newest complete checkpoint ``checkpoint/`` again (rank 0)."""
        latest = self.latest_checkpoint()
        final = self.checkpoint_dir
        if latest is None or latest == final:
            return
        if final.exists():
            shutil.rmtree(final)
        os.replace(latest, final)
        _fsync_dir(final.parent)
        print(f"recovered the checkpoint at step {checkpoint_step(final)} from {latest.name} "
              "(a previous save was interrupted)")

    def load_checkpoint(self, path: Optional[Path] = None, *, force: bool = False) -> bool:
        """Resume from ``path`` (default: the newest complete checkpoint of ``out_dir``);
        False when there is none.

        Refuses (:class:`ResumeMismatch`, a ValueError) a checkpoint written with another learning rate, seed,
        batch size or training data unless ``force``.
        """
        from safetensors.torch import load_file

        from ..checkpoints import WEIGHTS_NAME

        if path is None:
            path = self.latest_checkpoint()
            if path is None:
                return False
        path = Path(path)
        if checkpoint_step(path) is None:
            return False
        state = json.loads((path / _STATE).read_text())
        stored = state.get("resume")
        if stored is not None:
            now = self._fingerprint()
            diffs = _differences(stored, now)
            if diffs and not force:
                raise ResumeMismatch(
                    f"{path} was written by a different run ({'; '.join(diffs)}); resuming would not "
                    "continue it: pass --force (force=True) to resume anyway, or --no-resume / "
                    "another --out to start afresh"
                )
            if diffs and self.rank == 0:
                warnings.warn(f"resuming {path} although the run changed: {'; '.join(diffs)}", stacklevel=2)
        self.model.load_state_dict(load_file(str(path / WEIGHTS_NAME)))
        opt_tensors = load_file(str(path / _OPTIMIZER))
        torch.set_rng_state(opt_tensors.pop("rng.torch"))
        cuda_rng = opt_tensors.pop("rng.cuda", None)
        if cuda_rng is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state(cuda_rng, self.device)
        self.optimizer.load_state_dict(_unflatten_optimizer(opt_tensors, state["optimizer"]))
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.step = int(state["step"])
        self.history = list(state.get("history", []))
        self.best = state.get("best")
        return True

    # -- logging ---------------------------------------------------------------------

    def _log(self, record: Dict[str, Any]) -> None:
        self.history.append(record)
        if self.rank != 0:
            return
        with open(self.out / "log.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        if self._tb is not None:
            for k, v in record.items():
                if k != "step" and isinstance(v, (int, float)) and not isinstance(v, bool):
                    tag = f"val/{k[4:]}" if k.startswith("val_") else f"train/{k}"
                    self._tb.add_scalar(tag, v, record["step"])
            self._tb.flush()

    def _open_tensorboard(self) -> None:
        if self.config.tensorboard and self.rank == 0 and self._tb is None:
            require("tensorboard", "TrainerConfig(tensorboard=True)", "tensorboard")
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(log_dir=str(self.out / "tensorboard"))

    # -- validation ------------------------------------------------------------------

    def _autocast(self) -> Any:
        if self.config.amp:
            return torch.autocast(device_type="cuda", dtype=_AMP_DTYPES[self.config.amp_dtype])
        return _nullcontext()

    def _validate(self) -> Dict[str, Any]:
        metrics: Dict[str, Any] = {}
        if self.rank == 0:
            self.model.eval()
            with torch.no_grad(), self._autocast():
                metrics = {k: (float(v) if isinstance(v, (int, float, np.floating, np.integer)) else v)
                           for k, v in dict(self.recipe.validate(self.model)).items()}
            self.model.train()
        if self.distributed:
            import torch.distributed as dist

            dist.barrier()
        return metrics

    def _keep_best(self, metrics: Dict[str, Any]) -> None:
        name = self.config.keep_best
        if name is None or self.rank != 0 or not metrics:
            return
        if name not in metrics:
            raise KeyError(f"keep_best={name!r} is not a validation metric; the recipe reports {sorted(metrics)}")
        value = float(metrics[name])
        if self.best is None or value > float(self.best["value"]):
            self.best = {"metric": name, "value": value, "step": self.step}
            self.recipe.save_model(self.model, self.out / "best")
            (self.out / "best" / "best.json").write_text(json.dumps({**self.best, "validation": metrics}, indent=1))

    # -- signals ---------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self._stop_signal is not None:
            if signum == signal.SIGINT:  # a second Ctrl-C aborts at once
                raise KeyboardInterrupt
            return  # e.g. torchrun's SIGTERM to its workers after the terminal's SIGINT
        self._stop_signal = signum
        if self.rank == 0:
            print(f"\n{signal.Signals(signum).name}: stopping after step {self.step + 1} with a checkpoint "
                  "(press Ctrl-C again to abort without one)", flush=True)

    def _install_signals(self) -> Dict[int, Any]:
        previous: Dict[int, Any] = {}
        if threading.current_thread() is not threading.main_thread():
            return previous
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                previous[sig] = signal.signal(sig, self._on_signal)
            except (ValueError, OSError):  # pragma: no cover - not allowed here
                pass
        return previous

    def _agree(self, *flags: bool) -> List[bool]:
        """Flags OR-ed over ranks, so that every rank validates and stops at the same step."""
        if not self.distributed:
            return list(flags)
        import torch.distributed as dist

        t = torch.tensor([1 if f else 0 for f in flags], dtype=torch.int32, device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return [bool(v) for v in t.tolist()]

    # -- loop ------------------------------------------------------------------------

    def _batches(self) -> Iterator[Any]:
        cfg = self.config
        if cfg.num_workers == 0:
            for s in range(self.step, cfg.steps):
                yield _to_device(self.recipe.batch(s, self.rank, self.world), self.device)
            return
        loader = torch.utils.data.DataLoader(
            _StepBatches(self.recipe, self.step, cfg.steps, self.rank, self.world),
            batch_size=None, shuffle=False, num_workers=cfg.num_workers,
            pin_memory=self.device.type == "cuda", worker_init_fn=_worker_init,
            # the workers' base seed comes from here, not from the global RNG the model's
            # dropout draws from (else the weights would depend on num_workers)
            generator=torch.Generator().manual_seed(cfg.seed + self.rank),
        )
        for batch in loader:
            yield _to_device(batch, self.device)

    def _optimizer_step(self, loss: torch.Tensor) -> Optional[float]:
        cfg = self.config
        self.optimizer.zero_grad(set_to_none=True)
        grad_norm = None
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            if cfg.grad_clip is not None:
                self.scaler.unscale_(self.optimizer)
                grad_norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip))
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            if cfg.grad_clip is not None:
                grad_norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip))
            self.optimizer.step()
        return grad_norm

    def fit(self, *, resume: bool = True, force: bool = False) -> Dict[str, Any]:
        """Train to ``config.steps``.

        Parameters
        ----------
        resume : bool
            Continue from the newest complete checkpoint of ``out_dir`` when there is one.
        force : bool
            Resume even when the checkpoint was written with another learning rate,
            seed, batch size or training data.

        Returns
        -------
        dict
            ``step``, ``seconds``, ``stopped_early`` (time budget), ``interrupted``
            (the signal's name after Ctrl-C / SIGTERM, else None), ``validation`` (the
            last metrics), ``best``.
        """
        cfg = self.config
        self.out.mkdir(parents=True, exist_ok=True)
        seed_everything(cfg.seed + self.rank)
        if resume:
            if self.rank == 0:
                self._recover()
            if self.distributed:
                import torch.distributed as dist

                dist.barrier()
            if self.load_checkpoint(force=force) and self.rank == 0:
                print(f"resumed from {self.checkpoint_dir} at step {self.step}")
        self._open_tensorboard()
        train_model: nn.Module = self.model
        if self.distributed:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            train_model = DistributedDataParallel(self.model, device_ids=ids)
        self.model.train()
        bar = None
        if cfg.progress and self.rank == 0:
            from tqdm.auto import tqdm

            bar = tqdm(total=cfg.steps, initial=self.step, desc="train", unit="step", dynamic_ncols=True)
        start = time.perf_counter()
        last_val: Dict[str, Any] = {}
        stopped_early = stop = False
        self._stop_signal = None
        previous = self._install_signals()
        batches = self._batches()
        try:
            while self.step < cfg.steps:
                lr = cfg.learning_rate(self.step)
                for group in self.optimizer.param_groups:
                    group["lr"] = lr * group.get("lr_scale", 1.0)
                batch = next(batches)
                with self._autocast():
                    loss, metrics = self.recipe.loss(train_model, batch, self.step)
                loss_value = float(loss.detach().float().item())
                if not math.isfinite(loss_value):
                    raise RuntimeError(f"loss is {loss_value} at step {self.step}: training diverged")
                grad_norm = self._optimizer_step(loss)
                self.step += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss_value:.3f}", **{k: f"{v:.3f}" for k, v in metrics.items()})
                elapsed = time.perf_counter() - start
                if cfg.log_every and self.step % cfg.log_every == 0:
                    extra = {} if grad_norm is None else {"grad_norm": grad_norm}
                    self._log({"step": self.step, "loss": loss_value, "lr": lr, "seconds": round(elapsed, 2),
                               **extra, **metrics})
                out_of_time, stop = self._agree(cfg.max_minutes is not None and elapsed > 60.0 * cfg.max_minutes,
                                                self._stop_signal is not None)
                if cfg.val_every and (self.step % cfg.val_every == 0 or self.step == cfg.steps or out_of_time):
                    last_val = self._validate()
                    if last_val:
                        self._keep_best(last_val)
                        self._log({"step": self.step, "seconds": round(elapsed, 2),
                                   **{f"val_{k}": v for k, v in last_val.items()}})
                        if bar is not None:
                            bar.write(f"step {self.step}: " + ", ".join(
                                f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in last_val.items()))
                if cfg.ckpt_every and self.step % cfg.ckpt_every == 0 and not stop:
                    self.save_checkpoint()
                if stop:
                    break
                if out_of_time and self.step < cfg.steps:
                    stopped_early = True
                    break
        finally:
            batches.close()  # shuts DataLoader workers down
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if bar is not None:
                bar.close()
        interrupted = None
        if (self._stop_signal is not None or stop) and self.step < cfg.steps:  # else the run is complete
            interrupted = signal.Signals(self._stop_signal).name if self._stop_signal is not None else "peer"
        self.save_checkpoint()
        if self.rank == 0:
            if interrupted is None:
                self.recipe.save_model(self.model, self.out / "model")
            else:
                print(f"stopped at step {self.step}: checkpoint saved to {self.checkpoint_dir}; "
                      "run the same command again to resume", flush=True)
        if self._tb is not None:
            self._tb.close()
            self._tb = None
        return {
            "step": self.step,
            "seconds": time.perf_counter() - start,
            "stopped_early": stopped_early,
            "interrupted": interrupted,
            "validation": last_val,
            "best": self.best,
        }


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def _differences(stored: Dict[str, Any], now: Dict[str, Any], prefix: str = "") -> List[str]:
    out = []
    for key in sorted(set(stored) | set(now)):
        a, b = stored.get(key), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out.extend(_differences(a, b, f"{prefix}{key}."))
        elif a != b:
            name = f"{prefix}{key}".split(".", 1)[-1]  # without the trainer. / recipe. prefix
            out.append(f"{name}: checkpoint {a!r}, now {b!r}")
    return out
