"""timbrefast: contrastive timbre and coherence representations of music.

waveform -> frontend (C++/CUDA) -> encoder (torch) -> embedding -> similarity
-> loss (training) or score (inference), for COCOLA, timbre retrieval, CAMIL,
two-tower zero-shot evaluation and timbre semantics.

``import timbrefast`` needs only numpy; the torch parts load when used.
"""
from __future__ import annotations

from ._ops import backends, get_num_threads, set_num_threads
from ._version import __version__
from . import frontends as _frontends
from .frontends import Frontend, FrontendConfig, hpss, mel_filters, melspectrogram, power_to_db, stft

__all__ = ["__version__", "backends", "get_num_threads", "set_num_threads"]
__all__ += [name for name in _frontends.__all__ if name != "PRESETS"]  # stft ... FrontendConfig
__all__ += ["nn"]

# Contrastive losses and evaluation metrics. Neither module imports torch at
# import time: timbrefast.losses loads it on first use.
from . import losses, metrics  # noqa: E402

__all__ += ["losses", "metrics", "data"]

# Subpackages that pull optional dependencies load on first attribute access.
_LAZY_SUBMODULES = {
    "data": ".data",  # data engine (pyfluidsynth / music21 used lazily inside)
    "nn": ".nn",  # torch.nn.Module wrappers: imports torch
}


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(_LAZY_SUBMODULES[name], __name__)
    raise AttributeError(f"module 'timbrefast' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_SUBMODULES))


# --- COCOLA: coherence scorer and models (torch), loaded on first use -------------------
_COCOLA_LAZY = {
    "CoherenceScorer": ("timbrefast.scorers.coherence", "CoherenceScorer"),
    "models": ("timbrefast.models", None),
    "checkpoints": ("timbrefast.checkpoints", None),
}
_getattr_before_cocola = globals().get("__getattr__")
_dir_before_cocola = globals().get("__dir__")


def __getattr__(name):  # noqa: F811 - chains the lazy loader defined above
    if name in _COCOLA_LAZY:
        import importlib

        module, attr = _COCOLA_LAZY[name]
        mod = importlib.import_module(module)
        return mod if attr is None else getattr(mod, attr)
    if _getattr_before_cocola is not None:
        return _getattr_before_cocola(name)
    raise AttributeError(f"module 'timbrefast' has no attribute {name!r}")


def __dir__():  # noqa: F811
    before = _dir_before_cocola() if _dir_before_cocola is not None else globals()
    return sorted(set(before) | set(_COCOLA_LAZY))


__all__ += ["CoherenceScorer", "models", "checkpoints"]
