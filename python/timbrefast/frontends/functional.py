"""The librosa-equal frontend functions: :func:`stft`, :func:`mel_filters`,
:func:`melspectrogram`, :func:`hpss` and :func:`power_to_db`.

Every function takes librosa's parameter names and defaults (keyword-only), accepts any
number of leading batch dimensions, and returns the kind of object it was given: numpy
in -> numpy out, torch tensor in -> tensor out (CPU tensors run on the C++ core). All
computation is float32; float64 input is converted, integer PCM is refused (scale it
first, e.g. ``y.astype(np.float32) / 32768``). The GIL is released and the batch is split
over threads: the global :func:`timbrefast.set_num_threads` or ``num_threads=`` per call.

Batched semantics that librosa does not define: ``power_to_db(ref="max")`` and the
``top_db`` clipping are per example, i.e. over the last two axes, so that a batch gives
the same result as its items one by one.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Optional, Sequence, Tuple, Union

import numpy as np

from .._backends import cpu, is_tensor
from .._validate import (check_bool, check_float32, check_int, check_positive, from_numpy_like, to_numpy_float32,
                         warn_not_differentiable)
from ._params import (MAX_KERNEL, mel_bank, pair, refuse_cuda, signal_2d, stft_params, threads, wants_grad,
                      window_array)
from .config import mel_config
from .frontend import Frontend

__all__ = ["stft", "mel_filters", "melspectrogram", "hpss", "power_to_db"]


# --------------------------------------------------------------------------- stft


def stft(
    y: Any,
    *,
    n_fft: int = 2048,
    hop_length: Optional[int] = None,
    win_length: Optional[int] = None,
    window: Any = "hann",
    center: bool = True,
    pad_mode: str = "constant",
    num_threads: Optional[int] = None,
) -> Any:
    """Short-time Fourier transform, equal to :func:`librosa.stft`.

    Parameters
    ----------
    y : np.ndarray or torch.Tensor, shape (..., n)
        Audio, float32 (float64 is converted). Any leading batch dimensions.
    n_fft : int
        FFT size, a power of two (2 ... 2**20). Other sizes raise ValueError.
    hop_length : int, optional
        Samples between frames; default ``win_length // 4``.
    win_length : int, optional
        Window length (<= n_fft), centred in the frame; default ``n_fft``.
    window : str or array
        "hann" (periodic, as scipy's ``fftbins=True``), "hamming", "blackman", "boxcar",
        or an array of ``win_length`` samples.
    center : bool
        Pad ``n_fft // 2`` samples on both sides so that frame t is centred at
        ``t * hop_length``. Then any length >= 1 works: a signal shorter than a frame gives
        ``1 + n // hop_length`` frames of the padded signal (librosa warns, we do not).
        With ``center=False`` a signal shorter than ``n_fft`` raises ValueError.
    pad_mode : str
        "constant" (zeros), "edge", "reflect" or "symmetric" (numpy.pad's meanings).
    num_threads : int, optional
        Threads for this call (default: :func:`timbrefast.get_num_threads`).

    Returns
    -------
    complex64 array or tensor, shape (..., 1 + n_fft // 2, frames)

    Examples
    --------
    >>> import numpy as np, timbrefast
    >>> y = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    >>> timbrefast.stft(y, n_fft=1024, hop_length=160, win_length=400).shape
    (513, 101)
    """
    refuse_cuda(y, "stft")
    warn_not_differentiable(y, "stft")
    n_fft, hop, win, center, pad_mode = stft_params(n_fft, hop_length, win_length, window, center, pad_mode)
    y2, lead, like = signal_2d(y)
    out = cpu.stft(y2, n_fft=n_fft, hop=hop, window=win, center=center, pad_mode=pad_mode,
                   threads=threads(num_threads))
    return from_numpy_like(out.reshape(lead + out.shape[1:]), like)


# --------------------------------------------------------------------------- mel


def mel_filters(
    *,
    sr: float,
    n_fft: int,
    n_mels: int = 128,
    fmin: float = 0.0,
    fmax: Optional[float] = None,
    htk: bool = False,
    norm: Any = "slaney",
) -> np.ndarray:
    """Mel filterbank, equal to :func:`librosa.filters.mel` (float32).

    Parameters
    ----------
    sr : float
        Sample rate in Hz.
    n_fft : int
        FFT size (any size >= 2: the bank only needs bin frequencies).
    n_mels : int
        Number of bands (1 ... 16384).
    fmin, fmax : float
        Lowest and highest frequency in Hz; ``fmax=None`` means ``sr / 2``.
    htk : bool
        HTK's mel formula instead of Slaney's.
    norm : "slaney", None or float
        Slaney's area normalisation, none, or scaling each band to unit p-norm.

    Returns
    -------
    np.ndarray, shape (n_mels, 1 + n_fft // 2), float32

    Examples
    --------
    >>> import timbrefast
    >>> timbrefast.mel_filters(sr=16000, n_fft=1024, n_mels=64, fmin=60, fmax=7800).shape
    (64, 513)
    """
    return mel_bank(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm)


def melspectrogram(
    y: Any = None,
    *,
    sr: float = 22050,
    S: Any = None,
    n_fft: int = 2048,
    hop_length: int = 512,
    win_length: Optional[int] = None,
    window: Any = "hann",
    center: bool = True,
    pad_mode: str = "constant",
    power: float = 2.0,
    n_mels: int = 128,
    fmin: float = 0.0,
    fmax: Optional[float] = None,
    htk: bool = False,
    norm: Any = "slaney",
    num_threads: Optional[int] = None,
) -> Any:
    """Mel spectrogram, equal to :func:`librosa.feature.melspectrogram`.

    From a waveform ``y`` the STFT, ``|X|**power`` and the (sparse) mel projection run fused
    in C++ without a complex intermediate. From a spectrogram ``S`` (shape
    ``(..., 1 + n_fft // 2, frames)``) only the projection runs and ``n_fft`` is inferred from
    ``S`` like librosa does.

    Parameters
    ----------
    y : array or tensor, shape (..., n), optional
        Audio; exactly one of ``y`` and ``S``.
    sr : float
        Sample rate in Hz.
    S : array or tensor, shape (..., 1 + n_fft // 2, frames), optional
        A (power) spectrogram.
    n_fft, hop_length, win_length, window, center, pad_mode
        As in :func:`stft`.
    power : float
        Exponent of the magnitude (2: power, 1: magnitude).
    n_mels, fmin, fmax, htk, norm
        As in :func:`mel_filters`.
    num_threads : int, optional
        Threads for this call.

    Returns
    -------
    float32 array or tensor, shape (..., n_mels, frames)

    Examples
    --------
    >>> import numpy as np, timbrefast
    >>> y = np.zeros((2, 16000), np.float32)
    >>> timbrefast.melspectrogram(y, sr=16000, n_fft=1024, hop_length=160, n_mels=64).shape
    (2, 64, 101)
    """
    if (y is None) == (S is None):
        raise ValueError("pass exactly one of y (audio) and S (spectrogram)")
    n_threads = threads(num_threads)
    if S is not None:
        refuse_cuda(S, "melspectrogram")
        if wants_grad(S):
            from .._backends import torch_ops

            if S.is_complex():
                raise TypeError("S must be a real (power) spectrogram, got a complex tensor")
            if S.dim() < 2 or S.shape[-2] < 2:
                raise ValueError(f"S must have at least 2 frequency bins, got shape {tuple(S.shape)}")
            w = mel_filters(sr=sr, n_fft=2 * (S.shape[-2] - 1), n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk,
                            norm=norm)
            return torch_ops.mel_project(S, w, n_threads)
        s_arr, like = to_numpy_float32(S, "S", min_ndim=2)
        n_fft_s = 2 * (s_arr.shape[-2] - 1)
        if n_fft_s < 2:
            raise ValueError(f"S must have at least 2 frequency bins, got shape {s_arr.shape}")
        w = mel_filters(sr=sr, n_fft=n_fft_s, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm)
        lead = s_arr.shape[:-2]
        out = cpu.mel_project(s_arr.reshape((-1,) + s_arr.shape[-2:]), w, n_threads)
        return from_numpy_like(out.reshape(lead + out.shape[1:]), like)
    cfg = mel_config(
        sr=sr, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
        window=window if isinstance(window, str) else "hann", center=center, pad_mode=pad_mode, power=power,
        n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm,
    )
    custom = None if isinstance(window, str) else window_array(window, cfg.win_length or cfg.n_fft, cfg.n_fft)
    out = Frontend(cfg, _window=custom)(y, num_threads=num_threads)
    # Frontend returns (..., 1, n_mels, frames): drop the channel axis.
    return out[..., 0, :, :]


# --------------------------------------------------------------------------- hpss


def hpss(
    S: Any,
    *,
    kernel_size: Union[int, Sequence[int]] = 31,
    power: float = 2.0,
    mask: bool = False,
    margin: Union[float, Sequence[float]] = 1.0,
    num_threads: Optional[int] = None,
) -> Tuple[Any, Any]:
    """Harmonic/percussive separation, equal to :func:`librosa.decompose.hpss`.

    Median filters of ``|S|`` along time (harmonic, ``kernel_size[0]``) and frequency
    (percussive, ``kernel_size[1]``) with scipy's reflect extension, then soft masks as
    :func:`librosa.util.softmask` (0.5 where both medians are below the smallest normal
    float when both margins are 1, else 0). ``power=np.inf`` gives hard masks.

    Parameters
    ----------
    S : array or tensor, shape (..., bins, frames)
        Complex STFT or a non-negative magnitude/power spectrogram.
    kernel_size : int or (int, int)
        Median window lengths (harmonic, percussive), >= 1.
    power : float
        Soft-mask exponent (> 0, or inf).
    mask : bool
        Return the masks instead of the separated spectrograms.
    margin : float or (float, float)
        Margins (>= 1) of the harmonic and percussive masks.
    num_threads : int, optional
        Threads for this call.

    Returns
    -------
    (H, P) : same type, dtype (complex64 or float32) and shape as S; or the two float32 masks.

    Examples
    --------
    >>> import numpy as np, timbrefast
    >>> D = timbrefast.stft(np.random.default_rng(0).standard_normal(8000).astype(np.float32), n_fft=512)
    >>> H, P = timbrefast.hpss(D)
    >>> H.shape == D.shape
    True
    """
    refuse_cuda(S, "hpss")
    mask = check_bool(mask, "mask")
    kh, kp = pair(kernel_size, "kernel_size")
    kh = check_int(kh, "kernel_size (harmonic)", minimum=1, maximum=MAX_KERNEL)
    kp = check_int(kp, "kernel_size (percussive)", minimum=1, maximum=MAX_KERNEL)
    mh, mp = pair(margin, "margin")
    mh = check_positive(mh, "margin (harmonic)")
    mp = check_positive(mp, "margin (percussive)")
    if mh < 1 or mp < 1:
        raise ValueError(f"margins must be >= 1, got ({mh}, {mp})")
    if isinstance(power, bool) or not isinstance(power, (int, float, np.integer, np.floating)):
        raise TypeError(f"power must be a number, got {type(power).__name__}")
    power = float(power)
    if not (power > 0):
        raise ValueError(f"power must be > 0 (or inf), got {power}")
    if wants_grad(S):
        return _hpss_grad(S, (kh, kp), power, (mh, mp), mask, threads(num_threads))
    s_arr, like = to_numpy_float32(S, "S", min_ndim=2, allow_complex=True)
    if np.iscomplexobj(s_arr):
        mag = np.abs(s_arr)
    else:
        if (s_arr < 0).any():
            raise ValueError("a real S must be non-negative (a magnitude or power spectrogram); pass the complex STFT otherwise")
        mag = s_arr
    shape = s_arr.shape
    m3 = np.ascontiguousarray(mag.reshape((-1,) + shape[-2:]), dtype=np.float32)
    mask_h, mask_p = cpu.hpss_masks(m3, kernel_size=(kh, kp), power=power, margin=(mh, mp),
                                    threads=threads(num_threads))
    mask_h = mask_h.reshape(shape)
    mask_p = mask_p.reshape(shape)
    if mask:
        return from_numpy_like(mask_h, like), from_numpy_like(mask_p, like)
    return from_numpy_like(s_arr * mask_h, like), from_numpy_like(s_arr * mask_p, like)


def _hpss_grad(S: Any, kernel_size: Tuple[int, int], power: float, margin: Tuple[float, float], mask: bool,
               n_threads: int) -> Tuple[Any, Any]:
    """hpss of a tensor that requires grad: the masks through the C++ forward and backward, the
    products in torch (the gradient of ``S * mask`` reaches ``S`` both directly and through ``|S|``)."""
    import torch  # loaded: S is a tensor

    if S.dim() < 2:
        raise ValueError(f"S must have at least 2 dimensions, got shape {tuple(S.shape)}")
    if S.dtype in (torch.float16, torch.bfloat16):
        raise TypeError(f"S: {S.dtype} is not supported, convert to float32 (x.float())")
    s32 = S.to(torch.complex64) if S.is_complex() else S.to(torch.float32)
    if S.is_complex():
        mag = s32.abs()
    else:
        if bool((s32.detach() < 0).any()):
            raise ValueError("a real S must be non-negative (a magnitude or power spectrogram); pass the complex STFT otherwise")
        mag = s32
    if not bool(torch.isfinite(mag.detach()).all()):
        raise ValueError("S contains non-finite value(s) (NaN or Inf)")
    from .._backends import torch_ops

    mask_h, mask_p = torch_ops.hpss_masks(mag, kernel_size=kernel_size, power=power, margin=margin,
                                          threads=n_threads)
    if mask:
        return mask_h, mask_p
    return s32 * mask_h, s32 * mask_p


# --------------------------------------------------------------------------- dB


def _is_max_ref(ref: Any) -> bool:
    return (isinstance(ref, str) and ref == "max") or ref is np.max or ref is np.amax


def power_to_db(
    S: Any,
    *,
    ref: Union[float, str, Callable[[np.ndarray], Any]] = 1.0,
    amin: float = 1e-10,
    top_db: Optional[float] = 80.0,
    num_threads: Optional[int] = None,
) -> Any:
    """Power spectrogram to decibels, as :func:`librosa.power_to_db`, per example.

    ``10 * log10(max(amin, S)) - 10 * log10(max(amin, |ref|))``, then values below
    ``max - top_db`` are raised to it. An example is the last two axes (the whole array
    when ``S`` is 1-D): ``ref="max"`` (or ``np.max``) uses each example's maximum, another
    callable is applied to each example, and ``top_db`` clips relative to each example's
    maximum. For a single 1-D/2-D input this is exactly librosa; a batch equals its items
    one by one. An all-silent example becomes all zeros with ``ref="max"``.

    Parameters
    ----------
    S : array or tensor, shape (..., n_mels, frames), real
        Power (non-negative). Complex input raises TypeError (pass ``np.abs(D) ** 2``).
    ref : float, "max" or callable
        Reference power.
    amin : float
        Floor (> 0) inside the logarithm.
    top_db : float or None
        Dynamic range kept below each example's maximum (>= 0), or no clipping.
    num_threads : int, optional
        Threads for this call.

    Returns
    -------
    float32 array or tensor, same shape as S, in dB.

    Examples
    --------
    >>> import numpy as np, timbrefast
    >>> timbrefast.power_to_db(np.array([[1.0, 0.1, 0.0]], np.float32), ref="max")
    array([[  0., -10., -80.]], dtype=float32)
    """
    refuse_cuda(S, "power_to_db")
    if is_tensor(S) and S.dtype.is_complex or (isinstance(S, np.ndarray) and np.iscomplexobj(S)):
        raise TypeError("power_to_db needs a real power spectrogram; pass np.abs(D) ** 2 for a complex STFT")
    amin = check_float32(check_positive(amin, "amin"), "amin", positive=True)
    if top_db is not None:
        top_db = check_positive(top_db, "top_db", allow_zero=True)
    if wants_grad(S):
        return _power_to_db_grad(S, ref, amin, top_db, threads(num_threads))
    s_arr, like = to_numpy_float32(S, "S", min_ndim=1)
    shape = s_arr.shape
    per = int(np.prod(shape[-2:])) if s_arr.ndim >= 2 else shape[-1]
    flat = s_arr.reshape(-1, per)
    n_threads = threads(num_threads)
    if _is_max_ref(ref):
        out = cpu.scale_db(flat, ref_max=True, ref=1.0, amin=amin, top_db=top_db, threads=n_threads)
    elif callable(ref):
        rows = []
        for row in flat:
            value = _ref_value(ref(row.reshape(shape[-2:] if s_arr.ndim >= 2 else shape)), "the value of ref(S)")
            rows.append(cpu.scale_db(row[None], ref_max=False, ref=value, amin=amin, top_db=top_db,
                                     threads=n_threads)[0])
        out = np.stack(rows)
    else:
        if isinstance(ref, bool) or not isinstance(ref, (int, float, np.integer, np.floating)):
            raise TypeError(f"ref must be a number, 'max' or a callable, got {type(ref).__name__}")
        out = cpu.scale_db(flat, ref_max=False, ref=_ref_value(ref, "ref"), amin=amin, top_db=top_db,
                           threads=n_threads)
    return from_numpy_like(out.reshape(shape), like)


def _power_to_db_grad(S: Any, ref: Any, amin: float, top_db: Optional[float], n_threads: int) -> Any:
    """power_to_db of a tensor that requires grad (C++ forward and backward). ``ref="max"``
    differentiates through each example's maximum; a callable ``ref`` is evaluated on the
    detached example and then acts as a constant reference."""
    import torch  # loaded: S is a tensor

    from .._backends import torch_ops

    if S.dim() < 1 or S.numel() == 0:
        raise ValueError(f"S must be a non-empty array, got shape {tuple(S.shape)}")
    if S.dtype in (torch.float16, torch.bfloat16):
        raise TypeError(f"S: {S.dtype} is not supported, convert to float32 (x.float())")
    if not bool(torch.isfinite(S.detach()).all()):
        raise ValueError("S contains non-finite value(s) (NaN or Inf)")
    shape = tuple(S.shape)
    per = int(np.prod(shape[-2:])) if S.dim() >= 2 else shape[-1]
    kw = dict(per=per, amin=amin, top_db=top_db, threads=n_threads)
    if _is_max_ref(ref):
        return torch_ops.power_to_db(S, ref_max=True, ref=1.0, **kw)
    if callable(ref):
        flat = S.reshape(-1, per)
        example = shape[-2:] if S.dim() >= 2 else shape
        rows = []
        for row in flat:
            value = _ref_value(ref(row.detach().cpu().numpy().astype(np.float32).reshape(example)),
                               "the value of ref(S)")
            rows.append(torch_ops.power_to_db(row[None], ref_max=False, ref=value, **kw)[0])
        return torch.stack(rows).reshape(shape)
    if isinstance(ref, bool) or not isinstance(ref, (int, float, np.integer, np.floating)):
        raise TypeError(f"ref must be a number, 'max' or a callable, got {type(ref).__name__}")
    return torch_ops.power_to_db(S, ref_max=False, ref=_ref_value(ref, "ref"), **kw)


def _ref_value(value: Any, name: str) -> float:
    """A dB reference as the kernel uses it: one finite real number within float32's range."""
    arr = np.asarray(value)
    if arr.size != 1 or arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be one real number, got {arr.dtype} of shape {arr.shape}")
    v = float(arr.reshape(()))
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    return check_float32(v, name)
