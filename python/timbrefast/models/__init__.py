"""Encoders and heads (torch).

- :class:`EfficientNetEncoder` — EfficientNet-B0 (``efficientnet_pytorch``), the
  encoder of the released COCOLA models.
- :class:`SmallEncoder` — a small CNN that trains on a CPU; the bundled default.
- :class:`BilinearHead` — ``sim(x, y) = xᵀ W y``.
- :class:`CocolaModel` / :class:`CocolaConfig` — encoder + head + JSON config.
"""
from __future__ import annotations

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("timbrefast.models needs torch: pip install 'timbrefast[torch]'") from exc

from .cocola import MODES, SILENCE_DB, CocolaConfig, CocolaModel, apply_mode, mask_channels
from .efficientnet import EfficientNetEncoder
from .heads import BilinearHead
from .small import SmallEncoder

__all__ = [
    "BilinearHead",
    "CocolaConfig",
    "CocolaModel",
    "EfficientNetEncoder",
    "MODES",
    "SILENCE_DB",
    "SmallEncoder",
    "apply_mode",
    "mask_channels",
]
