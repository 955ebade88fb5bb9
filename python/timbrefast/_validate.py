"""Checks at the API boundary: every public function validates its inputs here
and raises ValueError / TypeError naming the offending shape, dtype or value,
so that nothing reaches the C++ core that could crash it or give silent garbage.
"""
from __future__ import annotations

import math
import sys
from typing import Any, Optional, Tuple

import numpy as np

__all__ = [
    "as_float32_array",
    "check_bool",
    "warn_not_differentiable",
    "check_finite",
    "check_int",
    "check_positive",
    "check_float32",
    "check_temperature",
    "is_tensor",
    "to_numpy_float32",
    "from_numpy_like",
    "require",
    "require_torch",
]


def is_tensor(x: Any) -> bool:
    """True for a ``torch.Tensor``, without importing torch when it is not loaded."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def as_float32_array(
    x: Any,
    name: str,
    *,
    min_ndim: int = 1,
    max_ndim: Optional[int] = None,
    allow_float64: bool = True,
    allow_complex: bool = False,
    finite: bool = True,
) -> np.ndarray:
    """Validate an array-like and return a C-contiguous float32 (or complex64) numpy view/copy.

    Integer audio (int16 PCM and the like) is refused with a TypeError: its scale is
    ambiguous, so the caller must convert it (e.g. ``y.astype(np.float32) / 32768``).
    float64 is accepted and converted to float32 (all kernels run in float32).
    Non-contiguous and negative-stride arrays are copied.
    """
    if is_tensor(x):
        raise TypeError(f"{name}: expected a numpy array here, got a torch tensor")
    if isinstance(x, (list, tuple)):
        x = np.asarray(x)
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array or torch tensor, got {type(x).__name__}")
    kind = x.dtype.kind
    if kind == "c":
        if not allow_complex:
            raise TypeError(f"{name} must be real-valued, got dtype {x.dtype}")
        target = np.complex64
    elif kind == "f":
        if x.dtype == np.float64 and not allow_float64:
            raise TypeError(f"{name} must be float32, got float64")
        if x.dtype == np.float16:
            raise TypeError(f"{name}: float16 is not supported, convert to float32")
        target = np.float32
    elif kind in "iu":
        raise TypeError(
            f"{name} must be floating point, got {x.dtype}; integer PCM audio must be "
            "scaled explicitly, e.g. y.astype(np.float32) / 32768"
        )
    else:
        raise TypeError(f"{name} must be floating point, got dtype {x.dtype}")
    if x.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape {x.shape}")
    if max_ndim is not None and x.ndim > max_ndim:
        raise ValueError(f"{name} must have at most {max_ndim} dimension(s), got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{name} is empty (shape {x.shape})")
    out = np.ascontiguousarray(x, dtype=target)
    if finite:
        check_finite(out, name)
    return out


def check_finite(x: np.ndarray, name: str) -> None:
    """Raise ValueError when ``x`` holds NaN or Inf, with the count and first index."""
    if x.dtype.kind in "fc":
        ok = np.isfinite(x)
        if not ok.all():
            bad = int(ok.size - np.count_nonzero(ok))
            first = tuple(int(i) for i in np.argwhere(~ok)[0])
            raise ValueError(f"{name} contains {bad} non-finite value(s) (NaN or Inf), first at index {first}")


INT32_MAX = 2**31 - 1  # the C++ core takes sizes, hops and counts as 32-bit ints


def check_int(value: Any, name: str, *, minimum: Optional[int] = None, maximum: Optional[int] = None) -> int:
    """Return ``value`` as an int, refusing bools, floats and out-of-range values.

    Without ``maximum`` the bound is :data:`INT32_MAX`, so that no value reaches the C++
    core that its 32-bit parameters cannot hold (pybind11 would refuse it with an
    unreadable "incompatible function arguments").
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    v = int(value)
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    if maximum is None and v > INT32_MAX:
        raise ValueError(f"{name} must be <= {INT32_MAX} (the C++ core's int range), got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {v}")
    return v


def warn_not_differentiable(x: Any, fn: str) -> None:
    """Warn when a tensor that requires grad reaches a non-differentiable function.

    The frontends compute features without a backward: their output is detached from
    ``x``'s graph, which a caller training through the waveform must know (silently
    losing gradients would be garbage). Not warned while torch.compile traces.
    """
    if is_tensor(x) and x.requires_grad:
        import torch

        compiler = getattr(torch, "compiler", None)
        if compiler is not None and getattr(compiler, "is_compiling", lambda: False)():
            return
        import warnings

        warnings.warn(
            f"timbrefast.{fn} is not differentiable: its output is detached from the input's "
            "autograd graph (pass y.detach() to silence this warning)",
            UserWarning,
            stacklevel=3,
        )


