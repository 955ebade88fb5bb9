"""A small shared trainer: Adam, progress bar, periodic validation, safetensors
checkpoints with resume, deterministic under a seed, DDP under ``torchrun``.

A *recipe* supplies the model and the task:

- ``recipe.model`` — the ``torch.nn.Module`` to train (its parameters go to Adam);
- ``recipe.batch(step, rank, world_size)`` — the batch of a global step, a pure
  function of ``(seed, step, rank)`` so that a resumed run sees the same data;
- ``recipe.loss(model, batch, step)`` → ``(loss, metrics)`` where ``model`` may be
  the DDP wrapper;
- ``recipe.validate(model)`` → dict of metrics (run on rank 0, eval mode);
- ``recipe.save_model(model, path)`` — the final artefact (safetensors + JSON).

Checkpoints live in ``out_dir/checkpoint/``: ``model.safetensors``,
``optimizer.safetensors`` (Adam moments, step counts and the torch RNG state)
and ``trainer.json`` (step, learning rate, history). No pickle anywhere.
"""
from __future__ import annotations

import dataclasses
import json
import os
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import nn

__all__ = ["TrainerConfig", "Trainer", "seed_everything", "distributed_context"]


@dataclass(frozen=True)
class TrainerConfig:
    """Options of :class:`Trainer`.

    Parameters
    ----------
    out_dir : str
        Where checkpoints, ``log.jsonl`` and the final model go.
    steps : int
        Optimiser steps in total (a resumed run continues to this number).
    lr : float
        Adam learning rate.
    seed : int
        Seeds torch, numpy and Python's ``random``; the recipe derives its data from it.
    val_every, ckpt_every, log_every : int
        Periods in steps (0 disables validation / intermediate checkpoints).
    max_minutes : float, optional
        Wall-clock budget: stop early (with a checkpoint) once it is spent.
    progress : bool
        Show a tqdm progress bar (rank 0 only).
    lr_schedule : {"constant", "cosine"}
        ``"cosine"``: after ``warmup_steps`` of linear warm-up the learning rate
        follows half a cosine from ``lr`` down to ``min_lr`` at ``steps``. The
        rate is a function of the step alone, so a resumed run follows the same
        curve.
    warmup_steps : int
        Linear warm-up from ``lr / warmup_steps`` (both schedules).
    min_lr : float
        Final learning rate of the cosine schedule.
    keep_best : str, optional
        A validation metric (e.g. ``"k2"``, higher is better): whenever it
        improves, the model is also saved to ``out_dir/best`` (early stopping
        without stopping); ``trainer.json`` remembers the best value and step.
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
    lr_schedule: str = "constant"
    warmup_steps: int = 0
    min_lr: float = 0.0
    keep_best: Optional[str] = None

    def __post_init__(self) -> None:
        for name in ("steps", "val_every", "ckpt_every", "log_every", "warmup_steps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"{name} must be a non-negative int, got {v!r}")
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0 and np.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ValueError(f"max_minutes must be positive, got {self.max_minutes!r}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")
        if not (isinstance(self.min_lr, (int, float)) and 0 <= self.min_lr <= self.lr):
            raise ValueError(f"min_lr must be in [0, lr], got {self.min_lr!r}")
        if self.keep_best is not None and (not isinstance(self.keep_best, str) or not self.keep_best):
            raise ValueError(f"keep_best must be a metric name, got {self.keep_best!r}")

    def learning_rate(self, step: int) -> float:
        """Learning rate of optimiser step ``step`` (0-based)."""
        if self.warmup_steps and step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        if self.lr_schedule == "constant":
            return self.lr
        span = max(1, self.steps - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / span)
        return self.min_lr + 0.5 * (self.lr - self.min_lr) * (1.0 + float(np.cos(np.pi * progress)))


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def distributed_context() -> Tuple[int, int]:
    """``(rank, world_size)``; initialises the process group under ``torchrun``.

    ``torchrun`` sets ``WORLD_SIZE``, ``RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``;
    the backend is NCCL when CUDA is available, gloo otherwise.
    """
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), dist.get_world_size()


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


class Trainer:
    """Run a recipe: see the module docstring.

    Examples
    --------
    >>> # recipe = CocolaRecipe(...); Trainer(recipe, TrainerConfig(out_dir="runs/x", steps=100)).fit()
    """

    def __init__(self, recipe: Any, config: TrainerConfig) -> None:
        if not isinstance(config, TrainerConfig):
            raise TypeError(f"config must be a TrainerConfig, got {type(config).__name__}")
        for attr in ("model", "batch", "loss", "validate", "save_model"):
            if not hasattr(recipe, attr):
                raise TypeError(f"recipe has no '{attr}'")
        self.recipe = recipe
        self.config = config
        self.out = Path(config.out_dir)
        self.rank, self.world = distributed_context()
        self.model: nn.Module = recipe.model
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr)
        self.step = 0
        self.history: List[Dict[str, Any]] = []
        self.best: Optional[Dict[str, Any]] = None

    # -- checkpoints -----------------------------------------------------------------

    @property
    def checkpoint_dir(self) -> Path:
        return self.out / "checkpoint"

    def save_checkpoint(self) -> Path:
        """Write model, optimiser and trainer state (rank 0); atomic via rename."""
        from safetensors.torch import save_file

        if self.rank != 0:
            return self.checkpoint_dir
        tmp = self.out / "checkpoint.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        model_state = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        save_file(model_state, str(tmp / "model.safetensors"))
        opt_tensors, opt_meta = _flatten_optimizer(self.optimizer)
        opt_tensors["rng.torch"] = torch.get_rng_state()
        save_file(opt_tensors, str(tmp / "optimizer.safetensors"))
        state = {
            "step": self.step,
            "config": dataclasses.asdict(self.config),
            "optimizer": opt_meta,
            "history": self.history,
            "best": self.best,
        }
        (tmp / "trainer.json").write_text(json.dumps(state, indent=1))
        if self.checkpoint_dir.exists():
            shutil.rmtree(self.checkpoint_dir)
        tmp.rename(self.checkpoint_dir)
        return self.checkpoint_dir

    def load_checkpoint(self, path: Optional[Path] = None) -> bool:
        """Resume from ``path`` (default ``out_dir/checkpoint``); False when there is none."""
        from safetensors.torch import load_file

        path = Path(path) if path is not None else self.checkpoint_dir
        if not (path / "trainer.json").exists():
            return False
        state = json.loads((path / "trainer.json").read_text())
        model_state = load_file(str(path / "model.safetensors"))
        self.model.load_state_dict(model_state)
        opt_tensors = load_file(str(path / "optimizer.safetensors"))
        torch.set_rng_state(opt_tensors.pop("rng.torch"))
        self.optimizer.load_state_dict(_unflatten_optimizer(opt_tensors, state["optimizer"]))
        self.step = int(state["step"])
        self.history = list(state.get("history", []))
        self.best = state.get("best")
        return True

    # -- loop ------------------------------------------------------------------------

    def _log(self, record: Dict[str, Any]) -> None:
        self.history.append(record)
        if self.rank == 0:
            with open(self.out / "log.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")

    def _validate(self) -> Dict[str, Any]:
        metrics: Dict[str, Any] = {}
        if self.rank == 0:
            self.model.eval()
            with torch.no_grad():
                metrics = dict(self.recipe.validate(self.model))
            self.model.train()
        if self.world > 1:
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

    def fit(self, *, resume: bool = True) -> Dict[str, Any]:
        """Train to ``config.steps``; returns the last validation metrics and timings."""
        cfg = self.config
        self.out.mkdir(parents=True, exist_ok=True)
        seed_everything(cfg.seed + self.rank)
        if resume and self.load_checkpoint():
            if self.rank == 0:
                print(f"resumed from {self.checkpoint_dir} at step {self.step}")
        train_model: nn.Module = self.model
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel

            train_model = DistributedDataParallel(self.model)
        self.model.train()
        bar = None
        if cfg.progress and self.rank == 0:
            from tqdm.auto import tqdm

            bar = tqdm(total=cfg.steps, initial=self.step, desc="train", unit="step", dynamic_ncols=True)
        start = time.perf_counter()
        last_val: Dict[str, Any] = {}
        stopped_early = False
        while self.step < cfg.steps:
            lr = cfg.learning_rate(self.step)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            batch = self.recipe.batch(self.step, self.rank, self.world)
            loss, metrics = self.recipe.loss(train_model, batch, self.step)
            if not torch.isfinite(loss):
                raise RuntimeError(f"loss is {loss.item()} at step {self.step}: training diverged")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.step += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.3f}", **{k: f"{v:.3f}" for k, v in metrics.items()})
            elapsed = time.perf_counter() - start
            if cfg.log_every and self.step % cfg.log_every == 0:
                self._log({"step": self.step, "loss": float(loss.item()), "lr": lr, "seconds": round(elapsed, 2), **metrics})
            out_of_time = cfg.max_minutes is not None and elapsed > 60.0 * cfg.max_minutes
            if cfg.val_every and (self.step % cfg.val_every == 0 or self.step == cfg.steps or out_of_time):
                last_val = self._validate()
                if last_val:
                    self._keep_best(last_val)
                    self._log({"step": self.step, "seconds": round(elapsed, 2), **{f"val_{k}": v for k, v in last_val.items()}})
                    if bar is not None:
                        bar.write(f"step {self.step}: " + ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in last_val.items()))
            if cfg.ckpt_every and self.step % cfg.ckpt_every == 0:
                self.save_checkpoint()
            if out_of_time and self.step < cfg.steps:
                stopped_early = True
                break
        if bar is not None:
            bar.close()
        self.save_checkpoint()
        if self.rank == 0:
            self.recipe.save_model(self.model, self.out / "model")
        return {
            "step": self.step,
            "seconds": time.perf_counter() - start,
            "stopped_early": stopped_early,
            "validation": last_val,
            "best": self.best,
        }
