"""The contract between :class:`~timbrefast.train.Trainer` and a training recipe.

A *recipe* is one paper's task: the model, how a batch is made, the loss, the
validation metrics and the artefact it saves. The trainer owns everything else
(device, DDP, mixed precision, DataLoader workers, the optimiser and its
schedule, gradient clipping, logging, checkpoints, resume, Ctrl-C).
:class:`timbrefast.train.cocola.CocolaRecipe` is the first implementation.

Required members (the trainer checks that they exist):

``model``
    The ``torch.nn.Module`` to train. The trainer moves it to its device before
    it builds the optimiser, so a recipe must not keep references to the
    parameters' old storage.
``batch(step, rank, world_size)``
    This rank's share of global step ``step``: a tensor, or a dict / list /
    tuple of CPU tensors (the trainer moves them to the device). It must be a
    pure function of ``(seed, step, rank, world_size)``: with
    ``num_workers > 0`` it runs in DataLoader worker processes (forked copies
    of the recipe, core threads set to 1), several steps ahead and in any
    order, and a resumed run calls it again for the steps it continues with.
``loss(model, batch, step)``
    ``(loss, metrics)``: a scalar tensor to minimise and a dict of floats to
    log. ``model`` may be the ``DistributedDataParallel`` wrapper (the module is
    ``model.module``); under ``amp`` it runs inside ``torch.autocast``.
``validate(model)``
    A dict of float metrics, on rank 0, in eval mode, under ``torch.no_grad``;
    ``model`` is the bare module, on the trainer's device.
``save_model(model, path)``
    Write the model artefact to the folder ``path`` (``config.json`` and
    ``model.safetensors`` via :func:`timbrefast.checkpoints.save_model`, so that
    ``load_model`` reads it). The trainer writes ``model/``, ``best/`` and
    ``checkpoint/`` with it (the last with its own state files beside them).

Optional members (used when present):

``validation_metrics()``
    The names ``validate`` will report, so that ``keep_best`` is checked before
    step 0 instead of at the first validation.
``fingerprint()``
    A JSON-able dict of what a resumed run must share with the run that wrote
    the checkpoint (batch size, training data...). The trainer stores it in the
    checkpoint and refuses to resume when it differs, unless ``force=True``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Tuple

try:  # Python >= 3.8
    from typing import Protocol, runtime_checkable
except ImportError:  # pragma: no cover
    from typing_extensions import Protocol, runtime_checkable  # type: ignore[assignment]

__all__ = ["Recipe", "REQUIRED_MEMBERS", "check_recipe"]

REQUIRED_MEMBERS = ("model", "batch", "loss", "validate", "save_model")


@runtime_checkable
class Recipe(Protocol):
    """What :class:`~timbrefast.train.Trainer` calls (see the module docstring)."""

    model: Any  # torch.nn.Module

    def batch(self, step: int, rank: int, world_size: int) -> Any:
        """This rank's share of global step ``step`` (CPU tensors; pure in the step)."""
        ...

    def loss(self, model: Any, batch: Any, step: int) -> Tuple[Any, Dict[str, float]]:
        """``(scalar loss tensor, metrics to log)``."""
        ...

    def validate(self, model: Any) -> Dict[str, float]:
        """Validation metrics (rank 0, eval mode, no grad)."""
        ...

    def save_model(self, model: Any, path: Path) -> Path:
        """Write ``config.json`` + ``model.safetensors`` to the folder ``path``."""
        ...


def check_recipe(recipe: Any) -> None:
    """Raise TypeError naming the first required member ``recipe`` lacks."""
    missing: List[str] = [m for m in REQUIRED_MEMBERS if not hasattr(recipe, m)]
    if missing:
        raise TypeError(
            f"recipe {type(recipe).__name__} has no {', '.join(repr(m) for m in missing)} "
            "(see timbrefast.train.recipe.Recipe)"
        )
    for m in REQUIRED_MEMBERS[1:]:
        if not callable(getattr(recipe, m)):
            raise TypeError(f"recipe.{m} must be callable, got {type(getattr(recipe, m)).__name__}")