def check_bool(value: Any, name: str) -> bool:
    """Return ``value`` as a bool, refusing strings, numbers and other truthy objects
    (``normalize="no"`` must not mean True)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def check_positive(value: Any, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a finite float > 0 (or >= 0 with ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    try:
        v = float(value)
    except OverflowError:  # an int beyond float range (e.g. 10**400)
        raise ValueError(f"{name} must be finite, got an int of {int(value).bit_length()} bits") from None
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'} and finite, got {value}")
    return v


_F32_MAX = float(np.finfo(np.float32).max)


def check_float32(value: Any, name: str, *, positive: bool = False) -> float:
    """Return ``value`` (a finite float) if float32, the precision the kernels use, holds it.

    Refuses values that overflow to inf in float32 (``1e39``) and, with ``positive``, values
    that round to 0 there (``1e-50``): a parameter is checked as it is actually used.
    """
    v = float(value)
    if abs(v) > _F32_MAX:
        raise ValueError(f"{name}={value} is beyond the float32 range (|x| <= {_F32_MAX:.4g}) the kernels use")
    if positive and v > 0 and np.float32(v) == 0:
        raise ValueError(f"{name}={value} rounds to 0 in float32, the precision the kernels use")
    return v


def check_temperature(value: Any, *, float32: bool) -> float:
    """Return a contrastive temperature as a float: finite, > 0 and, for float32 embeddings,
    such that ``1 / temperature`` (the factor the kernels apply) is a finite float32."""
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"temperature must be finite and > 0, got {v}")
    if float32 and 1.0 / v > _F32_MAX:
        raise ValueError(
            f"temperature={v} is too small for float32 embeddings: 1 / temperature = {1.0 / v:.4g} overflows "
            f"float32 (max {_F32_MAX:.4g}); use a larger temperature or float64 embeddings"
        )
    return v


def to_numpy_float32(x: Any, name: str, **kwargs: Any) -> Tuple[np.ndarray, Any]:
    """Accept numpy or a CPU torch tensor; return (float32 numpy array, a like-token).

    The token records what came in so that :func:`from_numpy_like` can hand back the
    same kind of object (numpy in -> numpy out, tensor in -> tensor out, same device).
    """
    if is_tensor(x):
        if x.is_cuda:
            raise TypeError(f"{name} is a CUDA tensor; this path runs on the CPU")
        if x.device.type != "cpu":
            raise TypeError(f"{name} is on device {x.device}; this path runs on CPU tensors (use .cpu())")
        import torch  # already loaded: x is a tensor

        if x.dtype in (torch.float16, torch.bfloat16):
            raise TypeError(f"{name}: {x.dtype} is not supported, convert to float32 (x.float())")
        if x.requires_grad:
            x = x.detach()
        # Lazy conjugate / negative views (``z.conj()``, ``z.conj().imag``) must be materialised
        # before .numpy(), which refuses them.
        arr = x.resolve_conj().resolve_neg().numpy()
        return as_float32_array(arr, name, **kwargs), ("torch", x.device)
    return as_float32_array(x, name, **kwargs), ("numpy", None)


def from_numpy_like(arr: np.ndarray, like: Any) -> Any:
    """Return ``arr`` as the kind of object described by a token from :func:`to_numpy_float32`."""
    kind, device = like
    if kind == "torch":
        import torch

        return torch.from_numpy(np.ascontiguousarray(arr)).to(device)
    return arr


def require(module: str, feature: str, extra: str) -> Any:
    """Import an optional dependency, or raise an ImportError that names the extra.

    ``require("matplotlib", "timbrefast.plot", "plot")`` returns the module, or raises
    ``ImportError: timbrefast.plot needs matplotlib: pip install 'timbrefast[plot]'``.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{feature} needs {module}: pip install 'timbrefast[{extra}]'") from exc


def require_torch(feature: str) -> Any:
    """``import torch`` for ``feature``, or an ImportError naming the ``[torch]`` extra.

    A plain import statement (not importlib), so that code traced by ``torch.compile`` may
    call it: dynamo runs imports eagerly."""
    try:
        import torch
    except ImportError as exc:
        raise ImportError(f"{feature} needs torch: pip install 'timbrefast[torch]'") from exc
    return torch
