"""An offline, Slakh-like synthetic set for CAMIL: parts that carry the habits of their
instrument class, rendered with soundfont presets of that class.

Each *part* is one instrument playing 16 quarter notes (two CAMIL segments) of a random
key, mode, chord progression, meter (2/4, 3/4, 4/4, 5/4, 6/8, 12/8) and tempo
(60-180 BPM), written the way its class plays (a random variant per part):

=========  ===========================================================================
Bass       roots on the downbeats with fifths/octaves, walking quarter lines, driving
           eighths; E1-G3 (MIDI 28-55), one note at a time
Piano      two hands: left-hand bass notes or octaves and right-hand chords comping
           on off-beats, broken-chord (Alberti) accompaniments, melody over chords;
           or one staff alone (files often keep each hand on a track): a right-hand
           melody in thirds, sixths and octaves, a left-hand stride or broken chords
Guitar     strummed 4-6 note voicings (onsets spread over a few ms), picked
           arpeggios, palm-muted power chords (root, fifth, octave); E2-E5
Strings    sustained lines and pads: whole/half-note voicings of 3-4 parts spread
           over the ensemble range, slow legato melodies; or one player's part (a
           quartet voice: violin G3-A6, viola C3-G5, cello C2-G4): continuous lines
           without breaths, scale runs, repeated-note accompaniment, string crossings
Organ      held chords for whole bars (legato, no gaps), with or without a pedal
Brass      short chord stabs on off-beats in close section voicing, triadic
           fanfares in dotted rhythms
Pipe       melodic lines, mostly stepwise, C4-C7 (flutes, piccolo, recorder)
Reed       melodic lines, syncopated, leaps and blue notes, A♭2-F5 (sax, clarinet, oboe)
=========  ===========================================================================

Dynamics: a fifth of the parts use one velocity throughout (as many score exports
do), the others a level in [0.35, 1] per 8-quarter-note segment, ramped in a third of
them, so that rolls normalised by the part's loudest note look like real tracks' rolls.

A share ``ambiguity`` of the parts (0.5 by default) plays a texture that other classes
play too — a melody in the class's range, a section pad, short chords — as real tracks
often do; without it a MIDI classifier separates these idioms almost perfectly and the
comparison of the paper's conditions says nothing.

A part's notes become a ``pretty_midi`` instrument (tempo and meter set), its two piano
rolls come from :func:`timbrefast.data.midi.piano_roll` (the path real MIDI takes), and
its audio from :class:`timbrefast.data.synth.Synthesizer` with a random preset of the
class (programs of the class present in the soundfont, the soundfont drawn per part).

Audio alignment (the paper's 128 × 282 mel; its sample rate and tempo mapping are not
stated). The ``"camil"`` frontend (22,050 Hz, n_fft = hop = 512, 128 Slaney bands, dB
with ``ref=max``, 80 dB range) runs on exactly the two measures of each segment (from
the tempo map), and the spectrogram is then *time-stretched* to 282 frames by linear
interpolation along time (:func:`stretch_frames`). So frame ``t`` of every mel always
covers the same musical position as roll steps ``t·192/282`` whatever the tempo; 282
frames at hop 512 are 6.55 s, i.e. the natural length at 73.4 BPM (faster pieces are
stretched, slower ones compressed).

Everything is a pure function of ``seed``: the same seed gives the same notes, presets
and audio (FluidSynth renders each part on a fresh engine).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np

from .families import CAMIL_CLASSES

__all__ = [
    "CamilSynthSet",
    "METERS",
    "TRAINING_SOUNDFONTS",
    "MEL_FRAMES",
    "compose_part",
    "part_to_midi",
    "stretch_frames",
    "synthesize_camil_set",
]

PathLike = Union[str, "os.PathLike[str]"]

#: The soundfonts whose licences allow training a bundled model (TimGM6mb is GPL).
TRAINING_SOUNDFONTS = tuple(f"/usr/share/sounds/sf2/{n}" for n in ("FluidR3_GM.sf2", "FluidR3_GS.sf2", "sf_GMbank.sf2"))
#: (numerator, denominator) time signatures drawn per part.
METERS: Tuple[Tuple[int, int], ...] = ((4, 4), (3, 4), (2, 4), (5, 4), (6, 8), (12, 8))
#: Mel frames of a segment (the paper's 282).
MEL_FRAMES = 282
#: Quarter notes per part: two segments of 8.
PART_BEATS = 16
_PROGRAMS = {"Piano": range(0, 8), "Organ": range(16, 24), "Guitar": range(24, 32), "Bass": range(32, 40),
             "Strings": range(40, 48), "Brass": range(56, 64), "Reed": range(64, 72), "Pipe": range(72, 80)}
_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)
_PROGRESSIONS = ((0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 4, 0), (1, 4, 0, 0), (0, 3, 0, 4), (5, 3, 0, 4), (0, 0, 3, 4))

Note = Tuple[int, int, float, float]  # pitch, velocity, start beat, end beat


@dataclass
class _Context:
    rng: np.random.Generator
    key: int
    scale: Tuple[int, ...]
    chords: List[Tuple[int, ...]]  # per bar: pitch classes (root first)
    bar: float  # quarter notes per bar
    beat: float  # quarter notes per counted beat (1, or 1.5 in compound meters)
    n_bars: int

    def chord(self, t: float) -> Tuple[int, ...]:
        return self.chords[min(int(t // self.bar), len(self.chords) - 1)]

    def scale_pitches(self, lo: int, hi: int) -> List[int]:
        return [p for p in range(lo, hi + 1) if (p - self.key) % 12 in self.scale]


def _near(pc: int, lo: int, hi: int, rng: np.random.Generator) -> int:
    """A pitch of class ``pc`` in [lo, hi]."""
    options = [p for p in range(lo, hi + 1) if p % 12 == pc % 12]
    return int(options[rng.integers(0, len(options))]) if options else int(np.clip(lo + pc % 12, lo, hi))


def _voicing(chord: Sequence[int], lo: int, n: int, spread: int = 12) -> List[int]:
    """``n`` chord tones stacked upward from the first one at or above ``lo``."""
    out: List[int] = []
    p = lo
    k = 0
    while len(out) < n and p < lo + 48:
        if p % 12 == chord[k % len(chord)] % 12:
            out.append(p)
            k += 1
            p += 1 + (spread > 12) * 2
        else:
            p += 1
    return out


def _vel(rng: np.random.Generator, base: int, spread: int = 12) -> int:
    return int(np.clip(base + rng.integers(-spread, spread + 1), 20, 127))


def _grid(ctx: _Context, step: float) -> np.ndarray:
    return np.arange(0.0, ctx.n_bars * ctx.bar - 1e-9, step)


# -- class habits: each returns a list of (pitch, velocity, start, end) in quarter notes --

def _bass(ctx: _Context) -> List[Note]:
    rng, out = ctx.rng, []
    variant = rng.integers(0, 3)
    lo, hi = 28, 55
    for b in range(ctx.n_bars):
        t0, ch = b * ctx.bar, ctx.chords[b]
        root = _near(ch[0], 28, 43, rng)
        if variant == 0:  # roots and fifths on the beats
            for i, t in enumerate(np.arange(t0, t0 + ctx.bar - 1e-9, ctx.beat)):
                p = root if i % 2 == 0 else (root + 7 if rng.random() < 0.7 else root + 12)
                out.append((int(np.clip(p, lo, hi)), _vel(rng, 96), t, t + ctx.beat * rng.uniform(0.6, 0.95)))
        elif variant == 1:  # walking quarters through chord and scale tones
            steps = ctx.scale_pitches(lo, hi)
            p = root
            for i, t in enumerate(np.arange(t0, t0 + ctx.bar - 1e-9, 1.0)):
                if i == 0:
                    p = root
                else:
                    j = int(np.clip(np.searchsorted(steps, p) + rng.choice([-2, -1, 1, 2]), 0, len(steps) - 1))
                    p = steps[j]
                out.append((p, _vel(rng, 90), t, t + 0.9))
        else:  # driving eighths on the root with octave pops
            for i, t in enumerate(np.arange(t0, t0 + ctx.bar - 1e-9, 0.5)):
                p = root + 12 if (i % 4 == 3 and rng.random() < 0.5) else root
                out.append((int(np.clip(p, lo, hi)), _vel(rng, 100 if i % 2 == 0 else 85), t, t + 0.4))
    return out


def _piano_hand(ctx: _Context, right: bool) -> List[Note]:
    """One staff of a piano part (files often keep each hand on its own track): the right
    hand's melody in thirds, sixths and octaves over syncopated rhythms, or the left
    hand's stride (bass on the strong beats, a chord on the weak ones) or broken chords."""
    rng, out = ctx.rng, []
    if right:
        line = ctx.scale_pitches(60, 91)
        j = int(rng.integers(len(line) // 4, 3 * len(line) // 4))
        t, end = 0.0, ctx.n_bars * ctx.bar
        while t < end - 1e-9:
            d = float(rng.choice([0.25, 0.25, 0.5, 0.5, 0.75, 1.0]))
            j = int(np.clip(j + int(rng.choice([-3, -2, -1, 1, 2, 3])), 0, len(line) - 1))
            v = _vel(rng, 85)
            out.append((line[j], v, t, min(end, t + d)))
            r = rng.random()
            if r < 0.25 and line[j] - 12 >= 48:
                out.append((line[j] - 12, v, t, min(end, t + d)))  # octave
            elif r < 0.55 and j >= 2:
                out.append((line[j - 2], v, t, min(end, t + d)))  # third / sixth below
                if rng.random() < 0.4 and j >= 4:
                    out.append((line[j - 4], v, t, min(end, t + d)))
            t += d
        return out
    stride = rng.random() < 0.5
    for b in range(ctx.n_bars):
        t0, ch = b * ctx.bar, ctx.chords[b]
        bass = _near(ch[0], 31, 48, rng)
        chord = _voicing(ch, int(rng.integers(50, 58)), 3)
        if stride:
            for i, t in enumerate(np.arange(t0, t0 + ctx.bar - 1e-9, ctx.beat)):
                v = _vel(rng, 80)
                if i % 2 == 0:
                    out.append((bass, v, t, t + ctx.beat * 0.9))
                    if rng.random() < 0.6:
                        out.append((bass + 12, v, t, t + ctx.beat * 0.9))
                else:
                    out += [(p, v, t, t + ctx.beat * 0.8) for p in chord]
        else:
            tones = [bass, bass + 7, bass + 12] + [p for p in chord if p > bass + 12]
            step = float(rng.choice([0.5, 0.25]))
            for i, t in enumerate(np.arange(t0, t0 + ctx.bar - 1e-9, step)):
                k = i % (2 * len(tones) - 2) if len(tones) > 1 else 0
                p = tones[k if k < len(tones) else 2 * len(tones) - 2 - k]
                out.append((p, _vel(rng, 72), t, t + step * 1.5))
    return out


def _piano(ctx: _Context) -> List[Note]:
    rng, out = ctx.rng, []
    variant = rng.integers(0, 5)
    if variant >= 3:
        return _piano_hand(ctx, right=variant == 3)
    for b in range(ctx.n_bars):
        t0, ch = b * ctx.bar, ctx.chords[b]
        bass = _near(ch[0], 36, 50, rng)
        # left hand: bass note or octave on each strong beat
        for i, t in enumerate(np.arange(t0, t0 + ctx.bar - 1e-9, ctx.beat * 2)):
            out.append((bass, _vel(rng, 80), t, t + ctx.beat * 2 * 0.95))
            if rng.random() < 0.5:
                out.append((bass + 12, _vel(rng, 70), t, t + ctx.beat * 2 * 0.95))
        rh = _voicing(ch, int(rng.integers(55, 66)), int(rng.integers(3, 5)))
        if variant == 0:  # comping chords on the off-beats
            for t in np.arange(t0 + ctx.beat / 2, t0 + ctx.bar - 1e-9, ctx.beat):
                if rng.random() < 0.8:
                    v = _vel(rng, 75)
                    out += [(p, v, t, t + ctx.beat * 0.45) for p in rh]
        elif variant == 1:  # broken chords (Alberti) in eighths
            order = [rh[0], rh[-1], rh[1 % len(rh)], rh[-1]]
            for i, t in enumerate(np.arange(t0, t0 + ctx.bar - 1e-9, 0.5)):
                out.append((order[i % 4], _vel(rng, 70), t, t + 0.5))
        else:  # melody over block chords
            v = _vel(rng, 65)
            out += [(p, v, t0, t0 + ctx.bar * 0.98) for p in rh]
            mel = ctx.scale_pitches(rh[-1] + 1, min(rh[-1] + 16, 96))
            t = t0
            while t < t0 + ctx.bar - 1e-9 and mel:
                d = float(rng.choice([0.5, 1.0, 1.0, 1.5]))
                out.append((int(mel[rng.integers(0, len(mel))]), _vel(rng, 90), t, min(t + d, t0 + ctx.bar)))
                t += d
    return out


def _guitar(ctx: _Context) -> List[Note]:
    rng, out = ctx.rng, []
    variant = rng.integers(0, 3)
    for b in range(ctx.n_bars):
        t0, ch = b * ctx.bar, ctx.chords[b]
        root = _near(ch[0], 40, 52, rng)
        if variant == 0:  # strums: 4-6 note voicings, onsets spread (down / up strokes)
            shape = _voicing(ch, root, int(rng.integers(4, 7)), spread=19)
            for i, t in enumerate(np.arange(t0, t0 + ctx.bar - 1e-9, 0.5)):
                if rng.random() < 0.75:
                    down = i % 2 == 0
                    v = _vel(rng, 90 if down else 70)
                    notes = shape if down else shape[::-1][:4]
                    for k, p in enumerate(notes):
                        s = t + k * 0.03
                        out.append((p, v, s, t + 0.5))
        elif variant == 1:  # picked arpeggios
            shape = _voicing(ch, root, 5, spread=19)
            pattern = [0, 2, 1, 3, 2, 4, 3, 1]
            for i, t in enumerate(np.arange(t0, t0 + ctx.bar - 1e-9, 0.5)):
                p = shape[pattern[i % 8] % len(shape)]
                out.append((p, _vel(rng, 80), t, t + 1.0))
        else:  # palm-muted power chords in eighths
            pr = _near(ch[0], 40, 50, rng)
            for i, t in enumerate(np.arange(t0, t0 + ctx.bar - 1e-9, 0.5)):
                v = _vel(rng, 105 if i % 2 == 0 else 90)
                d = 0.25 if rng.random() < 0.8 else 0.5
                out += [(pr, v, t, t + d), (pr + 7, v, t, t + d), (pr + 12, v, t, t + d)]
    return out


def _string_line(ctx: _Context, lo: int, hi: int) -> List[Note]:
    """One string player's part (a quartet voice): continuous legato lines without
    breaths, scale runs in eighths and sixteenths, repeated-note accompaniment, string
    crossings, an occasional double stop."""
    rng, out = ctx.rng, []
    line = ctx.scale_pitches(lo, hi)
    j = int(rng.integers(len(line) // 4, 3 * len(line) // 4))
    t, end = 0.0, ctx.n_bars * ctx.bar
    while t < end - 1e-9:
        figure = rng.random()
        if figure < 0.3:  # a scale run
            d = float(rng.choice([0.25, 0.5]))
            direction = int(rng.choice([-1, 1]))
            for _ in range(int(rng.integers(4, 9))):
                if t >= end - 1e-9:
                    break
                j = int(np.clip(j + direction, 0, len(line) - 1))
                out.append((line[j], _vel(rng, 80), t, min(end, t + d)))
                t += d
        elif figure < 0.5:  # repeated notes (inner-voice accompaniment)
            p = _near(ctx.chord(t)[int(rng.integers(0, 3))], lo, min(hi, lo + 19), rng)
            d = float(rng.choice([0.5, 0.25]))
            for _ in range(int(rng.integers(4, 9))):
                if t >= end - 1e-9:
                    break
                out.append((p, _vel(rng, 70), t, min(end, t + d * 0.9)))
                t += d
        elif figure < 0.6:  # string crossing: alternate two chord tones
            a = _near(ctx.chord(t)[0], lo, min(hi, lo + 15), rng)
            b = min(a + int(rng.choice([7, 9, 12])), hi)
            for k in range(8):
                if t >= end - 1e-9:
                    break
                out.append((a if k % 2 == 0 else b, _vel(rng, 75), t, min(end, t + 0.25)))
                t += 0.25
        else:  # a sustained or dotted melodic note, sometimes a double stop
            d = float(rng.choice([0.5, 1.0, 1.0, 1.5, 2.0, 3.0]))
            j = int(np.clip(j + int(rng.choice([-2, -1, 1, 2, 3])), 0, len(line) - 1))
            v = _vel(rng, 78)
            out.append((line[j], v, t, min(end, t + d)))
            if rng.random() < 0.08 and j >= 3:
                out.append((line[j - 3], v, t, min(end, t + d)))
            t += d
    return out


def _strings(ctx: _Context) -> List[Note]:
    rng, out = ctx.rng, []
    variant = rng.integers(0, 5)
    if variant == 2:  # violin
        return _string_line(ctx, 55, 93)
    if variant == 3:  # viola
        return _string_line(ctx, 48, 79)
    if variant == 4:  # cello
        return _string_line(ctx, 36, 67)
    if variant == 0:  # pads: ensemble voicing, whole or half bars, legato
        for b in range(ctx.n_bars):
            t0, ch = b * ctx.bar, ctx.chords[b]
            low = _near(ch[0], 43, 55, rng)
            voices = [low] + _voicing(ch, low + 7, int(rng.integers(2, 4)), spread=19)
            half = rng.random() < 0.4
            for t, d in ((t0, ctx.bar / 2), (t0 + ctx.bar / 2, ctx.bar / 2)) if half else ((t0, ctx.bar),):
                v = _vel(rng, 70, 8)
                out += [(p, v, t, t + d) for p in voices]
    else:  # slow legato line with a sustained lower voice
        line = ctx.scale_pitches(55, 88)
        j = len(line) // 2
        t, end = 0.0, ctx.n_bars * ctx.bar
        while t < end - 1e-9:
            d = float(rng.choice([1.5, 2.0, 3.0, 4.0]))
            j = int(np.clip(j + rng.choice([-2, -1, 1, 2]), 0, len(line) - 1))
            out.append((line[j], _vel(rng, 75, 8), t, min(end, t + d)))
            t += d
        for b in range(ctx.n_bars):
            p = _near(ctx.chords[b][0], 43, 55, rng)
            out.append((p, _vel(rng, 65, 6), b * ctx.bar, (b + 1) * ctx.bar))
    return out


def _organ(ctx: _Context) -> List[Note]:
    rng, out = ctx.rng, []
    pedal = rng.random() < 0.5
    for b in range(ctx.n_bars):
        t0, ch = b * ctx.bar, ctx.chords[b]
        v = _vel(rng, 90, 4)  # organs barely vary their velocity
        out += [(p, v, t0, t0 + ctx.bar) for p in _voicing(ch, int(rng.integers(50, 60)), int(rng.integers(3, 6)))]
        if pedal:
            out.append((_near(ch[0], 36, 47, rng), v, t0, t0 + ctx.bar))
    return out


def _brass(ctx: _Context) -> List[Note]:
    rng, out = ctx.rng, []
    variant = rng.integers(0, 2)
    for b in range(ctx.n_bars):
        t0, ch = b * ctx.bar, ctx.chords[b]
        if variant == 0:  # stabs: short close-voiced section chords, often off the beat
            voices = _voicing(ch, int(rng.integers(52, 62)), int(rng.integers(3, 5)))
            for t in np.arange(t0, t0 + ctx.bar - 1e-9, 0.5):
                if rng.random() < 0.35:
                    v = _vel(rng, 110, 8)
                    out += [(p, v, t, t + 0.25) for p in voices]
        else:  # fanfare: triad arpeggio in dotted rhythms, doubled a third or octave below
            root = _near(ch[0], 55, 67, rng)
            figure = [root, root + (4 if (ch[1] - ch[0]) % 12 == 4 else 3), root + 7, root + 12]
            rhythm = [0.75, 0.25, 1.0, 1.0, 1.0]
            t, k = t0, 0
            while t < t0 + ctx.bar - 1e-9:
                d = rhythm[k % len(rhythm)]
                p = figure[k % len(figure)]
                v = _vel(rng, 105, 8)
                out.append((p, v, t, min(t + d * 0.9, t0 + ctx.bar)))
                if rng.random() < 0.6:
                    out.append((p - 12 if rng.random() < 0.5 else p - 5, v, t, min(t + d * 0.9, t0 + ctx.bar)))
                t += d
                k += 1
    return out


def _melody(ctx: _Context, lo: int, hi: int, *, leaps: float, syncopation: float, blue: bool) -> List[Note]:
    rng, out = ctx.rng, []
    line = ctx.scale_pitches(lo, hi)
    j = int(rng.integers(len(line) // 4, 3 * len(line) // 4))
    t, end = 0.0, ctx.n_bars * ctx.bar
    while t < end - 1e-9:
        d = float(rng.choice([0.25, 0.5, 0.5, 1.0, 1.0, 1.5, 2.0]))
        if rng.random() < syncopation:
            t += 0.5 if rng.random() < 0.5 else 0.25
            if t >= end:
                break
        step = int(rng.choice([-1, 1])) * (int(rng.integers(2, 5)) if rng.random() < leaps else 1)
        j = int(np.clip(j + step, 0, len(line) - 1))
        p = line[j]
        if blue and rng.random() < 0.1:
            p = int(np.clip(p - 1, lo, hi))
        if rng.random() < 0.08 and d >= 1.0:  # a trill / turn
            for k, s in enumerate(np.arange(t, t + d - 1e-9, 0.125)):
                out.append((p + (k % 2) * 2 if p + 2 <= hi else p, _vel(rng, 80), s, s + 0.125))
        else:
            out.append((p, _vel(rng, 85), t, min(end, t + d * rng.uniform(0.8, 1.0))))
        t += d
        if rng.random() < 0.15:
            t += float(rng.choice([0.5, 1.0]))  # breath
    return out


def _pipe(ctx: _Context) -> List[Note]:
    return _melody(ctx, 60, 96, leaps=0.2, syncopation=0.05, blue=False)


def _reed(ctx: _Context) -> List[Note]:
    return _melody(ctx, 44, 77, leaps=0.35, syncopation=0.3, blue=True)


_HABITS = {"Bass": _bass, "Piano": _piano, "Guitar": _guitar, "Strings": _strings, "Organ": _organ,
           "Brass": _brass, "Pipe": _pipe, "Reed": _reed}


def _pad(ctx: _Context, lo: int, hi: int, voices: int) -> List[Note]:
    """Sustained chords, one per bar (a section pad)."""
    rng, out = ctx.rng, []
    for b in range(ctx.n_bars):
        v = _vel(rng, 75, 10)
        tones = _voicing(ctx.chords[b], int(rng.integers(lo, lo + 7)), voices)
        out += [(p, v, b * ctx.bar, (b + 1) * ctx.bar * 0.98) for p in tones if p <= hi]
    return out


def _hits(ctx: _Context, lo: int, voices: int) -> List[Note]:
    """Short chords on the beats (staccato comping, pizzicato)."""
    rng, out = ctx.rng, []
    for b in range(ctx.n_bars):
        tones = _voicing(ctx.chords[b], int(rng.integers(lo, lo + 7)), voices)
        for t in np.arange(b * ctx.bar, (b + 1) * ctx.bar - 1e-9, ctx.beat):
            if rng.random() < 0.7:
                v = _vel(rng, 85)
                out += [(p, v, t, t + 0.3) for p in tones]
    return out


#: Textures a class shares with others (real parts are not always idiomatic): a melody in
#: the class's range, a section pad or short chords. Drawn with probability ``ambiguity``.
_SHARED = {
    "Piano": (lambda c: _melody(c, 60, 88, leaps=0.25, syncopation=0.15, blue=False), lambda c: _pad(c, 52, 84, 4)),
    "Organ": (lambda c: _melody(c, 55, 84, leaps=0.2, syncopation=0.1, blue=False), lambda c: _hits(c, 55, 3)),
    "Guitar": (lambda c: _melody(c, 52, 84, leaps=0.3, syncopation=0.25, blue=True), lambda c: _pad(c, 48, 76, 4)),
    "Bass": (lambda c: _melody(c, 33, 55, leaps=0.3, syncopation=0.3, blue=True),),
    "Strings": (lambda c: _melody(c, 55, 91, leaps=0.2, syncopation=0.1, blue=False), lambda c: _hits(c, 48, 3)),
    "Brass": (lambda c: _melody(c, 50, 82, leaps=0.25, syncopation=0.2, blue=True), lambda c: _pad(c, 48, 77, 3)),
    "Reed": (lambda c: _pad(c, 50, 77, 3), lambda c: _hits(c, 52, 3)),
    "Pipe": (lambda c: _pad(c, 60, 91, 3), lambda c: _melody(c, 60, 96, leaps=0.35, syncopation=0.3, blue=False)),
}


def _dynamics(notes: List[Note], rng: np.random.Generator, beats: int) -> List[Note]:
    """Real parts change dynamics (pp passages, crescendi) and some exports write one
    velocity for every note: a fifth of the parts get a single velocity, the others a
    level in [0.35, 1] per segment of 8 quarter notes, ramped (a crescendo or diminuendo)
    in a third of them."""
    if rng.random() < 0.2:
        v = int(rng.integers(64, 101))
        return [(p, v, s, e) for p, _, s, e in notes]
    n_seg = max(1, -(-int(beats) // 8))
    levels = rng.uniform(0.35, 1.0, n_seg + 1)
    ramp = rng.random() < 1 / 3
    out = []
    for p, v, s, e in notes:
        k = min(int(s // 8), n_seg - 1)
        level = levels[k] + (levels[k + 1] - levels[k]) * ((s % 8) / 8) if ramp else levels[k]
        out.append((p, int(np.clip(round(v * level), 1, 127)), s, e))
    return out


def compose_part(cls: str, seed: int, *, beats: int = PART_BEATS, ambiguity: float = 0.0) -> Dict[str, object]:
    """Notes of one part of class ``cls`` (a name of ``CAMIL_CLASSES``), deterministic in ``seed``.

    With probability ``ambiguity`` the part plays a texture it shares with other classes
    (a melody in its range, a pad, short chords) instead of one of its own habits.

    Returns
    -------
    dict
        ``"notes"``: list of ``(pitch, velocity, start, end)`` with times in quarter
        notes inside ``[0, beats]``; ``"tempo"`` (BPM), ``"meter"`` ``(num, den)``, ``"key"``.
    """
    if cls not in _HABITS:
        raise ValueError(f"cls must be one of {CAMIL_CLASSES}, got {cls!r}")
    rng = np.random.default_rng([int(seed), CAMIL_CLASSES.index(cls), 0xCA4])
    num, den = METERS[int(rng.integers(0, len(METERS)))]
    bar = num * 4.0 / den
    beat = 1.5 if (den == 8 and num % 3 == 0) else (0.5 if den == 8 else 1.0)
    key = int(rng.integers(0, 12))
    scale = _MAJOR if rng.random() < 0.6 else _MINOR
    n_bars = int(np.ceil(beats / bar))
    prog = _PROGRESSIONS[int(rng.integers(0, len(_PROGRESSIONS)))]
    chords = []
    for i in range(n_bars):
        deg = prog[i % len(prog)]
        chords.append(tuple((key + scale[(deg + k) % 7]) % 12 for k in (0, 2, 4)))
    ctx = _Context(rng=rng, key=key, scale=scale, chords=chords, bar=bar, beat=beat, n_bars=n_bars)
    if not 0.0 <= float(ambiguity) <= 1.0:
        raise ValueError(f"ambiguity must be in [0, 1], got {ambiguity!r}")
    shared = rng.random() < ambiguity
    habit = _SHARED[cls][int(rng.integers(0, len(_SHARED[cls])))] if shared else _HABITS[cls]
    notes = []
    for p, v, s, e in _dynamics(habit(ctx), rng, beats):
        e = min(float(e), float(beats))
        if s < beats and e > s and 0 <= p <= 127:
            notes.append((int(p), int(v), float(s), e))
    if not notes:  # every habit writes notes; guard the contract anyway
        raise RuntimeError(f"compose_part({cls!r}, {seed}) wrote no notes")
    tempo = float(np.round(rng.uniform(60.0, 180.0), 1))
    return {"notes": notes, "tempo": tempo, "meter": (num, den), "key": key, "shared": bool(shared)}


def part_to_midi(part: Dict[str, object], program: int):
    """A ``pretty_midi.PrettyMIDI`` of a composed part (one instrument, its tempo and meter)."""
    import pretty_midi

    tempo = float(part["tempo"])  # type: ignore[arg-type]
    pm = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=tempo)
    num, den = part["meter"]  # type: ignore[misc]
    pm.time_signature_changes.append(pretty_midi.TimeSignature(int(num), int(den), 0.0))
    inst = pretty_midi.Instrument(program=int(program))
    spq = 60.0 / tempo
    for p, v, s, e in part["notes"]:  # type: ignore[union-attr]
        inst.notes.append(pretty_midi.Note(velocity=int(v), pitch=int(p), start=s * spq, end=e * spq))
    pm.instruments.append(inst)
    return pm


def stretch_frames(spec: np.ndarray, frames: int = MEL_FRAMES) -> np.ndarray:
    """Linearly interpolate ``(..., n_frames)`` to ``(..., frames)`` along the last axis
    (frame centres mapped onto each other; endpoints kept).

    Examples
    --------
    >>> stretch_frames(np.array([[0.0, 1.0]]), 3).tolist()
    [[0.0, 0.5, 1.0]]
    """
    spec = np.asarray(spec, np.float32)
    n = spec.shape[-1]
    if n < 1:
        raise ValueError("spec has no frames")
    if n == frames:
        return spec.copy()
    pos = np.linspace(0.0, n - 1.0, frames) if n > 1 else np.zeros(frames)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    w = (pos - lo).astype(np.float32)
    return spec[..., lo] * (1 - w) + spec[..., hi] * w


@dataclass
class CamilSynthSet:
    """Segments of a synthetic CAMIL set.

    Attributes
    ----------
    rolls : float16 (n, 84, 192)
        Piano rolls (velocity / the part's largest velocity).
    mels : float16 (n, 128, 282)
        Aligned dB mels of the same two measures (see the module notes).
    labels : int64 (n,)
        Index in :data:`CAMIL_CLASSES`.
    parts : int64 (n,)
        Part of each segment (segments of one part share its audio rendering).
    meta : list of dict
        Per part: class, program, preset name, soundfont file name, tempo, meter, key, seed.
    """

    rolls: np.ndarray
    mels: np.ndarray
    labels: np.ndarray
    parts: np.ndarray
    meta: List[Dict[str, object]]

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def save(self, path: PathLike) -> Path:
        """Write an uncompressed ``.npz`` (no pickle: ``meta`` is stored as JSON text)."""
        path = Path(path)
        np.savez(path, rolls=self.rolls, mels=self.mels, labels=self.labels, parts=self.parts,
                 meta=np.array(json.dumps(self.meta)))
        return path if path.suffix == ".npz" else path.with_suffix(path.suffix + ".npz")

    @classmethod
    def load(cls, path: PathLike, *, mmap: bool = False) -> "CamilSynthSet":
        """Read a set written by :meth:`save` (``allow_pickle=False``)."""
        with np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None) as z:
            for k in ("rolls", "mels", "labels", "parts", "meta"):
                if k not in z.files:
                    raise ValueError(f"{path}: not a CAMIL synthetic set (no {k!r} array)")
            out = cls(np.asarray(z["rolls"]), np.asarray(z["mels"]), np.asarray(z["labels"], np.int64),
                      np.asarray(z["parts"], np.int64), json.loads(str(z["meta"])))
        n = len(out.labels)
        if out.rolls.shape != (n, 84, 192) or out.mels.shape[:2] != (n, 128) or out.parts.shape != (n,):
            raise ValueError(f"{path}: inconsistent shapes {out.rolls.shape}, {out.mels.shape}, {out.parts.shape}")
        return out

    def subset(self, index: np.ndarray) -> "CamilSynthSet":
        """The segments at ``index`` (meta kept whole; ``parts`` still index into it)."""
        index = np.asarray(index, np.int64)
        return CamilSynthSet(self.rolls[index], self.mels[index], self.labels[index], self.parts[index], self.meta)


def _class_presets(synth, cls: str):
    out = []
    for prog in _PROGRAMS[cls]:
        p = synth.preset(prog, fallback=False) if _has_preset(synth, prog) else None
        if p is not None:
            out.append(p)
    return out


def _has_preset(synth, prog: int) -> bool:
    return any(p.bank == 0 and p.program == prog for p in synth.presets)


def synthesize_camil_set(
    n_parts: int,
    *,
    seed: int = 0,
    soundfonts: Sequence[PathLike] = TRAINING_SOUNDFONTS,
    classes: Sequence[str] = CAMIL_CLASSES,
    sr: int = 22050,
    ambiguity: float = 0.5,
    progress: bool = False,
) -> CamilSynthSet:
    """Compose and render ``n_parts`` parts (classes in turn) into aligned CAMIL segments.

    Parameters
    ----------
    n_parts : int
        Parts to make; part ``i`` has class ``classes[i % len(classes)]`` and seed
        ``(seed, i)``. Each gives up to two segments (empty ones are left out).
    seed : int
    soundfonts : sequence of paths
        Drawn per part (default: :data:`TRAINING_SOUNDFONTS`, those present).
    classes : sequence of str
    sr : int
        Render rate; must be the ``"camil"`` frontend's 22,050 Hz.
    ambiguity : float
        Share of the parts that play a texture shared with other classes (see
        :func:`compose_part`): real parts are not always idiomatic, and without it the
        symbolic task is nearly trivial. 0.5 by default.
    progress : bool

    Returns
    -------
    CamilSynthSet
    """
    from .._validate import check_int
    from ..frontends import Frontend
    from .midi import piano_roll
    from .synth import Synthesizer

    n_parts = check_int(n_parts, "n_parts", minimum=1, maximum=10_000_000)
    seed = check_int(seed, "seed", minimum=0)
    for c in classes:
        if c not in CAMIL_CLASSES:
            raise ValueError(f"classes: unknown class {c!r}; known: {CAMIL_CLASSES}")
    if not classes:
        raise ValueError("classes is empty")
    if isinstance(ambiguity, bool) or not isinstance(ambiguity, (int, float)) or not 0.0 <= ambiguity <= 1.0:
        raise ValueError(f"ambiguity must be in [0, 1], got {ambiguity!r}")
    fonts = [os.fspath(f) for f in soundfonts if os.path.exists(f)]
    if not fonts:
        raise ValueError(f"none of the soundfonts exists: {list(soundfonts)}")
    frontend = Frontend("camil")
    if frontend.config.sr != sr:
        raise ValueError(f"sr must be the 'camil' frontend's {frontend.config.sr} Hz, got {sr}")
    synths = [Synthesizer(f, sr=sr, max_tail=0.0) for f in fonts]
    presets = [{c: _class_presets(s, c) for c in classes} for s in synths]
    rolls, mels, labels, parts, meta = [], [], [], [], []
    it = range(n_parts)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="CAMIL synth", unit="part")
    for i in it:
        cls = classes[i % len(classes)]
        rng = np.random.default_rng([seed, i, 0x5F])
        part_seed = int(rng.integers(0, 2**31 - 1))
        part = compose_part(cls, part_seed, ambiguity=ambiguity)
        options = [k for k in range(len(synths)) if presets[k][cls]]
        if not options:
            raise ValueError(f"no soundfont has a preset of class {cls!r}")
        k = options[int(rng.integers(0, len(options)))]
        preset = presets[k][cls][int(rng.integers(0, len(presets[k][cls])))]
        pm = part_to_midi(part, preset.program)
        seg = piano_roll(pm)
        y = synths[k].render_notes(pm.instruments[0].notes, preset=preset)
        peak = float(np.abs(y).max()) if y.size else 0.0
        if peak > 0:
            y = y / peak * 0.5
        for j in seg.nonempty()[:2]:
            a, b = int(round(seg.starts[j] * sr)), int(round(seg.ends[j] * sr))
            clip = np.zeros(max(b - a, 512), np.float32)
            piece = y[a:b]
            clip[: len(piece)] = piece
            mel = np.asarray(frontend(clip))[0]
            rolls.append(seg.rolls[j].astype(np.float16))
            mels.append(stretch_frames(mel).astype(np.float16))
            labels.append(CAMIL_CLASSES.index(cls))
            parts.append(len(meta))
        meta.append({"class": cls, "program": preset.program, "preset": preset.name,
                     "soundfont": os.path.basename(preset.soundfont), "tempo": part["tempo"],
                     "meter": list(part["meter"]), "key": part["key"], "seed": part_seed,
                     "shared": part["shared"]})
    for s in synths:
        s.close()
    return CamilSynthSet(np.stack(rolls), np.stack(mels), np.array(labels, np.int64), np.array(parts, np.int64), meta)
