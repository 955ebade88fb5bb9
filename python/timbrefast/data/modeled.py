"""Modeled orchestral instruments: source-filter additive synthesis, one prior per instrument.

A soundfont holds one recording (one sample set) of each orchestral instrument, and the
free General MIDI banks share theirs: a model trained on soundfonts learns *that* violin,
not violins. A :class:`ModeledInstrument` is drawn, from a seed, out of a prior over the
physical traits by which an instrument is recognised, so that thousands of different
virtual violins, clarinets or horns exist, none of them a recording:

* a harmonic source whose spectral slope depends on the dynamic (brass brighten when
  loud), with the even harmonics weakened (the clarinet's cylindrical bore below its
  register break) and the fundamental weakened (double reeds);
* fixed resonances (body modes of the bowed strings and their bridge hill, the formants of
  reeds and bores) and a roll-off above a cut-off (tone-hole lattice, bell, hand in the
  horn's bell), evaluated at each harmonic's instantaneous frequency, so vibrato moves the
  harmonics through the resonances as it does on a real violin;
* an attack in which the upper harmonics lag (brass, bowed strings), an onset pitch bend
  (lip-reeds), delayed vibrato, slow pitch and level wander, several detuned reeds
  (the accordion's beating), bow or breath noise and an onset chiff.

Parameters are plain numbers in a frozen dataclass (JSON round-trips through
:meth:`ModeledInstrument.to_dict` / :meth:`~ModeledInstrument.from_dict`);
:func:`random_modeled` draws one from its kind's prior, :func:`render_note` renders a note
with numpy (harmonics below 0.45 ``sr``, amplitudes at 2 ms resolution). The kinds are the
14 instruments of TinySOL, each at its General MIDI program (:data:`MODELED_KINDS`).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._validate import check_int, check_positive
from .families import family_of_program
from .patches import _note_args, _num

__all__ = [
    "MODELED_KINDS",
    "ModeledInstrument",
    "random_modeled",
    "random_modeled_instruments",
    "render_note",
]

_MAX_SECONDS = 60.0
_HOP = 32  # amplitude / frequency control rate: every 32 samples (2 ms at 16 kHz)
_MAX_HARMONICS = 160


@dataclass(frozen=True)
class _Prior:
    """Ranges (lo, hi) of one kind's parameters; resonances as (Hz, bandwidth Hz, gain dB) ranges."""

    program: int
    tilt: Tuple[float, float]            # source slope at mf, dB per octave of harmonic number
    velocity_tilt: Tuple[float, float]   # extra dB/octave from pp (0) to ff (1)
    even_db: Tuple[float, float]
    even_break: Tuple[int, int]
    fundamental_db: Tuple[float, float]
    resonances: Tuple[Tuple[Tuple[float, float], Tuple[float, float], Tuple[float, float]], ...]
    cutoff: Tuple[float, float]
    cutoff_slope: Tuple[float, float]    # dB per octave above the cut-off
    attack: Tuple[float, float]
    harmonic_lag: Tuple[float, float]    # extra attack seconds per octave of harmonic number
    release: Tuple[float, float]
    bend_cents: Tuple[float, float]
    vibrato_rate: Tuple[float, float]
    vibrato_cents: Tuple[float, float]
    vibrato_delay: Tuple[float, float]
    jitter_cents: Tuple[float, float]
    shimmer_db: Tuple[float, float]
    noise_db: Tuple[float, float]
    noise_hz: Tuple[float, float]
    chiff_db: Tuple[float, float]
    reeds: Tuple[int, int] = (1, 1)
    reed_detune: Tuple[float, float] = (0.0, 0.0)

    @property
    def family(self) -> str:
        """The General MIDI family of the program."""
        return family_of_program(self.program)


