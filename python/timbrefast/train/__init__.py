"""Training: a small shared trainer and one recipe per paper.

``timbrefast train cocola --data DIR --out DIR`` (see :mod:`timbrefast.train.cli`);
under ``torchrun`` the same command trains with DDP and a loss that gathers
positives across processes.
"""
from __future__ import annotations

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("timbrefast.train needs torch: pip install 'timbrefast[torch]'") from exc

from .trainer import Trainer, TrainerConfig, distributed_context, seed_everything

__all__ = ["Trainer", "TrainerConfig", "distributed_context", "seed_everything"]
