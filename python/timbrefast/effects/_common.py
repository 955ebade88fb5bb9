"""Input checks shared by the effects: audio arrays keep their float dtype."""
from __future__ import annotations

from typing import Any

import numpy as np

from .._ops import is_tensor
from .._validate import check_finite, check_positive

__all__ = ["as_audio", "check_sr", "check_number", "check_unit"]


def as_audio(y: Any, name: str = "y") -> np.ndarray:
    """Return ``y`` as a float32 or float64 numpy array of shape (..., n_samples).

    The effects compute in float64 and return the input's dtype (float32 stays float32).
    Integer PCM, complex, empty and non-finite inputs are refused.
    """
    if is_tensor(y):
        raise TypeError(f"{name}: the effects take numpy arrays; pass y.cpu().numpy()")
    if isinstance(y, (list, tuple)):
        y = np.asarray(y, dtype=np.float64)
    if not isinstance(y, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(y).__name__}")
    if y.dtype.kind in "iu":
        raise TypeError(
            f"{name} must be floating point, got {y.dtype}; integer PCM audio must be scaled "
            "explicitly, e.g. y.astype(np.float32) / 32768"
        )
    if y.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64, got dtype {y.dtype}")
    if y.ndim < 1:
        raise ValueError(f"{name} must have at least 1 dimension (..., n_samples), got a scalar")
    if y.size == 0:
        raise ValueError(f"{name} is empty (shape {y.shape})")
    check_finite(y, name)
    return y


def check_sr(sr: Any) -> float:
    """Sampling rate in Hz, a positive finite number."""
    return check_positive(sr, "sr")


def check_number(value: Any, name: str) -> float:
    """A finite real number (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value}")
    return v


def check_unit(value: Any, name: str) -> float:
    """A number in [0, 1]."""
    v = check_number(value, name)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return v
