"""Backend discovery and dispatch: the one place that routes numpy arrays and
torch tensors (CPU or CUDA) to the compiled modules.

``_core`` (the C++ CPU core) is always built. ``_cuda`` is built when nvcc was
found at build time (or shipped by the ``timbrefast-cu13`` add-on distribution)
and is usable only when a driver and a device are present.
"""
from __future__ import annotations

import importlib
import os
from typing import Any, Dict, Optional

import numpy as np

from . import _core

__all__ = [
    "backends",
    "core",
    "cuda_module",
    "cuda_available",
    "get_num_threads",
    "set_num_threads",
    "is_tensor",
    "array_namespace",
]

core = _core

_cuda_mod: Optional[Any] = None
_cuda_import_error: Optional[str] = None


def _load_cuda() -> Optional[Any]:
    """Import ``timbrefast._cuda`` (or the add-on ``timbrefast_cu13._cuda``) once."""
    global _cuda_mod, _cuda_import_error
    if _cuda_mod is not None or _cuda_import_error is not None:
        return _cuda_mod
    if os.environ.get("TIMBREFAST_DISABLE_CUDA", "") not in ("", "0"):
        _cuda_import_error = "disabled by TIMBREFAST_DISABLE_CUDA"
        return None
    errors = []
    for name in ("timbrefast._cuda", "timbrefast_cu13._cuda"):
        try:
            _cuda_mod = importlib.import_module(name)
            return _cuda_mod
        except ImportError as exc:  # not built, or cudart could not load
            errors.append(f"{name}: {exc}")
    _cuda_import_error = "; ".join(errors)
    return None


def cuda_module() -> Any:
    """The loaded CUDA module, or a RuntimeError saying why there is none."""
    mod = _load_cuda()
    if mod is None:
        raise RuntimeError(
            "the timbrefast CUDA backend is not available "
            f"({_cuda_import_error}); build from source with nvcc on PATH "
            "(TIMBREFAST_CUDA=ON) or install the extra: pip install 'timbrefast[cu13]'"
        )
    if mod.device_count() == 0:
        raise RuntimeError(f"the timbrefast CUDA backend cannot run: {mod.status()}")
    return mod


def cuda_available() -> bool:
    """True when the CUDA module loaded and at least one device is present."""
    mod = _load_cuda()
    return mod is not None and mod.device_count() > 0


def backends() -> Dict[str, Dict[str, Any]]:
    """Report, per backend, whether it was compiled and whether it is usable now.

    Returns
    -------
    dict
        ``{"cpu": {"compiled", "usable", "simd", "simd_supported", "threads"},
        "cuda": {"compiled", "usable", "devices", "status", ...}}``.

    Examples
    --------
    >>> import timbrefast
    >>> timbrefast.backends()["cpu"]["usable"]
    True
    """
    cpu = {
        "compiled": True,
        "usable": True,
        "simd": _core.simd_level(),
        "simd_supported": _core.simd_supported(),
        "threads": _core.get_num_threads(),
    }
    mod = _load_cuda()
    if mod is None:
        cuda: Dict[str, Any] = {
            "compiled": False,
            "usable": False,
            "devices": 0,
            "status": f"not compiled or not loadable: {_cuda_import_error}",
        }
    else:
        n = mod.device_count()
        cuda = {
            "compiled": True,
            "usable": n > 0,
            "devices": n,
            "status": mod.status(),
            "runtime_version": mod.runtime_version(),
            "driver_version": mod.driver_version(),
            "architectures": mod.compiled_architectures(),
        }
    return {"cpu": cpu, "cuda": cuda}


def get_num_threads() -> int:
    """Threads the C++ core uses when a call does not pass ``num_threads``."""
    return int(_core.get_num_threads())


MAX_THREADS = 4096  # the same bound as every ``num_threads=`` argument


def set_num_threads(n: int) -> None:
    """Set the core's global thread count (``n <= 0`` restores the default:
    ``TIMBREFAST_NUM_THREADS`` or the number of hardware threads; at most 4096)."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"num_threads must be an int, got {type(n).__name__}")
    if n > MAX_THREADS:
        raise ValueError(f"num_threads must be <= {MAX_THREADS}, got {n}")
    _core.set_num_threads(max(int(n), 0))


def is_tensor(x: Any) -> bool:
    """True for a ``torch.Tensor`` without importing torch when it is not loaded."""
    torch = _torch_if_loaded()
    return torch is not None and isinstance(x, torch.Tensor)


def array_namespace(x: Any) -> str:
    """``"torch-cuda"``, ``"torch-cpu"`` or ``"numpy"``: where a value must be computed."""
    if is_tensor(x):
        return "torch-cuda" if x.is_cuda else "torch-cpu"
    return "numpy"


def _torch_if_loaded() -> Optional[Any]:
    import sys

    return sys.modules.get("torch")
