"""Audio augmentations and calibration negatives for contrastive training pairs.

Everything is deterministic in the generator it is given (numpy in, numpy out; no torch):

* :class:`Augment` / :func:`augment_waveform` — gain, spectral tilt (EQ), reverb and light
  noise on a waveform, each with a probability and a strength. Every random number is
  drawn whether or not its augmentation applies, so switching one on leaves the draws of
  the others unchanged.
* :func:`stretch_frames` — pitch-preserving tempo jitter on a spectrogram: the frame axis
  is resampled by a rate (linear interpolation between frames; the frequency axis is
  untouched, so pitch and timbre stay, only the tempo changes). It works on cached
  features, so it can be drawn afresh at every training step.
* :func:`calibration_clips` — silence, near-silence and noise clips at several levels, the
  negatives that teach a coherence model not to reward a candidate that says nothing.

Reverb is :func:`timbrefast.effects.reverb` (the Rafii-Pardo reverberator). It is a
linear time-invariant filter, so :class:`ReverbBank` renders its impulse response once
per room and applies it by FFT convolution: the same output up to the truncated tail
(:data:`REVERB_IR_SECONDS`), about 100 times faster than running the comb filters again.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._validate import check_int, check_positive

__all__ = ["Augment", "CALIBRATION_KINDS", "ReverbBank", "augment_waveform", "calibration_clips", "stretch_frames"]

#: Length of the reverb impulse responses (seconds); the longest room has RT60 1.2 s, so
#: the truncated tail is at least 75 dB down.
REVERB_IR_SECONDS = 1.5
#: RT60 range (seconds) and comb delay range of the rooms of a :class:`ReverbBank`.
REVERB_RT60 = (0.25, 1.2)
REVERB_DELAY = (0.02, 0.05)


def _unit(value: float, name: str) -> float:
    value = check_positive(value, name, allow_zero=True)
    if value > 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value:g}")
    return float(value)


@dataclasses.dataclass(frozen=True)
class Augment:
    """Waveform augmentations, each applied with its probability ``*_p`` (all 0: off).

    Parameters
    ----------
    gain_p, gain_db : float
        Gain drawn uniformly in ``[-gain_db, +gain_db]`` dB.
    tilt_p, tilt_db : float
        Spectral tilt (:func:`timbrefast.effects.tilt`, pivot 1 kHz) drawn uniformly in
        ``[-tilt_db, +tilt_db]`` dB (highs relative to lows).
    reverb_p, reverb_wet : float
        Reverb of a room drawn from a :class:`ReverbBank` with a wet share drawn uniformly
        in ``[0.1, reverb_wet]`` (equal-power wet/dry mix).
    noise_p, noise_snr_db : float
        White Gaussian noise at a signal-to-noise ratio drawn uniformly in
        ``[noise_snr_db, noise_snr_db + 20]`` dB (relative to the clip's RMS; a silent clip
        stays silent).
    """

    gain_p: float = 0.0
    gain_db: float = 6.0
    tilt_p: float = 0.0
    tilt_db: float = 6.0
    reverb_p: float = 0.0
    reverb_wet: float = 0.4
    noise_p: float = 0.0
    noise_snr_db: float = 30.0

    def __post_init__(self) -> None:
        for name in ("gain_p", "tilt_p", "reverb_p", "noise_p"):
            _unit(getattr(self, name), name)
        check_positive(self.gain_db, "gain_db", allow_zero=True)
        check_positive(self.tilt_db, "tilt_db", allow_zero=True)
        if not 0.1 <= float(self.reverb_wet) <= 1.0:
            raise ValueError(f"reverb_wet must be in [0.1, 1], got {self.reverb_wet!r}")
        if not (isinstance(self.noise_snr_db, (int, float)) and math.isfinite(self.noise_snr_db)):
            raise ValueError(f"noise_snr_db must be a finite number of dB, got {self.noise_snr_db!r}")

    @property
    def active(self) -> bool:
        """True when any augmentation can apply."""
        return any(getattr(self, n) > 0 for n in ("gain_p", "tilt_p", "reverb_p", "noise_p"))


class ReverbBank:
    """``rooms`` reverb impulse responses of :func:`timbrefast.effects.reverb`, seeded.

    Room ``k``: comb delay uniform in :data:`REVERB_DELAY`, RT60 uniform in
    :data:`REVERB_RT60` (comb gain ``g = 0.001 ** (d / RT60)``), low-pass 4-10 kHz (below
    Nyquist), fully wet, mono; :data:`REVERB_IR_SECONDS` long. ``apply(y, room, wet)``
    equals ``reverb(y, ..., wet=wet, channels=1)`` up to the truncated tail.
    """

    def __init__(self, *, sr: int, rooms: int = 8, seed: int = 0) -> None:
        from ..effects import reverb

        self.sr = check_int(sr, "sr", minimum=1000)
        rooms = check_int(rooms, "rooms", minimum=1, maximum=256)
        rng = np.random.default_rng([check_int(seed, "seed", minimum=0), 0x4EB])
        n = int(round(REVERB_IR_SECONDS * self.sr))
        impulse = np.zeros(n, np.float64)
        impulse[0] = 1.0
        self.rooms: List[Dict[str, float]] = []
        irs = []
        for _ in range(rooms):
            d = float(rng.uniform(*REVERB_DELAY))
            rt60 = float(rng.uniform(*REVERB_RT60))
            f = float(min(rng.uniform(4000.0, 10000.0), 0.45 * self.sr))
            room = {"d": d, "g": float(0.001 ** (d / rt60)), "f": f}
            self.rooms.append({**room, "rt60": rt60})
            irs.append(reverb(impulse, sr=self.sr, wet=1.0, channels=1, **room))
        self.irs = np.stack(irs)  # wet=1: cos(pi/2) of dry signal, i.e. the wet path alone

    def __len__(self) -> int:
        return len(self.rooms)

    def apply(self, y: np.ndarray, room: int, wet: float) -> np.ndarray:
        """Reverberate ``y`` (``(n,)`` or ``(..., n)``) in room ``room`` with wet share ``wet``
        in [0, 1] (equal-power: dry ``cos(wet·π/2)``, wet ``sin(wet·π/2)``, as the effect)."""
        from scipy.signal import fftconvolve

        y = np.asarray(y)
        wet = float(wet)
        dry_gain, wet_gain = math.cos(wet * math.pi / 2), math.sin(wet * math.pi / 2)
        ir = self.irs[int(room)]
        out = fftconvolve(y.astype(np.float64), ir.reshape((1,) * (y.ndim - 1) + (-1,)), axes=-1)[..., : y.shape[-1]]
        return (dry_gain * y + wet_gain * out).astype(y.dtype, copy=False)


def augment_waveform(y: np.ndarray, *, sr: int, rng: np.random.Generator, config: Augment,
                     reverb_bank: Optional[ReverbBank] = None) -> np.ndarray:
    """Apply ``config`` to the float32 waveform ``y`` (``(n,)``) with draws from ``rng``:
    tilt, then reverb, then gain, then noise. Returns float32 ``(n,)``; the input is not
    changed. ``reverb_bank`` is needed when ``config.reverb_p > 0``."""
    from ..effects import tilt

    y = np.asarray(y, dtype=np.float32)
    # fixed order of draws: one set per augmentation, applied or not
    u = rng.random(4)
    tilt_db = float(rng.uniform(-config.tilt_db, config.tilt_db))
    room = int(rng.integers(0, 1 << 30))
    wet = float(rng.uniform(0.1, config.reverb_wet))
    gain_db = float(rng.uniform(-config.gain_db, config.gain_db))
    snr = float(rng.uniform(config.noise_snr_db, config.noise_snr_db + 20.0))
    noise_seed = int(rng.integers(0, 2**63 - 1))
    out = y
    if u[0] < config.tilt_p and tilt_db != 0.0:
        out = tilt(out, sr=sr, gain_db=tilt_db).astype(np.float32)
    if u[1] < config.reverb_p:
        if reverb_bank is None:
            raise ValueError("augment_waveform: reverb_p > 0 needs a reverb_bank (ReverbBank)")
        out = reverb_bank.apply(out, room % len(reverb_bank), wet).astype(np.float32)
    if u[2] < config.gain_p:
        out = (out * np.float32(10.0 ** (gain_db / 20.0))).astype(np.float32)
    if u[3] < config.noise_p:
        rms = float(np.sqrt(np.mean(np.square(out, dtype=np.float64)))) if out.size else 0.0
        if rms > 0:
            noise = np.random.default_rng(noise_seed).standard_normal(out.shape)
            out = (out + rms * 10.0 ** (-snr / 20.0) * noise).astype(np.float32)
    return out if out is not y else y.copy()


def stretch_frames(x: np.ndarray, rate: float, *, fill: float = -80.0) -> np.ndarray:
    """Pitch-preserving tempo change of spectrogram frames: output frame ``j`` is input
    frame ``j * rate`` (linear interpolation), so ``rate > 1`` plays faster. Frames past
    the input's end are ``fill`` (the "cocola" frontend's silence value, -80 dB).

    x: ``(..., frames)`` float array; returns the same shape and dtype.
    """
    x = np.asarray(x)
    if not (isinstance(rate, (int, float, np.floating)) and math.isfinite(rate) and rate > 0):
        raise ValueError(f"rate must be a positive number, got {rate!r}")
    n = x.shape[-1]
    pos = np.arange(n, dtype=np.float64) * float(rate)
    lo = np.floor(pos).astype(np.int64)
    frac = (pos - lo).astype(np.float32)
    inside = lo < n - 1
    lo_c = np.minimum(lo, n - 1)
    hi_c = np.minimum(lo + 1, n - 1)
    xf = x.astype(np.float32, copy=False)
    out = xf[..., lo_c] * (1.0 - frac) + xf[..., hi_c] * frac
    exact_last = lo == n - 1  # the last input frame itself (rate 1, or landing on it)
    out = np.where(inside | exact_last, out, np.float32(fill))
    return out.astype(x.dtype, copy=False)


#: Kinds of :func:`calibration_clips`, in the order they cycle.
CALIBRATION_KINDS: Tuple[str, ...] = ("silence", "near_silence", "white", "pink", "brown")
#: Levels (dBFS RMS) the noise kinds cycle through; near-silence is at -70 dBFS.
CALIBRATION_LEVELS_DB: Tuple[float, ...] = (-50.0, -40.0, -30.0, -20.0, -10.0)
NEAR_SILENCE_DB = -70.0


def _coloured(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Gaussian noise with power spectrum ``1 / f ** exponent`` (0 white, 1 pink, 2 brown)."""
    white = rng.standard_normal(n)
    if exponent == 0:
        return white
    spec = np.fft.rfft(white)
    f = np.arange(spec.shape[0], dtype=np.float64)
    f[0] = 1.0
    return np.fft.irfft(spec / f ** (exponent / 2.0), n)


