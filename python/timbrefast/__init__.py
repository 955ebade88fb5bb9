"""timbrefast: contrastive timbre and coherence representations of music.

waveform -> frontend (C++/CUDA) -> encoder (torch) -> embedding -> similarity
-> loss (training) or score (inference), for COCOLA, timbre retrieval, CAMIL,
two-tower zero-shot evaluation and timbre semantics.

``import timbrefast`` needs only numpy; the torch parts load when used.
"""
from __future__ import annotations

from ._ops import backends, get_num_threads, set_num_threads
from ._version import __version__

__all__ = [
    "__version__",
    "backends",
    "get_num_threads",
    "set_num_threads",
]

def __getattr__(name):
    # Subpackages loaded on first use: ``timbrefast.data`` (data engine).
    if name == "data":
        import importlib

        return importlib.import_module(".data", __name__)
    raise AttributeError(f"module 'timbrefast' has no attribute {name!r}")


# --- COCOLA: coherence scorer and models (torch), loaded on first use -------------------
_COCOLA_LAZY = {
    "CoherenceScorer": ("timbrefast.scorers.coherence", "CoherenceScorer"),
    "models": ("timbrefast.models", None),
    "checkpoints": ("timbrefast.checkpoints", None),
}
_getattr_before_cocola = globals().get("__getattr__")


def __getattr__(name):  # noqa: F811 - chains any lazy loader defined above
    if name in _COCOLA_LAZY:
        import importlib

        module, attr = _COCOLA_LAZY[name]
        mod = importlib.import_module(module)
        return mod if attr is None else getattr(mod, attr)
    if _getattr_before_cocola is not None:
        return _getattr_before_cocola(name)
    raise AttributeError(f"module 'timbrefast' has no attribute {name!r}")


__all__ += ["CoherenceScorer", "models", "checkpoints"]
