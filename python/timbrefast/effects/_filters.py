"""Biquad equalisers: the Audealize 40-band peaking EQ, shelves, tilt, gain, low-pass.

Coefficients follow the Audio EQ Cookbook (R. Bristow-Johnson) exactly as the Web
Audio API's ``BiquadFilterNode`` computes them (``peaking``, ``lowshelf`` with slope
S = 1, ``highshelf``, ``lowpass``); filtering is ``scipy.signal.sosfilt`` along the
last axis in float64, so any leading batch dimensions are processed at once and the
input's dtype (float32 or float64) is returned.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .._validate import check_positive
from ._common import as_audio, check_number, check_sr

__all__ = [
    "AUDEALIZE_FREQS",
    "AUDEALIZE_Q",
    "peaking_sos",
    "low_shelf_sos",
    "high_shelf_sos",
    "lowpass_sos",
    "sosfilt",
    "eq",
    "low_shelf",
    "high_shelf",
    "tilt",
    "gain",
    "lowpass",
    "response_db",
    "graphic_eq_gains",
]

#: The 40 centre frequencies (Hz) of Audealize's graphic EQ.
AUDEALIZE_FREQS = (
    20, 50, 83, 120, 161, 208, 259, 318, 383, 455, 537, 628, 729, 843, 971, 1114, 1273,
    1452, 1652, 1875, 2126, 2406, 2719, 3070, 3462, 3901, 4392, 4941, 5556, 6244, 7014,
    7875, 8839, 9917, 11124, 12474, 13984, 15675, 17566, 19682,
)
#: Audealize's peaking-band quality factor.
AUDEALIZE_Q = 4.31

_IDENTITY = np.array([1.0, 0.0, 0.0, 1.0, 0.0, 0.0])


def _w0(freq: float, sr: float, name: str = "freq") -> float:
    f = check_positive(freq, name)
    return 2.0 * math.pi * f / sr


def _normalise(b0, b1, b2, a0, a1, a2) -> np.ndarray:
    return np.array([b0 / a0, b1 / a0, b2 / a0, 1.0, a1 / a0, a2 / a0])


def peaking_sos(freq: float, gain_db: float, *, sr: float, q: float = AUDEALIZE_Q) -> np.ndarray:
    """One peaking biquad as a (6,) second-order section ``[b0, b1, b2, 1, a1, a2]``.

    Web Audio "peaking": A = 10^(G/40), w0 = 2 pi f / sr, alpha = sin(w0) / (2 Q),
    b = [1 + alpha A, -2 cos w0, 1 - alpha A], a = [1 + alpha / A, -2 cos w0, 1 - alpha / A].
    The magnitude at ``freq`` is exactly ``gain_db``. At or above Nyquist the section is
    the identity (what Web Audio computes once it clamps the frequency to Nyquist).
    """
    sr = check_sr(sr)
    g = check_number(gain_db, "gain_db")
    q = check_positive(q, "q")
    f = check_positive(freq, "freq")
    if f >= sr / 2:
        return _IDENTITY.copy()
    w0 = 2.0 * math.pi * f / sr
    A = 10.0 ** (g / 40.0)
    alpha = math.sin(w0) / (2.0 * q)
    c = -2.0 * math.cos(w0)
    return _normalise(1 + alpha * A, c, 1 - alpha * A, 1 + alpha / A, c, 1 - alpha / A)


def _shelf(freq: float, gain_db: float, sr: float, slope: float, high: bool) -> np.ndarray:
    sr = check_sr(sr)
    g = check_number(gain_db, "gain_db")
    s = check_positive(slope, "slope")
    f = check_positive(freq, "freq")
    if f >= sr / 2:
        # Web Audio: a low shelf at Nyquist is a plain gain A^2, a high shelf the identity.
        return _IDENTITY.copy() if high else np.array([10.0 ** (g / 20.0), 0, 0, 1.0, 0, 0])
    w0 = 2.0 * math.pi * f / sr
    A = 10.0 ** (g / 40.0)
    alpha = math.sin(w0) / 2.0 * math.sqrt((A + 1.0 / A) * (1.0 / s - 1.0) + 2.0)
    cw, k = math.cos(w0), 2.0 * math.sqrt(A) * alpha
    if high:
        return _normalise(
            A * ((A + 1) + (A - 1) * cw + k),
            -2 * A * ((A - 1) + (A + 1) * cw),
            A * ((A + 1) + (A - 1) * cw - k),
            (A + 1) - (A - 1) * cw + k,
            2 * ((A - 1) - (A + 1) * cw),
            (A + 1) - (A - 1) * cw - k,
        )
    return _normalise(
        A * ((A + 1) - (A - 1) * cw + k),
        2 * A * ((A - 1) - (A + 1) * cw),
        A * ((A + 1) - (A - 1) * cw - k),
        (A + 1) + (A - 1) * cw + k,
        -2 * ((A - 1) + (A + 1) * cw),
        (A + 1) + (A - 1) * cw - k,
    )


def low_shelf_sos(freq: float, gain_db: float, *, sr: float, slope: float = 1.0) -> np.ndarray:
    """Web Audio "lowshelf" section (Cookbook, shelf slope S; Web Audio uses S = 1):
    ``gain_db`` below ``freq``, 0 dB above, half the gain (in dB) at ``freq``."""
    return _shelf(freq, gain_db, sr, slope, high=False)


def high_shelf_sos(freq: float, gain_db: float, *, sr: float, slope: float = 1.0) -> np.ndarray:
    """Web Audio "highshelf" section: ``gain_db`` above ``freq``, 0 dB below."""
    return _shelf(freq, gain_db, sr, slope, high=True)


def lowpass_sos(freq: float, *, sr: float, q: float = 1.0 / math.sqrt(2.0)) -> np.ndarray:
    """Cookbook second-order low-pass (Butterworth with the default Q = 1/sqrt 2);
    the identity at or above Nyquist."""
    sr = check_sr(sr)
    q = check_positive(q, "q")
    f = check_positive(freq, "freq")
    if f >= sr / 2:
        return _IDENTITY.copy()
    w0 = 2.0 * math.pi * f / sr
    alpha = math.sin(w0) / (2.0 * q)
    cw = math.cos(w0)
    return _normalise((1 - cw) / 2, 1 - cw, (1 - cw) / 2, 1 + alpha, -2 * cw, 1 - alpha)


def sosfilt(sos: np.ndarray, y: Any) -> np.ndarray:
    """Apply second-order sections (n_sections, 6) along the last axis of ``y``
    (..., n_samples); float64 inside, the input's dtype out."""
    from scipy import signal

    x = as_audio(y)
    sos = np.asarray(sos, dtype=np.float64)
    if sos.ndim != 2 or sos.shape[1] != 6:
        raise ValueError(f"sos must have shape (n_sections, 6), got {sos.shape}")
    if sos.shape[0] == 0:
        return x.copy()
    out = signal.sosfilt(sos, x.astype(np.float64, copy=False), axis=-1)
    return out.astype(x.dtype, copy=False)


