"""MIDI to CAMIL piano-roll segments, and the audio windows aligned with them.

CAMIL (Sawada) cuts every pitched track into two-measure segments of 84 pitches (C1-B7,
MIDI 24-107) × 192 steps. The paper states "24 steps per measure" but also that a 4/4
bar is a 96 × 84 matrix and a two-measure segment 84 × 192, so its grid is 24 steps per
*quarter note* (96 per 4/4 measure); that is what :func:`piano_roll` uses
(``steps_per_beat=24``, ``beats=8``). The grid runs in MIDI ticks from tick 0, so tempo
changes move the segment boundaries in seconds exactly as they move the music; every
piece is cut into 8-quarter-note segments whatever its time signature.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .audio import _check_index, _check_rate, _float_audio
from .synth import _midi_name, load_midi

__all__ = ["PianoRollSegments", "piano_roll", "audio_segment", "PITCH_MIN", "N_PITCHES"]

PITCH_MIN = 24  # C1
N_PITCHES = 84  # C1..B7
_MAX_ROLL_CELLS = 2**30  # 4 GiB of float32: far beyond any song at a musical resolution


@dataclass(frozen=True)
class PianoRollSegments:
    """Piano-roll segments of a MIDI file.

    Attributes
    ----------
    rolls : np.ndarray, float32, shape (n_segments, n_pitches, steps)
        Normalised velocity of the sounding notes (0 where silent); row 0 is ``pitch_min``.
    starts, ends : np.ndarray, float64, shape (n_segments,)
        Time in seconds of each segment's first and one-past-last step (from the tempo map).
    """

    rolls: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    def __len__(self) -> int:
        return int(self.rolls.shape[0])

    def nonempty(self) -> np.ndarray:
        """Indices of the segments that hold at least one note."""
        return np.flatnonzero(self.rolls.reshape(len(self), -1).max(axis=1) > 0)


def piano_roll(
    midi,
    *,
    steps_per_beat: int = 24,
    beats: int = 8,
    pitch_min: int = PITCH_MIN,
    n_pitches: int = N_PITCHES,
    velocity: str = "max",
    drop_drums: bool = True,
) -> PianoRollSegments:
    """Two-measure piano-roll segments of a MIDI file (CAMIL input).

    Parameters
    ----------
    midi : str, path or pretty_midi.PrettyMIDI
    steps_per_beat : int
        Time steps per quarter note (24 → 96 per 4/4 measure).
    beats : int
        Quarter notes per segment (8 = two 4/4 measures → 192 steps).
    pitch_min, n_pitches : int
        Lowest MIDI pitch and number of rows (24, 84: C1-B7). Notes outside are dropped.
    velocity : {"max", "binary"}
        ``"max"`` divides velocities by the file's largest velocity (values in (0, 1]);
        ``"binary"`` writes 1 for every sounding note.
    drop_drums : bool
        Leave out drum instruments (CAMIL keeps pitched tracks only).

    Returns
    -------
    PianoRollSegments
        ``rolls`` of shape ``(n_segments, n_pitches, steps_per_beat * beats)``; the last
        segment is zero-padded. All instruments of the file are merged (overlapping notes
        keep the louder velocity).

    Raises
    ------
    FileNotFoundError, ValueError
        Missing or unreadable file (named); a file without pitched notes; bad parameters.

    Examples
    --------
    >>> seg = piano_roll("MIDI/S00.mid")            # doctest: +SKIP
    >>> seg.rolls.shape[1:]                         # doctest: +SKIP
    (84, 192)
    """
    for nm, v in (("steps_per_beat", steps_per_beat), ("beats", beats), ("n_pitches", n_pitches)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{nm} must be a positive int, got {v!r}")
    if isinstance(pitch_min, bool) or not isinstance(pitch_min, (int, np.integer)) \
            or not (0 <= pitch_min and pitch_min + n_pitches <= 128):
        raise ValueError(f"pitch_min={pitch_min}, n_pitches={n_pitches} leave the MIDI range 0..127")
    if velocity not in ("max", "binary"):
        raise ValueError(f"velocity must be 'max' or 'binary', got {velocity!r}")
    pm = load_midi(midi)
    name = _midi_name(midi)
    notes = [n for inst in pm.instruments if not (drop_drums and inst.is_drum) for n in inst.notes]
    if not notes:
        raise ValueError(f"MIDI {name} has no pitched notes")
    step_ticks = pm.resolution / float(steps_per_beat)
    seg_steps = int(steps_per_beat * beats)
    starts = _times_to_ticks(pm, [n.start for n in notes]).astype(np.float64) / step_ticks
    ends = _times_to_ticks(pm, [n.end for n in notes]).astype(np.float64) / step_ticks
    s0 = np.round(starts).astype(np.int64)
    s1 = np.maximum(s0 + 1, np.round(ends).astype(np.int64))
    pitch = np.array([n.pitch for n in notes], np.int64)
    vel = np.array([n.velocity for n in notes], np.float32)
    vel = vel / max(float(vel.max()), 1.0) if velocity == "max" else np.ones_like(vel)
    total = int(s1.max())
    n_seg = max(1, -(-total // seg_steps))
    if n_pitches * n_seg * seg_steps > _MAX_ROLL_CELLS:
        raise ValueError(
            f"MIDI {name}: a piano roll of {n_pitches} x {n_seg * seg_steps} cells is too large "
            f"(steps_per_beat={steps_per_beat}); use fewer steps per beat"
        )
    flat = np.zeros((n_pitches, n_seg * seg_steps), np.float32)
    keep = (pitch >= pitch_min) & (pitch < pitch_min + n_pitches) & (vel > 0)
    for p, a, b, v in zip(pitch[keep], s0[keep], s1[keep], vel[keep]):
        row = flat[p - pitch_min, a:b]
        np.maximum(row, v, out=row)
    rolls = flat.reshape(n_pitches, n_seg, seg_steps).transpose(1, 0, 2).copy()
    bounds = np.round(np.arange(n_seg + 1) * seg_steps * step_ticks).astype(np.int64)
    times = _ticks_to_times(pm, bounds)
    return PianoRollSegments(rolls, times[:-1], times[1:])


def _times_to_ticks(pm, times) -> np.ndarray:
    """``pm.time_to_tick`` of every time at once (int64): the nearest tick of pretty_midi's
    tick table (the later one on a tie), extrapolated at the last tempo past its end —
    pretty_midi's own rule, vectorised (one call per note costs more than the roll)."""
    times = np.asarray(times, np.float64)
    table = getattr(pm, "_PrettyMIDI__tick_to_time", None)
    scales = getattr(pm, "_tick_scales", None)
    if table is None or not scales or len(table) == 0:
        return np.array([pm.time_to_tick(float(t)) for t in times], np.int64)
    table = np.asarray(table, np.float64)
    tick = np.searchsorted(table, times, side="left")
    out = np.empty(times.shape, np.int64)
    past = tick == len(table)
    last = len(table) - 1
    out[past] = np.round(last + (times[past] - table[last]) / scales[-1][1]).astype(np.int64)
    t, x = tick[~past], times[~past]
    earlier = (t > 0) & (np.abs(x - table[np.maximum(t - 1, 0)]) < np.abs(x - table[t]))
    out[~past] = np.where(earlier, t - 1, t)
    return out