def calibration_clips(n: int, *, samples: int, seed: int = 0,
                      kinds: Sequence[str] = CALIBRATION_KINDS) -> Tuple[np.ndarray, List[Dict[str, object]]]:
    """``n`` calibration clips (float32 ``(n, samples)``) and what each one is.

    Clip ``j`` is of kind ``kinds[j % len(kinds)]``: digital silence, near-silence (white
    noise at -70 dBFS RMS) or white / pink / brown noise at a level cycling through
    :data:`CALIBRATION_LEVELS_DB`. A −40 dB copy of a real accompaniment is not among
    them: the "cocola" features are dB relative to each window's maximum, so such a copy
    has the features of the original and cannot be told from it by the model — it is
    the level gate's job (:mod:`timbrefast.scorers.gate`, flag ``"quiet"``).
    """
    n = check_int(n, "n", minimum=1, maximum=1_000_000)
    samples = check_int(samples, "samples", minimum=1)
    kinds = tuple(kinds)
    unknown = [k for k in kinds if k not in CALIBRATION_KINDS]
    if not kinds or unknown:
        raise ValueError(f"kinds must be a non-empty subset of {CALIBRATION_KINDS}, got {list(kinds)}")
    out = np.zeros((n, samples), np.float32)
    info: List[Dict[str, object]] = []
    exponents = {"white": 0.0, "pink": 1.0, "brown": 2.0, "near_silence": 0.0}
    for j in range(n):
        kind = kinds[j % len(kinds)]
        if kind == "silence":
            info.append({"kind": kind, "level_db": None})
            continue
        level = NEAR_SILENCE_DB if kind == "near_silence" else \
            CALIBRATION_LEVELS_DB[(j // len(kinds)) % len(CALIBRATION_LEVELS_DB)]
        y = _coloured(np.random.default_rng([check_int(seed, "seed", minimum=0), 0xCA1, j]), samples, exponents[kind])
        y *= 10.0 ** (level / 20.0) / max(float(np.sqrt(np.mean(y * y))), 1e-12)
        out[j] = y
        info.append({"kind": kind, "level_db": float(level)})
    return out, info
