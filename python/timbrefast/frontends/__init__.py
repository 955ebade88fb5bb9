"""Audio frontends: STFT, mel filterbanks, mel spectrograms, HPSS, decibels and fused
presets, computed by the C++ core (CPU) or the CUDA kernels, and equal to librosa.

* :mod:`.functional` -- the librosa-equal functions :func:`stft`, :func:`mel_filters`,
  :func:`melspectrogram`, :func:`hpss`, :func:`power_to_db`;
* :mod:`.config` -- :class:`FrontendConfig` and the papers' :data:`PRESETS`;
* :mod:`.frontend` -- :class:`Frontend`, waveform to model input in one fused call.
"""
from __future__ import annotations

from .config import MEL_PARAMS as _MEL_PARAMS
from .config import PRESETS, FrontendConfig
from .config import mel_config as _mel_config
from .frontend import Frontend
from .functional import hpss, mel_filters, melspectrogram, power_to_db, stft

__all__ = [
    "stft",
    "mel_filters",
    "melspectrogram",
    "hpss",
    "power_to_db",
    "Frontend",
    "FrontendConfig",
    "PRESETS",
]
