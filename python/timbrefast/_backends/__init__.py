"""The backend floor: the only code that talks to the compiled modules.

* :mod:`._backends.cpu` -- numpy <-> ``timbrefast._core`` (the C++ CPU core, always built);
* :mod:`._backends.cuda` -- torch CUDA tensors <-> ``timbrefast._cuda`` (device pointers and
  the device's current stream; built when nvcc was found, usable with a driver and a device);
* :mod:`._backends.torch_ops` -- each torch-facing op declared once as a ``torch.library``
  custom op with a CPU and a CUDA kernel (imports torch; loaded on the first tensor);
* :mod:`._backends.specs` -- :class:`FrontendKernel`, a compiled frontend spec and the key by
  which the torch op finds it.

This package imports nothing else of timbrefast but :mod:`timbrefast._validate` and the
compiled modules, so the layers above (functional frontends, ``Frontend``, losses) depend on
it and never the other way round.
"""
from __future__ import annotations

import importlib
import os
from typing import Any, Dict, Optional

import numpy as np

from .. import _core
from .._validate import check_int, is_tensor

__all__ = [
    "release_memory",
    "backends",
    "cuda_available",
    "cuda_module",
    "get_num_threads",
    "set_num_threads",
    "threads",
    "is_tensor",
    "MAX_THREADS",
]

MAX_THREADS = 4096  # the bound of set_num_threads and of every ``num_threads=`` argument

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


def set_num_threads(n: int) -> None:
    """Set the core's global thread count (``n <= 0`` restores the default:
    ``TIMBREFAST_NUM_THREADS`` or the number of hardware threads; at most 4096)."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"num_threads must be an int, got {type(n).__name__}")
    if n > MAX_THREADS:
        raise ValueError(f"num_threads must be <= {MAX_THREADS}, got {n}")
    _core.set_num_threads(max(int(n), 0))


def threads(num_threads: Optional[int]) -> int:
    """A call's ``num_threads=`` argument as the core takes it (0: the global setting)."""
    if num_threads is None:
        return 0
    return check_int(num_threads, "num_threads", minimum=1, maximum=MAX_THREADS)


def release_memory() -> int:
    """Free the core's per-thread scratch memory that no call is using now.

    Each thread that ran a core call keeps its workspace (FFT frames, spectrogram and
    median buffers) for the next call. A workspace larger than the high-water mark
    (``TIMBREFAST_WORKSPACE_MB``, default 64 MiB per thread) is freed when its call ends;
    this frees the smaller ones too and returns free heap memory to the operating system
    (glibc ``malloc_trim``). Safe at any time, also while other threads are inside core
    calls (their workspaces are left alone). The next call re-grows what it needs.

    Returns
    -------
    int
        Bytes of workspace freed.

    Examples
    --------
    >>> from timbrefast import release_memory
    >>> release_memory() >= 0
    True
    """
    return int(_core.release_memory())