def _bowed(program: int, a0: float, wood: float, hill: float, cutoff: float) -> _Prior:
    return _Prior(
        program=program, tilt=(-7.0, -4.5), velocity_tilt=(1.0, 3.0),
        even_db=(-2.0, 1.0), even_break=(0, 0), fundamental_db=(-4.0, 3.0),
        resonances=(((a0 * 0.9, a0 * 1.1), (a0 * 0.08, a0 * 0.2), (3.0, 9.0)),
                    ((wood * 0.8, wood * 1.25), (wood * 0.1, wood * 0.3), (3.0, 10.0)),
                    ((wood * 1.8, wood * 2.6), (wood * 0.2, wood * 0.5), (-2.0, 8.0)),
                    ((hill * 0.8, hill * 1.2), (hill * 0.25, hill * 0.5), (5.0, 14.0)),
                    ((hill * 0.45, hill * 0.6), (hill * 0.1, hill * 0.2), (-10.0, -3.0))),
        cutoff=(cutoff * 0.8, cutoff * 1.3), cutoff_slope=(-18.0, -9.0),
        attack=(0.04, 0.18), harmonic_lag=(0.005, 0.03), release=(0.15, 0.6), bend_cents=(-15.0, 5.0),
        vibrato_rate=(4.8, 6.8), vibrato_cents=(8.0, 35.0), vibrato_delay=(0.05, 0.35),
        jitter_cents=(2.0, 8.0), shimmer_db=(0.3, 1.5), noise_db=(-38.0, -22.0),
        noise_hz=(hill * 0.8, hill * 2.0), chiff_db=(-36.0, -20.0))


def _brass(program: int, formant: float, cutoff: float, lag: Tuple[float, float]) -> _Prior:
    return _Prior(
        program=program, tilt=(-12.0, -7.0), velocity_tilt=(5.0, 10.0),
        even_db=(-1.0, 1.0), even_break=(0, 0), fundamental_db=(-3.0, 2.0),
        resonances=(((formant * 0.8, formant * 1.25), (formant * 0.4, formant * 0.9), (4.0, 12.0)),
                    ((formant * 2.2, formant * 3.2), (formant * 0.5, formant * 1.2), (-2.0, 6.0))),
        cutoff=(cutoff * 0.8, cutoff * 1.3), cutoff_slope=(-24.0, -12.0),
        attack=(0.02, 0.08), harmonic_lag=lag, release=(0.08, 0.3), bend_cents=(-60.0, -10.0),
        vibrato_rate=(4.5, 6.0), vibrato_cents=(0.0, 12.0), vibrato_delay=(0.2, 0.6),
        jitter_cents=(1.0, 4.0), shimmer_db=(0.2, 0.8), noise_db=(-45.0, -32.0),
        noise_hz=(formant, formant * 3.0), chiff_db=(-40.0, -26.0))


def _reed(program: int, formants, tilt, even_db, even_break, fundamental_db, cutoff,
          vibrato_cents, noise_db) -> _Prior:
    return _Prior(
        program=program, tilt=tilt, velocity_tilt=(2.0, 5.0),
        even_db=even_db, even_break=even_break, fundamental_db=fundamental_db,
        resonances=formants, cutoff=cutoff, cutoff_slope=(-24.0, -10.0),
        attack=(0.015, 0.06), harmonic_lag=(0.0, 0.01), release=(0.05, 0.2), bend_cents=(-10.0, 5.0),
        vibrato_rate=(4.5, 6.0), vibrato_cents=vibrato_cents, vibrato_delay=(0.15, 0.5),
        jitter_cents=(1.0, 4.0), shimmer_db=(0.2, 0.8), noise_db=noise_db,
        noise_hz=(1500.0, 5000.0), chiff_db=(-42.0, -28.0))


