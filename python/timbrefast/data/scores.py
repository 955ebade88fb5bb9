"""Multi-part scores: parts of the music21 corpus and generated phrases.

A :class:`Score` holds parts of :class:`~timbrefast.data.synth.Note` with times in
seconds; :func:`score_to_midi` writes it with pretty_midi (one instrument per part).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .synth import Note

__all__ = [
    "Part",
    "Score",
    "SCALES",
    "corpus_paths",
    "corpus_score",
    "generate_phrase",
    "drum_pattern",
    "score_to_midi",
    "part_to_midi",
    "import_music21",
]

#: Scales as semitone offsets from the tonic (major, three minors, the modes, blues,
#: pentatonics), as in the timbre-retrieval paper's mixtures.
SCALES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "natural_minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
    "melodic_minor": (0, 2, 3, 5, 7, 9, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
    "blues": (0, 3, 5, 6, 7, 10),
    "major_pentatonic": (0, 2, 4, 7, 9),
    "minor_pentatonic": (0, 3, 5, 7, 10),
}

#: Note lengths in quarter notes: half, quarter, eighth, sixteenth.
NOTE_LENGTHS = (2.0, 1.0, 0.5, 0.25)


def import_music21():
    """Import music21, or raise ImportError naming the extra."""
    try:
        import music21
    except ImportError as exc:
        raise ImportError("scores from the music21 corpus need music21: "
                          "pip install 'timbrefast[music21]'") from exc
    return music21


@dataclass
class Part:
    """One part: a name and its notes (seconds)."""

    name: str
    notes: List[Note] = field(default_factory=list)

    def pitch_range(self) -> Tuple[int, int]:
        p = [n.pitch for n in self.notes]
        return (min(p), max(p)) if p else (0, -1)

    def median_pitch(self) -> float:
        return float(np.median([n.pitch for n in self.notes])) if self.notes else 60.0

    def transposed(self, semitones: int) -> "Part":
        return Part(self.name, [Note(min(127, max(0, n.pitch + semitones)), n.velocity, n.start, n.end)
                                for n in self.notes])


@dataclass
class Score:
    """A multi-part score: ``title``, ``parts`` and the quarter-note ``tempo`` (BPM)."""

    title: str
    parts: List[Part]
    tempo: float = 120.0

    @property
    def duration(self) -> float:
        """End of the last note, in seconds."""
        return max((n.end for p in self.parts for n in p.notes), default=0.0)


def corpus_paths(composer: str = "bach") -> List[str]:
    """Paths of the music21 corpus scores of a composer (``"bach"``: 433 four-part chorales).

    Examples
    --------
    >>> len(corpus_paths("bach")) > 400  # doctest: +SKIP
    True
    """
    m21 = import_music21()
    paths = [os.fspath(p) for p in m21.corpus.getComposer(composer)]
    if not paths:
        raise ValueError(f"the music21 corpus has no scores for composer {composer!r}")
    return sorted(paths)


def corpus_score(source, *, tempo: Optional[float] = None, velocity: int = 90) -> Score:
    """Parse a score (music21 corpus name, file path or ``music21.stream.Score``) into a
    :class:`Score`: one :class:`Part` per music21 part, ties merged, chords split into
    notes, grace notes and unpitched notes dropped.

    ``tempo`` (BPM) overrides the score's first metronome mark (default 100 when none).
    Raises ValueError naming the source when no part has a note.
    """
    m21 = import_music21()
    name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else getattr(source, "id", "<score>")
    if isinstance(source, (str, os.PathLike)):
        try:
            if os.path.exists(os.fspath(source)):
                stream = m21.converter.parse(os.fspath(source))
            else:
                stream = m21.corpus.parse(os.fspath(source))
        except Exception as exc:
            raise ValueError(f"cannot parse score {name}: {exc}") from None
    else:
        stream = source
    if tempo is None:
        marks = list(stream.flatten().getElementsByClass("MetronomeMark"))
        tempo = float(marks[0].getQuarterBPM()) if marks and marks[0].getQuarterBPM() else 100.0
    if not (np.isfinite(tempo) and tempo > 0):
        raise ValueError(f"tempo must be positive BPM, got {tempo}")
    spq = 60.0 / float(tempo)
    parts_in = list(getattr(stream, "parts", [])) or [stream]
    parts: List[Part] = []
    for i, p in enumerate(parts_in):
        notes: List[Note] = []
        for el in p.stripTies().flatten().notes:
            ql = float(el.quarterLength)
            if ql <= 0:
                continue  # grace notes
            start = float(el.offset) * spq
            end = start + ql * spq
            v = el.volume.velocity if getattr(el, "volume", None) is not None and el.volume.velocity else velocity
            for pitch in getattr(el, "pitches", ()):
                notes.append(Note(int(pitch.midi), int(v), start, end))
        if notes:
            parts.append(Part(str(p.partName or p.id or f"part{i}"), notes))
    if not parts:
        raise ValueError(f"score {name} has no notes")
    return Score(os.path.basename(str(name)), parts, float(tempo))


def generate_phrase(
    rng: np.random.Generator,
    *,
    registers: Sequence[Tuple[int, int]] = ((60, 84), (53, 74), (45, 67), (36, 60)),
    seconds: float = 10.0,
    tempo: Optional[float] = None,
    scale: Optional[str] = None,
    tonic: Optional[int] = None,
    rest_probability: float = 0.15,
    jitter: float = 0.02,
    velocity_range: Tuple[int, int] = (60, 110),
) -> Score:
    """Generate a multi-part phrase: one monophonic line per register on a random scale.

    Tempo is drawn uniformly in 60-140 BPM, the scale from :data:`SCALES` transposed by
    0-11 semitones, note lengths from half to sixteenth notes, onsets jittered by up to
    ``jitter`` quarter notes; each line steps through the scale inside its register
    (inclusive MIDI range) and rests with ``rest_probability``.

    Examples
    --------
    >>> s = generate_phrase(np.random.default_rng(0), seconds=4.0)
    >>> len(s.parts), s.duration <= 4.0 + 1e-9
    (4, True)
    """
    if not registers:
        raise ValueError("registers must name at least one (low, high) pitch range")
    if not (np.isfinite(seconds) and seconds > 0):
        raise ValueError(f"seconds must be positive, got {seconds}")
    if tempo is None:
        tempo = float(rng.uniform(60.0, 140.0))
    scale = scale if scale is not None else str(rng.choice(sorted(SCALES)))
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {sorted(SCALES)}")
    tonic = int(rng.integers(0, 12)) if tonic is None else int(tonic) % 12
    spq = 60.0 / tempo
    parts = []
    for k, (lo, hi) in enumerate(registers):
        if not 0 <= lo <= hi <= 127:
            raise ValueError(f"register {k} must satisfy 0 <= low <= high <= 127, got {(lo, hi)}")
        pitches = [p for p in range(lo, hi + 1) if (p - tonic) % 12 in SCALES[scale]]
        if not pitches:
            raise ValueError(f"register {(lo, hi)} holds no note of {scale} on {tonic}")
        idx = int(rng.integers(0, len(pitches)))
        t = 0.0
        notes: List[Note] = []
        while True:
            ql = float(rng.choice(NOTE_LENGTHS))
            end_q = t + ql
            if end_q * spq > seconds:
                break
            if rng.random() >= rest_probability:
                on = max(0.0, t + rng.uniform(-jitter, jitter)) * spq
                off = min(end_q * spq, seconds)
                vel = int(rng.integers(velocity_range[0], velocity_range[1] + 1))
                notes.append(Note(pitches[idx], vel, on, max(off, on + 1e-3)))
            step = int(rng.choice([-2, -1, -1, 0, 1, 1, 2, 3, -3]))
            idx = int(np.clip(idx + step, 0, len(pitches) - 1))
            t = end_q
        parts.append(Part(f"part{k}", notes))
    return Score(f"phrase-{scale}-{tonic}", parts, float(tempo))


#: General MIDI percussion keys used by :func:`drum_pattern`.
KICK, SNARE, CLOSED_HAT, OPEN_HAT, CRASH = 36, 38, 42, 46, 49


def drum_pattern(rng: np.random.Generator, *, tempo: float, seconds: float, jitter: float = 0.02) -> List[Note]:
    """A rock/pop drum groove on a sixteenth-note grid (General MIDI percussion keys):
    kick on beats 1 and 3 plus random sixteenths, snare on 2 and 4 with ghost notes,
    closed hi-hat eighths (sometimes open), a crash on the first downbeat; velocities
    vary and onsets are jittered by up to ``jitter`` quarter notes. Notes last 0.1 s."""
    if not (np.isfinite(tempo) and tempo > 0 and np.isfinite(seconds) and seconds > 0):
        raise ValueError(f"tempo and seconds must be positive, got tempo={tempo}, seconds={seconds}")
    spq = 60.0 / float(tempo)
    six = spq / 4.0
    notes: List[Note] = []
    n_steps = int(seconds / six)

    def hit(step: int, key: int, vel: int) -> None:
        t = max(0.0, step * six + rng.uniform(-jitter, jitter) * spq)
        if t + 0.1 <= seconds:
            notes.append(Note(key, int(np.clip(vel, 1, 127)), t, t + 0.1))

    for step in range(n_steps):
        pos = step % 16
        if pos in (0, 8) or (pos in (3, 6, 10, 14) and rng.random() < 0.25):
            hit(step, KICK, int(rng.integers(95, 121)))
        if pos in (4, 12):
            hit(step, SNARE, int(rng.integers(95, 121)))
        elif rng.random() < 0.06:
            hit(step, SNARE, int(rng.integers(30, 55)))
        if pos % 2 == 0:
            key = OPEN_HAT if pos == 14 and rng.random() < 0.3 else CLOSED_HAT
            hit(step, key, int(rng.integers(60, 95)))
    if n_steps:
        hit(0, CRASH, 100)
    return notes


def part_to_midi(notes: Sequence[Note], *, program: int, is_drum: bool = False,
                 name: str = "", tempo: float = 120.0):
    """A ``pretty_midi.PrettyMIDI`` with one instrument playing ``notes``."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=float(tempo))
    inst = pretty_midi.Instrument(program=int(program), is_drum=bool(is_drum), name=name)
    inst.notes = [pretty_midi.Note(velocity=int(n.velocity), pitch=int(n.pitch),
                                   start=float(n.start), end=float(n.end)) for n in notes]
    pm.instruments.append(inst)
    return pm


def score_to_midi(score: Score, programs: Sequence[int], *, is_drum: Optional[Sequence[bool]] = None):
    """A ``pretty_midi.PrettyMIDI`` of the whole score, part ``i`` with ``programs[i]``
    (a drum part when ``is_drum[i]``)."""
    import pretty_midi

    if len(programs) != len(score.parts):
        raise ValueError(f"need one program per part: {len(score.parts)} parts, {len(programs)} programs")
    drums = list(is_drum) if is_drum is not None else [False] * len(programs)
    pm = pretty_midi.PrettyMIDI(initial_tempo=float(score.tempo))
    for part, prog, drum in zip(score.parts, programs, drums):
        inst = pretty_midi.Instrument(program=int(prog), is_drum=bool(drum), name=part.name)
        inst.notes = [pretty_midi.Note(velocity=int(n.velocity), pitch=int(n.pitch),
                                       start=float(n.start), end=float(n.end)) for n in part.notes]
        pm.instruments.append(inst)
    return pm