def _ticks_to_times(pm, ticks: np.ndarray) -> np.ndarray:
    """``pm.tick_to_time`` of each tick, from the tempo map directly: pretty_midi's own
    method builds a table of every tick up to the largest asked for, which for a segment
    boundary past the file's end at a fine resolution (music21 writes 10,080 ticks per
    quarter) costs more than the whole roll. Same arithmetic, so the same floats."""
    scales = getattr(pm, "_tick_scales", None)
    if not scales:
        return np.array([pm.tick_to_time(int(t)) for t in ticks], np.float64)
    starts = np.array([t for t, _ in scales], np.int64)
    rates = np.array([r for _, r in scales], np.float64)
    cum = np.zeros(len(scales))
    for i in range(1, len(scales)):
        cum[i] = cum[i - 1] + rates[i - 1] * float(starts[i] - starts[i - 1])
    i = np.maximum(np.searchsorted(starts, ticks, side="right") - 1, 0)
    return cum[i] + rates[i] * (np.asarray(ticks, np.int64) - starts[i]).astype(np.float64)


def audio_segment(y: np.ndarray, *, sr: int, start: float, end: float,
                  n_samples: Optional[int] = None) -> np.ndarray:
    """The audio between ``start`` and ``end`` seconds (float32), zero-padded or cropped
    to ``n_samples`` when given (the segment always starts at ``start``).

    Examples
    --------
    >>> y = np.arange(16000, dtype=np.float32)
    >>> audio_segment(y, sr=16000, start=0.5, end=0.75).shape
    (4000,)
    >>> float(audio_segment(y, sr=16000, start=0.9, end=1.2, n_samples=3200)[-1])
    0.0
    """
    y = _float_audio(y)
    sr = _check_rate(sr, "sr")
    if y.ndim != 1:
        raise ValueError(f"y must be mono (n,), got shape {y.shape}")
    for nm, v in (("start", start), ("end", end)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"{nm} must be a number of seconds, got {type(v).__name__}")
    if not (np.isfinite(start) and np.isfinite(end) and 0 <= start <= end):
        raise ValueError(f"need 0 <= start <= end, got start={start}, end={end}")
    if n_samples is not None:
        n_samples = _check_index(n_samples, "n_samples", 0)
    a = int(round(start * sr))
    b = int(round(end * sr))
    seg = y[a:b]
    if n_samples is not None:
        seg = seg[:n_samples]
        if len(seg) < n_samples:
            seg = np.pad(seg, (0, n_samples - len(seg)))
    return np.ascontiguousarray(seg, dtype=np.float32)
