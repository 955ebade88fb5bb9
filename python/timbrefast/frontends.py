"""Audio frontends: STFT, mel filterbanks, mel spectrograms, HPSS, decibels and fused
presets, computed by the C++ core and equal to librosa.

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

import dataclasses
import math
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from . import _ops
from ._config import JsonConfig
from ._validate import check_bool, check_int, warn_not_differentiable, check_positive, from_numpy_like, to_numpy_float32

__all__ = [
    "stft",
    "mel_filters",
    "melspectrogram",
    "hpss",
    "power_to_db",
    "Frontend",
    "FrontendConfig",
    "PRESETS",
]

_MAX_FFT = 1 << 20
_MAX_MELS = 1 << 14
_MAX_KERNEL = 1 << 15
_WINDOWS = ("hann", "hanning", "hamming", "blackman", "boxcar", "rectangular", "ones", "rect")
_PAD_MODES = ("constant", "edge", "reflect", "symmetric")


# --------------------------------------------------------------------------- helpers


def _core() -> Any:
    return _ops.core


def _threads(num_threads: Optional[int]) -> int:
    if num_threads is None:
        return 0
    return check_int(num_threads, "num_threads", minimum=1, maximum=4096)


def _refuse_cuda(x: Any, fn: str) -> None:
    if _ops.is_tensor(x) and x.is_cuda:
        raise TypeError(
            f"timbrefast.{fn}: CUDA tensors are not supported by this function yet; "
            "call it on a CPU tensor (x.cpu()) or a numpy array"
        )


def _check_n_fft(n_fft: Any) -> int:
    n = check_int(n_fft, "n_fft", minimum=2, maximum=_MAX_FFT)
    if n & (n - 1):
        raise ValueError(
            f"n_fft must be a power of two (timbrefast's FFT supports 2, 4, ..., {_MAX_FFT}), got {n}"
        )
    return n


def _stft_params(
    n_fft: Any, hop_length: Any, win_length: Any, window: Any, center: Any, pad_mode: Any
) -> Tuple[int, int, np.ndarray, bool, str]:
    n_fft = _check_n_fft(n_fft)
    win_length = n_fft if win_length is None else check_int(win_length, "win_length", minimum=1)
    if win_length > n_fft:
        raise ValueError(f"win_length={win_length} must be <= n_fft={n_fft}")
    hop_length = win_length // 4 if hop_length is None else hop_length
    hop_length = check_int(hop_length, "hop_length", minimum=1)
    center = check_bool(center, "center")
    if not isinstance(pad_mode, str) or pad_mode not in _PAD_MODES:
        raise ValueError(f"pad_mode must be one of {_PAD_MODES}, got {pad_mode!r}")
    return n_fft, hop_length, _window_array(window, win_length, n_fft), bool(center), pad_mode


def _window_array(window: Any, win_length: int, n_fft: int) -> np.ndarray:
    """The analysis window of win_length samples centred in n_fft samples (float32)."""
    if isinstance(window, tuple) and len(window) == 1:
        window = window[0]
    if isinstance(window, str):
        if window not in _WINDOWS:
            raise ValueError(f"window must be one of {_WINDOWS} or an array of win_length samples, got {window!r}")
        return _core().window(window, win_length, n_fft)
    w = np.asarray(window)
    if w.ndim != 1 or w.dtype.kind not in "fiu":
        raise ValueError(f"window must be a name or a 1-D real array, got shape {w.shape} dtype {w.dtype}")
    if w.shape[0] != win_length:
        raise ValueError(f"window has {w.shape[0]} samples, expected win_length={win_length}")
    if not np.all(np.isfinite(w)):
        raise ValueError("window contains non-finite values")
    out = np.zeros(n_fft, dtype=np.float32)
    lpad = (n_fft - win_length) // 2
    out[lpad : lpad + win_length] = w.astype(np.float32)
    return out


def _signal_2d(y: Any, name: str = "y") -> Tuple[np.ndarray, Tuple[int, ...], Any]:
    """(batch, n) float32 view of y, its leading shape, and the like-token."""
    arr, like = to_numpy_float32(y, name, min_ndim=1)
    lead = tuple(arr.shape[:-1])
    return arr.reshape(-1, arr.shape[-1]), lead, like


def _mel_norm(norm: Any) -> Tuple[bool, Optional[float]]:
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
    _refuse_cuda(y, "stft")
    warn_not_differentiable(y, "stft")
    n_fft, hop, win, center, pad_mode = _stft_params(n_fft, hop_length, win_length, window, center, pad_mode)
    y2, lead, like = _signal_2d(y)
    out = _core().stft(y2, n_fft, hop, win, center, pad_mode, _threads(num_threads))
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
    sr = check_positive(sr, "sr")
    n_fft = check_int(n_fft, "n_fft", minimum=2, maximum=_MAX_FFT)
    n_mels = check_int(n_mels, "n_mels", minimum=1, maximum=_MAX_MELS)
    fmin = check_positive(fmin, "fmin", allow_zero=True)
    fmax = sr / 2.0 if fmax is None else check_positive(fmax, "fmax")
    if fmax <= fmin:
        raise ValueError(f"fmax={fmax} must be greater than fmin={fmin}")
    htk = check_bool(htk, "htk")
    slaney, p = _mel_norm(norm)
    w = _core().mel_filters(sr, n_fft, n_mels, fmin, fmax, bool(htk), slaney)
    if p is not None:
        length = np.max(np.abs(w), axis=-1, keepdims=True) if math.isinf(p) else (
            np.sum(np.abs(w) ** p, axis=-1, keepdims=True) ** (1.0 / p)
        )
        length = np.where(length < np.finfo(np.float32).tiny, np.float32(1.0), length)
        w = (w / length).astype(np.float32)
    return w


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
    threads = _threads(num_threads)
    if S is not None:
        _refuse_cuda(S, "melspectrogram")
        warn_not_differentiable(S, "melspectrogram")
        s_arr, like = to_numpy_float32(S, "S", min_ndim=2)
        n_fft_s = 2 * (s_arr.shape[-2] - 1)
        if n_fft_s < 2:
            raise ValueError(f"S must have at least 2 frequency bins, got shape {s_arr.shape}")
        w = mel_filters(sr=sr, n_fft=n_fft_s, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm)
        lead = s_arr.shape[:-2]
        out = _core().mel_project(s_arr.reshape((-1,) + s_arr.shape[-2:]), w, threads)
        return from_numpy_like(out.reshape(lead + out.shape[1:]), like)
    cfg = _mel_config(
        sr=sr, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window if isinstance(window, str) else "hann",
        center=center, pad_mode=pad_mode, power=power, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk,
        norm=norm,
    )
    fe = Frontend(cfg)
    if not isinstance(window, str):
        fe._window = _window_array(window, cfg.win_length or cfg.n_fft, cfg.n_fft)
        fe._custom_window = True
    out = fe(y, num_threads=num_threads)
    # Frontend returns (..., 1, n_mels, frames): drop the channel axis.
    return out[..., 0, :, :]


# The parameters of melspectrogram that a FrontendConfig holds (its defaults are librosa's).
_MEL_PARAMS = ("sr", "n_fft", "hop_length", "win_length", "window", "center", "pad_mode", "power", "n_mels",
              "fmin", "fmax", "htk", "norm")


def _mel_config(**params: Any) -> "FrontendConfig":
    """The FrontendConfig of :func:`melspectrogram` (one power channel, no scaling) for its
    keyword parameters (:data:`_MEL_PARAMS`, librosa's names and defaults)."""
    unknown = sorted(set(params) - set(_MEL_PARAMS))
    if unknown:
        raise TypeError(f"unexpected melspectrogram parameter(s) {unknown}; known: {list(_MEL_PARAMS)}")
    return FrontendConfig(**params, hpss=False, scale="none")


# --------------------------------------------------------------------------- hpss


def _pair(value: Any, name: str) -> Tuple[Any, Any]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be a number or a pair (harmonic, percussive), got {value!r}")
        return value[0], value[1]
    return value, value


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
    _refuse_cuda(S, "hpss")
    warn_not_differentiable(S, "hpss")
    mask = check_bool(mask, "mask")
    kh, kp = _pair(kernel_size, "kernel_size")
    kh = check_int(kh, "kernel_size (harmonic)", minimum=1, maximum=_MAX_KERNEL)
    kp = check_int(kp, "kernel_size (percussive)", minimum=1, maximum=_MAX_KERNEL)
    mh, mp = _pair(margin, "margin")
    mh = check_positive(mh, "margin (harmonic)")
    mp = check_positive(mp, "margin (percussive)")
    if mh < 1 or mp < 1:
        raise ValueError(f"margins must be >= 1, got ({mh}, {mp})")
    if isinstance(power, bool) or not isinstance(power, (int, float, np.integer, np.floating)):
        raise TypeError(f"power must be a number, got {type(power).__name__}")
    power = float(power)
    if not (power > 0):
        raise ValueError(f"power must be > 0 (or inf), got {power}")
    s_arr, like = to_numpy_float32(S, "S", min_ndim=2, allow_complex=True)
    if np.iscomplexobj(s_arr):
        mag = np.abs(s_arr)
    else:
        if (s_arr < 0).any():
            raise ValueError("a real S must be non-negative (a magnitude or power spectrogram); pass the complex STFT otherwise")
        mag = s_arr
    shape = s_arr.shape
    m3 = np.ascontiguousarray(mag.reshape((-1,) + shape[-2:]), dtype=np.float32)
    mask_h, mask_p = _core().hpss_masks(m3, kh, kp, power, mh, mp, _threads(num_threads))
    mask_h = mask_h.reshape(shape)
    mask_p = mask_p.reshape(shape)
    if mask:
        return from_numpy_like(mask_h, like), from_numpy_like(mask_p, like)
    return from_numpy_like(s_arr * mask_h, like), from_numpy_like(s_arr * mask_p, like)


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
    _refuse_cuda(S, "power_to_db")
    warn_not_differentiable(S, "power_to_db")
    if _ops.is_tensor(S) and S.dtype.is_complex or (isinstance(S, np.ndarray) and np.iscomplexobj(S)):
        raise TypeError("power_to_db needs a real power spectrogram; pass np.abs(D) ** 2 for a complex STFT")
    amin = check_positive(amin, "amin")
    if top_db is not None:
        top_db = check_positive(top_db, "top_db", allow_zero=True)
    s_arr, like = to_numpy_float32(S, "S", min_ndim=1)
    shape = s_arr.shape
    per = int(np.prod(shape[-2:])) if s_arr.ndim >= 2 else shape[-1]
    flat = s_arr.reshape(-1, per)
    threads = _threads(num_threads)
    if _is_max_ref(ref):
        out = _core().scale(flat, "db", True, 1.0, amin, top_db, 1.0, 1.0, threads)
    elif callable(ref):
        rows = []
        for row in flat:
            value = float(np.asarray(ref(row.reshape(shape[-2:] if s_arr.ndim >= 2 else shape))))
            rows.append(_core().scale(row[None], "db", False, value, amin, top_db, 1.0, 1.0, threads)[0])
        out = np.stack(rows)
    else:
        if isinstance(ref, bool) or not isinstance(ref, (int, float, np.integer, np.floating)):
            raise TypeError(f"ref must be a number, 'max' or a callable, got {type(ref).__name__}")
        if not np.isfinite(ref):
            raise ValueError(f"ref must be finite, got {ref}")
        out = _core().scale(flat, "db", False, float(ref), amin, top_db, 1.0, 1.0, threads)
    return from_numpy_like(out.reshape(shape), like)


# --------------------------------------------------------------------------- presets


@dataclasses.dataclass(frozen=True)
class FrontendConfig(JsonConfig):
    """Configuration of a fused frontend: waveform -> STFT -> (HPSS) -> mel -> scale.

    Frozen; saved and loaded as JSON (:meth:`to_json`, :meth:`from_json`). The defaults are
    librosa's (``melspectrogram`` then ``power_to_db``); :data:`PRESETS` holds the papers'.

    Attributes
    ----------
    sr, n_fft, hop_length, win_length, window, center, pad_mode
        The STFT (see :func:`stft`); ``hop_length=None`` means ``win_length // 4``.
    power : float
        Exponent of the (masked) magnitude fed to the mel bank (2: power, 1: magnitude).
    n_mels, fmin, fmax, htk, norm
        The mel bank (see :func:`mel_filters`).
    hpss : bool
        Two output channels (harmonic, percussive) from :func:`hpss` on the STFT magnitude,
        each ``|mask * |X||**power`` through the mel bank; otherwise one channel.
    kernel_size, mask_power, margin
        HPSS median windows (harmonic, percussive), soft-mask exponent and margins.
    scale : {"db", "log", "none"}
        "db": :func:`power_to_db` with ``ref``, ``amin``, ``top_db`` per channel and example;
        "log": ``ln(clip(x, *log_range))``; "none": the mel values.
    ref : "max" or float
        dB reference ("max" = each channel's maximum of each example).
    """

    _TUPLE_FIELDS = ("kernel_size", "margin", "log_range")

    sr: float = 22050
    n_fft: int = 2048
    hop_length: Optional[int] = 512
    win_length: Optional[int] = None
    window: str = "hann"
    center: bool = True
    pad_mode: str = "constant"
    power: float = 2.0
    n_mels: int = 128
    fmin: float = 0.0
    fmax: Optional[float] = None
    htk: bool = False
    norm: Any = "slaney"
    hpss: bool = False
    kernel_size: Tuple[int, int] = (31, 31)
    mask_power: float = 2.0
    margin: Tuple[float, float] = (1.0, 1.0)
    scale: str = "db"
    ref: Union[str, float] = 1.0
    amin: float = 1e-10
    top_db: Optional[float] = 80.0
    log_range: Tuple[float, float] = (1e-5, 1e8)

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        set_("n_fft", _check_n_fft(self.n_fft))
        if self.win_length is not None:
            set_("win_length", check_int(self.win_length, "win_length", minimum=1, maximum=self.n_fft))
        if self.hop_length is not None:
            set_("hop_length", check_int(self.hop_length, "hop_length", minimum=1))
        set_("sr", check_positive(self.sr, "sr"))
        if not isinstance(self.window, str) or self.window not in _WINDOWS:
            raise ValueError(f"window must be one of {_WINDOWS}, got {self.window!r}")
        for k in ("center", "htk", "hpss"):
            if not isinstance(getattr(self, k), (bool, np.bool_)):
                raise TypeError(f"{k} must be a bool, got {type(getattr(self, k)).__name__}")
            set_(k, bool(getattr(self, k)))
        if self.pad_mode not in _PAD_MODES:
            raise ValueError(f"pad_mode must be one of {_PAD_MODES}, got {self.pad_mode!r}")
        set_("power", check_positive(self.power, "power"))
        set_("n_mels", check_int(self.n_mels, "n_mels", minimum=1, maximum=_MAX_MELS))
        set_("fmin", check_positive(self.fmin, "fmin", allow_zero=True))
        if self.fmax is not None:
            set_("fmax", check_positive(self.fmax, "fmax"))
        if (self.fmax if self.fmax is not None else self.sr / 2) <= self.fmin:
            raise ValueError(f"fmax must be greater than fmin={self.fmin}")
        _mel_norm(self.norm)
        kh, kp = _pair(self.kernel_size, "kernel_size")
        set_("kernel_size", (check_int(kh, "kernel_size", minimum=1, maximum=_MAX_KERNEL),
                             check_int(kp, "kernel_size", minimum=1, maximum=_MAX_KERNEL)))
        mh, mp = _pair(self.margin, "margin")
        mh, mp = check_positive(mh, "margin"), check_positive(mp, "margin")
        if mh < 1 or mp < 1:
            raise ValueError(f"margins must be >= 1, got ({mh}, {mp})")
        set_("margin", (mh, mp))
        mpow = float(self.mask_power)
        if not mpow > 0:
            raise ValueError(f"mask_power must be > 0 (or inf), got {self.mask_power}")
        set_("mask_power", mpow)
        if self.scale not in ("db", "log", "none"):
            raise ValueError(f"scale must be 'db', 'log' or 'none', got {self.scale!r}")
        if not (self.ref == "max" or (isinstance(self.ref, (int, float)) and not isinstance(self.ref, bool)
                                      and math.isfinite(self.ref))):
            raise ValueError(f"ref must be 'max' or a finite number, got {self.ref!r}")
        set_("amin", check_positive(self.amin, "amin"))
        if self.top_db is not None:
            set_("top_db", check_positive(self.top_db, "top_db", allow_zero=True))
        lo, hi = _pair(self.log_range, "log_range")
        lo, hi = check_positive(lo, "log_range[0]"), check_positive(hi, "log_range[1]")
        if hi < lo:
            raise ValueError(f"log_range must be (low, high) with low <= high, got ({lo}, {hi})")
        set_("log_range", (lo, hi))

    # ---- derived values
    @property
    def channels(self) -> int:
        """Output channels: 2 (harmonic, percussive) with HPSS, else 1."""
        return 2 if self.hpss else 1

    def n_frames(self, n_samples: int) -> int:
        """Frames for a signal of n_samples (``ValueError`` if uncentred and too short)."""
        n = check_int(n_samples, "n_samples", minimum=1)
        return int(_core().num_frames(n, self.n_fft, self._hop(), self.center))

    def output_shape(self, n_samples: int) -> Tuple[int, int, int]:
        """(channels, n_mels, frames) for one clip of n_samples."""
        return (self.channels, self.n_mels, self.n_frames(n_samples))

    def _hop(self) -> int:
        return self.hop_length if self.hop_length is not None else (self.win_length or self.n_fft) // 4

    # ---- serialisation: to_dict / from_dict / to_json / from_json from JsonConfig
    def replace(self, **changes: Any) -> "FrontendConfig":
        return dataclasses.replace(self, **changes)

    @classmethod
    def preset(cls, name: str) -> "FrontendConfig":
        if name not in PRESETS:
            raise ValueError(f"unknown frontend preset {name!r}; known: {sorted(PRESETS)}")
        return PRESETS[name]


_COCOLA_STFT = dict(sr=16000, n_fft=1024, hop_length=160, win_length=400, window="hann", center=True,
                    pad_mode="constant")

PRESETS: Dict[str, FrontendConfig] = {
    # COCOLA, harmonic/percussive model: librosa stft -> hpss -> melspectrogram(S=|.|**2)
    # -> power_to_db(ref=np.max), per channel. 80,000 samples -> (2, 64, 501).
    "cocola": FrontendConfig(**_COCOLA_STFT, power=2.0, n_mels=64, fmin=60.0, fmax=7800.0, htk=False,
                             norm="slaney", hpss=True, kernel_size=(31, 31), mask_power=2.0,
                             margin=(1.0, 1.0), scale="db", ref="max", amin=1e-10, top_db=80.0),
    # COCOLA mel-only model: HTK mel without norm, 10 log10(max(x, 1e-10)) -> (1, 64, 501).
    "cocola_mel": FrontendConfig(**_COCOLA_STFT, power=2.0, n_mels=64, fmin=60.0, fmax=7800.0, htk=True,
                                 norm=None, scale="db", ref=1.0, amin=1e-10, top_db=None),
    # CAMIL audio side: window and hop 512, 128 bands; the paper gives no sample rate or
    # scaling: librosa's defaults (22,050 Hz, Slaney mel) and power_to_db(ref=max, top_db=80).
    "camil": FrontendConfig(sr=22050, n_fft=512, hop_length=512, win_length=512, n_mels=128, power=2.0,
                            scale="db", ref="max", top_db=80.0),
    # COLA: 400/160 frames in a 1024 FFT, uncentred, magnitude through a 64-band HTK mel
    # 60-7800 Hz without norm, natural log after clipping to [1e-5, 1e8]. Frames follow
    # librosa's convention (1 + (n - 1024) // 160; 94 for one second).
    "cola": FrontendConfig(sr=16000, n_fft=1024, hop_length=160, win_length=400, center=False, power=1.0,
                           n_mels=64, fmin=60.0, fmax=7800.0, htk=True, norm=None, scale="log",
                           log_range=(1e-5, 1e8)),
    # Timbre retrieval (timbrefast's own model): 64 ms windows, 20 ms hop, 64 Slaney bands
    # 30-8000 Hz, dB relative to each clip's maximum (level-invariant), floor -80 dB.
    # 2 s (32,000 samples) -> (1, 64, 101).
    "timbre": FrontendConfig(sr=16000, n_fft=1024, hop_length=320, win_length=1024, n_mels=64, fmin=30.0,
                             fmax=8000.0, htk=False, norm="slaney", power=2.0, scale="db", ref="max",
                             top_db=80.0),
}


class Frontend:
    """One call from waveform to model input, fused in C++.

    ``Frontend("cocola")(y)`` with ``y`` of shape ``(..., 80000)`` at 16 kHz returns
    ``(..., 2, 64, 501)``: the harmonic and percussive log-mel spectrograms exactly as the
    COCOLA reference computes them with librosa, without any full-size intermediate
    crossing into Python (``|H|**2 = |X|**2 * mask**2``, so no phase is needed).

    Parameters
    ----------
    config : str or FrontendConfig
        A preset name ("cocola", "cocola_mel", "camil", "cola") or a configuration.
    num_threads : int, optional
        Default thread count of this frontend's calls.

    Examples
    --------
    >>> import numpy as np, timbrefast
    >>> fe = timbrefast.Frontend("cocola")
    >>> fe(np.zeros((4, 80000), np.float32)).shape
    (4, 2, 64, 501)
    """

    def __init__(self, config: Union[str, FrontendConfig] = "cocola", *, num_threads: Optional[int] = None):
        if isinstance(config, str):
            config = FrontendConfig.preset(config)
        if not isinstance(config, FrontendConfig):
            raise TypeError(f"config must be a preset name or a FrontendConfig, got {type(config).__name__}")
        self.config = config
        self.num_threads = None if num_threads is None else _threads(num_threads)
        c = config
        win_length = c.win_length or c.n_fft
        self._window = _window_array(c.window, win_length, c.n_fft)
        self._mel = mel_filters(sr=c.sr, n_fft=c.n_fft, n_mels=c.n_mels, fmin=c.fmin, fmax=c.fmax, htk=c.htk,
                                norm=c.norm)
        self._config_json = c.to_json()  # the key of the timbrefast::frontend operator
        self._custom_window = False  # set by melspectrogram for an array window (not in the config)

    def __repr__(self) -> str:
        return f"Frontend({self.config!r})"

    @property
    def mel_filters(self) -> np.ndarray:
        """The mel bank, (n_mels, 1 + n_fft // 2)."""
        return self._mel.copy()

    def output_shape(self, n_samples: int) -> Tuple[int, int, int]:
        """(channels, n_mels, frames) for one clip of n_samples."""
        return self.config.output_shape(n_samples)

    def __call__(self, y: Any, *, num_threads: Optional[int] = None) -> Any:
        """Features of ``y`` (shape ``(..., n)``) -> ``(..., channels, n_mels, frames)``."""
        warn_not_differentiable(y, "Frontend")
        threads = _threads(num_threads) if num_threads is not None else (self.num_threads or 0)
        if _ops.is_tensor(y) and not self._custom_window:
            from . import _torch_library  # timbrefast::frontend, traceable by torch.compile

            if _torch_library.enabled():
                return _torch_library.frontend(self, y, threads)
        return self._compute(y, threads)

    def _compute(self, y: Any, threads: int) -> Any:
        """The eager computation: CUDA tensors on the CUDA kernels, the rest on the C++ core."""
        if _ops.is_tensor(y) and y.is_cuda:
            from ._frontends_cuda import frontend_cuda  # the CUDA kernels (issue 5)

            return frontend_cuda(self, y)
        c = self.config
        y2, lead, like = _signal_2d(y)
        scale_ref_max = c.ref == "max"
        ref = 1.0 if scale_ref_max else float(c.ref)
        out = _core().frontend(
            y2, c.n_fft, c._hop(), self._window, c.center, c.pad_mode, c.power, self._mel, c.hpss,
            c.kernel_size[0], c.kernel_size[1], c.mask_power, c.margin[0], c.margin[1], c.scale,
            scale_ref_max, ref, c.amin, c.top_db, c.log_range[0], c.log_range[1], threads,
        )
        return from_numpy_like(out.reshape(lead + out.shape[1:]), like)
