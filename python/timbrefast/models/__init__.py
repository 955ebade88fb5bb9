"""Encoders, heads and the model registry (torch).

- :class:`EfficientNetEncoder` — EfficientNet-B0 (``efficientnet_pytorch``), the
  encoder of the released COCOLA models.
- :class:`SmallEncoder` — a small CNN that trains on a CPU; the bundled default.
- :class:`BilinearHead` — ``sim(x, y) = xᵀ W y``.
- :class:`CocolaModel` / :class:`CocolaConfig` — encoder + head + JSON config
  (``model_type`` ``"cocola"``); :mod:`.cocola_convert` reads released checkpoints.
- :class:`RetrievalModel` / :class:`RetrievalConfig` — the timbre-retrieval encoder
  (``model_type`` ``"retrieval"``): log-mel -> CNN -> unit embedding.
- :class:`CamilModel`, :class:`MidiClassifier`, :class:`AudioClassifier` — CAMIL's two ResNet
  encoders (``"camil"``) and the classifiers of its conditions (``"camil_classifier"``,
  ``"camil_audio_classifier"``).
- :mod:`.registry` — ``model_type`` → class: :func:`register_model`,
  :func:`get_model_class`, :func:`model_types`, :func:`build_model`; what
  :func:`timbrefast.checkpoints.load_model` builds from a ``config.json``.
"""
from __future__ import annotations

from .._validate import require_torch

require_torch("timbrefast.models")

from .camil import (  # noqa: E402
    AudioClassifier,
    AudioClassifierConfig,
    CamilConfig,
    CamilModel,
    MidiClassifier,
    MidiClassifierConfig,
)
from .cocola import MODES, SILENCE_DB, CocolaConfig, CocolaModel, apply_mode, mask_channels  # noqa: E402
from .efficientnet import EfficientNetEncoder  # noqa: E402
from .heads import BilinearHead  # noqa: E402
from .registry import (  # noqa: E402
    build_model,
    get_config_class,
    get_model_class,
    model_types,
    register_model,
    unregister_model,
)
from .retrieval import RetrievalConfig, RetrievalModel  # noqa: E402
from .small import SmallEncoder  # noqa: E402
from ..two_tower import bundled as _two_tower_bundled  # noqa: E402,F401 - registers "two_tower"
from . import ast as _ast  # noqa: E402,F401 - registers "ast" (transformers is needed only to build one)

__all__ = [
    "AudioClassifier",
    "AudioClassifierConfig",
    "BilinearHead",
    "CamilConfig",
    "CamilModel",
    "MidiClassifier",
    "MidiClassifierConfig",
    "CocolaConfig",
    "CocolaModel",
    "EfficientNetEncoder",
    "MODES",
    "SILENCE_DB",
    "RetrievalConfig",
    "RetrievalModel",
    "SmallEncoder",
    "apply_mode",
    "build_model",
    "get_config_class",
    "get_model_class",
    "mask_channels",
    "model_types",
    "register_model",
    "unregister_model",
]