#: The modeled kinds: TinySOL's 14 instruments, each with its GM program (0-based) and family.
MODELED_KINDS: Dict[str, _Prior] = {
    "violin": _bowed(40, 275.0, 480.0, 2600.0, 4500.0),
    "viola": _bowed(41, 225.0, 380.0, 2100.0, 3800.0),
    "cello": _bowed(42, 105.0, 200.0, 1600.0, 3200.0),
    "contrabass": _bowed(43, 60.0, 110.0, 1000.0, 2200.0),
    "trumpet": _brass(56, 1300.0, 3500.0, (0.005, 0.02)),
    "trombone": _brass(57, 550.0, 2200.0, (0.008, 0.025)),
    "tuba": _brass(58, 260.0, 1000.0, (0.01, 0.03)),
    "french horn": _brass(60, 400.0, 1400.0, (0.01, 0.035)),
    "alto saxophone": _reed(65, (((500.0, 800.0), (200.0, 500.0), (4.0, 10.0)),
                                         ((1400.0, 2400.0), (400.0, 900.0), (2.0, 8.0))),
                            (-7.0, -4.0), (-1.0, 1.0), (0, 0), (-2.0, 2.0), (3500.0, 6000.0),
                            (5.0, 25.0), (-36.0, -24.0)),
    "oboe": _reed(68, (((950.0, 1500.0), (200.0, 450.0), (8.0, 15.0)),
                               ((2600.0, 3400.0), (300.0, 700.0), (2.0, 8.0))),
                  (-5.0, -2.5), (-1.0, 1.0), (0, 0), (-14.0, -5.0), (4000.0, 6500.0),
                  (4.0, 18.0), (-40.0, -28.0)),
    "bassoon": _reed(70, (((420.0, 520.0), (100.0, 250.0), (8.0, 15.0)),
                                  ((1050.0, 1300.0), (200.0, 400.0), (3.0, 9.0))),
                     (-7.0, -4.0), (-1.0, 1.0), (0, 0), (-12.0, -4.0), (2500.0, 4000.0),
                     (0.0, 12.0), (-40.0, -28.0)),
    "clarinet": _reed(71, (((1400.0, 1900.0), (500.0, 1200.0), (0.0, 6.0)),
                                   ((2800.0, 3600.0), (600.0, 1400.0), (0.0, 5.0))),
                      (-4.0, -1.5), (-30.0, -15.0), (68, 76), (-4.0, 0.0), (1500.0, 2300.0),
                      (0.0, 4.0), (-46.0, -34.0)),
    "flute": _Prior(
        program=73, tilt=(-20.0, -12.0), velocity_tilt=(3.0, 7.0),
        even_db=(-3.0, 2.0), even_break=(0, 0), fundamental_db=(0.0, 6.0),
        resonances=(((700.0, 1000.0), (300.0, 600.0), (0.0, 4.0)),),
        cutoff=(2500.0, 4500.0), cutoff_slope=(-24.0, -12.0),
        attack=(0.04, 0.12), harmonic_lag=(0.0, 0.015), release=(0.06, 0.25), bend_cents=(-20.0, 10.0),
        vibrato_rate=(4.5, 6.0), vibrato_cents=(8.0, 30.0), vibrato_delay=(0.1, 0.4),
        jitter_cents=(2.0, 6.0), shimmer_db=(0.4, 1.5), noise_db=(-28.0, -14.0),
        noise_hz=(1500.0, 6000.0), chiff_db=(-26.0, -12.0)),
    "accordion": _Prior(
        program=21, tilt=(-5.0, -2.5), velocity_tilt=(1.0, 3.0),
        even_db=(-3.0, 1.0), even_break=(0, 0), fundamental_db=(-3.0, 3.0),
        resonances=(((800.0, 1600.0), (400.0, 900.0), (2.0, 8.0)),
                    ((2500.0, 3500.0), (500.0, 1200.0), (0.0, 6.0))),
        cutoff=(4000.0, 7000.0), cutoff_slope=(-18.0, -8.0),
        attack=(0.01, 0.04), harmonic_lag=(0.0, 0.004), release=(0.03, 0.12), bend_cents=(0.0, 0.0),
        vibrato_rate=(5.0, 6.0), vibrato_cents=(0.0, 0.0), vibrato_delay=(0.0, 0.0),
        jitter_cents=(0.3, 1.5), shimmer_db=(0.2, 0.8), noise_db=(-48.0, -36.0),
        noise_hz=(2000.0, 6000.0), chiff_db=(-45.0, -32.0), reeds=(1, 3), reed_detune=(4.0, 30.0)),
}