def _eq_sos(gains_db: Any, freqs: Sequence[float], q: float, sr: float) -> np.ndarray:
    g = np.asarray(gains_db, dtype=np.float64)
    f = np.asarray(freqs, dtype=np.float64)
    if f.ndim != 1 or f.size == 0:
        raise ValueError(f"freqs must be a non-empty 1-D sequence of Hz, got shape {f.shape}")
    if g.shape != f.shape:
        raise ValueError(f"gains_db must have one gain per band: shape {f.shape}, got {g.shape}")
    if not np.isfinite(g).all():
        raise ValueError("gains_db contains NaN or Inf")
    if not (np.isfinite(f).all() and (f > 0).all()):
        raise ValueError("freqs must be positive and finite")
    rows = [peaking_sos(fi, gi, sr=sr, q=q) for fi, gi in zip(f, g) if gi != 0.0 and fi < sr / 2]
    return np.array(rows).reshape(-1, 6)


def eq(
    y: Any,
    *,
    sr: float,
    gains_db: Any,
    freqs: Sequence[float] = AUDEALIZE_FREQS,
    q: float = AUDEALIZE_Q,
) -> np.ndarray:
    """Graphic EQ: a cascade of peaking biquads, one per band (Audealize's EQ).

    y: (..., n_samples) float32/float64 audio; gains_db: (n_bands,) gain of each band in
    dB (Audealize: the descriptor's curve times the strength); freqs: (n_bands,) centre
    frequencies in Hz (default the 40 Audealize bands); q: quality factor of every band.
    Bands at or above Nyquist (sr / 2) are skipped: Web Audio clamps them to Nyquist,
    where a peaking filter is the identity. Bands of exactly 0 dB are identities too and
    are skipped. Returns an array of y's shape and dtype.
    """
    sr = check_sr(sr)
    q = check_positive(q, "q")
    x = as_audio(y)
    return sosfilt(_eq_sos(gains_db, freqs, q, sr), x)


