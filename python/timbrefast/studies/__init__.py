"""Studies that run on timbrefast's models and effects and reproduce published analyses.

* :mod:`timbrefast.studies.semantics` - timbre semantics in audio-text embeddings
  (descriptor profiles vs human ratings; effect trends), after Deng, Pardo & Pappas.
"""
from __future__ import annotations

__all__ = ["semantics"]


def __getattr__(name):
    if name in __all__:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'timbrefast.studies' has no attribute {name!r}")
