"""Hand-crafted feature baselines: MFCCs (librosa's definition) and their clip statistics."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .._validate import check_int

__all__ = ["mfcc", "mfcc_stats", "standardise"]


def mfcc(
    y: Any,
    *,
    sr: float = 22050,
    n_mfcc: int = 20,
    n_fft: int = 2048,
    hop_length: int = 512,
    n_mels: int = 128,
    fmin: float = 0.0,
    fmax: Optional[float] = None,
    top_db: Optional[float] = 80.0,
) -> np.ndarray:
    """MFCCs equal to :func:`librosa.feature.mfcc` with its defaults (Slaney mel, ortho DCT-II).

    ``y`` float ``(..., n)`` -> float32 ``(..., n_mfcc, frames)``. The mel spectrogram and the
    dB conversion run in timbrefast's C++ core; ``top_db`` is applied per example (librosa
    applies it over the whole array it is given, which is the same for one clip).
    """
    from scipy.fft import dct

    from .. import melspectrogram, power_to_db

    n_mfcc = check_int(n_mfcc, "n_mfcc", minimum=1)
    n_mels = check_int(n_mels, "n_mels", minimum=1)
    if n_mfcc > n_mels:
        raise ValueError(f"n_mfcc ({n_mfcc}) must be <= n_mels ({n_mels})")
    S = melspectrogram(y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, fmin=fmin, fmax=fmax)
    S_db = power_to_db(S, top_db=top_db)
    return dct(np.asarray(S_db, dtype=np.float32), type=2, axis=-2, norm="ortho")[..., :n_mfcc, :].astype(np.float32)


def mfcc_stats(y: Any, *, sr: float = 16000, n_mfcc: int = 40, n_fft: int = 1024, hop_length: int = 256) -> np.ndarray:
    """The retrieval paper's MFCC-40 baseline before standardisation: mean and standard deviation
    over time of each coefficient, ``(..., n)`` -> ``(..., 2 * n_mfcc)`` float32."""
    m = mfcc(y, sr=sr, n_mfcc=n_mfcc, n_fft=n_fft, hop_length=hop_length)
    return np.concatenate([m.mean(axis=-1), m.std(axis=-1)], axis=-1).astype(np.float32)


def standardise(features: Any, *, reference: Any = None) -> np.ndarray:
    """Zero mean, unit variance per dimension, with statistics of ``reference`` (default: itself).

    ``(n, d)`` -> ``(n, d)`` float32; a constant dimension is centred and left unscaled.
    """
    x = np.asarray(features, dtype=np.float64)
    ref = x if reference is None else np.asarray(reference, dtype=np.float64)
    if x.ndim != 2 or ref.ndim != 2 or ref.shape[1] != x.shape[1]:
        raise ValueError(f"features {x.shape} and reference {ref.shape} must be (n, d) with the same d")
    mu, sd = ref.mean(axis=0), ref.std(axis=0)
    sd[sd == 0] = 1.0
    return ((x - mu) / sd).astype(np.float32)