@dataclass(frozen=True)
class ModeledInstrument:
    """One virtual instrument of a modeled ``kind`` (see the module docstring for each field).

    Levels in dB, frequencies in Hz, times in seconds; ``resonances`` are
    ``(frequency, bandwidth, gain_db)`` triples; ``even_db`` applies to the even harmonics
    below ``cutoff`` (fading out over the octave above it); ``even_break`` is the MIDI pitch
    from which ``even_db`` fades out over an octave (0: at every pitch).
    """

    name: str
    kind: str
    seed: int
    tilt: float
    velocity_tilt: float
    even_db: float
    even_break: int
    fundamental_db: float
    resonances: Tuple[Tuple[float, float, float], ...]
    cutoff: float
    cutoff_slope: float
    attack: float
    harmonic_lag: float
    release: float
    bend_cents: float
    vibrato_rate: float
    vibrato_cents: float
    vibrato_delay: float
    jitter_cents: float
    shimmer_db: float
    noise_db: float
    noise_hz: float
    chiff_db: float
    reeds: int = 1
    reed_detune: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("ModeledInstrument.name must be a non-empty string")
        if self.kind not in MODELED_KINDS:
            raise ValueError(f"kind must be one of {sorted(MODELED_KINDS)}, got {self.kind!r}")
        check_int(self.seed, "seed", minimum=0)
        _num(self.tilt, "tilt", -40.0, 6.0)
        _num(self.velocity_tilt, "velocity_tilt", 0.0, 24.0)
        _num(self.even_db, "even_db", -60.0, 12.0)
        check_int(self.even_break, "even_break", minimum=0, maximum=127)
        _num(self.fundamental_db, "fundamental_db", -40.0, 20.0)
        res = tuple(tuple(r) for r in self.resonances)
        if len(res) > 16 or any(len(r) != 3 for r in res):
            raise ValueError("resonances must be at most 16 (frequency, bandwidth, gain_db) triples")
        for f, b, g in res:
            _num(f, "resonance frequency", 10.0, 20000.0)
            _num(b, "resonance bandwidth", 1.0, 20000.0)
            _num(g, "resonance gain_db", -40.0, 40.0)
        object.__setattr__(self, "resonances", tuple((float(f), float(b), float(g)) for f, b, g in res))
        _num(self.cutoff, "cutoff", 100.0, 20000.0)
        _num(self.cutoff_slope, "cutoff_slope", -96.0, 0.0)
        _num(self.attack, "attack", 0.001, 2.0)
        _num(self.harmonic_lag, "harmonic_lag", 0.0, 1.0)
        _num(self.release, "release", 0.005, 5.0)
        _num(self.bend_cents, "bend_cents", -1200.0, 1200.0)
        _num(self.vibrato_rate, "vibrato_rate", 0.0, 20.0)
        _num(self.vibrato_cents, "vibrato_cents", 0.0, 200.0)
        _num(self.vibrato_delay, "vibrato_delay", 0.0, 5.0)
        _num(self.jitter_cents, "jitter_cents", 0.0, 100.0)
        _num(self.shimmer_db, "shimmer_db", 0.0, 12.0)
        _num(self.noise_db, "noise_db", -120.0, 0.0)
        _num(self.noise_hz, "noise_hz", 50.0, 20000.0)
        _num(self.chiff_db, "chiff_db", -120.0, 0.0)
        check_int(self.reeds, "reeds", minimum=1, maximum=4)
        _num(self.reed_detune, "reed_detune", 0.0, 100.0)

    @property
    def program(self) -> int:
        """The kind's General MIDI program (0-based)."""
        return MODELED_KINDS[self.kind].program

    @property
    def family(self) -> str:
        """The kind's General MIDI family."""
        return MODELED_KINDS[self.kind].family

    @property
    def default_tail(self) -> float:
        """Seconds rendered after the note-off by default: 1.5 times the release, at most 3 s."""
        return min(self.release * 1.5, 3.0)

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["resonances"] = [list(r) for r in self.resonances]
        return d

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "ModeledInstrument":
        if not isinstance(d, dict):
            raise TypeError(f"expected a dict, got {type(d).__name__}")
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown ModeledInstrument fields: {sorted(unknown)}")
        d = dict(d)
        if "resonances" in d:
            d["resonances"] = tuple(tuple(r) for r in d["resonances"])
        return cls(**d)


