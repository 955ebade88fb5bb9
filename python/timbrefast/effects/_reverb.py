"""The Rafii-Pardo reverberator (as Audealize implements it) and an RT60 front end.

Signal flow, for a mono input x (every leading dimension is a batch dimension):

* six feedback comb filters in parallel, y[n] = x[n - D_i] + g_i y[n - D_i], with
  D_i = the largest prime <= floor(d (15 - i) / 15 * sr), i = 0..5, and
  g_i = 0.001 ** ((D_i / sr) / rt), rt = d ln(0.001) / ln(g): every comb decays by
  60 dB in the same time rt, and the longest one has gain g (up to the rounding of its
  delay to a prime);
* two all-pass filters (gain 0.1), one per output channel, y[n] = -0.1 x[n] + x[n - D]
  + 0.1 y[n - D], with delays the largest primes <= (mindelay + 6 ms +- m / 2) sr
  (the stereo spread m, in seconds, decorrelates left and right);
* a second-order low-pass at f Hz on each channel (the late reverberation);
* the early path: x delayed by ``mindelay`` (10 ms);
* early/late balance from E >= 0: with h = 1 / (1 + E), early gain cos((1 - h) pi / 8),
  late gain cos(h 3 pi / 8), both scaled by 0.4 / (their sum);
* wet/dry with the equal-power law: dry cos(wet pi / 2), wet sin(wet pi / 2).

The comb and all-pass recursions are run block-wise (a delay of D samples is a one-pole
recursion across blocks of D samples, vectorised over the D positions of a block), so
the cost does not grow with the delay length. No clipping is applied (the effect is
linear in its input); the output has the input's length unless ``tail`` seconds of
decay are asked for.
"""
from __future__ import annotations

import math
from typing import Any, Tuple

import numpy as np

from .._validate import check_int, check_positive
from ._common import as_audio, check_number, check_sr, check_unit
from ._filters import lowpass_sos

__all__ = ["reverb", "reverb_rt60", "reverb_delays", "prev_prime"]

_ALLPASS_GAIN = 0.1
_ALLPASS_DELAY = 0.006  # seconds, added to mindelay


def prev_prime(n: int) -> int:
    """The largest prime <= n (2 for n < 2)."""
    n = int(n)
    while n > 2:
        if n % 2 and all(n % k for k in range(3, int(math.isqrt(n)) + 1, 2)):
            return n
        n -= 1
    return 2


def _check_params(sr, d, g, m, f, E, mindelay) -> Tuple[float, ...]:
    sr = check_sr(sr)
    d = check_positive(d, "d")
    g = check_number(g, "g")
    if not 0.0 < g < 1.0:
        raise ValueError(f"g (comb feedback gain) must be in (0, 1), got {g}")
    m = check_number(m, "m")
    f = check_positive(f, "f")
    E = check_number(E, "E")
    if E < 0:
        raise ValueError(f"E (early/late balance) must be >= 0, got {E}")
    mindelay = check_positive(mindelay, "mindelay", allow_zero=True)
    if d * sr < 2:
        raise ValueError(f"d = {d} s is under 2 samples at sr = {sr}")
    return sr, d, g, m, f, E, mindelay


def reverb_delays(*, sr: float, d: float, g: float, m: float = 0.0, mindelay: float = 0.01) -> dict:
    """The reverberator's integer delays and gains: ``{"comb_delays": [6 ints],
    "comb_gains": [6 floats], "rt": seconds, "allpass_delays": (left, right),
    "early_delay": int}`` (delays in samples)."""
    sr, d, g, m, _, _, mindelay = _check_params(sr, d, g, m, 1.0, 0.0, mindelay)
    rt = d * math.log(0.001) / math.log(g)
    delays = [prev_prime(math.floor(d * (15 - i) / 15 * sr + 1e-9)) for i in range(6)]
    gains = [0.001 ** ((D / sr) / rt) for D in delays]
    da = mindelay + _ALLPASS_DELAY
    ap = tuple(prev_prime(math.floor(max(0.0, da + s * 0.5 * m) * sr + 1e-9)) for s in (1, -1))
    return {
        "comb_delays": delays,
        "comb_gains": gains,
        "rt": rt,
        "allpass_delays": ap,
        "early_delay": int(math.floor(mindelay * sr + 1e-9)),
    }


