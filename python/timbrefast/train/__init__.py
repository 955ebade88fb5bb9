"""Training: one shared trainer (:mod:`timbrefast.train.trainer`), the recipe contract
(:mod:`timbrefast.train.recipe`) and one recipe per paper (COCOLA: :mod:`timbrefast.train.cocola`).

``timbrefast train cocola --data DIR --out DIR`` (see :mod:`timbrefast.train.cli`);
under ``torchrun`` the same command trains with DDP and a loss that gathers
positives across processes.
"""
from __future__ import annotations

from .._validate import require_torch

require_torch("timbrefast.train")

from .recipe import Recipe  # noqa: E402
from .trainer import (  # noqa: E402
    Trainer,
    TrainerConfig,
    default_device,
    distributed_context,
    resolve_device,
    seed_everything,
)

__all__ = ["Recipe", "Trainer", "TrainerConfig", "default_device", "distributed_context", "resolve_device",
           "seed_everything"]