def random_modeled(seed: int, kind: str) -> ModeledInstrument:
    """Draw one virtual instrument of ``kind`` from its prior (deterministic in ``seed``)."""
    if kind not in MODELED_KINDS:
        raise ValueError(f"kind must be one of {sorted(MODELED_KINDS)}, got {kind!r}")
    seed = check_int(seed, "seed", minimum=0)
    prior = MODELED_KINDS[kind]
    rng = np.random.default_rng([seed, prior.program, 7711])

    def u(r):
        return float(rng.uniform(r[0], r[1])) if r[1] > r[0] else float(r[0])

    def lu(r):  # log-uniform for positive ranges
        return float(np.exp(rng.uniform(np.log(r[0]), np.log(r[1])))) if r[1] > r[0] else float(r[0])

    res = tuple((lu(f), lu(b), u(g)) for f, b, g in prior.resonances)
    reeds = int(rng.integers(prior.reeds[0], prior.reeds[1] + 1))
    return ModeledInstrument(
        name=f"modeled-{kind.replace(' ', '-')}-{seed}", kind=kind, seed=seed,
        tilt=u(prior.tilt), velocity_tilt=u(prior.velocity_tilt), even_db=u(prior.even_db),
        even_break=int(rng.integers(prior.even_break[0], prior.even_break[1] + 1)),
        fundamental_db=u(prior.fundamental_db), resonances=res, cutoff=lu(prior.cutoff),
        cutoff_slope=u(prior.cutoff_slope), attack=lu(prior.attack), harmonic_lag=u(prior.harmonic_lag),
        release=lu(prior.release), bend_cents=u(prior.bend_cents), vibrato_rate=u(prior.vibrato_rate),
        vibrato_cents=u(prior.vibrato_cents), vibrato_delay=u(prior.vibrato_delay),
        jitter_cents=u(prior.jitter_cents), shimmer_db=u(prior.shimmer_db), noise_db=u(prior.noise_db),
        noise_hz=lu(prior.noise_hz), chiff_db=u(prior.chiff_db), reeds=reeds,
        reed_detune=u(prior.reed_detune) if reeds > 1 else 0.0)


def random_modeled_instruments(n_per_kind: int, *, seed: int = 0,
                               kinds: Optional[Sequence[str]] = None) -> List[ModeledInstrument]:
    """``n_per_kind`` instruments of each kind (seeds ``seed .. seed + n_per_kind - 1``)."""
    n = check_int(n_per_kind, "n_per_kind", minimum=1, maximum=100_000)
    seed = check_int(seed, "seed", minimum=0)
    ks = list(MODELED_KINDS) if kinds is None else list(kinds)
    if not ks or any(k not in MODELED_KINDS for k in ks):
        raise ValueError(f"kinds must be a non-empty subset of {sorted(MODELED_KINDS)}, got {kinds!r}")
    return [random_modeled(seed + i, k) for k in ks for i in range(n)]


