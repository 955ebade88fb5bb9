"""Parameter checks shared by the frontend functions, FrontendConfig and Frontend (one
rule each): FFT sizes, windows, pad modes, mel norms, pairs, and the dense mel bank."""
from __future__ import annotations

import math
from typing import Any, Optional, Tuple

import numpy as np

from .._backends import cpu, is_tensor, threads
from .._validate import check_bool, check_int, check_positive, to_numpy_float32

__all__ = ["check_n_fft", "stft_params", "window_array", "signal_2d", "mel_norm", "mel_bank", "pair",
           "refuse_cuda", "threads", "MAX_FFT", "MAX_MELS", "MAX_KERNEL", "WINDOWS", "PAD_MODES"]

MAX_FFT = 1 << 20
MAX_MELS = 1 << 14
MAX_KERNEL = 1 << 15
WINDOWS = ("hann", "hanning", "hamming", "blackman", "boxcar", "rectangular", "ones", "rect")
PAD_MODES = ("constant", "edge", "reflect", "symmetric")

def refuse_cuda(x: Any, fn: str) -> None:
    if is_tensor(x) and x.is_cuda:
        raise TypeError(
            f"timbrefast.{fn}: CUDA tensors are not supported by this function yet; "
            "call it on a CPU tensor (x.cpu()) or a numpy array"
        )


def wants_grad(x: Any) -> bool:
    """True for a tensor that requires grad while grad mode is on: the differentiable path."""
    if not (is_tensor(x) and x.requires_grad):
        return False
    import torch  # loaded: x is a tensor

    return bool(torch.is_grad_enabled())


def check_n_fft(n_fft: Any) -> int:
    n = check_int(n_fft, "n_fft", minimum=2, maximum=MAX_FFT)
    if n & (n - 1):
        raise ValueError(
            f"n_fft must be a power of two (timbrefast's FFT supports 2, 4, ..., {MAX_FFT}), got {n}"
        )
    return n


def stft_params(
    n_fft: Any, hop_length: Any, win_length: Any, window: Any, center: Any, pad_mode: Any
) -> Tuple[int, int, np.ndarray, bool, str]:
    n_fft = check_n_fft(n_fft)
    win_length = n_fft if win_length is None else check_int(win_length, "win_length", minimum=1)
    if win_length > n_fft:
        raise ValueError(f"win_length={win_length} must be <= n_fft={n_fft}")
    hop_length = win_length // 4 if hop_length is None else hop_length
    hop_length = check_int(hop_length, "hop_length", minimum=1)
    center = check_bool(center, "center")
    if not isinstance(pad_mode, str) or pad_mode not in PAD_MODES:
        raise ValueError(f"pad_mode must be one of {PAD_MODES}, got {pad_mode!r}")
    return n_fft, hop_length, window_array(window, win_length, n_fft), bool(center), pad_mode


def window_array(window: Any, win_length: int, n_fft: int) -> np.ndarray:
    """The analysis window of win_length samples centred in n_fft samples (float32)."""
    if isinstance(window, tuple) and len(window) == 1:
        window = window[0]
    if isinstance(window, str):
        if window not in WINDOWS:
            raise ValueError(f"window must be one of {WINDOWS} or an array of win_length samples, got {window!r}")
        return cpu.window(window, win_length, n_fft)
    w = np.asarray(window)
    if w.ndim != 1 or w.dtype.kind not in "fiu":
        raise ValueError(f"window must be a name or a 1-D real array, got shape {w.shape} dtype {w.dtype}")
    if w.shape[0] != win_length:
        raise ValueError(f"window has {w.shape[0]} samples, expected win_length={win_length}")
    if not np.all(np.isfinite(w)):
        raise ValueError("window contains non-finite values")
    # Checked in float32, the precision the kernels use: 1e39 is finite in float64 only.
    with np.errstate(over="ignore"):
        w32 = w.astype(np.float32)
    if not np.all(np.isfinite(w32)):
        raise ValueError(
            f"window values must lie within the float32 range (|w| <= {np.finfo(np.float32).max:.4g}), "
            f"got max |w| = {float(np.max(np.abs(w.astype(np.float64)))):.4g}"
        )
    out = np.zeros(n_fft, dtype=np.float32)
    lpad = (n_fft - win_length) // 2
    out[lpad : lpad + win_length] = w32
    return out


def signal_2d(y: Any, name: str = "y") -> Tuple[np.ndarray, Tuple[int, ...], Any]:
    """(batch, n) float32 view of y, its leading shape, and the like-token."""
    arr, like = to_numpy_float32(y, name, min_ndim=1)
    lead = tuple(arr.shape[:-1])
    return arr.reshape(-1, arr.shape[-1]), lead, like


def mel_norm(norm: Any) -> Tuple[bool, Optional[float]]:
    """(slaney, p) for librosa's norm argument: "slaney", None or a p-norm order."""
    if norm is None:
        return False, None
    if isinstance(norm, str):
        if norm != "slaney":
            raise ValueError(f"norm must be 'slaney', None or a number, got {norm!r}")
        return True, None
    if isinstance(norm, bool) or not isinstance(norm, (int, float, np.integer, np.floating)):
        raise TypeError(f"norm must be 'slaney', None or a number, got {type(norm).__name__}")
    p = float(norm)
    if not (p > 0):
        raise ValueError(f"a numeric norm must be > 0 (or inf), got {norm}")
    return False, p


def pair(value: Any, name: str) -> Tuple[Any, Any]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be a number or a pair (harmonic, percussive), got {value!r}")
        return value[0], value[1]
    return value, value


def mel_bank(
    *,
    sr: float,
    n_fft: int,
    n_mels: int = 128,
    fmin: float = 0.0,
    fmax: Optional[float] = None,
    htk: bool = False,
    norm: Any = "slaney",
) -> np.ndarray:
    """The validated dense mel bank of :func:`timbrefast.mel_filters` (float32)."""
    sr = check_positive(sr, "sr")
    n_fft = check_int(n_fft, "n_fft", minimum=2, maximum=MAX_FFT)
    n_mels = check_int(n_mels, "n_mels", minimum=1, maximum=MAX_MELS)
    fmin = check_positive(fmin, "fmin", allow_zero=True)
    fmax = sr / 2.0 if fmax is None else check_positive(fmax, "fmax")
    if fmax <= fmin:
        raise ValueError(f"fmax={fmax} must be greater than fmin={fmin}")
    htk = check_bool(htk, "htk")
    slaney, p = mel_norm(norm)
    w = cpu.mel_filters(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=bool(htk), slaney_norm=slaney)
    if p is not None:
        length = np.max(np.abs(w), axis=-1, keepdims=True) if math.isinf(p) else (
            np.sum(np.abs(w) ** p, axis=-1, keepdims=True) ** (1.0 / p)
        )
        length = np.where(length < np.finfo(np.float32).tiny, np.float32(1.0), length)
        w = (w / length).astype(np.float32)
    return w