def low_shelf(y: Any, *, sr: float, freq: float, gain_db: float, slope: float = 1.0) -> np.ndarray:
    """Low-shelf EQ: ``gain_db`` (dB) below ``freq`` (Hz). y: (..., n_samples)."""
    return sosfilt(low_shelf_sos(freq, gain_db, sr=sr, slope=slope)[None], y)


def high_shelf(y: Any, *, sr: float, freq: float, gain_db: float, slope: float = 1.0) -> np.ndarray:
    """High-shelf EQ: ``gain_db`` (dB) above ``freq`` (Hz). y: (..., n_samples)."""
    return sosfilt(high_shelf_sos(freq, gain_db, sr=sr, slope=slope)[None], y)


def tilt(y: Any, *, sr: float, gain_db: float, pivot: float = 1000.0) -> np.ndarray:
    """Spectral tilt around ``pivot`` Hz: a low shelf of -gain_db/2 and a high shelf of
    +gain_db/2 (both at the pivot), so the highs end ``gain_db`` above the lows:
    positive is brighter, negative darker. y: (..., n_samples)."""
    g = check_number(gain_db, "gain_db")
    sos = np.stack([low_shelf_sos(pivot, -g / 2, sr=sr), high_shelf_sos(pivot, g / 2, sr=sr)])
    return sosfilt(sos, y)


def gain(y: Any, *, gain_db: float) -> np.ndarray:
    """Broadband gain in dB. y: (..., n_samples), same shape and dtype out."""
    x = as_audio(y)
    g = check_number(gain_db, "gain_db")
    return (x.astype(np.float64) * 10.0 ** (g / 20.0)).astype(x.dtype, copy=False)


def lowpass(y: Any, *, sr: float, freq: float, q: float = 1.0 / math.sqrt(2.0)) -> np.ndarray:
    """Second-order low-pass at ``freq`` Hz. y: (..., n_samples)."""
    return sosfilt(lowpass_sos(freq, sr=sr, q=q)[None], y)


def response_db(gains_db: Any, at: Any, *, sr: float, freqs: Sequence[float] = AUDEALIZE_FREQS, q: float = AUDEALIZE_Q) -> np.ndarray:
    """Magnitude (dB) of the :func:`eq` cascade with ``gains_db`` at the frequencies ``at``
    (Hz): the sum over bands of each biquad's closed-form |H(e^jw)| in dB."""
    sr = check_sr(sr)
    q = check_positive(q, "q")
    sos = _eq_sos(gains_db, freqs, q, sr)
    at = np.asarray(at, dtype=np.float64)
    if sos.shape[0] == 0:
        return np.zeros(at.shape)
    w = 2.0 * np.pi * at.reshape(-1)[:, None] / sr
    c1, c2 = np.cos(w), np.cos(2 * w)
    b0, b1, b2, _, a1, a2 = (sos[:, k][None, :] for k in range(6))
    num = b0**2 + b1**2 + b2**2 + 2 * (b0 * b1 + b1 * b2) * c1 + 2 * b0 * b2 * c2
    den = 1.0 + a1**2 + a2**2 + 2 * (a1 + a1 * a2) * c1 + 2 * a2 * c2
    return (10.0 * np.log10(num / den)).sum(axis=1).reshape(at.shape)


def graphic_eq_gains(
    target_db: Any,
    *,
    sr: float = 48000.0,
    freqs: Sequence[float] = AUDEALIZE_FREQS,
    q: float = AUDEALIZE_Q,
    iterations: int = 60,
) -> np.ndarray:
    """Band gains (dB) whose :func:`eq` response passes through ``target_db`` (n_bands,)
    at the band centres. Neighbouring peaking bands of a graphic EQ overlap (at Q 4.31
    a band's skirt adds to its neighbours'), so a target curve is not its own gains;
    this iterates g <- g + 0.5 (target - response(g)) from g = target / 3."""
    sr = check_sr(sr)
    t = np.asarray(target_db, dtype=np.float64)
    f = np.asarray(freqs, dtype=np.float64)
    if t.shape != f.shape or not np.isfinite(t).all():
        raise ValueError(f"target_db must be finite with one value per band ({f.shape}), got {t.shape}")
    inside = f < sr / 2
    g = t / 3.0
    g[~inside] = 0.0
    for _ in range(int(iterations)):
        g[inside] += 0.5 * (t[inside] - response_db(g, f[inside], sr=sr, freqs=freqs, q=q))
    return g