def _feedback(x: np.ndarray, D: int, b0: float, fb: float) -> np.ndarray:
    """y[n] = b0 x[n] + x[n - D] + fb y[n - D] along the last axis of x (B, N).

    Viewed as blocks of D samples this is a one-pole recursion across blocks,
    Y_k = b0 X_k + X_(k-1) + fb Y_(k-1): a loop over the blocks with vector operations
    when there are few blocks (long delays), ``lfilter`` along the block axis otherwise.
    """
    B, N = x.shape
    K = -(-N // D)
    xb = np.zeros((B, K, D))
    xb.reshape(B, K * D)[:, :N] = x
    if K <= 4096:
        yb = np.empty_like(xb)
        yb[:, 0] = b0 * xb[:, 0]
        for k in range(1, K):
            np.multiply(yb[:, k - 1], fb, out=yb[:, k])
            yb[:, k] += xb[:, k - 1]
            if b0:
                yb[:, k] += b0 * xb[:, k]
    else:
        from scipy import signal

        yb = signal.lfilter([b0, 1.0], [1.0, -fb], xb, axis=1)
    return yb.reshape(B, K * D)[:, :N]


def reverb(
    y: Any,
    *,
    sr: float,
    d: float,
    g: float,
    m: float = 0.0,
    f: float = 8000.0,
    E: float = 1.0,
    wet: float = 1.0,
    channels: int = 2,
    mindelay: float = 0.01,
    tail: float = 0.0,
) -> np.ndarray:
    """Rafii-Pardo reverberator (Audealize's reverb); see the module docstring.

    y: (..., n_samples) mono float32/float64 audio (leading dims are a batch);
    d: comb delay in seconds; g: comb gain in (0, 1) (RT60 = d ln 0.001 / ln g);
    m: stereo spread in seconds; f: low-pass cut-off in Hz; E >= 0: early/late balance;
    wet in [0, 1]: equal-power wet/dry mix; channels: 2 (stereo, shape (..., 2, n)) or
    1 (the mean of the two channels, shape (..., n)); tail: seconds of decay appended.
    Returns the input's dtype.
    """
    x = as_audio(y)
    sr, d, g, m, f, E, mindelay = _check_params(sr, d, g, m, f, E, mindelay)
    wet = check_unit(wet, "wet")
    channels = check_int(channels, "channels", minimum=1, maximum=2)
    tail = check_positive(tail, "tail", allow_zero=True)
    from scipy import signal

    lead = x.shape[:-1]
    xs = x.reshape(-1, x.shape[-1]).astype(np.float64)
    n_tail = int(round(tail * sr))
    if n_tail:
        xs = np.concatenate([xs, np.zeros((xs.shape[0], n_tail))], axis=1)
    N = xs.shape[1]
    p = reverb_delays(sr=sr, d=d, g=g, m=m, mindelay=mindelay)
    combs = np.zeros_like(xs)
    for D, gi in zip(p["comb_delays"], p["comb_gains"]):
        combs += _feedback(xs, D, 0.0, gi)
    lp = lowpass_sos(f, sr=sr)[None]
    early = np.zeros_like(xs)
    De = p["early_delay"]
    early[:, De:] = xs[:, : N - De] if De else xs
    h = 1.0 / (1.0 + E)
    g_early = math.cos((1.0 - h) * math.pi / 8)
    g_late = math.cos(h * 3 * math.pi / 8)
    scale = 0.4 / (g_early + g_late)
    dry_gain, wet_gain = math.cos(wet * math.pi / 2), math.sin(wet * math.pi / 2)
    base = dry_gain * xs
    base += (wet_gain * scale * g_early) * early  # the dry signal and the early path
    outs = []
    for D in p["allpass_delays"]:
        late = signal.sosfilt(lp, _feedback(combs, D, -_ALLPASS_GAIN, _ALLPASS_GAIN), axis=-1)
        late *= wet_gain * scale * g_late
        late += base
        outs.append(late)
    if channels == 1:
        out = 0.5 * (outs[0] + outs[1])
        return out.reshape(lead + (N,)).astype(x.dtype, copy=False)
    out = np.stack(outs, axis=1)
    return out.reshape(lead + (2, N)).astype(x.dtype, copy=False)


def reverb_rt60(
    y: Any,
    *,
    sr: float,
    rt60: float,
    wet: float = 0.3,
    d: float = 0.05,
    m: float = 0.002,
    f: float = 6000.0,
    E: float = 1.0,
    channels: int = 1,
    tail: float = 0.0,
) -> np.ndarray:
    """A reverb set by its decay time: :func:`reverb` with g = 0.001 ** (d / rt60), so
    that the late reverberation decays 60 dB in ``rt60`` seconds; ``wet`` in [0, 1].
    Mono out by default (shape of y); ``channels=2`` gives (..., 2, n)."""
    rt60 = check_positive(rt60, "rt60")
    d = check_positive(d, "d")
    if rt60 <= d:
        raise ValueError(f"rt60 ({rt60} s) must exceed the comb delay d ({d} s)")
    g = 0.001 ** (d / rt60)
    return reverb(y, sr=sr, d=d, g=g, m=m, f=f, E=E, wet=wet, channels=channels, tail=tail)
