"""Studies that run on timbrefast's models and effects and reproduce published analyses.

* :mod:`timbrefast.studies.semantics` - timbre semantics in audio-text embeddings
  (descriptor profiles vs human ratings; effect trends), after Deng, Pardo & Pappas.
* :func:`run_semantics_study` - both experiments end to end (tables and figures), as
  ``timbrefast study semantics`` runs them; :func:`default_sources`,
  :func:`load_sources`, :func:`load_two_tower` - its inputs.

Nothing here imports torch; submodules load on first access.
"""
from __future__ import annotations

__all__ = ["semantics", "run_semantics_study", "default_sources", "load_sources", "load_two_tower"]

_LAZY = {
    "semantics": (".semantics", None),
    "run_semantics_study": ("._runner", "run_semantics_study"),
    "default_sources": ("._runner", "default_sources"),
    "load_sources": ("._runner", "load_sources"),
    "load_two_tower": ("._runner", "load_two_tower"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        mod = importlib.import_module(module, __name__)
        return mod if attr is None else getattr(mod, attr)
    raise AttributeError(f"module 'timbrefast.studies' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
