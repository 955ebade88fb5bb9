"""Compatibility shim: the backend floor now lives in :mod:`timbrefast._backends`.

``timbrefast.backends``, ``get_num_threads`` and ``set_num_threads`` are the public names;
this module keeps the old private import path (``from timbrefast._ops import is_tensor``)
working for code outside the package layers.
"""
from __future__ import annotations

from . import _core
from ._backends import (  # noqa: F401
    MAX_THREADS,
    _load_cuda,
    backends,
    cuda_available,
    cuda_module,
    get_num_threads,
    is_tensor,
    set_num_threads,
)

core = _core

__all__ = ["backends", "core", "cuda_module", "cuda_available", "get_num_threads", "set_num_threads", "is_tensor"]
