"""timbrefast: contrastive timbre and coherence representations of music.

waveform -> frontend (C++/CUDA) -> encoder (torch) -> embedding -> similarity
-> loss (training) or score (inference), for COCOLA, timbre retrieval, CAMIL,
two-tower zero-shot evaluation and timbre semantics.

``import timbrefast`` needs only numpy; the torch parts load when used.
"""
from __future__ import annotations

from ._ops import backends, get_num_threads, set_num_threads
from ._version import __version__
from .frontends import Frontend, FrontendConfig, hpss, mel_filters, melspectrogram, power_to_db, stft

__all__ = [
    "__version__",
    "backends",
    "get_num_threads",
    "set_num_threads",
    "stft",
    "mel_filters",
    "melspectrogram",
    "hpss",
    "power_to_db",
    "Frontend",
    "FrontendConfig",
    "nn",
]


def __getattr__(name):
    # Subpackages loaded on first use: ``timbrefast.data`` (data engine).
    if name == "data":
        import importlib

        return importlib.import_module(".data", __name__)
    # ``timbrefast.nn`` (torch.nn.Module wrappers of the frontends) imports torch.
    if name == "nn":
        import importlib

        return importlib.import_module(".nn", __name__)
    raise AttributeError(f"module 'timbrefast' has no attribute {name!r}")