def _smooth_noise(rng: np.random.Generator, n: int, step: int) -> np.ndarray:
    """Unit-variance noise, linearly interpolated between values ``step`` samples apart."""
    knots = rng.standard_normal(n // step + 2)
    return np.interp(np.arange(n) / step, np.arange(knots.size), knots)


def _response_db(inst: ModeledInstrument, f: np.ndarray) -> np.ndarray:
    """The resonances and the roll-off above the cut-off, in dB, at frequencies ``f`` (Hz)."""
    out = np.zeros_like(f)
    for fc, bw, g in inst.resonances:
        out += g / (1.0 + ((f - fc) / (0.5 * bw)) ** 2)
    over = np.log2(np.maximum(f, 1.0) / inst.cutoff)
    out += inst.cutoff_slope * np.maximum(over, 0.0)
    return out


def _bandpass_noise(rng: np.random.Generator, n: int, center: float, sr: int) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    lo = max(center / 1.6, 40.0)
    hi = min(center * 1.6, 0.45 * sr)
    x = rng.standard_normal(n)
    if hi <= lo * 1.05:
        return x * 0.0
    sos = butter(2, [lo, hi], btype="bandpass", fs=sr, output="sos")
    impulse = np.zeros(8192)
    impulse[0] = 1.0
    gain = float(np.sqrt(np.sum(sosfilt(sos, impulse) ** 2)))  # the filter's noise gain, not the draw's
    return sosfilt(sos, x) / max(gain, 1e-12)


def render_note(inst: ModeledInstrument, pitch: float, *, velocity: int = 100, duration: float = 1.0,
                sr: int = 16000, tail: Optional[float] = None) -> np.ndarray:
    """Render one note of ``inst``: MIDI ``pitch`` held ``duration`` s at ``velocity`` (1-127).

    Returns float32 ``(n,)``, ``n = sr * (duration + tail)``; ``tail`` defaults to 1.5 times
    the release (at most 3 s). Peak level follows velocity (``0.9 * (velocity/127)**1.5``);
    deterministic for an instrument and note.
    """
    if not isinstance(inst, ModeledInstrument):
        raise TypeError(f"inst must be a ModeledInstrument, got {type(inst).__name__}")
    pitch, velocity, duration, sr = _note_args(pitch, velocity, duration, sr)
    tail = inst.default_tail if tail is None else check_positive(tail, "tail", allow_zero=True)
    if duration + tail > _MAX_SECONDS:
        raise ValueError(f"a note is at most {_MAX_SECONDS} s long (duration + tail), got {duration + tail}")
    n_on = max(int(round(duration * sr)), 1)
    n = n_on + int(round(tail * sr))
    key = [inst.seed, MODELED_KINDS[inst.kind].program, int(round(pitch * 100)), velocity]
    # One generator per component, none seeded by the length: a shorter render (a shorter
    # tail) is the same signal cut earlier (up to its last control block).
    rng_vib, rng_jit, rng_phase, rng_noise, rng_shim = (np.random.default_rng(key + [c]) for c in range(5))
    t = np.arange(n) / sr
    f0 = 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)
    dyn = (velocity - 1) / 126.0  # 0 (pp) .. 1 (ff)

    # Pitch: onset bend, delayed vibrato, slow wander (cents).
    cents = inst.bend_cents * np.exp(-t / 0.04)
    if inst.vibrato_cents > 0 and inst.vibrato_rate > 0:
        ramp = np.clip((t - inst.vibrato_delay) / 0.25, 0.0, 1.0)
        cents = cents + inst.vibrato_cents * ramp * np.sin(2 * np.pi * inst.vibrato_rate * t
                                                           + rng_vib.uniform(0, 2 * np.pi))
    if inst.jitter_cents > 0:
        cents = cents + inst.jitter_cents * _smooth_noise(rng_jit, n, max(int(sr * 0.05), 1))

    # Control-rate grid (every _HOP samples) for the harmonic amplitudes.
    tc = t[::_HOP]
    ctrl = np.arange(0, n, _HOP)
    tilt = inst.tilt + inst.velocity_tilt * (dyn - 0.5)
    max_f = 0.45 * sr
    reeds = [0.0] if inst.reeds == 1 else list(np.linspace(-inst.reed_detune / 2, inst.reed_detune / 2,
                                                           inst.reeds))
    k_max = int(min(_MAX_HARMONICS, max_f / (f0 * 2 ** (max(inst.vibrato_cents, 0) / 1200.0) * 1.02)))
    if k_max < 1:
        raise ValueError(f"pitch {pitch} is above the Nyquist frequency at sr={sr}")
    k = np.arange(1, k_max + 1, dtype=np.float64)[:, None]        # (K, 1)
    octave = np.log2(k)
    onset = 1.0 - np.exp(-tc[None, :] / ((inst.attack + inst.harmonic_lag * octave) / 3.0))  # (K, n_ctrl)
    fade = 1.0 if inst.even_break == 0 else float(np.clip(1.0 - (pitch - inst.even_break) / 12.0, 0, 1))
    w = np.arange(_HOP) / _HOP
    y = np.zeros(n)
    for r_cents in reeds:
        f_inst = f0 * 2.0 ** ((cents + r_cents) / 1200.0)   # (n,)
        z = np.exp(1j * (2 * np.pi * np.cumsum(f_inst) / sr))
        fk = k * f_inst[ctrl][None, :]                                 # (K, n_ctrl) harmonic frequencies
        gain_db = tilt * octave + _response_db(inst, fk)
        gain_db[0] += inst.fundamental_db
        if inst.even_db:
            # Below the cut-off only (a cylindrical bore's odd-harmonic pattern ends at its
            # tone-hole lattice cut-off), fading out over the octave above it.
            above = np.clip(np.log2(np.maximum(fk[1::2], 1.0) / inst.cutoff), 0.0, 1.0)
            gain_db[1::2] += inst.even_db * fade * (1.0 - above)
        amp = 10.0 ** (gain_db / 20.0) * onset
        amp = np.concatenate([amp, amp[:, -1:]], axis=1)             # (K, n_ctrl + 1)
        phases = np.exp(1j * rng_phase.uniform(0, 2 * np.pi, k_max))
        zk = np.ones(n, complex)
        for j in range(k_max):
            zk *= z
            a = (amp[j, :-1, None] * (1 - w) + amp[j, 1:, None] * w).reshape(-1)[:n]
            y += a * (zk.real * phases[j].real - zk.imag * phases[j].imag)
    y /= len(reeds)
    peak_tone = float(np.abs(y[:n_on]).max()) or 1.0  # the held part: the same for any tail

    # Noise: bow or breath noise through the note, an onset chiff.
    if inst.noise_db > -119 or inst.chiff_db > -119:
        nz = _bandpass_noise(rng_noise, n, inst.noise_hz, sr)
        level = 10 ** (inst.noise_db / 20.0) + 10 ** (inst.chiff_db / 20.0) * np.exp(-t / 0.03) * 4.0
        y = y + peak_tone * 0.3 * level * nz

    # Amplitude: attack, level wander, release after the note-off.
    env = 1.0 - np.exp(-t / (inst.attack / 3.0))
    if inst.shimmer_db > 0:
        env = env * 10 ** (inst.shimmer_db * 0.5 * _smooth_noise(rng_shim, n, max(int(sr * 0.08), 1)) / 20.0)
    off = t >= n_on / sr
    env = np.where(off, env * np.exp(-(t - n_on / sr) / (inst.release / 4.0)), env)
    y = y * env
    peak = float(np.abs(y).max())
    if peak > 0:
        y *= 0.9 * (velocity / 127.0) ** 1.5 / peak
    return y.astype(np.float32)
